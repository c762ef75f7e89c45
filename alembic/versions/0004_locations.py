"""locations: Toast location GUIDs named for people

Revision ID: 0004
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0004'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('location',
    sa.Column('guid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('guid', name=op.f('pk_location')),
    sa.UniqueConstraint('name', name='uq_location_name')
    )


def downgrade() -> None:
    op.drop_table('location')
