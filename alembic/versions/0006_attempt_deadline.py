"""attempt apply deadline and holder (engine lanes, heartbeat leases)

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0006'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('apply_deadline_at', billing.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column('held_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('held_by')
        batch_op.drop_column('apply_deadline_at')
