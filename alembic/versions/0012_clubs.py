"""wine clubs: club, club_tier, membership, club_release, club_release_line, club_shipment

A club at a location (its time zone, skip cap, auto-approve, shipping and tax fixture tables,
rebilling policy), its tiers and members; releases (club runs) with package lines, process
instant, cutoff, approval and the preview snapshot taken at the cutoff; one shipment per
(release, member) with the member's overrides and the amount charged. Charges themselves are
rows of ``charge`` made through the narrow door (source "club").

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0012'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('club',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('location_guid', sa.String(length=36), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('pickup_region', sa.String(length=32), nullable=False),
    sa.Column('skip_cap', sa.Integer(), nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('shipping', sa.JSON(), nullable=False),
    sa.Column('tax_rates', sa.JSON(), nullable=False),
    sa.Column('retry_days', sa.JSON(), nullable=False),
    sa.Column('final_action', sa.String(length=16), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['location_guid'], ['location.guid'], name=op.f('fk_club_location_guid_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club')),
    sa.UniqueConstraint('name', name='uq_club_name')
    )
    op.create_table('club_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('process_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('cutoff_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('approved_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('snapshot_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('refused', sa.String(length=2000), nullable=True),
    sa.Column('processed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('archived_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_club_release_club_id_club')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_release'))
    )
    with op.batch_alter_table('club_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_club_release_club_id'), ['club_id'], unique=False)

    op.create_table('club_tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('bottles', sa.Integer(), nullable=False),
    sa.Column('discount_pct', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_club_tier_club_id_club')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_tier')),
    sa.UniqueConstraint('club_id', 'name', name='uq_club_tier_club_id_name')
    )
    op.create_table('club_release_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('retail_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['club_release.id'], name=op.f('fk_club_release_line_release_id_club_release')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_release_line')),
    sa.UniqueConstraint('release_id', 'item', name='uq_club_release_line_release_id_item')
    )
    op.create_table('membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('hold_until', sa.Date(), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('consecutive_skips', sa.Integer(), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_membership_club_id_club')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_membership_customer_id_customer')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_membership_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['tier_id'], ['club_tier.id'], name=op.f('fk_membership_tier_id_club_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('club_id', 'customer_id', name='uq_membership_club_id_customer_id')
    )
    op.create_table('club_shipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('override_lines', sa.JSON(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('explicit_cents', sa.Integer(), nullable=True),
    sa.Column('explicit_reason', sa.String(length=200), nullable=True),
    sa.Column('skipped_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('ship_now_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('failed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('updated_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charge.id'], name=op.f('fk_club_shipment_charge_id_charge')),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_club_shipment_membership_id_membership')),
    sa.ForeignKeyConstraint(['release_id'], ['club_release.id'], name=op.f('fk_club_shipment_release_id_club_release')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_shipment')),
    sa.UniqueConstraint('release_id', 'membership_id', name='uq_club_shipment_release_id_membership_id')
    )
    with op.batch_alter_table('club_shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_club_shipment_membership_id'), ['membership_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('club_shipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_club_shipment_membership_id'))

    op.drop_table('club_shipment')
    op.drop_table('membership')
    op.drop_table('club_release_line')
    op.drop_table('club_tier')
    with op.batch_alter_table('club_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_club_release_club_id'))

    op.drop_table('club_release')
    op.drop_table('club')
