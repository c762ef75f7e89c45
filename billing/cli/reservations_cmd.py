"""`billing reservations ...`: list, show, lower or waive a fee, export dispute evidence."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import typer
from sqlmodel import col, select

from billing.cli import confirm, inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.manage import locations
from billing.reservations import evidence, present, service
from billing.reservations.models import FeeAction, FeeChange
from billing.store.tables import Reservation

app = typer.Typer(help="Reservations: the fee each one owes and why; lower or waive it; "
                  "export dispute evidence.", no_args_is_help=True)  # fmt: skip
COLUMNS = ("reference", "slot", "party", "status", "policy", "fee", "reason", "charge",
           "location")  # fmt: skip
REF = typer.Argument(..., help="The reservation system's reference")
LOCATION = typer.Option(None, "--location", help="Location GUID, when two share the reference")
REASON = typer.Option(..., "--reason", help="Why (kept as evidence)")
STAFF = typer.Option(..., "--staff", help="Your name (kept as evidence)")
OUT = typer.Option(None, "--out", help="Write REF.json and REF.html in this folder")


def _view(session: Any, row: Reservation) -> Any:
    return present.reservation(session, row, now=SystemClock().now())


@app.command("list")
@command
def list_(
    status: str = typer.Option(None, "--status", help="Only this status: no_show"),
    open_only: bool = typer.Option(False, "--open", help="Only reservations not closed yet"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List reservations by slot with their fee decision and charge.

    Example: billing reservations list --status no_show
    """
    with output.transaction() as session:
        query = select(Reservation).order_by(col(Reservation.slot_at))
        if status is not None:
            query = query.where(Reservation.status == status.lower())
        if open_only:
            query = query.where(col(Reservation.closed_at).is_(None))
        views = [_view(session, r) for r in session.exec(query).all()]
        names = locations.names(session)
    if json_out:
        output.print_json([v.model_dump(exclude={"enrollment"}) for v in views])
        return
    output.print_table("Reservations", COLUMNS, [
        (v.reference, v.slot, v.party_size, v.status, f"{v.policy.code} v{v.policy.version}",
         inputs.dollars(v.decision.amount_cents) or "none", v.decision.reason,
         v.charge.status if v.charge else "", labels.location(v.location, names))
        for v in views
    ])  # fmt: skip


@app.command()
@command
def show(ref: str = REF, location: str = LOCATION, json_out: bool = JSON_OPTION) -> None:
    """Show a reservation: policy snapshot, status history, fee decision, charge.

    Example: billing reservations show R-1042
    """
    with output.transaction() as session:
        view = _view(session, service.find(session, ref, location))
    if json_out:
        output.print_json(view.model_dump(exclude={"enrollment"}))
        return
    output.print_fields(f"Reservation {view.reference}", {
        "slot": view.slot, "party": view.party_size, "status": view.status,
        "policy": f"{view.policy.name} ({view.policy.code} v{view.policy.version})",
        "accepted": view.accepted_at, "fee": inputs.dollars(view.decision.amount_cents) or "none",
        "reason": view.decision.reason, "charge at": view.decision.charge_at,
        "last moment": view.decision.last_moment,
        "charge": f"{view.charge.id}: {inputs.dollars(view.charge.amount_cents)} "
                  f"{view.charge.status}" if view.charge else "",
        "card": f"mandate {view.mandate_id} ({view.mandate_status})", "closed": view.closed_at,
    })  # fmt: skip
    output.print_table("Status history", ("reported", "status", "at", "by", "report id"), [
        (r.reported_at, r.status, r.at, r.reported_by, r.report_id) for r in view.reports
    ])  # fmt: skip


def _change(ref: str, location: str | None, body: FeeChange, yes: bool, json_out: bool) -> None:
    now = SystemClock().now()
    with output.transaction() as session:
        view = _view(session, service.find(session, ref, location))
    what = (f"waive the {inputs.dollars(view.decision.amount_cents)} fee of {ref}"
            if body.action == FeeAction.WAIVE else
            f"lower the fee of {ref} from {inputs.dollars(view.decision.amount_cents)} to "
            f"{inputs.dollars(body.amount_cents)}")  # fmt: skip
    confirm.ask(what, [f"{what}: {body.reason} ({body.staff})"], yes=yes)
    with output.opened_store() as store:
        service.change_fee(store, ref, body, key=f"cli-{uuid.uuid4()}", now=now,
                           location=location)  # fmt: skip
    with output.transaction() as session:
        after = _view(session, service.find(session, ref, location))
    if json_out:
        output.print_json(after.model_dump(exclude={"enrollment"}))
    else:
        owed = inputs.dollars(after.decision.amount_cents) or "none"
        output.echo(f"reservation {ref}: fee {owed} ({after.decision.reason})")


@app.command()
@command
def fee(
    ref: str = REF, amount: str = typer.Option(..., "--amount", help="New fee in dollars"),
    reason: str = REASON, staff: str = STAFF, location: str = LOCATION,
    yes: bool = confirm.YES, json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Lower a fee before it is charged (never above the policy's cap nor the fee).

    Example: billing reservations fee R-1042 --amount 20 --reason "late train" --staff Kim
    """
    cents = inputs.cents(amount, "--amount")
    body = _body(action=FeeAction.LOWER, amount_cents=cents, reason=reason, staff=staff)
    _change(ref, location, body, yes, json_out)


@app.command()
@command
def waive(
    ref: str = REF, reason: str = REASON, staff: str = STAFF, location: str = LOCATION,
    yes: bool = confirm.YES, json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Waive a fee before it is charged; the card-on-file consent ends.

    Example: billing reservations waive R-1042 --reason "regular guest" --staff Kim
    """
    _change(ref, location, _body(action=FeeAction.WAIVE, reason=reason, staff=staff), yes,
            json_out)  # fmt: skip


def _body(**values: Any) -> FeeChange:
    from pydantic import ValidationError

    from billing.errors import DomainError

    try:
        return FeeChange(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "fee"
        raise DomainError(f"--{where}: {first.get('msg', 'invalid')}", field=f"--{where}") from None


@app.command("close-overdue")
@command
def close_overdue(json_out: bool = JSON_OPTION) -> None:
    """Close the reservations past their last moment: no fee any more (an unstarted one is
    withdrawn) and the card-on-file consent ends. Status reports do this too; run it from
    cron where the reservation system may go quiet.

    Example: billing reservations close-overdue
    """
    with output.transaction() as session:
        seen = service.close_overdue(session, SystemClock().now(), limit=10_000)
    if json_out:
        output.print_json({"looked_at": seen})
    else:
        output.echo(f"looked at {seen} open reservations past their slot")


@app.command("evidence")
@command
def evidence_(
    ref: str = REF, location: str = LOCATION,
    out: Path = OUT,
) -> None:  # fmt: skip
    """Export dispute evidence: policy text and version accepted, acceptance instant, status
    history (who reported what when), messages sent, the charge with its Toast ids.

    Example: billing reservations evidence R-1042 --out ./evidence
    """
    with output.transaction() as session:
        data = evidence.collect(session, service.find(session, ref, location),
                                now=SystemClock().now())  # fmt: skip
    if out is None:
        typer.echo(json.dumps(data, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ref)
    (out / f"{safe}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out / f"{safe}.html").write_text(evidence.html(data), encoding="utf-8")
    output.echo(f"evidence for {ref}: {out / (safe + '.json')} and {out / (safe + '.html')}")
