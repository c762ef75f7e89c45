"""`billing charges ...`: list, show, retry, cancel, and one-off UNSCHEDULED charges."""

from __future__ import annotations

from typing import Any

import typer
from sqlmodel import Session

from billing.cli import confirm, inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain import inputs as domain_inputs
from billing.domain.states import ChargeStatus
from billing.errors import DomainError
from billing.manage import charges, locations, lookup, one_off
from billing.store.tables import Charge, Mandate

app = typer.Typer(help="Charges: amounts due on dates, their attempts, retries and one-offs.",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("id", "member", "for", "status", "due", "next attempt", "amount", "tries",
           "last decline", "location")  # fmt: skip
CHARGE_ID = typer.Argument(..., help="Charge id")
ATTEMPT_COLUMNS = ("#", "status", "toast intent", "decline", "error", "created", "settled")
STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


def lookup_for(session: Session, rows: list[Charge]) -> lookup.Lookup:
    return lookup.load(session, mandate_ids=[c.mandate_id for c in rows],
                       subscription_ids=[c.subscription_id for c in rows])  # fmt: skip


def purpose(c: Charge, lk: lookup.Lookup) -> str:
    """What the charge is for: ``Wine club (wine), cycle 3``, or a one-off fee and its reason."""
    sub = lk.subscriptions.get(c.subscription_id or 0)
    if sub is None:
        return f"fee: {c.reason}" if c.reason else "fee"
    return f"{labels.plan(lk.plans.get(sub.plan_id))}, cycle {c.cycle}"


def member_of(c: Charge, lk: lookup.Lookup) -> str:
    mandate = lk.mandates.get(c.mandate_id)
    return labels.member(lk.customers.get(mandate.customer_id) if mandate else None)


def row(c: Charge, lk: lookup.Lookup) -> tuple[Any, ...]:
    return (c.id, member_of(c, lk), purpose(c, lk), c.status, c.due_at, c.next_attempt_at,
            inputs.dollars(c.amount_cents), c.attempt_count, c.last_decline_code,
            labels.location(c.location_guid, lk.location_names))  # fmt: skip


def enriched(c: Charge, lk: lookup.Lookup) -> dict[str, Any]:
    mandate = lk.mandates.get(c.mandate_id)
    customer = lk.customers.get(mandate.customer_id) if mandate else None
    return {**output.plain(c), "customer_email": customer.email if customer else None,
            "customer_name": customer.name if customer else None, "for": purpose(c, lk),
            "location_name": lk.location_names.get(c.location_guid)}  # fmt: skip


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
        lk = lookup_for(session, rows)
    if json_out:
        output.print_json([enriched(c, lk) for c in rows])
    else:
        output.print_table("Charges", COLUMNS, [row(c, lk) for c in rows])


@app.command()
@command
def show(charge_id: int = CHARGE_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a charge and its attempts.

    Example: billing charges show 42 --json
    """
    with output.transaction() as session:
        charge = charges.get(session, charge_id)
        tries = charges.attempts_of(session, charge_id)
        lk = lookup_for(session, [charge])
    if json_out:
        output.print_json({**enriched(charge, lk), "attempts": tries})
        return
    output.print_fields(f"Charge {charge_id}", details(charge, lk))
    output.print_table("Attempts", ATTEMPT_COLUMNS, [
        (a.number, a.status, a.toast_intent_id, a.decline_code or a.decline_type, a.error,
         a.created_at, a.settled_at) for a in tries
    ])  # fmt: skip


def details(c: Charge, lk: lookup.Lookup) -> dict[str, Any]:
    """The fields a person reads, in a fixed order (no leases, keys or other internals)."""
    return {
        "member": member_of(c, lk),
        "for": purpose(c, lk),
        "amount": f"{inputs.dollars(c.amount_cents)} {c.currency}",
        "status": c.status,
        "due": c.due_at,
        "next attempt": c.next_attempt_at if c.status in ("scheduled", "retry_scheduled") else None,
        "card": f"{labels.card(lk.mandates.get(c.mandate_id))} (mandate {c.mandate_id})",
        "location": labels.location(c.location_guid, lk.location_names),
        "check item": c.check_item,
        "tries": c.attempt_count,
        "declines": c.decline_count,
        "last decline": c.last_decline_code,
        "created": c.created_at,
        "settled": c.settled_at,
    }


def cancel_preview(session: Session, charge_id: int) -> list[str]:
    c = charges.get(session, charge_id)
    lk = lookup_for(session, [c])
    return [f"Cancel charge {charge_id}: {inputs.dollars(c.amount_cents)} from "
            f"{member_of(c, lk)} for {purpose(c, lk)}, due {output.cell(c.due_at)} "
            f"({c.status}).", "It will not be collected."]  # fmt: skip


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
def cancel(charge_id: int = CHARGE_ID, yes: bool = confirm.YES,
           json_out: bool = JSON_OPTION) -> None:  # fmt: skip
    """Cancel a scheduled, retry_scheduled or (settled) needs_attention charge. Says what it
    will do and asks first (--yes for scripts).

    Example: billing charges cancel 42
    """
    now = SystemClock().now()

    def preview(session: Session) -> list[str]:
        lines = cancel_preview(session, charge_id)
        charges.cancel(session, charge_id, now=now)  # refuses first, before anyone is asked
        return lines

    with output.opened_store() as store:
        lines = output.dry_run(store, preview)
        confirm.ask(f"cancel charge {charge_id}", lines, yes=yes)
        with store.transaction() as session:
            charge = charges.cancel(session, charge_id, now=now)
    done(charge, json_out, f"charge {charge_id} cancelled")


@app.command()
@command
def create(
    mandate: int = typer.Option(None, "--mandate", help="Mandate id (an active card-on-file)"),
    customer: str = typer.Option(
        None, "--customer", help="Or the customer (id, email or reference): their fee card"
    ),
    amount: str = typer.Option(..., "--amount", help="Amount in dollars: 25.00"),
    reason: str = typer.Option(..., "--reason", help="Why: shown in the event log"),
    due: str = typer.Option(None, "--due", help="Due ISO instant (default: now)"),
    check_item: str = typer.Option("Fee", "--check-item", help="Item name on the Toast check"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a one-off UNSCHEDULED charge (a no-show fee) against a mandate, given by id or
    found from the customer (their one active card-on-file for one-off fees).

    Example: billing charges create --customer m-1001 --amount 25.00 --reason "no-show 03-01"
    """
    cents = inputs.cents(amount, "--amount") or 0
    now = SystemClock().now()
    due_at = inputs.parse_instant(due, "--due") if due is not None else now
    reason = domain_inputs.text(reason, field="--reason")
    check_item = domain_inputs.text(check_item, field="--check-item")
    if (mandate is None) == (customer is None):
        raise DomainError("--mandate: give --mandate ID or --customer REF (one of them)",
                          field="--mandate")  # fmt: skip
    with output.transaction() as session:
        if customer is not None:
            names = locations.names(session)
            found = one_off.fee_mandate_of(session, customer, lambda m: mandate_label(m, names))
            mandate = found.id or 0
        charge = one_off.create(
            session, mandate_id=mandate, amount_cents=cents, reason=reason, due_at=due_at,
            now=now, check_item=check_item,
        )  # fmt: skip
    due_text = output.cell(due_at)
    done(charge, json_out, f"created charge {charge.id}: {inputs.dollars(cents)} due {due_text}")


def mandate_label(m: Mandate, names: dict[str, str]) -> str:
    return (f"mandate {m.id} ({labels.card(m) or 'card'}, "
            f"{labels.location(m.location_guid, names)})")  # fmt: skip
