"""`billing members ...`: a club member's controls for one release (skip, customize, ship
now) and their membership (hold, cancel, a card-update link). Edits of a release close at its
cutoff."""

from __future__ import annotations

from typing import Any

import typer

from billing.cli import inputs, links_cmd, output
from billing.cli.context import settings_or_exit
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.clubs import service
from billing.clubs import store as clubs_store
from billing.errors import DomainError
from billing.links import tokens

app = typer.Typer(help="Club members: skip, customize or ship now a release; hold or cancel "
                  "a membership; a card-update link.", no_args_is_help=True)  # fmt: skip
MEMBERSHIP = typer.Argument(..., help="Membership id (billing clubs members CLUB)")
RELEASE = typer.Argument(..., help="Release id")


def _ship(ship: Any) -> dict[str, Any]:
    return {"shipment_id": ship.id, "release_id": ship.release_id,
            "membership_id": ship.membership_id, "status": ship.status,
            "quantity": ship.quantity, "lines": ship.override_lines,
            "explicit_cents": ship.explicit_cents, "explicit_reason": ship.explicit_reason,
            "amount_cents": ship.amount_cents}  # fmt: skip


@app.command()
@command
def skip(
    membership_id: int = MEMBERSHIP, release_id: int = RELEASE,
    undo: bool = typer.Option(False, "--undo", help="Take the skip back"),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Skip a release (at most the club's skip cap in a row), until its cutoff.

    Example: billing members skip 7 3
    """
    now = SystemClock().now()
    with output.transaction() as session:
        release = clubs_store.release(session, release_id)
        member = clubs_store.membership(session, membership_id)
        fn = service.unskip if undo else service.skip
        data = _ship(fn(session, release, member, now=now))
    _out(data, json_out, f"membership {membership_id} {'un' if undo else ''}skipped "
         f"release {release_id}")  # fmt: skip


def _out(data: Any, json_out: bool, line: str) -> None:
    if json_out:
        output.print_json(data)
    else:
        output.echo(line)


@app.command()
@command
def customize(
    membership_id: int = MEMBERSHIP, release_id: int = RELEASE,
    line: list[str] = typer.Option([], "--line",  # noqa: B008
                                   help="ITEM=QTY@PRICE, repeatable: the member's own lines"),
    quantity: int | None = typer.Option(None, "--quantity", help="Packages (default 1)"),
    amount: str | None = typer.Option(None, "--amount", help="Staff: an explicit amount, dollars"),
    reason: str | None = typer.Option(None, "--reason", help="Why the explicit amount"),
    reset: bool = typer.Option(False, "--reset", help="Back to the release's package"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Customize a member's shipment of a release: own lines, package quantity, or an explicit
    amount set by staff with a reason.

    Example: billing members customize 7 3 --line "Syrah 2023=3@38.00" --quantity 2
    """
    lines = [_line(x) for x in line] or None
    cents = inputs.cents(amount, "--amount")
    now = SystemClock().now()
    with output.transaction() as session:
        ship = service.customize(
            session, clubs_store.release(session, release_id),
            clubs_store.membership(session, membership_id), lines=lines, quantity=quantity,
            explicit_cents=cents, reason=reason, reset=reset, now=now,
        )  # fmt: skip
        data = _ship(ship)
    _out(data, json_out, f"membership {membership_id}: release {release_id} customized")


def _line(text: str) -> tuple[str, int, int]:
    item, sep, rest = text.rpartition("=")
    qty, at, price = rest.partition("@")
    if not sep or not at or not qty.strip().isdigit():
        raise DomainError(f"--line {text[:80]!r} is not ITEM=QTY@PRICE", field="--line")
    cents = inputs.cents(price, "--line")
    return item, int(qty), cents or 0


@app.command()
@command
def hold(
    membership_id: int = MEMBERSHIP,
    until: str | None = typer.Option(None, "--until", help="On hold until this date"),
    resume: bool = typer.Option(False, "--resume", help="End the hold now"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Put a membership on hold until a date (not charged until then), or resume it.

    Example: billing members hold 7 --until 2027-06-01
    """
    if resume == (until is not None):
        raise DomainError("give --until DATE or --resume (one of them)", field="--until")
    day = None if until is None else inputs.parse_date(until, "--until")
    with output.transaction() as session:
        member = clubs_store.membership(session, membership_id)
        service.hold(session, member, until=day, now=SystemClock().now())
        data = {"membership_id": member.id, "status": member.status,
                "hold_until": day.isoformat() if day else None}  # fmt: skip
    _out(data, json_out, f"membership {membership_id} is {data['status']}"
         + (f" until {data['hold_until']}" if day else ""))  # fmt: skip


@app.command("ship-now")
@command
def ship_now(membership_id: int = MEMBERSHIP, release_id: int = RELEASE,
             json_out: bool = JSON_OPTION) -> None:  # fmt: skip
    """Ship a member's release now: charged at once, never again at the process date.

    Example: billing members ship-now 7 3
    """
    with output.transaction() as session:
        ship = service.ship_now(session, clubs_store.release(session, release_id),
                                clubs_store.membership(session, membership_id),
                                now=SystemClock().now())  # fmt: skip
        data = _ship(ship)
    _out(data, json_out, f"membership {membership_id}: release {release_id} charged now "
         f"({inputs.dollars(data['amount_cents'])})")  # fmt: skip


@app.command()
@command
def cancel(membership_id: int = MEMBERSHIP, json_out: bool = JSON_OPTION) -> None:
    """Cancel a membership: never charged for a release again.

    Example: billing members cancel 7
    """
    with output.transaction() as session:
        member = clubs_store.membership(session, membership_id)
        service.cancel(session, member, now=SystemClock().now())
        data = {"membership_id": member.id, "status": member.status}
    _out(data, json_out, f"membership {membership_id} is cancelled")


@app.command("update-card")
@command
def update_card(membership_id: int = MEMBERSHIP, json_out: bool = JSON_OPTION) -> None:
    """Create a card-update link for a member's card (the one their club charges) and print
    its URL: send it to them (it works once, for serve.card_link_days). Once they put in a new
    card, their declined or held shipments of open releases are tried again on it.

    Example: billing members update-card 7
    """
    settings = settings_or_exit()
    with output.transaction(settings) as session:
        member = clubs_store.membership(session, membership_id)
        mandate = None
        if member.mandate_id is not None:
            mandate = clubs_store.current_mandates(session, {member.mandate_id}).get(
                member.mandate_id)  # fmt: skip
        issued = tokens.for_mandate(session, mandate, now=SystemClock().now(),
                                    serve=settings.serve, field="membership")  # fmt: skip
    links_cmd.show(issued, json_out, membership_id=membership_id)
