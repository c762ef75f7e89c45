"""club release notices: days before a release's cutoff its notice goes out (0: none required)

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('club') as batch_op:
        batch_op.add_column(sa.Column('notice_days', sa.Integer(), server_default='7',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('club') as batch_op:
        batch_op.drop_column('notice_days')
