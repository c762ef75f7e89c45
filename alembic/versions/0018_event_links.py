"""event links and waived milestones: staff payment links for an event (only the token's
SHA-256 is stored); a milestone waived by staff keeps its reason

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0018'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=16), nullable=False),
    sa.Column('enrollment_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_event_link_enrollment_id_enrollment')),
    sa.ForeignKeyConstraint(['event_id'], ['catering_event.id'], name=op.f('fk_event_link_event_id_catering_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_link')),
    sa.UniqueConstraint('token_hash', name='uq_event_link_token_hash')
    )
    with op.batch_alter_table('event_link', schema=None) as batch_op:
        batch_op.create_index('ix_event_link_enrollment_id', ['enrollment_id'], unique=False)
        batch_op.create_index('ix_event_link_event_id', ['event_id'], unique=False)
    with op.batch_alter_table('event_milestone') as batch_op:
        batch_op.add_column(sa.Column('waived_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event_milestone') as batch_op:
        batch_op.drop_column('waived_reason')
    with op.batch_alter_table('event_link', schema=None) as batch_op:
        batch_op.drop_index('ix_event_link_event_id')
        batch_op.drop_index('ix_event_link_enrollment_id')
    op.drop_table('event_link')
