"""`billing mandates ...`: cards-on-file (never the number), and revoking them at Toast."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from sqlmodel import Session

from billing.cli import confirm, context, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.cli.subscriptions_cmd import revoke_at_toast
from billing.clock import SystemClock
from billing.domain.states import MandateStatus
from billing.engine.phases import MandateToRevoke
from billing.manage import lookup, mandates, members
from billing.store.tables import Mandate

app = typer.Typer(help="Mandates: customers' authorizations to charge a card-on-file.",
                  no_args_is_help=True)  # fmt: skip
MANDATE_ID = typer.Argument(..., help="Mandate id")
COLUMNS = ("id", "customer", "card", "purpose", "status", "location")


def row(m: Mandate, lk: lookup.Lookup) -> tuple[Any, ...]:
    return (m.id, labels.member(lk.customers.get(m.customer_id)), labels.card(m),
            labels.purpose(m.standing_instruction), m.status,
            labels.location(m.location_guid, lk.location_names))  # fmt: skip


def enriched(m: Mandate, lk: lookup.Lookup) -> dict[str, Any]:
    customer = lk.customers.get(m.customer_id)
    return {**output.plain(m), "customer_email": customer.email if customer else None,
            "customer_name": customer.name if customer else None, "card": labels.card(m) or None,
            "location_name": lk.location_names.get(m.location_guid)}  # fmt: skip

STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


@app.command("list")
@command
def list_(
    status: MandateStatus = STATUS,
    all_: bool = typer.Option(
        False, "--all", help="Also checkouts never completed (pending_setup, setup_failed)"
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """List mandates with their customer, card and purpose. Checkouts never completed are left
    out unless --all (or --status) asks for them.

    Example: billing mandates list --status active --json
    """
    with output.transaction() as session:
        rows = mandates.list_all(session, status=status.value if status is not None else None)
        lk = lookup.load(session, customer_ids=[m.customer_id for m in rows])
    shown = rows if all_ or status else [m for m in rows if m.status not in mandates.UNSTARTED]
    if json_out:
        output.print_json([enriched(m, lk) for m in shown])
        return
    output.print_table("Mandates", COLUMNS, [row(m, lk) for m in shown])
    if len(shown) < len(rows):
        hidden = len(rows) - len(shown)
        output.echo(f"{hidden} checkout(s) never completed are not shown: --all lists them")


@app.command()
@command
def show(mandate_id: int = MANDATE_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a mandate: customer, card, purpose, status, and what still uses it.

    Example: billing mandates show 7
    """
    with output.transaction() as session:
        mandate = members.get_mandate(session, mandate_id)
        subs = mandates.users(session, mandate_id)
        open_charges = mandates.open_charges(session, mandate_id)
        lk = lookup.load(session, customer_ids=[mandate.customer_id], subscription_ids=subs)
    if json_out:
        output.print_json({**enriched(mandate, lk), "live_subscriptions": subs,
                           "open_charges": open_charges})  # fmt: skip
        return
    output.print_fields(f"Mandate {mandate_id}", details(mandate, lk, subs, open_charges))


def details(
    m: Mandate, lk: lookup.Lookup, subs: list[int], open_charges: list[int]
) -> dict[str, Any]:
    """The fields a person reads, in a fixed order."""
    plans = [f"{s} ({labels.plan(lk.plans.get(lk.subscriptions[s].plan_id))})" for s in subs]
    return {
        "customer": labels.member(lk.customers.get(m.customer_id)),
        "card": labels.card(m),
        "purpose": labels.purpose(m.standing_instruction),
        "status": m.status,
        "location": labels.location(m.location_guid, lk.location_names),
        "used by subscriptions": ", ".join(plans),
        "open charges": ", ".join(map(str, open_charges)),
        "toast mandate": m.toast_mandate_id,
        "created": m.created_at,
        "revoked": m.revoked_at,
    }


def revoke_preview(session: Session, mandate_id: int) -> tuple[MandateToRevoke, list[str]]:
    target = mandates.prepare_revoke(session, mandate_id)  # refuses first, before asking
    m = members.get_mandate(session, mandate_id)
    lk = lookup.load(session, customer_ids=[m.customer_id])
    where = labels.location(m.location_guid, lk.location_names)
    return target, [
        f"Revoke mandate {mandate_id}: {labels.card(m) or 'card'} of "
        f"{labels.member(lk.customers.get(m.customer_id))}, for "
        f"{labels.purpose(m.standing_instruction)} at {where}.",
        "Toast refuses every later charge on it; the customer must authorize a card again.",
    ]


@app.command()
@command
def revoke(mandate_id: int = MANDATE_ID, yes: bool = confirm.YES,
           json_out: bool = JSON_OPTION) -> None:  # fmt: skip
    """Revoke a mandate at Toast, then mark it revoked (refused while a live subscription or
    an open charge still needs it). Says what it will do and asks first (--yes for scripts).

    Example: billing mandates revoke 7
    """
    settings = context.settings_or_exit()
    with output.opened_store(settings) as store:
        target, lines = output.dry_run(store, lambda s: revoke_preview(s, mandate_id))
        confirm.ask(f"revoke mandate {mandate_id}", lines, yes=yes)
        asyncio.run(revoke_at_toast(settings, store, target))
        with store.transaction() as session:
            mandate = mandates.mark_revoked(session, mandate_id, now=SystemClock().now())
    if json_out:
        output.print_json(mandate)
    else:
        output.echo(f"mandate {mandate_id} revoked at Toast ({target.toast_mandate_id})")
