"""Drive the demo: enroll the cast month by month and simulate each month on a FakeClock.

Each month: the members joining that month enroll on the 1st, the engine runs to the evening
of the 15th, that night's no-show fees are created, and the engine runs to the next 1st.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from billing.clock import FakeClock
from billing.demo import cast
from billing.demo.scenario import DOWNTOWN, LOCATIONS, START, ZONE, Scenario
from billing.engine import simulation
from billing.engine.sweeper import Engine, TickReport
from billing.manage import locations, plans
from billing.sandbox.remote import SandboxControl

NO_SHOW_EVENING = timedelta(days=14, hours=23)  # the 15th, 23:00 UTC (evening in the US)


@dataclass(slots=True)
class Tally:
    subscriptions: int = 0
    fees: int = 0
    ticks: int = 0


def month_start(k: int, start: datetime = START) -> datetime:
    year, month = divmod(start.month - 1 + k, 12)
    return datetime(start.year + year, month + 1, 1, tzinfo=UTC)


async def run(
    scenario: Scenario,
    *,
    engine: Engine,
    clock: FakeClock,
    control: SandboxControl,
    on_tick: Callable[[TickReport], None],
    dispatch: simulation.Dispatch | None = None,
) -> Tally:
    tally = Tally()
    with engine.store.transaction() as session:
        for guid, name in LOCATIONS.items():  # lists and reports show the names
            locations.add(session, guid, name=name, timezone=ZONE, now=clock.now())
        for spec in scenario.plans:
            plans.create(session, spec, now=clock.now())
    for k in range(scenario.months):
        begin = month_start(k)
        for member in (m for m in scenario.members if m.month == k):
            start = cast.first_due(begin.year, begin.month, member.anchor_day)
            await cast.subscribe(engine.store, control, member, start=start, now=clock.now())
            tally.subscriptions += 1
        tally.ticks += await _run(engine, clock, control, begin + NO_SHOW_EVENING, on_tick,
                                  dispatch)  # fmt: skip
        for fee in (f for f in scenario.fees if f.month == k):
            await cast.no_show(engine.store, control, fee, location=DOWNTOWN, now=clock.now())
            tally.fees += 1
        tally.ticks += await _run(engine, clock, control, month_start(k + 1), on_tick,
                                  dispatch)  # fmt: skip
    return tally


async def _run(
    engine: Engine,
    clock: FakeClock,
    control: SandboxControl,
    until: datetime,
    on_tick: Callable[[TickReport], None],
    dispatch: simulation.Dispatch | None = None,
) -> int:
    report = await simulation.run_until(
        engine, clock, until, on_advance=control.set_clock, on_tick=on_tick, dispatch=dispatch
    )
    return report.ticks
