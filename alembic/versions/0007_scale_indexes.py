"""scale: indexes for every scheduled query, and the engine_state table

Every query the engine runs on a schedule is a range scan of an index whose rows are the live
ones (partial indexes), so its cost does not grow with ended or historical rows.

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0007'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_MANDATE = sa.text("status = 'active' AND toast_mandate_id IS NOT NULL")
BILLABLE = sa.text("status IN ('active', 'past_due')")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table('engine_state',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('ran_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_engine_state'))
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index('ix_mandate_live', ['id'], unique=False,
                              sqlite_where=LIVE_MANDATE, postgresql_where=LIVE_MANDATE)
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_mandate_id_status', ['mandate_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_subscription_billable', ['next_charge_at', 'id', 'status'],
                              unique=False,
                              sqlite_where=BILLABLE, postgresql_where=BILLABLE)
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.create_index('ix_charge_mandate_id_status', ['mandate_id', 'status'],
                              unique=False)
        batch_op.drop_index('ix_charge_mandate_id')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_pending', ['created_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_pending', sqlite_where=PENDING,
                            postgresql_where=PENDING)
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.create_index('ix_charge_mandate_id', ['mandate_id'], unique=False)
        batch_op.drop_index('ix_charge_mandate_id_status')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_billable', sqlite_where=BILLABLE,
                            postgresql_where=BILLABLE)
        batch_op.drop_index('ix_subscription_mandate_id_status')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index('ix_mandate_live', sqlite_where=LIVE_MANDATE,
                            postgresql_where=LIVE_MANDATE)
    op.drop_table('engine_state')
