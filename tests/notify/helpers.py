"""Running the engine and the dispatch lane together on simulated time, and reading the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from billing.engine import simulation
from billing.settings import BillingSettings
from billing.store.tables import Message
from tests.engine.world import World
from tests.notify import club


async def run(w: World, config: BillingSettings, until: datetime) -> None:
    """Simulate up to ``until`` (steps of at most a day) with a dispatch pass before every
    tick, the way ``billing run`` interleaves its lanes, and one last pass at the end."""

    async def advance(now: datetime) -> None:
        await w.control.set_clock(now)
        await club.dispatch(w, config)

    await simulation.run_until(w.engine, w.clock, until, step=timedelta(days=1),
                               on_advance=advance)  # fmt: skip
    await club.dispatch(w, config)


def outbox(w: World) -> list[Message]:
    with w.store.transaction() as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())
