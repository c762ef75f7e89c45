"""`billing customers ...` and `billing enroll`: members and their cards-on-file."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import typer

from billing import wiring
from billing.cli import context, inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import Clock, SystemClock
from billing.domain import inputs as domain_inputs
from billing.enroll import keyed_card, service
from billing.enroll.models import CustomerIn, EnrollmentCreate
from billing.errors import DomainError, DuplicateKey
from billing.manage import customers, lookup, members, plans
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Mandate, Plan, Subscription
from billing.toast.models.payment_methods import CardInput

app = typer.Typer(help="Customers: create, list, show (with mandates and subscriptions).",
                  no_args_is_help=True)  # fmt: skip
MANDATE_COLUMNS = ("id", "card", "purpose", "status", "location")
SUB_COLUMNS = ("id", "plan", "status", "amount", "next charge", "cycles paid")


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
    email = domain_inputs.email(email, field="--email")
    name = domain_inputs.text(name, field="--name", allow_empty=True)
    ref = None if ref is None else domain_inputs.text(ref, field="--ref")
    try:
        with output.transaction() as session:
            row = members.create_customer(
                session, email=email, name=name, external_ref=ref, now=SystemClock().now()
            )
    except DuplicateKey as exc:
        if exc.constraint != "uq_customer_external_ref":
            raise
        message = f"a customer with reference {domain_inputs.shown(ref)} already exists"
        raise DomainError(f"--ref: {message}", field="--ref") from None
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
        lk = lookup.load(session, subscription_ids=[s.id for s in view.subscriptions])
    if json_out:
        output.print_json(
            {**output.plain(view.customer), "mandates": view.mandates,
             "subscriptions": view.subscriptions}
        )  # fmt: skip
        return
    c = view.customer
    output.print_fields(f"Customer {c.id}", {
        "name": c.name, "email": c.email, "reference": c.external_ref,
        "toast customer": c.toast_customer_id, "created": c.created_at,
    })  # fmt: skip
    names = lk.location_names
    output.print_table("Mandates", MANDATE_COLUMNS, [
        (m.id, labels.card(m), labels.purpose(m.standing_instruction), m.status,
         labels.location(m.location_guid, names)) for m in view.mandates
    ])  # fmt: skip
    output.print_table("Subscriptions", SUB_COLUMNS, [
        (s.id, labels.plan(lk.plans.get(s.plan_id)), labels.status(s),
         labels.subscription_amount(s, lk.plans.get(s.plan_id)), s.next_charge_at, s.cycles_paid)
        for s in view.subscriptions
    ])  # fmt: skip


@command
def enroll(
    customer: str = typer.Option(..., "--customer", help="Customer id, email or reference"),
    plan: str = typer.Option(..., "--plan", help="Plan code"),
    start: str = typer.Option(None, "--start", help="First billing date YYYY-MM-DD (today)"),
    anchor_day: int = typer.Option(None, "--anchor-day", help="Day of month to bill on (1-31)"),
    test_card: str = typer.Option(
        None, "--test-card", help="Sandbox only: save this test card and activate at once"
    ),
    save_card: bool = typer.Option(
        False, "--save-card", help="Also save the card to the customer's Toast profile"
    ),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Start an enrollment: a Toast OFF_SESSION setup intent for the plan's standing
    instruction, a pending mandate and (not for UNSCHEDULED plans) a pending subscription.

    Prints the enrollment and setup intent ids and the intent's session secret: the
    merchant's website hands the secret to the Toast checkout iframe, where the customer
    enters the card; `billing run` completes the enrollment once the card is authorized
    (within 30 minutes). This is the only command that prints a secret. With --test-card
    (sandbox mode only) the card is saved and confirmed through the API at once, and the
    subscription starts.

    Example: billing enroll --customer ann@example.com --plan wine --test-card 4111111111111111
    """
    settings = context.settings_or_exit()
    if test_card is not None and settings.mode != "sandbox":
        raise DomainError("--test-card works in sandbox mode only", field="--test-card")
    clock = SystemClock()
    card = (
        keyed_card.card_input(test_card, today=clock.now().date())
        if test_card is not None else None
    )  # fmt: skip
    first = inputs.parse_date(start, "--start") if start is not None else None
    if anchor_day is not None and not 1 <= anchor_day <= 31:
        raise DomainError(f"--anchor-day must be 1..31, got {anchor_day}", field="--anchor-day")
    with output.opened_store(settings) as store:
        with store.transaction() as session:
            person = members.get_customer(session, customer)
            plans.get(session, plan)  # an unknown plan is refused before Toast is called
            spec = EnrollmentCreate(
                plan=plan, start_date=first, anchor_day=anchor_day, save_card=save_card,
                customer=CustomerIn(email=person.email, name=person.name),
            )  # fmt: skip
            customer_id = person.id or 0
        view = asyncio.run(_enroll(settings, store, spec, customer_id, card, clock))
        summary = _summary(store, view)
    secret = view.session_secret
    reveal = {"session_secret": secret} if secret else {}
    if json_out:
        output.print_json(summary, reveal=reveal)
        return
    output.print_fields("Enrollment", summary)
    for name, value in reveal.items():  # for the checkout iframe; printed nowhere else
        output.echo(f"{name}: {value}")


async def _enroll(
    settings: BillingSettings, store: Store, spec: EnrollmentCreate, customer_id: int,
    card: CardInput | None, clock: Clock,
) -> service.View:  # fmt: skip
    """The same use case as the enrollment API, for a known customer; with a test card, the
    customer's part too (a refused card closes the enrollment, so nothing is left pending)."""
    async with wiring.toast_client(settings, store) as client:
        ctx = service.Context(store, client, clock, settings.toast.location_guid)
        view = await service.start(ctx, spec, key=f"cli-{uuid.uuid4()}", customer_id=customer_id)
        if card is None:
            return view
        try:
            shown = await keyed_card.confirm(client, view, card)
        except DomainError as exc:
            service.fail(ctx, view.enrollment.id, exc.message)
            raise
        return await service.refresh(ctx, view.enrollment.id, card=shown)


def _summary(store: Store, view: service.View) -> dict[str, Any]:
    row = view.enrollment
    with store.transaction() as session:
        plan = session.get(Plan, row.plan_id)
        mandate = session.get(Mandate, row.mandate_id)
        sub = session.get(Subscription, row.subscription_id) if row.subscription_id else None
        assert plan is not None
        assert mandate is not None
        return {
            "enrollment_id": row.id, "enrollment_status": row.status,
            "customer_id": row.customer_id, "plan": plan.code, "plan_version": plan.version,
            "mandate_id": mandate.id, "mandate_status": mandate.status,
            "subscription_id": sub.id if sub else None,
            "subscription_status": sub.status if sub else None,
            "next_charge_at": sub.next_charge_at if sub else None,
            "setup_intent_id": row.intent_id, "expires_at": row.expires_at,
            "card": labels.card(mandate) or None,
        }  # fmt: skip
