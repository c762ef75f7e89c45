"""`billing subscriptions ...`: list, show, pause, resume, cancel, change the amount."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from sqlmodel import Session

from billing import wiring
from billing.cli import confirm, context, inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain.states import SubscriptionStatus
from billing.engine.phases import MandateToRevoke
from billing.manage import lookup, mandates, members, subscriptions
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Plan, Subscription

app = typer.Typer(help="Subscriptions: a customer on a plan, billed by the engine.",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("id", "member", "plan", "status", "amount", "next charge", "cycles paid", "card",
           "location")  # fmt: skip
CHARGE_COLUMNS = ("charge", "cycle", "status", "due", "amount", "tries", "last decline")
SUB_ID = typer.Argument(..., help="Subscription id")
ALL = typer.Option(
    False, "--all", help="Also checkouts never completed (pending_mandate, or closed unpaid)"
)
STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


def row(sub: Subscription, lk: lookup.Lookup) -> tuple[Any, ...]:
    plan, mandate = lk.plans.get(sub.plan_id), lk.mandates.get(sub.mandate_id or 0)
    return (sub.id, labels.member(lk.customers.get(sub.customer_id)), labels.plan(plan),
            labels.status(sub), labels.subscription_amount(sub, plan), sub.next_charge_at,
            sub.cycles_paid, labels.card(mandate),
            labels.location(plan.location_guid if plan else None, lk.location_names))  # fmt: skip


def unstarted(sub: Subscription, lk: lookup.Lookup) -> bool:
    return subscriptions.never_started(sub, lk.mandates.get(sub.mandate_id or 0))


def enriched(sub: Subscription, lk: lookup.Lookup) -> dict[str, Any]:
    """The row as JSON, plus what a person reads in the table (names, the cycle's amount)."""
    plan, customer = lk.plans.get(sub.plan_id), lk.customers.get(sub.customer_id)
    guid = plan.location_guid if plan else None
    return {**output.plain(sub), "customer_email": customer.email if customer else None,
            "customer_name": customer.name if customer else None,
            "plan_code": plan.code if plan else None, "plan_name": plan.name if plan else None,
            "cycle_amount_cents": labels.cycle_cents(sub, plan), "location_guid": guid,
            "location_name": lk.location_names.get(guid or "")}  # fmt: skip


def done(sub: Subscription, json_out: bool, message: str) -> None:
    if json_out:
        output.print_json(sub)
    else:
        output.echo(message)


@app.command("list")
@command
def list_(
    status: SubscriptionStatus = STATUS,
    customer: int = typer.Option(None, "--customer", help="Only this customer id"),
    all_: bool = ALL,
    json_out: bool = JSON_OPTION,
) -> None:
    """List subscriptions with their member, plan, amount and card. Checkouts never completed
    are left out unless --all (or --status) asks for them.

    Example: billing subscriptions list --status active --json
    """
    with output.transaction() as session:
        wanted = status.value if status is not None else None
        rows = subscriptions.list_all(session, status=wanted, customer_id=customer)
        lk = lookup.load(session, subscription_ids=[s.id for s in rows],
                         mandate_ids=[s.mandate_id for s in rows])  # fmt: skip
    shown = rows if all_ or status else [s for s in rows if not unstarted(s, lk)]
    if json_out:
        output.print_json([enriched(s, lk) for s in shown])
        return
    output.print_table("Subscriptions", COLUMNS, [row(s, lk) for s in shown])
    hidden = len(rows) - len(shown)
    if hidden:
        output.echo(f"{hidden} checkout(s) never completed are not shown: --all lists them")


@app.command()
@command
def show(sub_id: int = SUB_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a subscription: member, plan, amount, card, schedule, then its charges.

    Example: billing subscriptions show 12
    """
    with output.transaction() as session:
        sub = subscriptions.get(session, sub_id)
        plan, charges = (
            subscriptions.plan_of(session, sub),
            subscriptions.charges_of(session, sub_id),
        )
        lk = lookup.load(session, subscription_ids=[sub_id], mandate_ids=[sub.mandate_id])
    if json_out:
        output.print_json({**enriched(sub, lk), "plan": plan, "charges": charges})
        return
    output.print_fields(f"Subscription {sub_id}", details(sub, plan, lk))
    output.print_table("Charges", CHARGE_COLUMNS, [
        (c.id, c.cycle, c.status, c.due_at, inputs.dollars(c.amount_cents), c.attempt_count,
         c.last_decline_code) for c in charges
    ])  # fmt: skip


def details(sub: Subscription, plan: Plan, lk: lookup.Lookup) -> dict[str, Any]:
    """The fields a person reads, in a fixed order (no cursors or other internals)."""
    mandate = lk.mandates.get(sub.mandate_id or 0)
    card = labels.card(mandate)
    return {
        "member": labels.member(lk.customers.get(sub.customer_id)),
        "plan": labels.plan(plan, version=True),
        "status": labels.status(sub),
        "amount": labels.subscription_amount(sub, plan),
        "card": f"{card} (mandate {sub.mandate_id})" if card else sub.mandate_id,
        "location": labels.location(plan.location_guid, lk.location_names),
        "time zone": sub.timezone,
        "billing anchor": f"{sub.anchor_date} (day {sub.anchor_day})" if sub.anchor_day
        else sub.anchor_date,
        "next charge": sub.next_charge_at,
        "cycles paid": sub.cycles_paid,
        "created": sub.created_at,
        "cancelled": sub.cancelled_at,
    }  # fmt: skip


def cancel_preview(session: Session, sub_id: int, *, at_period_end: bool) -> list[str]:
    """One or two lines saying what ``cancel`` will do to whom."""
    sub = subscriptions.get(session, sub_id)
    plan = subscriptions.plan_of(session, sub)
    lk = lookup.load(session, subscription_ids=[sub_id], mandate_ids=[sub.mandate_id])
    person = labels.member(lk.customers.get(sub.customer_id))
    who = f"subscription {sub_id}: {person} on {labels.plan(plan, version=True)}, " + (
        labels.subscription_amount(sub, plan)
    )
    if at_period_end:
        upcoming = output.cell(sub.next_charge_at) or "none"
        return [f"Cancel {who}.", "Billing stops at the end of the current period "
                f"(the next charge, {upcoming}, is not created)."]  # fmt: skip
    queued = [c.amount_cents for c in subscriptions.charges_of(session, sub_id)
              if c.status in ("scheduled", "retry_scheduled")]  # fmt: skip
    lines = [f"Cancel {who}, now."]
    if queued:
        total = inputs.dollars(sum(queued))
        lines.append(f"{len(queued)} charge(s) not yet collected ({total}) are cancelled.")
    return lines


@app.command()
@command
def pause(sub_id: int = SUB_ID, json_out: bool = JSON_OPTION) -> None:
    """Pause billing; charges not yet attempted are cancelled.

    Example: billing subscriptions pause 12
    """
    with output.transaction() as session:
        sub = subscriptions.pause(session, sub_id, now=SystemClock().now())
    done(sub, json_out, f"subscription {sub_id} paused")


@app.command()
@command
def resume(sub_id: int = SUB_ID, json_out: bool = JSON_OPTION) -> None:
    """Resume billing from the next cycle due after now (missed cycles are not charged).

    Example: billing subscriptions resume 12
    """
    with output.transaction() as session:
        sub = subscriptions.resume(session, sub_id, now=SystemClock().now())
    done(sub, json_out, f"subscription {sub_id} resumed; next charge {sub.next_charge_at}")


@app.command()
@command
def cancel(
    sub_id: int = SUB_ID,
    at_period_end: bool = typer.Option(
        False, "--at-period-end", help="Keep the current period; no charge after it"
    ),
    yes: bool = confirm.YES,
    json_out: bool = JSON_OPTION,
) -> None:
    """Cancel now (scheduled charges cancelled; the mandate revoked at Toast when nothing else
    uses it), or at the end of the current period. Says what it will do and asks first
    (--yes for scripts).

    Example: billing subscriptions cancel 12 --at-period-end
    """
    settings = context.settings_or_exit()
    now = SystemClock().now()

    def run(session: Any) -> MandateToRevoke | None:
        return subscriptions.cancel(session, sub_id, now=now, at_period_end=at_period_end)

    def preview(session: Session) -> tuple[MandateToRevoke | None, list[str]]:
        lines = cancel_preview(session, sub_id, at_period_end=at_period_end)
        target = run(session)  # refuses what cannot be cancelled, before anyone is asked
        if target is not None:
            card = labels.card(members.get_mandate(session, target.mandate_id))
            lines.append(f"Mandate {target.mandate_id} ({card or 'card'}) is revoked at Toast.")
        return target, lines

    with output.opened_store(settings) as store:
        target, lines = output.dry_run(store, preview)
        confirm.ask(f"cancel subscription {sub_id}", lines, yes=yes)
        if target is not None:
            asyncio.run(revoke_at_toast(settings, store, target))
        with store.transaction() as session:
            run(session)
            if target is not None:
                mandates.mark_revoked(session, target.mandate_id, now=now)
            sub = subscriptions.get(session, sub_id)
    revoked = f"; mandate {target.mandate_id} revoked" if target else ""
    when = "at the end of the current period" if at_period_end else "now"
    done(sub, json_out, f"subscription {sub_id} cancelled {when}{revoked}")


async def revoke_at_toast(settings: BillingSettings, store: Store, target: MandateToRevoke) -> None:
    async with wiring.toast_client(settings, store) as client:
        await mandates.revoke_at_toast(client, target)


@app.command("change-amount")
@command
def change_amount(
    sub_id: int = SUB_ID,
    amount: str = typer.Option(..., "--amount", help="New amount in dollars: 49.00"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Change the amount of future cycles of a RECURRING subscription.

    Example: billing subscriptions change-amount 12 --amount 49.00
    """
    cents = inputs.cents(amount, "--amount") or 0
    with output.transaction() as session:
        sub = subscriptions.change_amount(session, sub_id, cents, now=SystemClock().now())
    done(sub, json_out, f"subscription {sub_id} now bills {inputs.dollars(cents)}")
