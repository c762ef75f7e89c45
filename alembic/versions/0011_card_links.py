"""card links: single-use card-update links (only the token's SHA-256 is stored)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0011'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=16), nullable=False),
    sa.Column('enrollment_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_card_link_customer_id_customer')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_card_link_enrollment_id_enrollment')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_card_link_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_card_link_message_id_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_link')),
    sa.UniqueConstraint('message_id', name='uq_card_link_message_id'),
    sa.UniqueConstraint('token_hash', name='uq_card_link_token_hash')
    )
    with op.batch_alter_table('card_link', schema=None) as batch_op:
        batch_op.create_index('ix_card_link_enrollment_id', ['enrollment_id'], unique=False)
        batch_op.create_index('ix_card_link_mandate_id', ['mandate_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('card_link', schema=None) as batch_op:
        batch_op.drop_index('ix_card_link_mandate_id')
        batch_op.drop_index('ix_card_link_enrollment_id')
    op.drop_table('card_link')
