"""events: catering events and payment schedules (billing.events)

Schedule templates with their milestones and cancellation tiers; events (``catering_event``:
``event`` is the audit log) with their own copy of the schedule (``event_milestone``) and the
history of their guest count. Milestone charges are door charges (source ``event``).

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import billing.store.types

revision: str = '0013'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('schedule_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('retry_days', sa.JSON(), nullable=False),
    sa.Column('alert_days', sa.Integer(), nullable=False),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_template')),
    sa.UniqueConstraint('code', name='uq_schedule_template_code')
    )
    op.create_table('cancellation_tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('min_days_before', sa.Integer(), nullable=False),
    sa.Column('keep_deposit', sa.Boolean(), nullable=False),
    sa.Column('retain_bp', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['schedule_template.id'], name=op.f('fk_cancellation_tier_template_id_schedule_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cancellation_tier')),
    sa.UniqueConstraint('template_id', 'min_days_before', name='uq_cancellation_tier_template_id_min_days_before')
    )
    op.create_table('template_milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=True),
    sa.Column('local_time', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['schedule_template.id'], name=op.f('fk_template_milestone_template_id_schedule_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_milestone')),
    sa.UniqueConstraint('template_id', 'name', name='uq_template_milestone_template_id_name')
    )
    op.create_table('catering_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('location_guid', sa.String(length=64), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('local_time', sa.String(length=5), nullable=False),
    sa.Column('start_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('guests', sa.Integer(), nullable=False),
    sa.Column('per_guest_cents', sa.Integer(), nullable=False),
    sa.Column('fixed_cents', sa.Integer(), nullable=False),
    sa.Column('total_override_cents', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('guarantee_date', sa.Date(), nullable=False),
    sa.Column('retry_days', sa.JSON(), nullable=False),
    sa.Column('alert_days', sa.Integer(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('signed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('enrollment_id', sa.String(length=36), nullable=True),
    sa.Column('retained_cents', sa.Integer(), nullable=True),
    sa.Column('refund_owed_cents', sa.Integer(), nullable=True),
    sa.Column('created_at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('closed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_catering_event_customer_id_customer')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_catering_event_enrollment_id_enrollment')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_catering_event_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['template_id'], ['schedule_template.id'], name=op.f('fk_catering_event_template_id_schedule_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catering_event'))
    )
    with op.batch_alter_table('catering_event', schema=None) as batch_op:
        batch_op.create_index('ix_catering_event_start_at', ['start_at'], unique=False)
        batch_op.create_index('ix_catering_event_status', ['status'], unique=False)

    op.create_table('event_milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=True),
    sa.Column('local_time', sa.String(length=5), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('due_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', billing.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['catering_event.id'], name=op.f('fk_event_milestone_event_id_catering_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_milestone')),
    sa.UniqueConstraint('event_id', 'name', name='uq_event_milestone_event_id_name')
    )
    op.create_table('guest_count_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('at', billing.store.types.UTCDateTime(), nullable=False),
    sa.Column('old', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['catering_event.id'], name=op.f('fk_guest_count_change_event_id_catering_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_count_change'))
    )
    with op.batch_alter_table('guest_count_change', schema=None) as batch_op:
        batch_op.create_index('ix_guest_count_change_event_id', ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('guest_count_change', schema=None) as batch_op:
        batch_op.drop_index('ix_guest_count_change_event_id')

    op.drop_table('guest_count_change')
    op.drop_table('event_milestone')
    with op.batch_alter_table('catering_event', schema=None) as batch_op:
        batch_op.drop_index('ix_catering_event_status')
        batch_op.drop_index('ix_catering_event_start_at')

    op.drop_table('catering_event')
    op.drop_table('template_milestone')
    op.drop_table('cancellation_tier')
    op.drop_table('schedule_template')
