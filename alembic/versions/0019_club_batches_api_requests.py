"""club releases processed in batches (club_release.charged_through: the cursor)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('club_release') as batch_op:
        batch_op.add_column(sa.Column('charged_through', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('club_release') as batch_op:
        batch_op.drop_column('charged_through')
