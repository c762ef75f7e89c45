"""purpose marks: mark the live mandates whose purpose may already have ended

From this revision the engine's revocation scan reads only mandates with ``purpose_ended_at``
set (``billing.store.purpose_marks``). Mandates the old scan would have found are marked here:
an UNSCHEDULED mandate with a paid fee, or any mandate with a subscription that has ended. The
scan still waits for live subscriptions and open charges, as before. No schema change.

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE mandate SET purpose_ended_at = COALESCE(revoked_at, created_at) "
        "WHERE status = 'active' AND toast_mandate_id IS NOT NULL AND purpose_ended_at IS NULL "
        "AND ((standing_instruction = 'UNSCHEDULED' AND EXISTS (SELECT 1 FROM charge c "
        "WHERE c.mandate_id = mandate.id AND c.status = 'paid')) "
        "OR EXISTS (SELECT 1 FROM subscription s WHERE s.mandate_id = mandate.id "
        "AND s.status IN ('cancelled', 'completed', 'defaulted')))"
    ))


def downgrade() -> None:
    pass  # the marks are harmless to the old scan, which reads them as "ended" too
