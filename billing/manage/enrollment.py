"""Staff-started enrollment: an OFF_SESSION setup intent at Toast, and the pending rows here.

``start`` talks to Toast (a customer record if none yet, then the setup intent); ``record``
writes the pending mandate (and subscription) in the caller's transaction. ``confirm_test_card``
completes a sandbox enrollment through the real API (payment method + confirm), and
``activate`` stores the result and starts billing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from billing.domain.states import PlanKind
from billing.errors import DomainError
from billing.manage import members
from billing.store import events
from billing.store.tables import Customer, Mandate, Plan, Subscription
from billing.toast.facade import ToastClient
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.payment_methods import CardExpiry, CardInput
from billing.toast.models.setup_intents import SetupIntent, SetupIntentStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    intent: SetupIntent
    toast_customer_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CardOnFile:
    mandate_id: str
    payment_method_id: str
    brand: str | None
    last4: str | None
    exp: tuple[int, int] | None


def check(plan: Plan, *, anchor_day: int | None) -> None:
    """Refuse what cannot be enrolled, before anything is sent to Toast."""
    if not plan.active:
        raise DomainError(f"plan {plan.code!r} is archived", field="plan")
    if anchor_day is not None and not 1 <= anchor_day <= 31:
        raise DomainError(f"anchor day must be 1..31, got {anchor_day}", field="anchor_day")


async def start(client: ToastClient, customer: Customer, plan: Plan) -> Started:
    toast_customer = customer.toast_customer_id
    if toast_customer is None:
        record = await client.customers.create(
            location=plan.location_guid,
            external_reference_id=customer.external_ref or f"billing-customer-{customer.id}",
            description=(customer.name or customer.email)[:255],
        )
        toast_customer = record.id
    intent = await client.setup_intents.create(
        location=plan.location_guid,
        usage=Usage.OFF_SESSION,
        standing_instruction_type=StandingInstructionType(plan.kind),
        customer_id=toast_customer,
    )
    return Started(intent=intent, toast_customer_id=toast_customer)


async def confirm_test_card(
    client: ToastClient, intent: SetupIntent, *, location: str, number: str, today: date
) -> CardOnFile:
    """Save ``number`` (a sandbox test card) on the intent and confirm it."""
    assert intent.session_secret is not None
    card = CardInput(number=number, cvv="123",
                     expiry=CardExpiry(month="12", year=str(today.year + 3)))  # fmt: skip
    pm = await client.payment_methods.create(
        location=location, session_secret=intent.session_secret,
        idempotency_key=uuid.uuid4(), card=card, usage=Usage.OFF_SESSION,
    )  # fmt: skip
    done = await client.setup_intents.confirm(
        intent.id, location=location, session_secret=intent.session_secret,
        payment_method_id=pm.id,
    )  # fmt: skip
    if done.status != SetupIntentStatus.SUCCEEDED or not done.mandate_id:
        error = done.last_setup_error
        why = f"{error.type}/{error.code}" if error else str(done.status)
        raise DomainError(f"the card was refused ({why})", field="test_card")
    summary = pm.card
    expiry = summary.expiry if summary else None
    exp = None
    if expiry and expiry.month and expiry.year:
        year = int(expiry.year)
        exp = (int(expiry.month), year + 2000 if year < 100 else year)
    return CardOnFile(
        mandate_id=done.mandate_id, payment_method_id=done.payment_method_id or pm.id,
        brand=summary.brand if summary else None,
        last4=summary.last_four if summary else None, exp=exp,
    )  # fmt: skip


def record(
    session: Session, *, customer: Customer, plan: Plan, started: Started, start_date: date,
    anchor_day: int | None, now: datetime,
) -> tuple[Mandate, Subscription | None]:  # fmt: skip
    """A PENDING_SETUP mandate, and (not for UNSCHEDULED plans) a PENDING_MANDATE subscription."""
    customer.toast_customer_id = started.toast_customer_id
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=plan.location_guid,
        standing_instruction=plan.kind, now=now,
    )  # fmt: skip
    mandate.setup_intent_id = started.intent.id
    events.emit(session, at=now, entity="mandate", entity_id=mandate.id or 0, type="pending_setup")
    if plan.kind == PlanKind.UNSCHEDULED:
        return mandate, None
    sub = members.subscribe(
        session, customer=customer, plan=plan, mandate=mandate, start=start_date,
        anchor_day=anchor_day, now=now,
    )  # fmt: skip
    return mandate, sub


def activate(
    session: Session, mandate: Mandate, sub: Subscription | None, plan: Plan, card: CardOnFile,
    *, now: datetime,
) -> None:  # fmt: skip
    """The setup intent succeeded: store the card-on-file and start billing."""
    members.activate_mandate(
        session, mandate, toast_mandate_id=card.mandate_id,
        payment_method_id=card.payment_method_id, card_brand=card.brand, card_last4=card.last4,
        card_exp=card.exp, now=now,
    )  # fmt: skip
    if sub is not None:
        members.activate(session, sub, plan, now=now)
    session.flush()
