"""reservations: fee policies, reservations, status reports, fee decisions, adjustments

Fee policies are versioned per (location, code); a reservation keeps the id of the version the
guest accepted. (reservation, report id) is unique, so a repeated status report is recorded once;
its one fee charge is unique through the door's (source, source_key).

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0014'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fee_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_guid', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=64), nullable=True),
    sa.Column('days', sa.String(length=32), nullable=True),
    sa.Column('window_start', sa.String(length=5), nullable=True),
    sa.Column('window_end', sa.String(length=5), nullable=True),
    sa.Column('per', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('cap_cents', sa.Integer(), nullable=True),
    sa.Column('free_cancel_hours', sa.Integer(), nullable=False),
    sa.Column('confirm_delay_minutes', sa.Integer(), nullable=False),
    sa.Column('last_moment_hours', sa.Integer(), nullable=False),
    sa.Column('consent_text', sa.String(length=2000), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_policy')),
    sa.UniqueConstraint('location_guid', 'code', 'version', name='uq_fee_policy_location_guid_code_version')
    )
    op.create_table('reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_guid', sa.String(length=64), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('slot_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.String(length=36), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('accepted_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('closed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_reservation_customer_id_customer')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_reservation_enrollment_id_enrollment')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_reservation_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['policy_id'], ['fee_policy.id'], name=op.f('fk_reservation_policy_id_fee_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservation')),
    sa.UniqueConstraint('idempotency_key', name='uq_reservation_idempotency_key'),
    sa.UniqueConstraint('location_guid', 'external_ref', name='uq_reservation_location_guid_external_ref')
    )
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.create_index('ix_reservation_slot_at', ['slot_at'], unique=False)

    op.create_table('fee_adjustment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('staff', sa.String(length=100), nullable=False),
    sa.Column('at', billing.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservation.id'], name=op.f('fk_fee_adjustment_reservation_id_reservation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_adjustment')),
    sa.UniqueConstraint('reservation_id', 'idempotency_key', name='uq_fee_adjustment_reservation_id_idempotency_key')
    )
    op.create_table('fee_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('charge_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('last_moment_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservation.id'], name=op.f('fk_fee_decision_reservation_id_reservation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_decision'))
    )
    with op.batch_alter_table('fee_decision', schema=None) as batch_op:
        batch_op.create_index('ix_fee_decision_reservation_id', ['reservation_id'], unique=False)

    op.create_table('reservation_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('reported_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('reported_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservation.id'], name=op.f('fk_reservation_report_reservation_id_reservation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservation_report')),
    sa.UniqueConstraint('reservation_id', 'report_id', name='uq_reservation_report_reservation_id_report_id')
    )


def downgrade() -> None:
    op.drop_table('reservation_report')
    with op.batch_alter_table('fee_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_fee_decision_reservation_id')

    op.drop_table('fee_decision')
    op.drop_table('fee_adjustment')
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.drop_index('ix_reservation_slot_at')

    op.drop_table('reservation')
    op.drop_table('fee_policy')
