"""`billing demo`: a restaurant's year of billing, simulated in under a minute, then reported.

Starts the embedded Toast sandbox, recreates ./demo/billing.db, enrolls a wine club, catering
deposits and no-show fees through the real card-on-file flow, simulates the months on a
FakeClock, prints the collections report, writes the HTML report and checks the store against
the sandbox's ledger.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from billing import logs, wiring
from billing.clock import FakeClock, SystemClock
from billing.demo import run, scenario
from billing.domain.money import format_cents
from billing.engine.sweeper import TickReport
from billing.reports import html, ledger, query, terminal
from billing.reports.model import CollectionsReport
from billing.reports.period import Month, spanning
from billing.sandbox import SandboxConfig, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings
from billing.store import migrate
from billing.store.db import Store

TEN_YEARS_S = 10 * 366 * 86_400


@dataclass(frozen=True, slots=True)
class Outcome:
    report: CollectionsReport
    check: ledger.LedgerCheck
    tally: run.Tally


def sandbox_config() -> SandboxConfig:
    # The simulation moves the sandbox clock by months: the token outlives it, and the rate
    # limits are raised out of the way (a year of charges is sent in seconds).
    return SandboxConfig(
        locations=tuple(scenario.LOCATIONS), start=scenario.START, token_ttl_s=TEN_YEARS_S,
        rate_per_second=10_000, rate_per_15min=10_000_000,
    )  # fmt: skip


def demo_settings(base_url: str, database_url: str) -> BillingSettings:
    return BillingSettings(
        _env_file=None,
        database_url=database_url,
        log_level="WARNING",
        toast={"base_url": base_url, "location_guid": scenario.DOWNTOWN,
               "rate_per_second": 1000.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05},
        scheduler={"concurrency": 8, "claim_batch_size": 50},
    )  # fmt: skip


def fresh_database(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "billing.db"
    for path in (db, db.with_name("billing.db-wal"), db.with_name("billing.db-shm")):
        path.unlink(missing_ok=True)
    url = f"sqlite:///{db.resolve()}"
    migrate.upgrade(url)
    return url


def demo(
    out: str = typer.Option(
        "demo", "--dir", help="Where billing.db and report.html go (recreated each run)"
    ),
    members: int = typer.Option(30, "--members", hidden=True, min=8, max=500),
    months: int = typer.Option(12, "--months", hidden=True, min=1, max=12),
) -> None:
    """Simulate a restaurant's year of billing against the embedded sandbox and report on it.

    Example: billing demo
    """
    console, directory = Console(highlight=False), Path(out)
    started = SystemClock().monotonic()
    cast = scenario.build(members=members, months=months)
    console.print(f"[bold]billing demo[/]: {months} months of billing for a restaurant group "
                  "(2 locations), simulated against the embedded Toast sandbox.")  # fmt: skip
    url = fresh_database(directory)
    console.print(f"  database   {directory / 'billing.db'} (fresh, migrated)")
    with (directory / "engine.log").open("w") as log, running_sandbox(sandbox_config()) as box:
        logs.configure("INFO", stream=log, fmt=logs.LogFormat.JSON)  # the engine's own lines
        console.print(f"  sandbox    {box.base_url} (Toast emulator, test mode)")
        deposits = sum(m.plan != "wine-club" for m in cast.members)
        console.print(f"  enrolling  {members} wine-club members, {deposits} catering deposits, "
                      f"{len(cast.fees)} no-show fees (cards via setup intents)\n")  # fmt: skip
        outcome = asyncio.run(_simulate(cast, demo_settings(box.base_url, url), console, log))
    _finish(console, outcome, directory, SystemClock().monotonic() - started)
    if not outcome.check.ok:
        raise SystemExit(1)


async def _simulate(
    cast: scenario.Scenario, settings: BillingSettings, console: Console, log: IO[str]
) -> Outcome:
    clock = FakeClock(scenario.START)
    for handler in logging.getLogger().handlers:  # each line says when it happened in 2027
        handler.addFilter(_SimulatedTime(clock))
    control = SandboxControl.at(settings.toast.base_url)
    store = Store.from_url(settings.database_url)
    end = run.month_start(cast.months)
    try:
        async with wiring.engine(settings, clock=clock, store=store) as engine:
            with _progress(console) as progress:
                task = progress.add_task("simulating", total=(end - scenario.START).days,
                                         day="", charged=0)  # fmt: skip

                def on_tick(tick: TickReport) -> None:
                    done = (tick.at - scenario.START).total_seconds() / 86_400
                    charged = progress.tasks[0].fields["charged"] + tick.charged
                    progress.update(task, completed=done, day=f"{tick.at:%Y-%m-%d}",
                                    charged=charged)  # fmt: skip

                tally = await run.run(cast, engine=engine, clock=clock, control=control,
                                      on_tick=on_tick)  # fmt: skip
            entries = await control.items("order-payments")
        with store.transaction() as session:
            first = Month(scenario.START.year, scenario.START.month)
            period = spanning(first, cast.months)
            report = query.collections(session, period, now=clock.now(),
                                       location_names=scenario.LOCATIONS)  # fmt: skip
            check = ledger.check(session, entries)
        return Outcome(report, check, tally)
    finally:
        await control.aclose()
        store.dispose()


class _SimulatedTime(logging.Filter):
    """Stamps each log record with the simulated instant (``sim_at``), beside the wall time."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        record.sim_at = self.clock.now().isoformat().replace("+00:00", "Z")
        return True


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("  [bold]{task.description}[/]"), BarColumn(), TextColumn("{task.fields[day]}"),
        TextColumn("[green]{task.fields[charged]} payment attempts[/]"), TimeElapsedColumn(),
        console=console,
    )  # fmt: skip


def _finish(console: Console, outcome: Outcome, directory: Path, elapsed: float) -> None:
    report, check, totals = outcome.report, outcome.check, outcome.report.totals
    console.print()
    terminal.show(report, console)
    page = directory / "report.html"
    page.write_text(html.render(report), encoding="utf-8")
    console.print(
        f"\n[bold]Collected {format_cents(totals.charged.cents)}[/] in {totals.charged.count} "
        f"charges; dunning recovered {format_cents(totals.recovered.cents)} "
        f"({totals.recovered.count} of {totals.declined.count} declined charges); "
        f"failed {format_cents(totals.failed.cents)}; outstanding "
        f"{format_cents(totals.outstanding.cents)}; churned {totals.churned.total}."
    )
    mark = "[green]OK[/]" if check.ok else "[red]FAILED[/]"
    console.print(f"{mark} {check.summary()}")
    console.print(f"  HTML report  {page.resolve()}", soft_wrap=True)
    db = directory / "billing.db"
    console.print(f"  database     {db.resolve()}", soft_wrap=True)
    again = f"BILLING_DATABASE_URL=sqlite:///{db} billing report"
    console.print(f"  again        {again}", soft_wrap=True)
    console.print(f"  engine log   {directory / 'engine.log'}", soft_wrap=True)
    console.print(f"Done in {elapsed:.1f} s ({outcome.tally.ticks} engine ticks).")
