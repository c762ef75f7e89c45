"""club releases processed in batches (club_release.charged_through: the cursor); api_request:
the website API's responses kept under their Idempotency-Key (the member routes)

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0019'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('club_release') as batch_op:
        batch_op.add_column(sa.Column('charged_through', sa.Integer(), server_default='0',
                                      nullable=False))
    op.create_table(
        'api_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_request')),
        sa.UniqueConstraint('idempotency_key', name='uq_api_request_idempotency_key'),
    )


def downgrade() -> None:
    op.drop_table('api_request')
    with op.batch_alter_table('club_release') as batch_op:
        batch_op.drop_column('charged_through')
