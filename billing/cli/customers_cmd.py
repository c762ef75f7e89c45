"""`billing customers ...` and `billing enroll`: members and their cards-on-file."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import typer

from billing import wiring
from billing.cli import context, inputs, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.errors import DomainError
from billing.manage import customers, enrollment, members, plans
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Customer, Plan

app = typer.Typer(help="Customers: create, list, show (with mandates and subscriptions).",
                  no_args_is_help=True)  # fmt: skip
MANDATE_COLUMNS = ("id", "status", "type", "card", "location", "toast mandate")
SUB_COLUMNS = ("id", "plan", "status", "next charge", "cycle", "amount")


@app.command()
@command
def create(
    email: str = typer.Option(..., "--email", help="Email address (Toast's charset)"),
    name: str = typer.Option("", "--name", help="Display name"),
    ref: str = typer.Option(None, "--ref", help="The merchant's own customer reference"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a customer.

    Example: billing customers create --email ann@example.com --name "Ann Lee" --ref m-1001
    """
    with output.transaction() as session:
        row = members.create_customer(
            session, email=email, name=name, external_ref=ref, now=SystemClock().now()
        )
    if json_out:
        output.print_json(row)
    else:
        output.echo(f"created customer {row.id} <{row.email}>")


@app.command("list")
@command
def list_(json_out: bool = JSON_OPTION) -> None:
    """List customers.

    Example: billing customers list --json
    """
    with output.transaction() as session:
        rows = customers.list_all(session)
    if json_out:
        output.print_json(rows)
        return
    output.print_table(
        "Customers", ("id", "email", "name", "ref", "toast customer"),
        [(c.id, c.email, c.name, c.external_ref, c.toast_customer_id) for c in rows],
    )  # fmt: skip


@app.command()
@command
def show(
    ref: str = typer.Argument(..., help="Customer id, email or reference"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show a customer with its mandates (cards-on-file) and subscriptions.

    Example: billing customers show ann@example.com
    """
    with output.transaction() as session:
        view = customers.overview(session, ref)
    if json_out:
        output.print_json(
            {**output.plain(view.customer), "mandates": view.mandates,
             "subscriptions": view.subscriptions}
        )  # fmt: skip
        return
    output.print_fields(f"Customer {view.customer.id}", output.plain(view.customer))
    output.print_table("Mandates", MANDATE_COLUMNS, [mandate_row(m) for m in view.mandates])
    output.print_table("Subscriptions", SUB_COLUMNS, [
        (s.id, s.plan_id, s.status, s.next_charge_at, s.next_cycle, inputs.dollars(s.amount_cents))
        for s in view.subscriptions
    ])  # fmt: skip


def mandate_row(m: Any) -> tuple[Any, ...]:
    card = f"{m.card_brand or ''} ****{m.card_last4}" if m.card_last4 else ""
    if m.card_exp_month and m.card_exp_year:
        card += f" {m.card_exp_month:02d}/{m.card_exp_year % 100:02d}"
    return (m.id, m.status, m.standing_instruction, card, m.location_guid, m.toast_mandate_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollInput:
    customer: Customer
    plan: Plan
    start: date
    anchor_day: int | None


@command
def enroll(
    customer: str = typer.Option(..., "--customer", help="Customer id, email or reference"),
    plan: str = typer.Option(..., "--plan", help="Plan code"),
    start: str = typer.Option(None, "--start", help="First billing date YYYY-MM-DD (today)"),
    anchor_day: int = typer.Option(None, "--anchor-day", help="Day of month to bill on (1-31)"),
    test_card: str = typer.Option(
        None, "--test-card", help="Sandbox only: save this test card and activate at once"
    ),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Start an enrollment: a Toast OFF_SESSION setup intent for the plan's standing
    instruction, a pending mandate and (not for UNSCHEDULED plans) a pending subscription.

    Prints the setup intent id and its session secret: the merchant's website hands both to
    the Toast checkout iframe, where the customer enters the card. This is the only command
    that prints a secret. With --test-card (sandbox mode only) the card is saved and
    confirmed through the API at once, and the subscription starts.

    Example: billing enroll --customer ann@example.com --plan wine --test-card 4111111111111111
    """
    settings = context.settings_or_exit()
    if test_card and settings.mode != "sandbox":
        raise DomainError("--test-card works in sandbox mode only", field="--test-card")
    now = SystemClock().now()
    first = inputs.parse_date(start, "--start") if start else now.date()
    with output.opened_store(settings) as store:
        given = output.dry_run(store, lambda s: _inputs(s, customer, plan, first, anchor_day))
        result = asyncio.run(_at_toast(settings, store, given, test_card, now.date()))
        with store.transaction() as session:
            summary = _record(session, given, result, now=SystemClock().now())
    secret = result[0].intent.session_secret
    reveal = {"session_secret": secret.get_secret_value()} if secret and not test_card else {}
    if json_out:
        output.print_json(summary, reveal=reveal)
        return
    output.print_fields("Enrollment", summary)
    for name, value in reveal.items():  # for the checkout iframe; printed nowhere else
        output.echo(f"{name}: {value}")


def _inputs(session: Any, customer: str, code: str, first: date, day: int | None) -> EnrollInput:
    plan = plans.get(session, code)
    enrollment.check(plan, anchor_day=day)
    person = members.get_customer(session, customer)
    return EnrollInput(customer=person, plan=plan, start=first, anchor_day=day)


async def _at_toast(
    settings: BillingSettings, store: Store, given: EnrollInput, card: str | None, today: date
) -> tuple[enrollment.Started, enrollment.CardOnFile | None]:
    async with wiring.toast_client(settings, store) as client:
        started = await enrollment.start(client, given.customer, given.plan)
        if card is None:
            return started, None
        saved = await enrollment.confirm_test_card(
            client, started.intent, location=given.plan.location_guid, number=card, today=today
        )
        return started, saved


def _record(
    session: Any, given: EnrollInput, result: tuple[enrollment.Started, Any], *, now: Any
) -> dict[str, Any]:
    started, card = result
    person = members.get_customer(session, str(given.customer.id))
    plan = session.get(Plan, given.plan.id)
    mandate, sub = enrollment.record(
        session, customer=person, plan=plan, started=started, start_date=given.start,
        anchor_day=given.anchor_day, now=now,
    )  # fmt: skip
    if card is not None:
        enrollment.activate(session, mandate, sub, plan, card, now=now)
    return {
        "customer_id": person.id, "plan": plan.code, "plan_version": plan.version,
        "mandate_id": mandate.id, "mandate_status": mandate.status,
        "subscription_id": sub.id if sub else None,
        "subscription_status": sub.status if sub else None,
        "next_charge_at": sub.next_charge_at if sub else None,
        "setup_intent_id": started.intent.id, "card": mandate_row(mandate)[3] or None,
    }  # fmt: skip
