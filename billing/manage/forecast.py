"""What will be charged in the next days: materialized charges plus the cycles the calendar
will produce for billable subscriptions. Read-only: nothing is written."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text
from sqlmodel import Session, select

from billing.domain import calendar
from billing.domain.states import ChargeStatus, IntervalUnit, PlanKind
from billing.engine import materialize
from billing.store.tables import BILLABLE_PREDICATE, Plan
from billing.store.types import UTCDateTime

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
    """The whole forecast in memory (tables and tests); ``stream`` for large stores."""
    totals = Totals()
    items = list(totals.tally(stream(session, now=now, days=days)))
    return Forecast(start=now, until=now + timedelta(days=days), items=items,
                    by_plan=dict(totals.by_plan), by_location=dict(totals.by_location))  # fmt: skip


@dataclass(slots=True)
class Totals:
    """Sums kept while the items stream past (memory: one entry per plan and location)."""

    cents: int = 0
    count: int = 0
    by_plan: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_location: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def tally(self, items: Iterable[Upcoming]) -> Iterator[Upcoming]:
        for item in items:
            self.cents += item.amount_cents
            self.count += 1
            self.by_plan[item.plan] += item.amount_cents
            self.by_location[item.location_guid] += item.amount_cents
            yield item


def stream(session: Session, *, now: datetime, days: int) -> Iterator[Upcoming]:
    """Every upcoming charge by (due, subscription, cycle), streamed: two ordered, server-side
    cursors (materialized charges; billable subscriptions by next due) merged, so memory stays
    flat in the store's size."""
    until = now + timedelta(days=days)
    plans: Plans = {p.id: p for p in session.exec(select(Plan)).all()}
    conn = session.connection()
    return heapq.merge(
        _materialized(conn, until, plans), _projected(conn, until, plans), key=_order
    )


def _order(item: Upcoming) -> tuple[datetime, int, int]:
    return (item.due_at, item.subscription_id or 0, item.cycle or 0)


Plans = dict[int | None, Plan]
QUEUED = f"c.status IN ('{ChargeStatus.SCHEDULED}', '{ChargeStatus.RETRY_SCHEDULED}')"
STREAM = {"stream_results": True, "yield_per": 2_000}
_MATERIALIZED = (
    text(
        "SELECT c.id, c.next_attempt_at, c.amount_cents, c.location_guid, c.subscription_id, "
        "c.cycle, s.plan_id FROM charge c LEFT JOIN subscription s ON s.id = c.subscription_id "
        f"WHERE {QUEUED} AND c.next_attempt_at <= :until "
        "ORDER BY c.next_attempt_at, COALESCE(c.subscription_id, 0), COALESCE(c.cycle, 0)"
    )
    .columns(next_attempt_at=UTCDateTime())
    .bindparams(bindparam("until", type_=UTCDateTime()))
)
_BILLABLE = text(
    "SELECT id, plan_id, anchor_date, anchor_day, timezone, amount_cents, next_cycle, "
    f"next_charge_at FROM subscription WHERE {BILLABLE_PREDICATE} "
    "AND next_charge_at <= :until AND cancel_at_period_end = false "
    "ORDER BY next_charge_at, id"
).columns(next_charge_at=UTCDateTime(), anchor_date=Date())
_BILLABLE = _BILLABLE.bindparams(bindparam("until", type_=UTCDateTime()))


def _materialized(conn: Connection, until: datetime, plans: Plans) -> Iterator[Upcoming]:
    # options on the statement, not the connection: Connection.execution_options() changes the
    # connection in place, and every later statement in the session would become a server cursor
    rows = conn.execute(_MATERIALIZED.execution_options(**STREAM), {"until": until})
    for row in rows:
        yield Upcoming(
            due_at=row.next_attempt_at,
            amount_cents=row.amount_cents,
            plan=plans[row.plan_id].code if row.plan_id is not None else ONE_OFF,
            location_guid=row.location_guid,
            subscription_id=row.subscription_id,
            cycle=row.cycle,
            charge_id=row.id,
        )


def _projected(conn: Connection, until: datetime, plans: Plans) -> Iterator[Upcoming]:
    """Each subscription's cycles due by ``until``, in order: the first cycle is the
    subscription's ``next_charge_at`` (SQL order); later cycles (weekly plans...) wait in a
    heap until the stream has passed their due time."""
    later: list[tuple[tuple[datetime, int, int], Upcoming]] = []
    views = {plan_id: _PlanView.of(plan) for plan_id, plan in plans.items()}
    for sub in conn.execute(_BILLABLE.execution_options(**STREAM), {"until": until}):
        while later and later[0][0] <= (sub.next_charge_at, sub.id, 0):
            yield heapq.heappop(later)[1]
        for item in _cycles(sub, views[sub.plan_id], until):
            heapq.heappush(later, (_order(item), item))
    while later:
        yield heapq.heappop(later)[1]


@dataclass(frozen=True, slots=True)
class _PlanView:
    """A plan's values read once per forecast (not once per member)."""

    row: Plan
    code: str
    location_guid: str
    limit: int | None
    gap: timedelta
    flat_amount: int | None  # the amount of every cycle, unless the member overrides it

    @classmethod
    def of(cls, plan: Plan) -> _PlanView:
        unit = IntervalUnit(plan.interval_unit or IntervalUnit.MONTH)
        flat = plan.amount_cents if plan.kind != PlanKind.INSTALLMENT else None
        return cls(plan, plan.code, plan.location_guid, materialize.cycle_limit(plan),
                   calendar.min_gap(unit, plan.interval_count), flat)  # fmt: skip

    def amount(self, sub: Any, cycle: int) -> int:
        if sub.amount_cents is not None and self.flat_amount is not None:
            return int(sub.amount_cents)
        if self.flat_amount is not None:
            return self.flat_amount
        return materialize.amount_for(self.row, sub, cycle)


def _cycles(sub: Any, plan: _PlanView, until: datetime) -> Iterator[Upcoming]:
    """``sub``: a row of ``_BILLABLE``. The calendar is asked for a cycle only when the
    plan's shortest gap does not already put it past ``until``."""
    cycle, due, rule = sub.next_cycle, sub.next_charge_at, None
    while due <= until and (plan.limit is None or cycle < plan.limit):
        yield Upcoming(
            due_at=due, amount_cents=plan.amount(sub, cycle), plan=plan.code,
            location_guid=plan.location_guid, subscription_id=sub.id, cycle=cycle,
            charge_id=None,
        )  # fmt: skip
        cycle += 1
        if due + plan.gap > until:
            return
        rule = rule or materialize.rule_for(plan.row, sub)
        due = calendar.due_at(rule, cycle)
