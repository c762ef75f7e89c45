"""Where a simulation got to: the simulated instant it was working on, one ``engine_state``
row (``simulation``) written before each step's work, so a simulation killed at any point
resumes at that instant (``billing simulate --resume``). Redoing a step is harmless: every
step's work is idempotent (charges and notices are unique in the store, messages are claimed
and sent at most once). The killed process's worker row and location leases are taken over
(``take_over``), or the resumed one would wait for a dead worker's leases to lapse."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from billing.store.db import Store
from billing.store.tables import EngineState

NAME = "simulation"


def record(store: Store, at: datetime) -> None:
    with store.transaction() as session:
        row = session.get(EngineState, NAME) or EngineState(name=NAME, ran_at=at)
        row.ran_at, row.owner = at, "simulate"
        session.add(row)


def reached(store: Store) -> datetime | None:
    """The instant the last simulation was working on, or None (none ran here)."""
    with store.transaction() as session:
        row = session.get(EngineState, NAME)
        return row.ran_at if row is not None else None


def take_over(store: Store) -> None:
    """A resumed simulation takes over what the killed one held: it left no heartbeat to wait
    for and its location leases are released as if it had stopped cleanly (a simulation owns
    its store: it moves business time for every worker on it, so none runs beside it)."""
    with store.transaction() as session:
        session.execute(text("DELETE FROM engine_worker"))
        session.execute(text("UPDATE location_lease SET owner = NULL, expires_at = logged_at"))
