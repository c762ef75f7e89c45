"""`billing run`, `billing tick`, `billing simulate`: the charging engine from the command line."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from billing import logs, wiring
from billing.cli.context import fail, settings_or_exit
from billing.cli.log_option import LOG_FORMAT
from billing.clock import FakeClock, SystemClock
from billing.domain import inputs
from billing.engine import runner, sim_progress, simulation
from billing.engine.sweeper import StopReport, TickReport
from billing.errors import DomainError
from billing.notify import dispatcher
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings


def parse_instant(value: str, name: str) -> datetime:
    """The shared rule (billing.domain.inputs): ISO 8601 with a zone, years 2000-2100."""
    try:
        return inputs.instant(value, field=name)
    except DomainError as exc:
        fail(f"{name}: {exc.message}")


def parse_step(value: str) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not number.isdigit() or not 0 < int(number) <= 100_000:
        fail(f"--step: {inputs.shown(value)} is not a duration like 1d, 6h, 30m")
    step = timedelta(**{units[unit]: int(number)})
    if step > timedelta(days=366):
        fail("--step: at most 366 days")
    return step


def run(
    status_file: str = typer.Option(
        None, "--status-file", help="Rewrite this JSON health file on every heartbeat"
    ),
    log_format: logs.LogFormat = LOG_FORMAT,
) -> None:
    """Start the worker: its lanes run on intervals until SIGTERM/SIGINT; then it releases
    unsent claims, lets in-flight charges finish (scheduler.drain_s), prints one line of what
    it left, and exits 0 only after a clean drain (1 otherwise). A second signal forces.

    Example: billing run --status-file /run/billing/worker.json --log-format json
    """
    settings = settings_or_exit()
    logs.configure(settings.log_level, fmt=log_format)

    async def main() -> StopReport:
        async with wiring.engine(settings, clock=SystemClock()) as engine:
            if status_file is not None:
                engine.health.path = Path(status_file)
            return await runner.serve(engine)

    report = asyncio.run(main())
    typer.echo(report.line(), err=True)
    raise typer.Exit(0 if report.clean else 1)


def tick(
    now: str = typer.Option(None, "--now", help="Run the pass at this ISO instant (default: now)"),
) -> None:
    """Run one full pass (materialize, claim, charge, reconcile) and print what it did.

    Example: billing tick --now 2027-03-01T15:00:00Z
    """
    settings = settings_or_exit()
    logs.configure(settings.log_level)
    instant = parse_instant(now, "--now") if now is not None else SystemClock().now()

    async def main() -> None:
        async with wiring.engine(settings, clock=FakeClock(instant)) as engine:
            report = await engine.tick()
        typer.echo(
            f"tick at {report.at.isoformat()}: materialized {report.materialized}, "
            f"charged {report.charged}, reconciled {report.reconciled}"
        )

    asyncio.run(main())


def simulate(
    until: str = typer.Option(..., "--until", help="Simulate up to this ISO date or instant"),
    start: str = typer.Option(None, "--from", help="Start instant (default: now)"),
    step: str = typer.Option("1d", "--step", help="Largest jump between ticks: 1d, 6h, 30m"),
    sandbox_clock: bool = typer.Option(
        True, help="Move the (test-mode) sandbox's clock along with the simulation"
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Start where the last simulation on this store got to (a "
        "killed one resumes at the instant it was working on); --from when none ran",
    ),
) -> None:
    """Advance a simulated clock tick by tick up to --until, charging what falls due.

    The customer messages go out as simulated time passes (a dispatch pass before every tick,
    to the configured relay, mail.*), unless notify.enabled is false.

    Example: billing simulate --from 2027-01-01T00:00:00Z --until 2027-12-31 --step 1d
    """
    settings = settings_or_exit()
    logs.configure(settings.log_level)
    begin = parse_instant(start, "--from") if start is not None else SystemClock().now()
    if resume:
        begin = _reached(settings) or begin
    end = parse_instant(until if "T" in until else f"{until}T23:59:59+00:00", "--until")
    if end <= begin:
        fail("--until: must be after the start of the simulation")
    report = asyncio.run(_simulate(settings, begin, end, parse_step(step), sandbox_clock))
    typer.echo(
        f"simulated {begin.date()} -> {end.date()}: {report.ticks} ticks, "
        f"charged {report.charged}, reconciled {report.reconciled}, "
        f"messages sent {report.sent}"
    )


def _reached(settings: BillingSettings) -> datetime | None:
    from billing.store.db import Store

    store = Store.from_url(settings.database_url)
    try:
        reached = sim_progress.reached(store)
        if reached is not None:
            sim_progress.take_over(store)
        return reached
    finally:
        store.dispose()


async def _simulate(
    settings: BillingSettings, begin: datetime, end: datetime, step: timedelta, move_sandbox: bool
) -> simulation.SimulationReport:
    clock = FakeClock(begin)
    control = SandboxControl.at(settings.toast.base_url)
    days = max(1, int((end - begin).total_seconds() // 86_400))
    bar = Progress(
        TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[day]}"),
        TextColumn("{task.fields[charged]} charged"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip
    task = bar.add_task("simulate", total=days, day=str(begin.date()), charged=0)
    charged = 0

    def advance(report: TickReport) -> None:
        nonlocal charged
        charged += report.charged
        done = (report.at - begin).total_seconds() // 86_400
        bar.update(task, completed=done, day=str(report.at.date()), charged=charged)

    try:
        with bar:
            async with wiring.engine(settings, clock=clock) as engine:

                async def on_advance(now: datetime) -> None:  # recorded first: --resume
                    await asyncio.to_thread(sim_progress.record, engine.store, now)
                    if move_sandbox:
                        await control.set_clock(now)

                async def dispatch() -> int:  # the messages go out as simulated time passes
                    return await dispatcher.dispatch_once(engine.store, clock, settings)

                return await simulation.run_until(
                    engine, clock, end, step=step, on_advance=on_advance, on_tick=advance,
                    dispatch=dispatch if settings.notify.enabled else None,
                )  # fmt: skip
    finally:
        await control.aclose()
