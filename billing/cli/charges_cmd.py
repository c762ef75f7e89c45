"""`billing charges ...`: list, show, retry, cancel, and one-off UNSCHEDULED charges."""

from __future__ import annotations

from typing import Any

import typer

from billing.cli import inputs, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain import inputs as domain_inputs
from billing.domain.states import ChargeStatus
from billing.errors import DomainError
from billing.manage import charges, one_off
from billing.store.tables import Charge

app = typer.Typer(help="Charges: amounts due on dates, their attempts, retries and one-offs.",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("id", "sub", "cycle", "kind", "status", "due", "next attempt", "amount", "tries",
           "last decline")  # fmt: skip
CHARGE_ID = typer.Argument(..., help="Charge id")
ATTEMPT_COLUMNS = ("#", "status", "toast intent", "decline", "error", "created", "settled")
STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


def row(c: Charge) -> tuple[Any, ...]:
    return (c.id, c.subscription_id, c.cycle, c.kind, c.status, c.due_at, c.next_attempt_at,
            inputs.dollars(c.amount_cents), c.attempt_count, c.last_decline_code)  # fmt: skip


def done(charge: Charge, json_out: bool, message: str) -> None:
    if json_out:
        output.print_json(charge)
    else:
        output.echo(message)


def status_value(status: str | None) -> str | None:
    if status is None:
        return None
    if status.lower() not in ChargeStatus._value2member_map_:
        known = ", ".join(s.value for s in ChargeStatus)
        raise DomainError(f"--status: unknown status {status!r} (one of {known})", field="--status")
    return status.lower()


@app.command("list")
@command
def list_(
    status: ChargeStatus = STATUS,
    due_before: str = typer.Option(None, "--due-before", help="Only due before this ISO instant"),
    subscription: int = typer.Option(None, "--subscription", help="Only this subscription id"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List charges by due date.

    Example: billing charges list --status needs_attention --due-before 2027-03-01T00:00:00Z
    """
    before = (
        inputs.parse_instant(due_before, "--due-before") if due_before is not None else None
    )
    wanted = status_value(status.value if status is not None else None)
    with output.transaction() as session:
        rows = charges.list_all(
            session, status=wanted, due_before=before, subscription_id=subscription
        )
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Charges", COLUMNS, [row(c) for c in rows])


@app.command()
@command
def show(charge_id: int = CHARGE_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a charge and its attempts.

    Example: billing charges show 42 --json
    """
    with output.transaction() as session:
        charge = charges.get(session, charge_id)
        tries = charges.attempts_of(session, charge_id)
    if json_out:
        output.print_json({**output.plain(charge), "attempts": tries})
        return
    output.print_fields(f"Charge {charge_id}", output.plain(charge))
    output.print_table("Attempts", ATTEMPT_COLUMNS, [
        (a.number, a.status, a.toast_intent_id, a.decline_code or a.decline_type, a.error,
         a.created_at, a.settled_at) for a in tries
    ])  # fmt: skip


@app.command()
@command
def retry(charge_id: int = CHARGE_ID, json_out: bool = JSON_OPTION) -> None:
    """Make a needs_attention or retry_scheduled charge due now (the next tick collects it).
    Refused while an attempt is unsettled: money may still move.

    Example: billing charges retry 42
    """
    with output.transaction() as session:
        charge = charges.retry(session, charge_id, now=SystemClock().now())
    done(charge, json_out, f"charge {charge_id} is due now ({charge.status})")


@app.command()
@command
def cancel(charge_id: int = CHARGE_ID, json_out: bool = JSON_OPTION) -> None:
    """Cancel a scheduled, retry_scheduled or (settled) needs_attention charge.

    Example: billing charges cancel 42
    """
    with output.transaction() as session:
        charge = charges.cancel(session, charge_id, now=SystemClock().now())
    done(charge, json_out, f"charge {charge_id} cancelled")


@app.command()
@command
def create(
    mandate: int = typer.Option(..., "--mandate", help="Mandate id (an active card-on-file)"),
    amount: str = typer.Option(..., "--amount", help="Amount in dollars: 25.00"),
    reason: str = typer.Option(..., "--reason", help="Why: shown in the event log"),
    due: str = typer.Option(None, "--due", help="Due ISO instant (default: now)"),
    check_item: str = typer.Option("Fee", "--check-item", help="Item name on the Toast check"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a one-off UNSCHEDULED charge (a no-show fee) against a mandate.

    Example: billing charges create --mandate 7 --amount 25.00 --reason "no-show 2027-03-01"
    """
    cents = inputs.cents(amount, "--amount") or 0
    now = SystemClock().now()
    due_at = inputs.parse_instant(due, "--due") if due is not None else now
    reason = domain_inputs.text(reason, field="--reason")
    check_item = domain_inputs.text(check_item, field="--check-item")
    with output.transaction() as session:
        charge = one_off.create(
            session, mandate_id=mandate, amount_cents=cents, reason=reason, due_at=due_at,
            now=now, check_item=check_item,
        )  # fmt: skip
    due_text = output.cell(due_at)
    done(charge, json_out, f"created charge {charge.id}: {inputs.dollars(cents)} due {due_text}")
