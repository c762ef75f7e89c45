"""Flows through the client used by several tests (enrollment, one MIT charge)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from billing.toast import ToastClient
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.orders import Order, OrderPayment
from billing.toast.models.payment_intents import PaymentIntent
from billing.toast.models.payment_methods import CardInput


def card(number: str) -> CardInput:
    return CardInput.model_validate(
        {"number": number, "cvv": "123", "expiry": {"month": "12", "year": "39"}}
    )


@dataclass(frozen=True)
class Enrollment:
    customer_id: str
    setup_intent_id: str
    payment_method_id: str
    mandate_id: str


async def enroll(toast: ToastClient, location: str, number: str) -> Enrollment:
    """Customer record, OFF_SESSION setup intent, payment method, confirm -> mandate."""
    customer = await toast.customers.create(
        location=location, external_reference_id=str(uuid.uuid4()), description="a@b.io"
    )
    si = await toast.setup_intents.create(
        location=location,
        usage=Usage.OFF_SESSION,
        standing_instruction_type=StandingInstructionType.RECURRING,
        customer_id=customer.id,
    )
    assert si.session_secret is not None
    pm = await toast.payment_methods.create(
        location=location,
        session_secret=si.session_secret,
        idempotency_key=uuid.uuid4(),
        card=card(number),
        usage=Usage.OFF_SESSION,
    )
    done = await toast.setup_intents.confirm(
        si.id, location=location, session_secret=si.session_secret, payment_method_id=pm.id
    )
    assert done.mandate_id is not None, done
    return Enrollment(customer.id, si.id, pm.id, done.mandate_id)


async def create_mit(
    toast: ToastClient, location: str, mandate_id: str, amount: int = 1500
) -> PaymentIntent:
    return await toast.payment_intents.create(
        location=location,
        amount=amount,
        external_reference_id=uuid.uuid4(),
        email="payer@example.com",
        off_session=True,
        mandate_id=mandate_id,
    )


async def charge(
    toast: ToastClient, location: str, enrollment: Enrollment, amount: int = 1500
) -> tuple[PaymentIntent, Order]:
    intent = await create_mit(toast, location, enrollment.mandate_id, amount)
    confirmed = await toast.payment_intents.confirm(
        intent.id,
        location=location,
        session_secret=intent.session_secret,
        payment_method_id=enrollment.payment_method_id,
    )
    order = await toast.orders.create_order(
        location=location, payments=[OrderPayment.for_intent(confirmed)]
    )
    return confirmed, order
