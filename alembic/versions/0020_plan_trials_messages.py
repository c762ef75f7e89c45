"""plan trials (days from enrollment to the first charge) and per-plan message settings

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from billing.store.types import UTCDateTime

revision: str = '0020'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('plan') as batch_op:
        batch_op.add_column(sa.Column('trial_days', sa.Integer(), server_default='0',
                                      nullable=False))
    op.create_table(
        'plan_message_settings',
        sa.Column('plan_code', sa.String(length=64), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('reminder_days', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('plan_code', name=op.f('pk_plan_message_settings')),
    )


def downgrade() -> None:
    op.drop_table('plan_message_settings')
    with op.batch_alter_table('plan') as batch_op:
        batch_op.drop_column('trial_days')
