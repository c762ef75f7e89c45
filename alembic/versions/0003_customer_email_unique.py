"""customer email unique (any case)

Revision ID: 0003
Revises: 0004
Create Date: 2026-12-01

One customer per email address: ``email_key`` holds the email in lower case under the unique
constraint ``uq_customer_email_key``. Existing duplicates are neither merged nor deleted (each
may carry its own mandates, subscriptions and Toast customer record): the oldest customer of
each address gets the key, the later ones keep a null key, and lookups by that email are
refused as ambiguous until someone resolves them (by id they still work).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=254), nullable=True))
    # the oldest customer of each address (lower-cased) gets the key; later duplicates keep null
    op.execute(
        "UPDATE customer SET email_key = lower(email) WHERE id IN "
        "(SELECT min(id) FROM customer GROUP BY lower(email))"
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_customer_email_key', ['email_key'])


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint('uq_customer_email_key', type_='unique')
        batch_op.drop_column('email_key')
