"""Set-based materialize: batched, idempotent, safe with concurrent workers, once per pass."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from billing.domain import calendar
from billing.engine import materialize
from billing.store import seed
from billing.store.db import Store
from billing.store.tables import Charge, Plan, Subscription

NOW = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
HORIZON = timedelta(days=20)  # about two thirds of the members fall due
MEMBERS = 1_500  # three batches


def _expected(store: Store) -> dict[tuple[int, int], datetime]:
    """(subscription, cycle) -> due, from the calendar, for what falls due by the horizon."""
    out = {}
    with store.transaction() as session:
        plans = {p.id: p for p in session.exec(select(Plan)).all()}
        subs = session.exec(select(Subscription).where(Subscription.status == "active")).all()
        for sub in subs:
            rule = materialize.rule_for(plans[sub.plan_id], sub)
            cycle = sub.next_cycle
            while (due := calendar.due_at(rule, cycle)) <= NOW + HORIZON:
                out[(sub.id or 0, cycle)] = due
                cycle += 1
    return out


def _scheduled(store: Store) -> dict[tuple[int, int], datetime]:
    with store.transaction() as session:
        rows = session.exec(select(Charge).where(Charge.status == "scheduled")).all()
    return {(c.subscription_id or 0, c.cycle or 0): c.due_at for c in rows}


def test_batches_create_each_due_cycle_once_with_calendar_dates(store: Store) -> None:
    seed.seed(store, subscriptions=MEMBERS, now=NOW)
    expected = _expected(store)
    assert len(expected) > materialize.BATCH  # more than one batch falls due
    assert materialize.run(store, now=NOW, horizon=HORIZON) == len(expected)
    assert _scheduled(store) == expected
    assert materialize.run(store, now=NOW, horizon=HORIZON) == 0  # idempotent
    with store.transaction() as session:
        subs = session.exec(select(Subscription).where(Subscription.status == "active")).all()
    assert all(s.next_charge_at and s.next_charge_at > NOW + HORIZON for s in subs)


def test_concurrent_workers_create_each_cycle_once(store: Store) -> None:
    seed.seed(store, subscriptions=MEMBERS, now=NOW)
    expected = _expected(store)
    created: list[int] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait(timeout=60)
        created.append(materialize.run(store, now=NOW, horizon=HORIZON))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sum(created) == len(expected)
    assert _scheduled(store) == expected


def test_run_if_due_lets_one_worker_materialize_per_interval(store: Store) -> None:
    seed.seed(store, subscriptions=200, now=NOW)
    every = timedelta(seconds=30)
    first = materialize.run_if_due(store, now=NOW, horizon=HORIZON, every=every, owner="a")
    assert first is not None
    assert first > 0
    assert materialize.run_if_due(store, now=NOW, horizon=HORIZON, every=every, owner="b") is None
    later = NOW + timedelta(seconds=10)
    assert materialize.run_if_due(store, now=later, horizon=HORIZON, every=every) is None
    again = NOW + every
    assert materialize.run_if_due(store, now=again, horizon=HORIZON, every=every) == 0
