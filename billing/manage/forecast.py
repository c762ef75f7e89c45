"""What will be charged in the next days: materialized charges plus the cycles the calendar
will produce for billable subscriptions. Read-only: nothing is written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.domain import calendar
from billing.domain.states import ChargeStatus
from billing.engine import materialize
from billing.store.tables import Charge, Plan, Subscription

ONE_OFF = "(one-off)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Upcoming:
    due_at: datetime
    amount_cents: int
    plan: str
    location_guid: str
    subscription_id: int | None
    cycle: int | None
    charge_id: int | None  # None: projected from the calendar, not materialized yet


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    start: datetime
    until: datetime
    items: list[Upcoming]
    by_plan: dict[str, int] = field(default_factory=dict)
    by_location: dict[str, int] = field(default_factory=dict)

    @property
    def total_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)


def upcoming(session: Session, *, now: datetime, days: int) -> Forecast:
    until = now + timedelta(days=days)
    codes = {p.id: p for p in session.exec(select(Plan)).all()}
    items = _materialized(session, until, codes) + _projected(session, until, codes)
    items.sort(key=lambda i: (i.due_at, i.subscription_id or 0, i.cycle or 0))
    by_plan: dict[str, int] = defaultdict(int)
    by_location: dict[str, int] = defaultdict(int)
    for item in items:
        by_plan[item.plan] += item.amount_cents
        by_location[item.location_guid] += item.amount_cents
    return Forecast(start=now, until=until, items=items, by_plan=dict(by_plan),
                    by_location=dict(by_location))  # fmt: skip


Plans = dict[int | None, Plan]
QUEUED = (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED)


def _materialized(session: Session, until: datetime, plans: Plans) -> list[Upcoming]:
    query = select(Charge, Subscription).join(Subscription, isouter=True)
    query = query.where(col(Charge.status).in_(QUEUED))
    query = query.where(col(Charge.next_attempt_at) <= until)
    return [
        Upcoming(
            due_at=charge.next_attempt_at,
            amount_cents=charge.amount_cents,
            plan=plans[sub.plan_id].code if sub else ONE_OFF,
            location_guid=charge.location_guid,
            subscription_id=charge.subscription_id,
            cycle=charge.cycle,
            charge_id=charge.id,
        )
        for charge, sub in session.exec(query).all()
    ]


def _projected(session: Session, until: datetime, plans: Plans) -> list[Upcoming]:
    query = select(Subscription).where(col(Subscription.status).in_(materialize.BILLABLE))
    query = query.where(col(Subscription.next_charge_at) <= until)
    query = query.where(col(Subscription.cancel_at_period_end).is_(False))
    items = []
    for sub in session.exec(query).all():
        plan = plans[sub.plan_id]
        rule, limit = materialize.rule_for(plan, sub), materialize.cycle_limit(plan)
        for cycle in calendar.cycles_until(rule, first_cycle=sub.next_cycle, until=until):
            if limit is not None and cycle >= limit:
                break
            items.append(
                Upcoming(
                    due_at=calendar.due_at(rule, cycle),
                    amount_cents=materialize.amount_for(plan, sub, cycle),
                    plan=plan.code,
                    location_guid=plan.location_guid,
                    subscription_id=sub.id,
                    cycle=cycle,
                    charge_id=None,
                )
            )
    return items
