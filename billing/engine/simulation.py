"""Simulated time: run the engine tick by tick on a FakeClock, jumping to the next event.

Used by ``billing simulate``, the demo and the year-long tests. Between two steps the clock
jumps straight to the next instant at which a tick has work (a charge due, a read-back due,
a subscription entering the horizon), so a simulated year costs one tick per event, and
charges are collected at their exact due instants. With ``dispatch`` (a pass of the customer-
message dispatcher, which the caller wires) messages go out as time passes: before every tick,
as ``billing run`` interleaves its lanes, and after the last until nothing more is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from billing.clock import FakeClock
from billing.engine.sweeper import Engine, TickReport
from billing.store import queries

OnAdvance = Callable[[datetime], Awaitable[None]]
Dispatch = Callable[[], Awaitable[int]]  # one dispatch pass; returns the messages sent


@dataclass(slots=True)
class SimulationReport:
    ticks: int = 0
    charged: int = 0
    reconciled: int = 0
    materialized: int = 0
    sent: int = 0  # messages the relay accepted (with ``dispatch``)
    reports: list[TickReport] = field(default_factory=list)


async def no_op(_: datetime) -> None:
    return None


async def run_until(
    engine: Engine,
    clock: FakeClock,
    until: datetime,
    *,
    step: timedelta = timedelta(days=1),
    on_advance: OnAdvance = no_op,
    on_tick: Callable[[TickReport], None] | None = None,
    dispatch: Dispatch | None = None,
) -> SimulationReport:
    """Tick at the clock's instant, then at each next event (at most ``step`` apart)."""
    report = SimulationReport()
    while True:
        await on_advance(clock.now())
        if dispatch is not None:
            report.sent += await dispatch()
        tick = await engine.tick()
        _add(report, tick)
        if on_tick is not None:
            on_tick(tick)
        target = min(await _next_event(engine, clock.now(), step), until)
        if target <= clock.now():
            break
        clock.set(target)
    while dispatch is not None:  # what the last tick caused (a pass sends one batch)
        sent = await dispatch()
        report.sent += sent
        if not sent:
            break
    return report


def _add(report: SimulationReport, tick: TickReport) -> None:
    report.ticks += 1
    report.charged += tick.charged
    report.reconciled += tick.reconciled
    report.materialized += tick.materialized


async def _next_event(engine: Engine, now: datetime, step: timedelta) -> datetime:
    horizon = timedelta(days=engine.settings.scheduler.horizon_days)

    def query() -> datetime | None:
        with engine.store.transaction() as session:
            return queries.next_wakeup(session, horizon=horizon)

    wake = await asyncio.to_thread(query)
    latest = now + step
    if wake is None or wake > latest:
        return latest
    return max(wake, now + timedelta(seconds=1))
