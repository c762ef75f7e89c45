"""The queries the engine runs on a schedule, by name, and their query plans.

``bench/scale.py`` times them and ``tests/integration/test_scale_plans.py`` asserts that each
is an index scan (no sequential scan of a table that grows with history).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Executable, event, func, select, text

from billing.engine import materialize, recovery
from billing.enroll import completer
from billing.store import hot, leases
from billing.store import location_leases as ll
from billing.store.tables import BILLABLE_PREDICATE, CLAIMABLE_PREDICATE, Attempt, Charge
from billing.store.tables import Subscription as Sub

GROWING_TABLES = ("charge", "subscription", "attempt", "mandate", "enrollment", "event")
Query = tuple[Executable, dict[str, Any]]


def catalogue(dialect: str, *, now: datetime, horizon: timedelta) -> dict[str, Query]:
    """Each scheduled query with the parameters a pass at ``now`` binds."""
    due = leases._SCANS[(dialect == "postgresql", False)]
    charge_c = Charge.__table__.c  # type: ignore[attr-defined]
    claimable, billable = text(CLAIMABLE_PREDICATE), text(BILLABLE_PREDICATE)
    unsettled = text("settled_at IS NULL")
    return {
        "due_scan": (due, {"now": now, "limit": 100}),
        "due_scan_owned": (leases._OWN_SCANS[(dialect == "postgresql", False)],
                           {"now": now, "limit": 100, "only": ["a", "b"]}),
        "locations_with_work": (ll._SEEN, {"now": now}),
        "reconcile_stale": (recovery.stale_attempts(dialect, now=now, limit=100), {}),
        "ended_mandates": (hot.ENDED_MANDATES, {"limit": 100}),
        "materialize_scan": (materialize._DUE_SUBSCRIPTIONS, {"until": now + horizon}),
        "pending_enrollments": (completer.pending_query(completer.BATCH), {}),
        "wakeup_due": (select(func.min(charge_c.next_attempt_at)).where(claimable), {}),
        "wakeup_check": (select(func.min(Attempt.next_check_at)).where(unsettled), {}),
        "wakeup_materialize": (select(func.min(Sub.next_charge_at)).where(billable), {}),
    }


@contextmanager
def _explaining(conn: Connection) -> Iterator[None]:
    prefix = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "

    def rewrite(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> Any:
        return prefix + statement, params

    event.listen(conn, "before_cursor_execute", rewrite, retval=True)
    try:
        yield
    finally:
        event.remove(conn, "before_cursor_execute", rewrite)


def plan(conn: Connection, query: Query) -> list[str]:
    """The plan's lines (PostgreSQL ``EXPLAIN``, SQLite ``EXPLAIN QUERY PLAN`` details)."""
    statement, params = query
    with _explaining(conn):
        # the raw cursor: the plan's rows are text, not the statement's typed columns
        rows = conn.execute(statement, params).cursor.fetchall()
    return [str(row[0]) if conn.dialect.name == "postgresql" else str(row[-1]) for row in rows]


def table_scans(conn: Connection, lines: list[str]) -> list[str]:
    """The lines of a plan that read a growing table from end to end."""
    if conn.dialect.name == "postgresql":
        pattern = re.compile(r"Seq Scan on (\w+)")
    else:
        pattern = re.compile(r"^SCAN (\w+)$")
    aliases = {"c": "charge", "s": "subscription", "m": "mandate"}
    found = []
    for line in lines:
        match = pattern.search(line.strip())
        if match and aliases.get(match[1], match[1]) in GROWING_TABLES:
            found.append(line.strip())
    return found


def timed(conn: Connection, query: Query, clock: Callable[[], float]) -> float:
    """Seconds to run ``query`` once and fetch its rows (in a transaction rolled back)."""
    statement, params = query
    with conn.begin() as tx:
        start = clock()
        conn.execute(statement, params).all()
        elapsed = clock() - start
        tx.rollback()
    return elapsed
