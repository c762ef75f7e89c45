"""`billing subscriptions ...`: list, show, pause, resume, cancel, change the amount."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from billing import wiring
from billing.cli import context, inputs, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain.states import SubscriptionStatus
from billing.engine.phases import MandateToRevoke
from billing.manage import mandates, subscriptions
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Subscription

app = typer.Typer(help="Subscriptions: a customer on a plan, billed by the engine.",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("id", "customer", "plan", "status", "next charge", "next cycle", "paid", "amount",
           "ends at period end")  # fmt: skip
SUB_ID = typer.Argument(..., help="Subscription id")
STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


def row(sub: Subscription) -> tuple[Any, ...]:
    return (sub.id, sub.customer_id, sub.plan_id, sub.status, sub.next_charge_at,
            sub.next_cycle, sub.cycles_paid, inputs.dollars(sub.amount_cents),
            sub.cancel_at_period_end)  # fmt: skip


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
    json_out: bool = JSON_OPTION,
) -> None:
    """List subscriptions.

    Example: billing subscriptions list --status active --json
    """
    with output.transaction() as session:
        wanted = status.value if status is not None else None
        rows = subscriptions.list_all(session, status=wanted, customer_id=customer)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Subscriptions", COLUMNS, [row(s) for s in rows])


@app.command()
@command
def show(sub_id: int = SUB_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a subscription, its plan version and its charges.

    Example: billing subscriptions show 12
    """
    with output.transaction() as session:
        sub = subscriptions.get(session, sub_id)
        plan, charges = (
            subscriptions.plan_of(session, sub),
            subscriptions.charges_of(session, sub_id),
        )
    if json_out:
        output.print_json({**output.plain(sub), "plan": plan, "charges": charges})
        return
    output.print_fields(
        f"Subscription {sub_id} (plan {plan.code} v{plan.version})", output.plain(sub)
    )
    output.print_table("Charges", ("id", "cycle", "status", "due", "amount"), [
        (c.id, c.cycle, c.status, c.due_at, inputs.dollars(c.amount_cents)) for c in charges
    ])  # fmt: skip


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
    json_out: bool = JSON_OPTION,
) -> None:
    """Cancel now (scheduled charges cancelled; the mandate revoked at Toast when nothing else
    uses it), or at the end of the current period.

    Example: billing subscriptions cancel 12 --at-period-end
    """
    settings = context.settings_or_exit()
    now = SystemClock().now()

    def run(session: Any) -> MandateToRevoke | None:
        return subscriptions.cancel(session, sub_id, now=now, at_period_end=at_period_end)

    with output.opened_store(settings) as store:
        target = output.dry_run(store, run)
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
