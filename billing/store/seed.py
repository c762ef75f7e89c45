"""Bulk synthetic stores for scale benchmarks and query-plan tests (``bench/scale.py``).

Rows are written by set-based SQL (``generate_series`` on PostgreSQL, a recursive CTE on
SQLite) into a freshly migrated, empty store, matching the product's tables: per member a
customer, an active mandate and a monthly subscription at one of ``locations`` locations, with
its past cycles paid (a charge and a settled attempt each). Every ``ENDED_EVERY``-th member has
cancelled: the subscription is cancelled and the mandate revoked (history the engine's
scheduled queries must not pay for). Due dates come from the calendar core, computed for
``BUCKETS`` anchor days, so the store agrees with what materialize and the forecast compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Column, Date, Integer, MetaData, Table, TextClause, bindparam, text
from sqlalchemy.engine import Connection

from billing.domain import calendar
from billing.domain.states import IntervalUnit
from billing.store.db import Store
from billing.store.types import UTCDateTime

BUCKETS = 28  # anchor days: member i is in bucket i % BUCKETS
ENDED_EVERY = 10
HISTORY_DAYS = 92  # anchors are about three months back, so about three cycles are paid

_scratch = MetaData()
SEED_BUCKET = Table(
    "seed_bucket", _scratch,
    Column("b", Integer, primary_key=True),
    Column("anchor", Date, nullable=False),
    Column("next_cycle", Integer, nullable=False),
    Column("next_at", UTCDateTime(), nullable=False),
)  # fmt: skip
SEED_DUE = Table(
    "seed_due", _scratch,
    Column("b", Integer, primary_key=True),
    Column("cycle", Integer, primary_key=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("settled_at", UTCDateTime(), nullable=False),
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Seeded:
    subscriptions: int
    locations: int
    charges: int


def location_guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def seed(store: Store, *, subscriptions: int, now: datetime, locations: int = 50) -> Seeded:
    """Fill an empty, migrated store; ``now`` is the instant the history ends at."""
    with store.engine.begin() as conn:
        _plans(conn, locations, now)
        _buckets(conn, now)
        for sql in _STATEMENTS:
            conn.execute(_bind(_series(sql, conn.dialect.name)), {
                "n": subscriptions, "locs": locations, "buckets": BUCKETS,
                "ended": ENDED_EVERY, "t": now - timedelta(days=HISTORY_DAYS + 7),
                "cancelled_at": now - timedelta(days=10),
            })  # fmt: skip
        if conn.dialect.name == "postgresql":
            for table in ("customer", "mandate", "subscription", "charge", "attempt", "event"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
                ))  # fmt: skip
        _scratch.drop_all(conn)
        charges = conn.execute(text("SELECT count(*) FROM charge")).scalar_one()
    with store.engine.connect() as conn:
        analyze(conn)
    return Seeded(subscriptions=subscriptions, locations=locations, charges=int(charges))


def analyze(conn: Connection) -> None:
    conn.execute(text("ANALYZE"))
    conn.commit()


def _plans(conn: Connection, locations: int, now: datetime) -> None:
    conn.execute(
        text(
            "INSERT INTO plan (id, code, version, name, kind, amount_cents, interval_unit, "
            "interval_count, timezone, local_time, location_guid, check_item, active, "
            "created_at) VALUES (:id, :code, 1, :name, 'RECURRING', :amount, 'month', 1, "
            "'UTC', '10:00', :loc, 'Membership', :active, :t)"
        ).bindparams(bindparam("t", type_=UTCDateTime())),
        [
            {"id": n + 1, "code": f"club{n:02d}", "name": f"Club {n:02d}",
             "amount": 2000 + 100 * n, "loc": location_guid(n), "active": True,
             "t": now - timedelta(days=HISTORY_DAYS + 30)}
            for n in range(locations)
        ],
    )  # fmt: skip
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval(pg_get_serial_sequence('plan', 'id'), :n)"),
                     {"n": locations})  # fmt: skip


def _buckets(conn: Connection, now: datetime) -> None:
    _scratch.create_all(conn)
    buckets, dues = [], []
    for b in range(BUCKETS):
        anchor = (now - timedelta(days=HISTORY_DAYS - b)).date()
        rule = calendar.BillingRule(unit=IntervalUnit.MONTH, anchor=anchor, local_time=time(10))
        nxt = calendar.first_cycle_after(rule, now)
        buckets.append({"b": b, "anchor": anchor, "next_cycle": nxt,
                        "next_at": calendar.due_at(rule, nxt)})  # fmt: skip
        for cycle in range(nxt):
            due = calendar.due_at(rule, cycle)
            dues.append({"b": b, "cycle": cycle, "due_at": due,
                         "settled_at": due + timedelta(minutes=1)})  # fmt: skip
    conn.execute(SEED_BUCKET.insert(), buckets)
    conn.execute(SEED_DUE.insert(), dues)


def _series(sql: str, dialect: str) -> str:
    """``{series}`` as the numbers 1..:n, named g(i)."""
    if dialect == "postgresql":
        return sql.format(cte="", series="generate_series(1, :n) AS g(i)")
    cte = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
    return sql.format(cte=cte, series="g")


def _bind(sql: str) -> TextClause:
    instants = [bindparam(n, type_=UTCDateTime()) for n in ("t", "cancelled_at") if f":{n}" in sql]
    return text(sql).bindparams(*instants)


_ENDED = "(g.i % :ended = 0)"
_STATEMENTS = (
    "INSERT INTO customer (id, email, name, created_at) {cte}"
    "SELECT g.i, 'member' || g.i || '@example.com', 'Member ' || g.i, :t FROM {series}",
    "INSERT INTO mandate (id, customer_id, location_guid, standing_instruction, status, "
    "toast_mandate_id, toast_payment_method_id, created_at, revoked_at) {cte}"
    "SELECT g.i, g.i, p.location_guid, 'RECURRING', "
    f"CASE WHEN {_ENDED} THEN 'revoked' ELSE 'active' END, 'mandate-' || g.i, 'pm-' || g.i, "
    f":t, CASE WHEN {_ENDED} THEN :cancelled_at END "
    "FROM {series} JOIN plan p ON p.id = g.i % :locs + 1",
    "INSERT INTO subscription (id, customer_id, plan_id, mandate_id, status, anchor_date, "
    "timezone, next_cycle, next_charge_at, cycles_paid, cancel_at_period_end, created_at, "
    "cancelled_at) {cte}"
    "SELECT g.i, g.i, g.i % :locs + 1, g.i, "
    f"CASE WHEN {_ENDED} THEN 'cancelled' ELSE 'active' END, sb.anchor, 'UTC', sb.next_cycle, "
    f"CASE WHEN {_ENDED} THEN NULL ELSE sb.next_at END, sb.next_cycle, false, :t, "
    f"CASE WHEN {_ENDED} THEN :cancelled_at END "
    "FROM {series} JOIN seed_bucket sb ON sb.b = g.i % :buckets",
    # Past cycles, paid (one in 50 after a decline: recovered by dunning).
    "INSERT INTO charge (subscription_id, cycle, mandate_id, kind, amount_cents, currency, "
    "location_guid, check_item, status, due_at, next_attempt_at, attempt_count, "
    "decline_count, first_declined_at, created_at, settled_at) "
    "SELECT s.id, sd.cycle, s.mandate_id, 'RECURRING', p.amount_cents, 'USD', "
    "p.location_guid, p.check_item, 'paid', sd.due_at, sd.due_at, 1, "
    "CASE WHEN s.id % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN s.id % 50 = 0 THEN sd.due_at END, "
    "sd.due_at, sd.settled_at "
    "FROM subscription s JOIN plan p ON p.id = s.plan_id "
    "JOIN seed_due sd ON sd.b = s.id % :buckets",
    "INSERT INTO attempt (charge_id, number, external_reference_id, worker, status, "
    "toast_intent_id, check_count, created_at, updated_at, settled_at) "
    "SELECT c.id, 1, 'seed-' || c.id, 'seed', 'succeeded', 'pi-' || c.id, 0, c.due_at, "
    "c.settled_at, c.settled_at FROM charge c",
    "INSERT INTO enrollment (id, idempotency_key, request_hash, purpose, customer_id, plan_id, "
    "subscription_id, mandate_id, location_guid, save_card, intent_kind, intent_id, status, "
    "created_at, completed_at) "
    "SELECT 'seed-' || s.id, 'seed-' || s.id, 'seed', 'subscribe', s.customer_id, s.plan_id, "
    "s.id, s.mandate_id, p.location_guid, false, 'setup', 'si-' || s.id, 'completed', "
    "s.created_at, s.created_at FROM subscription s JOIN plan p ON p.id = s.plan_id",
    "INSERT INTO event (at, entity, entity_id, type, data) "
    "SELECT s.cancelled_at, 'subscription', s.id, 'cancelled', '{{}}' FROM subscription s "
    "WHERE s.status = 'cancelled'",
)
