"""What will be charged in the next days: materialized charges plus the cycles the calendar
will produce for billable subscriptions. Read-only: nothing is written."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, text
from sqlmodel import Session, col, select

from billing.domain import calendar
from billing.domain.states import ChargeStatus
from billing.engine import materialize
from billing.store.tables import BILLABLE_PREDICATE, Plan, Subscription
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
_BILLABLE = (
    select(Subscription)
    .where(text(BILLABLE_PREDICATE))
    .where(col(Subscription.next_charge_at) <= bindparam("until", type_=UTCDateTime()))
    .where(col(Subscription.cancel_at_period_end).is_(False))
    .order_by(col(Subscription.next_charge_at), col(Subscription.id))
)


def _materialized(conn: Connection, until: datetime, plans: Plans) -> Iterator[Upcoming]:
    rows = conn.execution_options(**STREAM).execute(_MATERIALIZED, {"until": until})
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
    session = Session(bind=conn)
    subs = session.exec(_BILLABLE.execution_options(**STREAM), params={"until": until})
    for sub in subs:
        assert sub.next_charge_at is not None
        while later and later[0][0] <= (sub.next_charge_at, sub.id or 0, 0):
            yield heapq.heappop(later)[1]
        for item in _cycles(sub, plans[sub.plan_id], until):
            heapq.heappush(later, (_order(item), item))
        session.expunge(sub)
    while later:
        yield heapq.heappop(later)[1]


def _cycles(sub: Subscription, plan: Plan, until: datetime) -> Iterator[Upcoming]:
    rule, limit = materialize.rule_for(plan, sub), materialize.cycle_limit(plan)
    cycle, due = sub.next_cycle, sub.next_charge_at
    while due is not None and due <= until and (limit is None or cycle < limit):
        yield Upcoming(
            due_at=due,
            amount_cents=materialize.amount_for(plan, sub, cycle),
            plan=plan.code,
            location_guid=plan.location_guid,
            subscription_id=sub.id,
            cycle=cycle,
            charge_id=None,
        )
        cycle += 1
        due = calendar.due_at(rule, cycle)
