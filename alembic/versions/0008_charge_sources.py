"""charge sources: the narrow door's (source, source_key) and the mandate purpose-ended mark

Business packages (clubs, events, reservations) make charges through ``billing.store.door``:
one charge per (source, source_key). ``mandate.purpose_ended_at`` is set when the purpose of a
package's consent ends; a partial index keeps the engine's revocation scan flat.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0008'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE_ENDED = sa.text(
    "status = 'active' AND toast_mandate_id IS NOT NULL AND purpose_ended_at IS NOT NULL"
)


def upgrade() -> None:
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('source_key', sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint('uq_charge_source_source_key',
                                          ['source', 'source_key'])
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose_ended_at', billing.store.types.UTCDateTime(),
                                      nullable=True))
        batch_op.create_index('ix_mandate_purpose_ended', ['id'], unique=False,
                              sqlite_where=PURPOSE_ENDED, postgresql_where=PURPOSE_ENDED)


def downgrade() -> None:
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index('ix_mandate_purpose_ended', sqlite_where=PURPOSE_ENDED,
                            postgresql_where=PURPOSE_ENDED)
        batch_op.drop_column('purpose_ended_at')
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_constraint('uq_charge_source_source_key', type_='unique')
        batch_op.drop_column('source_key')
        batch_op.drop_column('source')
