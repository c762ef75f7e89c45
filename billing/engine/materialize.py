"""Materialize: create the charge rows due within the horizon, from the calendar core.

Set-based: the due subscriptions are read in one indexed scan, then handled ``BATCH`` at a
time, each batch in one transaction of a few statements (read the batch, insert its charges,
move the cursors). Due dates are computed in Python by the pure calendar, per subscription.

Safe with concurrent workers and idempotent: charges are inserted with ``ON CONFLICT DO
NOTHING`` on ``uq_charge_subscription_cycle``, and a subscription's cursor only moves from the
cycle this batch read (``WHERE next_cycle = :seen``), so two workers materializing the same
subscription create each cycle once and the second one's cursor update is a no-op.

``run_if_due`` is what a worker calls on every pass: a row in ``engine_state`` records when
materialize last ran, and the one worker whose conditional update wins runs it; the others
skip at the cost of one UPDATE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from billing.domain import calendar, lifecycle, money
from billing.domain.states import ChargeStatus, IntervalUnit, PlanKind, SubscriptionStatus
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import (
    BILLABLE_PREDICATE,
    BILLABLE_SUBSCRIPTION_STATES,
    Charge,
    Plan,
    Subscription,
)
from billing.store.types import UTCDateTime

BILLABLE = BILLABLE_SUBSCRIPTION_STATES
BATCH = 500
STATE_NAME = "materialize"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A range scan of ``ix_subscription_billable`` (the predicate is repeated literally). No ORDER
# BY: SQLite would walk the whole table in id order instead; the ids are sorted in Python.
_DUE_SUBSCRIPTIONS = text(
    f"SELECT id FROM subscription WHERE {BILLABLE_PREDICATE} AND next_charge_at <= :until"
).bindparams(bindparam("until", type_=UTCDateTime()))
_MOVE_CURSOR = text(
    "UPDATE subscription SET next_cycle = :cycle, next_charge_at = :at "
    "WHERE id = :id AND next_cycle = :seen"
).bindparams(bindparam("at", type_=UTCDateTime()))
_STATE_ROW = text(
    "INSERT INTO engine_state (name, ran_at, owner) VALUES (:name, :at, :owner) "
    "ON CONFLICT (name) DO NOTHING"
).bindparams(bindparam("at", type_=UTCDateTime()))
_TAKE_TURN = text(
    "UPDATE engine_state SET ran_at = :now, owner = :owner "
    "WHERE name = :name AND (ran_at <= :since OR ran_at > :now)"
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("since", type_=UTCDateTime()))


class Terms(Protocol):
    """What the calendar needs of a subscription (a row, or a plain result row)."""

    @property
    def anchor_date(self) -> date: ...
    @property
    def anchor_day(self) -> int | None: ...
    @property
    def timezone(self) -> str: ...
    @property
    def amount_cents(self) -> int | None: ...


def rule_for(plan: Plan, sub: Terms) -> calendar.BillingRule:
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


def amount_for(plan: Plan, sub: Terms, cycle: int) -> int:
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
    made = door.materialize_sources(store, now=now)  # business packages (clubs ...)
    with store.connection() as conn:
        ids = sorted(row[0] for row in conn.execute(_DUE_SUBSCRIPTIONS, {"until": until}))
    if not ids:
        return made
    with store.transaction() as session:
        plans = {plan.id: plan for plan in session.exec(select(Plan)).all()}
    created = made
    for start in range(0, len(ids), BATCH):
        with store.transaction() as session:
            created += _materialize_batch(
                session, ids[start : start + BATCH], plans, now=now, until=until
            )
    return created


def run_if_due(
    store: Store, *, now: datetime, horizon: timedelta, every: timedelta, owner: str = ""
) -> int | None:
    """``run`` unless another worker ran it less than ``every`` ago (then None, at the cost of
    one conditional UPDATE): materialize is done once per pass, not by every worker."""
    with store.connection() as conn:
        conn.execute(_STATE_ROW, {"name": STATE_NAME, "at": EPOCH, "owner": owner})
        won = conn.execute(
            _TAKE_TURN, {"name": STATE_NAME, "now": now, "since": now - every, "owner": owner}
        ).rowcount
    if won != 1:
        return None
    return run(store, now=now, horizon=horizon)


def _materialize_batch(
    session: Session, ids: list[int], plans: dict[int | None, Plan], *, now: datetime,
    until: datetime,
) -> int:  # fmt: skip
    subs = session.exec(
        select(Subscription).where(col(Subscription.id).in_(ids)).order_by(col(Subscription.id))
    ).all()
    charges: list[dict[str, Any]] = []
    cursors: list[dict[str, Any]] = []
    for sub in subs:
        if sub.status not in BILLABLE or sub.mandate_id is None:
            continue
        if sub.next_charge_at is None or sub.next_charge_at > until:
            continue  # another worker moved it on since the scan
        if sub.cancel_at_period_end:
            _end_at_period_end(session, sub, now=now)
            continue
        plan = plans[sub.plan_id]
        seen = sub.next_cycle
        next_cycle, next_at = _cycles_due(plan, sub, until, charges, now=now)
        cursors.append({"id": sub.id, "seen": seen, "cycle": next_cycle, "at": next_at})
    session.flush()
    created = 0
    if charges:
        insert_new = _insert_ignoring_existing(session)
        created = len(session.connection().execute(insert_new, charges).all())
    if cursors:
        session.connection().execute(_MOVE_CURSOR, cursors)
    return created


def _cycles_due(
    plan: Plan, sub: Subscription, until: datetime, out: list[dict[str, Any]], *, now: datetime
) -> tuple[int, datetime | None]:
    """Append the charge rows of ``sub`` due by ``until``; returns the new cursor."""
    rule, limit = rule_for(plan, sub), cycle_limit(plan)
    cycle, due = sub.next_cycle, sub.next_charge_at
    while due is not None and due <= until:
        out.append(_charge_values(plan, sub, cycle, due, now=now))
        cycle += 1
        done = limit is not None and cycle >= limit
        due = None if done else calendar.due_at(rule, cycle)
    return cycle, due


def _charge_values(
    plan: Plan, sub: Subscription, cycle: int, due: datetime, *, now: datetime
) -> dict[str, Any]:
    assert sub.mandate_id is not None
    return {
        "subscription_id": sub.id, "cycle": cycle, "mandate_id": sub.mandate_id,
        "kind": plan.kind, "amount_cents": amount_for(plan, sub, cycle), "currency": "USD",
        "location_guid": plan.location_guid, "check_item": plan.check_item,
        "status": ChargeStatus.SCHEDULED.value, "due_at": due, "next_attempt_at": due,
        "attempt_count": 0, "decline_count": 0, "created_at": now,
    }  # fmt: skip


def _insert_ignoring_existing(session: Session) -> Any:
    """INSERT ... ON CONFLICT (subscription_id, cycle) DO NOTHING RETURNING id."""
    table = Charge.__table__  # type: ignore[attr-defined]
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        make(table)
        .on_conflict_do_nothing(index_elements=["subscription_id", "cycle"])
        .returning(table.c.id)
    )


def _end_at_period_end(session: Session, sub: Subscription, *, now: datetime) -> None:
    """Cancelled at period end: no charge for the next period; once the next cycle would fall
    due (the current period has ended), the subscription is cancelled."""
    if sub.next_charge_at is None or sub.next_charge_at > now:
        return
    sub.status = lifecycle.transition("subscription", sub.status, SubscriptionStatus.CANCELLED)
    sub.cancelled_at, sub.next_charge_at = now, None
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0,
                type="cancelled", at_period_end=True)  # fmt: skip


def first_charge_at(plan: Plan, sub: Subscription) -> datetime:
    """Due time of cycle 0, set when a subscription is activated."""
    return calendar.due_at(rule_for(plan, sub), 0)
