"""Materialize: create the charge rows due within the horizon, from the calendar core.

Each subscription is materialized in its own transaction. Two workers materializing the same
subscription at once cannot both insert a cycle: ``uq_charge_subscription_cycle`` refuses
the second, which is then skipped (``ChargeAlreadyExists``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from billing.domain import calendar, lifecycle, money
from billing.domain.states import IntervalUnit, PlanKind, SubscriptionStatus
from billing.errors import ChargeAlreadyExists
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Charge, Plan, Subscription

BILLABLE = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value)


def rule_for(plan: Plan, sub: Subscription) -> calendar.BillingRule:
    hour, minute = (int(part) for part in plan.local_time.split(":"))
    return calendar.BillingRule(
        unit=IntervalUnit(plan.interval_unit or IntervalUnit.MONTH),
        every=plan.interval_count,
        anchor=sub.anchor_date,
        anchor_day=sub.anchor_day,
        local_time=time(hour, minute),
        tz=sub.timezone,
    )


def cycle_limit(plan: Plan) -> int | None:
    if plan.kind == PlanKind.INSTALLMENT:
        return plan.installments
    return plan.max_cycles


def amount_for(plan: Plan, sub: Subscription, cycle: int) -> int:
    if plan.kind == PlanKind.INSTALLMENT:
        assert plan.total_cents is not None
        assert plan.installments is not None
        return money.split_installments(plan.total_cents, plan.installments)[cycle]
    amount = sub.amount_cents if sub.amount_cents is not None else plan.amount_cents
    assert amount is not None
    return amount


def run(store: Store, *, now: datetime, horizon: timedelta) -> int:
    """Create every charge due before ``now + horizon``; returns how many were created."""
    until = now + horizon
    with store.transaction() as session:
        ids = session.exec(
            select(Subscription.id)
            .where(col(Subscription.status).in_(BILLABLE))
            .where(col(Subscription.next_charge_at) <= until)
        ).all()
    created = 0
    for sub_id in ids:
        try:
            with store.transaction() as session:
                created += _materialize_one(session, sub_id, now=now, until=until)
        except ChargeAlreadyExists:
            continue  # another worker materialized it first
    return created


def _materialize_one(
    session: Session, sub_id: int | None, *, now: datetime, until: datetime
) -> int:
    sub = session.get(Subscription, sub_id)
    if sub is None or sub.status not in BILLABLE or sub.mandate_id is None:
        return 0
    if sub.cancel_at_period_end:
        _end_at_period_end(session, sub, now=now)
        return 0
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    rule, limit, created = rule_for(plan, sub), cycle_limit(plan), 0
    while sub.next_charge_at is not None and sub.next_charge_at <= until:
        _add_charge(session, plan, sub, now=now)
        created += 1
        sub.next_cycle += 1
        done = limit is not None and sub.next_cycle >= limit
        sub.next_charge_at = None if done else calendar.due_at(rule, sub.next_cycle)
    return created


def _end_at_period_end(session: Session, sub: Subscription, *, now: datetime) -> None:
    """Cancelled at period end: no charge for the next period; once the next cycle would fall
    due (the current period has ended), the subscription is cancelled."""
    if sub.next_charge_at is None or sub.next_charge_at > now:
        return
    sub.status = lifecycle.transition("subscription", sub.status, SubscriptionStatus.CANCELLED)
    sub.cancelled_at, sub.next_charge_at = now, None
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0,
                type="cancelled", at_period_end=True)  # fmt: skip


def _add_charge(session: Session, plan: Plan, sub: Subscription, *, now: datetime) -> None:
    assert sub.next_charge_at is not None
    assert sub.mandate_id is not None
    session.add(
        Charge(
            subscription_id=sub.id,
            cycle=sub.next_cycle,
            mandate_id=sub.mandate_id,
            kind=plan.kind,
            amount_cents=amount_for(plan, sub, sub.next_cycle),
            location_guid=plan.location_guid,
            check_item=plan.check_item,
            due_at=sub.next_charge_at,
            next_attempt_at=sub.next_charge_at,
            created_at=now,
        )
    )
    session.flush()


def first_charge_at(plan: Plan, sub: Subscription) -> datetime:
    """Due time of cycle 0, set when a subscription is activated."""
    return calendar.due_at(rule_for(plan, sub), 0)
