"""`billing policies ...`: reservation fee policies per location, versioned."""

from __future__ import annotations

from typing import Any

import typer

from billing.cli import context, inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.errors import DomainError
from billing.manage import locations
from billing.reservations import policies
from billing.store.tables import FeePolicy

app = typer.Typer(help="Reservation fee policies: per person or per reservation, a "
                  "free-cancellation window, a cap; versioned. Amounts are dollars.",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("code", "v", "name", "fee", "cap", "free until", "delay", "last moment", "applies",
           "location", "active")  # fmt: skip
CODE = typer.Argument(..., help="Policy code: dinner")
LOCATION = typer.Option(None, "--location", help="Toast location GUID or name (default: settings)")
NAME = typer.Option(None, "--name", help="Display name: Dinner no-show fee")
PER = typer.Option(None, "--per", help="person or reservation")
AMOUNT = typer.Option(None, "--amount", help="Fee in dollars (per person or per reservation)")
CAP = typer.Option(None, "--cap", help="At most this many dollars per reservation")
WINDOW = typer.Option(None, "--window-hours", help="Free cancellation until N hours before")
DELAY = typer.Option(None, "--delay-minutes", help="Wait after a report before charging (15)")
LAST = typer.Option(None, "--last-moment-hours", help="No fee later than N hours after (48)")
CONSENT = typer.Option(None, "--consent", help="The text the guest accepts at booking")
SERVICE = typer.Option(None, "--service", help="Only for this service: dinner")
DAYS = typer.Option(None, "--days", help="Only on these days: fri,sat")
FROM = typer.Option(None, "--from", help="Only slots from this local time HH:MM")
UNTIL = typer.Option(None, "--until", help="... until this local time HH:MM")
ZONE = typer.Option(None, "--timezone", help="IANA zone (default: the location's)")


def _location(ref: str | None) -> str:
    if ref is None:
        return context.settings_or_exit().toast.location_guid
    with output.transaction() as session:
        return locations.get(session, ref).guid if not _is_guid(ref) else ref.lower()


def _is_guid(ref: str) -> bool:
    return len(ref) == 36 and ref.count("-") == 4


def _applies(p: FeePolicy) -> str:
    parts = [p.service or "", p.days or "",
             f"{p.window_start}-{p.window_end}" if p.window_start else ""]  # fmt: skip
    return " ".join(x for x in parts if x) or "always"


def _row(p: FeePolicy, names: dict[str, str]) -> list[Any]:
    return [p.code, p.version, p.name, f"{inputs.dollars(p.amount_cents)}/{p.per}",
            inputs.dollars(p.cap_cents) if p.cap_cents else "", f"{p.free_cancel_hours} h before",
            f"{p.confirm_delay_minutes} min", f"{p.last_moment_hours} h after", _applies(p),
            labels.location(p.location_guid, names), p.active]  # fmt: skip


@app.command()
@command
def create(
    code: str = CODE, name: str = typer.Option(..., "--name", help="Display name"),
    per: str = typer.Option("person", "--per", help="person or reservation"),
    amount: str = typer.Option(..., "--amount", help="Fee in dollars: 25"),
    consent: str = typer.Option(..., "--consent", help="The text the guest accepts"),
    cap: str = CAP, window_hours: int = typer.Option(24, "--window-hours",
                                                     help="Free cancellation until N hours before"),
    delay_minutes: int = typer.Option(15, "--delay-minutes", help="Wait after a report"),
    last_moment_hours: int = typer.Option(48, "--last-moment-hours", help="No fee after N h"),
    service: str = SERVICE, days: str = DAYS, start: str = FROM, end: str = UNTIL,
    timezone: str = ZONE, location: str = LOCATION, json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Create a fee policy (version 1).

    Example: billing policies create dinner --name "Dinner no-show fee" --amount 25 --cap 100
    --consent "A $25 per guest fee applies to no-shows and to cancellations within 24 hours."
    """
    spec = policies.PolicySpec(
        code=code, name=name, per=per, amount_cents=_cents(amount, "--amount") or 0,
        consent_text=consent, location_guid=_location(location), cap_cents=_cents(cap, "--cap"),
        free_cancel_hours=window_hours, confirm_delay_minutes=delay_minutes,
        last_moment_hours=last_moment_hours, service=service, days=days, window_start=start,
        window_end=end, timezone=timezone,
    )  # fmt: skip
    with output.transaction() as session:
        row = policies.create(session, spec, now=SystemClock().now())
    _done(row, json_out, f"policy {row.code} v{row.version} created")


def _cents(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    if text.strip() in ("0", "0.00", "$0"):
        return 0
    return inputs.cents(text, option)


def _done(row: FeePolicy, json_out: bool, message: str) -> None:
    if json_out:
        output.print_json(row)
    else:
        output.echo(message)


@app.command("list")
@command
def list_(
    every_version: bool = typer.Option(False, "--all", help="Also retired versions"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List fee policies (current versions).

    Example: billing policies list --all
    """
    with output.transaction() as session:
        rows = policies.list_all(session, every_version=every_version)
        names = locations.names(session)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Fee policies", COLUMNS, [_row(p, names) for p in rows])


@app.command()
@command
def show(
    code: str = CODE, version: int = typer.Option(None, "--version", help="That version"),
    location: str = LOCATION, json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Show a fee policy with its consent text.

    Example: billing policies show dinner --version 1
    """
    guid = _location(location)
    with output.transaction() as session:
        row = policies.get(session, guid, code, version)
        names = locations.names(session)
    if json_out:
        output.print_json(row)
        return
    output.print_fields(f"Policy {row.code} v{row.version}",
                        {**dict(zip(COLUMNS, _row(row, names), strict=True)),
                         "consent": row.consent_text, "zone": row.timezone,
                         "created": row.created_at})  # fmt: skip


@app.command()
@command
def update(
    code: str = CODE, name: str = NAME, per: str = PER, amount: str = AMOUNT, cap: str = CAP,
    window_hours: int = WINDOW, delay_minutes: int = DELAY, last_moment_hours: int = LAST,
    consent: str = CONSENT, service: str = SERVICE, days: str = DAYS, start: str = FROM,
    end: str = UNTIL, timezone: str = ZONE, location: str = LOCATION,
    no_cap: bool = typer.Option(False, "--no-cap", help="Remove the cap"),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Write version N+1 of a policy; reservations already booked keep theirs.

    Example: billing policies update dinner --amount 30; billing policies update dinner --no-cap
    """
    if no_cap and cap is not None:
        raise DomainError("--no-cap: give --cap or --no-cap, not both", field="--no-cap")
    changes = {
        "name": name, "per": per, "amount_cents": _cents(amount, "--amount"),
        "cap_cents": _cents(cap, "--cap"), "free_cancel_hours": window_hours,
        "confirm_delay_minutes": delay_minutes, "last_moment_hours": last_moment_hours,
        "consent_text": consent, "service": service, "days": days, "window_start": start,
        "window_end": end, "timezone": timezone,
    }  # fmt: skip
    guid = _location(location)
    with output.transaction() as session:
        row = policies.update(session, guid, code, now=SystemClock().now(),
                              clear=("cap_cents",) if no_cap else (), **changes)
    _done(row, json_out, f"policy {row.code} is now v{row.version}")
