"""`billing releases ...`: club runs from draft to archive, the preview that is the charge."""

from __future__ import annotations

from dataclasses import asdict
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import typer

from billing.cli import confirm, inputs, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.clubs import page, preview, process, reports, service
from billing.clubs import store as clubs_store
from billing.errors import DomainError

app = typer.Typer(help="Club releases (club runs): package, cutoff, preview, approval, "
                  "processing and archive.", no_args_is_help=True)  # fmt: skip
RELEASE = typer.Argument(..., help="Release id")


def _fields(r: Any) -> dict[str, Any]:
    return {"id": r.id, "club_id": r.club_id, "title": r.title, "status": r.status,
            "process_at": r.process_at.isoformat(), "cutoff_at": r.cutoff_at.isoformat(),
            "approved_at": r.approved_at.isoformat() if r.approved_at else None}  # fmt: skip


@app.command()
@command
def create(
    club_ref: str = typer.Argument(..., help="Club id or name"),
    title: str = typer.Argument(..., help="Shown on the Toast check: Spring 2027 release"),
    on: str = typer.Option(..., "--date", help="Process date (local to the club): 2027-03-20"),
    at: str = typer.Option("00:00", "--at", help="Local process time, HH:MM"),
    cutoff_minutes: int = typer.Option(1, "--cutoff-minutes",
                                       help="Edits close this many minutes before"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a draft release of a club, processed at the local date's 00:00 by default.

    Example: billing releases create "Cellar Club" "Spring 2027" --date 2027-03-20
    """
    day = inputs.parse_date(on, "--date")
    local = _hhmm(at)
    if not 0 <= cutoff_minutes <= 60 * 24 * 60:
        raise DomainError("cutoff must be 0..86400 minutes before", field="--cutoff-minutes")
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        row = service.create_release(
            session, club, title=title, process_on=day, at=local,
            cutoff_before=timedelta(minutes=cutoff_minutes), now=SystemClock().now(),
        )  # fmt: skip
        data = _fields(row)
    _show(data, json_out, f"release {data['id']} {data['title']!r} (draft) processes at "
          f"{data['process_at']}, edits close {data['cutoff_at']}")  # fmt: skip


def _hhmm(text: str) -> time:
    try:
        hour, minute = (int(x) for x in text.split(":"))
        return time(hour, minute)
    except ValueError:
        raise DomainError(f"{text!r} is not a time HH:MM", field="--at") from None


def _show(data: Any, json_out: bool, line: str) -> None:
    if json_out:
        output.print_json(data)
    else:
        output.echo(line)


@app.command("list")
@command
def list_(
    club_ref: str | None = typer.Option(None, "--club", help="Only this club"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List releases.

    Example: billing releases list --club "Cellar Club"
    """
    with output.transaction() as session:
        club_id = clubs_store.club(session, club_ref).id if club_ref else None
        rows = [_fields(r) for r in clubs_store.releases(session, club_id)]
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Releases", ("id", "club", "title", "status", "process at", "cutoff",
                                        "approved"), [tuple(r.values()) for r in rows])  # fmt: skip


@app.command()
@command
def lines(
    release_id: int = RELEASE,
    item: str | None = typer.Option(None, "--item", help="Item name (adds or changes a line)"),
    qty: int = typer.Option(1, "--qty", help="Bottles of the item in the package"),
    price: str | None = typer.Option(None, "--price", help="Retail price, dollars"),
    remove: str | None = typer.Option(None, "--remove", help="Remove the line of this item"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show or change a release's package lines (item, quantity, retail price).

    Example: billing releases lines 1 --item "Pinot Noir 2024" --qty 2 --price 42.00
    """
    now = SystemClock().now()
    with output.transaction() as session:
        release = clubs_store.release(session, release_id)
        if item is not None:
            cents = inputs.cents(price, "--price")
            if cents is None:
                raise DomainError("give the retail price", field="--price")
            service.set_line(session, release, item=item, qty=qty, retail_cents=cents, now=now)
        if remove is not None:
            service.remove_line(session, release, item=remove, now=now)
        session.flush()
        rows: list[dict[str, Any]] = [
            {"item": x.item, "qty": x.qty, "retail_cents": x.retail_cents}
            for x in clubs_store.lines(session, release_id)
        ]
    if json_out:
        output.print_json(rows)
    else:
        output.print_table(f"Release {release_id} package", ("item", "qty", "retail"),
                           [(r["item"], r["qty"], inputs.dollars(r["retail_cents"]))
                            for r in rows])  # fmt: skip


def _move(release_id: int, json_out: bool, action: str) -> None:
    now = SystemClock().now()
    with output.transaction() as session:
        release = clubs_store.release(session, release_id)
        extra = ""
        if action == "open":
            service.open_release(session, release, now=now)
        elif action == "approve":
            service.approve(session, release, now=now)
        else:
            extra = f", {service.archive(session, release, now=now)} charges withdrawn"
        data = _fields(release)
    _show(data, json_out, f"release {release_id} is {data['status']}"
          f"{' (approved)' if action == 'approve' else ''}{extra}")  # fmt: skip


@app.command("open")
@command
def open_(release_id: int = RELEASE, json_out: bool = JSON_OPTION) -> None:
    """Open a release to its members: they may skip, customize or ship now until the cutoff.

    Example: billing releases open 1
    """
    _move(release_id, json_out, "open")


@app.command()
@command
def approve(release_id: int = RELEASE, json_out: bool = JSON_OPTION) -> None:
    """Approve a release after its preview: an unapproved release does not process (unless
    its club auto-approves).

    Example: billing releases approve 1
    """
    _move(release_id, json_out, "approve")


@app.command()
@command
def archive(release_id: int = RELEASE, yes: bool = confirm.YES,
            json_out: bool = JSON_OPTION) -> None:  # fmt: skip
    """Archive a release: its unpaid charges are withdrawn and never charged again, not even
    after a card update.

    Example: billing releases archive 1 --yes
    """
    confirm.ask(f"archive release {release_id}", ["unpaid charges will be withdrawn"], yes=yes)
    _move(release_id, json_out, "archive")


@app.command("preview")
@command
def preview_(
    release_id: int = RELEASE,
    html_path: Path | None = typer.Option(None, "--html",  # noqa: B008
                                          help="Also write the preview as an HTML page"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Every member of a release: chargeable (amount, card, lines), skipped, on hold, blocked
    with the reason, and the totals. After the cutoff: the stored snapshot processing charges.

    Example: billing releases preview 1 --json
    """
    with output.transaction() as session:
        shown = preview.build(session, clubs_store.release(session, release_id),
                              now=SystemClock().now())
        run = reports.club_run(session, release_id) if html_path else None
    if html_path is not None:
        html_path.write_text(page.render(shown, run), encoding="utf-8")
    if json_out:
        output.print_json(asdict(shown))
        return
    state = "approved" if shown.approved else "NOT approved"
    output.echo(f"{shown.title} (release {shown.release_id}, {shown.status}, {state}); "
                f"processes {shown.process_at}, cutoff {shown.cutoff_at}"
                + (f", snapshot {shown.snapshot_at}" if shown.snapshot_at else ""))  # fmt: skip
    output.print_table("Members", ("member", "tier", "status", "amount", "card", "lines / reason"),
                       [(r.get("member", r["membership_id"]), r["tier"], r["category"],
                         inputs.dollars(r["amount_cents"]), r["card"], _detail(r))
                        for r in shown.rows])  # fmt: skip
    t = shown.totals
    output.echo(f"totals: {t['chargeable']} chargeable {inputs.dollars(t['chargeable_cents'])}; "
                f"{t['shipped_now']} shipped now; {t['skipped']} skipped; {t['on_hold']} on "
                f"hold; {t['blocked']} blocked; {t['cancelled']} cancelled")  # fmt: skip
    for line in shown.differences:
        output.echo(f"CHANGED SINCE THE CUTOFF (processing refuses): {line}")


def _detail(row: dict[str, Any]) -> str:
    if row["category"] != "chargeable":
        return str(row["reason"])
    parts = [f"{x['qty']} x {x['item']}" for x in row.get("lines", [])]
    text = ", ".join(parts) + f" + ship {inputs.dollars(row['shipping_cents'])}"
    text += f" + tax {inputs.dollars(row['tax_cents'])}"
    if row.get("explicit_reason"):
        text += f" (amount set by staff: {row['explicit_reason']})"
    return text


@app.command("process")
@command
def process_(release_id: int = RELEASE, json_out: bool = JSON_OPTION) -> None:
    """Process a release now (the engine also does it at the cutoff): one charge per chargeable
    member through the engine, due at the process instant, in batches of members. Refused,
    with the differences, when the preview changed since the cutoff; a re-run charges nothing
    twice and resumes a release interrupted part-way.

    Example: billing releases process 1
    """
    with output.opened_store() as store:
        outcome = process.process_ref(store, release_id, now=SystemClock().now())
    if json_out:
        output.print_json(asdict(outcome))
    elif outcome.processed:
        output.echo(f"release {release_id} processing: {outcome.charges} charges due")
    if not outcome.processed:  # the refusal is recorded (committed) and shown by preview
        shown = "; ".join(outcome.differences[:3])
        more = len(outcome.differences) - 3
        raise DomainError(f"release {release_id} not processed: {outcome.why}: {shown}"
                          + (f" (and {more} more)" if more > 0 else ""), field="release")


@app.command()
@command
def report(release_id: int = RELEASE, json_out: bool = JSON_OPTION) -> None:
    """The club-run report of a release: charged, recovered, declined, skipped, on hold,
    revenue by tier and location.

    Example: billing releases report 1
    """
    with output.transaction() as session:
        data = reports.club_run(session, release_id)
    if json_out:
        output.print_json(data)
        return
    output.echo(f"{data['club']}: {data['title']} ({data['status']}, {data['process_at']})")
    output.print_table("Shipments", ("outcome", "count"), list(data["counts"].items()))
    output.print_table("Revenue by tier", ("tier", "revenue"),
                       [(k, inputs.dollars(v)) for k, v in data["revenue_by_tier"].items()])
    output.echo(f"revenue {inputs.dollars(data['revenue_cents'])}")
