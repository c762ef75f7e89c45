"""location leases: one worker at a time sends to a location (Toast's limits are per location)

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0009'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('location_lease',
    sa.Column('location_guid', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('expires_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('sends', sa.JSON(), nullable=False),
    sa.Column('logged_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('location_guid', name=op.f('pk_location_lease'))
    )
    op.create_table('engine_worker',
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('alive_until', billing.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_engine_worker'))
    )


def downgrade() -> None:
    op.drop_table('engine_worker')
    op.drop_table('location_lease')
