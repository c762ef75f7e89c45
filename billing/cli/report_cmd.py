"""`billing report`: collections by month, plan and location (terminal, JSON or HTML)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from billing.cli.context import describe, fail, settings_or_exit
from billing.clock import SystemClock
from billing.domain import inputs
from billing.errors import BillingError, DomainError
from billing.manage import locations
from billing.reports import html, jsonout, query, terminal
from billing.reports.model import CollectionsReport
from billing.reports.period import Period, month_of, parse_month
from billing.store.db import Store


def resolve_period(
    store_span: Period | None, *, month: str | None, start: str | None, end: str | None,
    timezone: str, today: Period,
) -> Period:  # fmt: skip
    """--month M, or --from/--to (each defaulting to the store's span), or the store's span."""
    if month and (start or end):
        raise BillingError("use --month or --from/--to, not both", field="month")
    if month:
        one = parse_month(month, field="--month")
        return Period(first=one, last=one, timezone=timezone)
    span = store_span or today
    first = parse_month(start, field="--from") if start else span.first
    last = parse_month(end, field="--to") if end else max(span.last, first)
    return Period(first=first, last=last, timezone=timezone)


def build(
    url: str, *, month: str | None, start: str | None, end: str | None, timezone: str
) -> CollectionsReport:
    now = SystemClock().now()
    current = month_of(now, Period.zone_of(timezone))
    this_month = Period(first=current, last=current, timezone=timezone)
    store = Store.from_url(url)
    try:
        with store.transaction() as session:
            span = query.activity_span(session, timezone)
            period = resolve_period(span, month=month, start=start, end=end,
                                    timezone=timezone, today=this_month)  # fmt: skip
            return query.collections(session, period, now=now,
                                     location_names=locations.names(session))  # fmt: skip
    finally:
        store.dispose()


def check_inputs(
    *, month: str | None, start: str | None, end: str | None, timezone: str,
    html_path: str | None,
) -> None:  # fmt: skip
    """The shared rules (billing.domain.inputs) before the store is read: months in 2000-2100,
    a known zone, and an --html path whose directory exists."""
    for value, option in ((month, "--month"), (start, "--from"), (end, "--to")):
        if value is not None:
            inputs.month(value, field=option)
    inputs.timezone(timezone, field="--tz")
    if html_path is not None:
        folder = Path(html_path).parent
        if not folder.is_dir():
            raise DomainError(
                f"--html: the directory {inputs.shown(str(folder))} does not exist",
                field="--html",
            )


def report(
    month: str = typer.Option(None, "--month", help="One month, e.g. 2027-03"),
    start: str = typer.Option(None, "--from", help="First month (default: the first charge's)"),
    end: str = typer.Option(None, "--to", help="Last month (default: the last charge's)"),
    html_path: str = typer.Option(None, "--html", help="Also write a self-contained HTML page"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (amounts in cents)"),
    timezone: str = typer.Option("UTC", "--tz", help="IANA time zone months are counted in"),
) -> None:
    """Collections: charged, declined, recovered, failed, outstanding and churn per month.

    Example: billing report --month 2027-03 --html report.html
    """
    settings = settings_or_exit()
    try:
        check_inputs(month=month, start=start, end=end, timezone=timezone, html_path=html_path)
        result = build(settings.database_url, month=month, start=start, end=end,
                       timezone=timezone)  # fmt: skip
    except Exception as exc:
        fail(describe(exc))
    if html_path:
        try:
            Path(html_path).write_text(html.render(result), encoding="utf-8")
        except OSError as exc:
            fail(f"--html: cannot write {inputs.shown(html_path)}: {exc.strerror or exc}")
    if as_json:
        typer.echo(json.dumps(jsonout.to_json(result), indent=2))
    else:
        terminal.show(result, Console(highlight=False))
    if html_path:
        typer.echo(f"HTML report written to {Path(html_path).resolve()}", err=as_json)
