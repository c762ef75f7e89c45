"""Enrollment with the first payment taken at signup (Toast's "setup, option B").

Instead of a $0 OFF_SESSION setup intent, the website's iframe confirms a customer-initiated
payment intent for cycle 0 that carries the plan's ``standingInstructionType``: the customer
pays now and authorizes the later charges in one step, and Toast answers ``REQUIRES_CAPTURE``
with a ``mandateId``. Toast voids an authorization not applied to a check within 5 minutes,
so completing the enrollment applies it first (read back by guid, never applied twice), then
records in one transaction: the mandate active, cycle 0 paid (a charge and its succeeded
attempt, like any engine charge), the subscription active from cycle 1.

If the authorization was voided before it could be applied, the customer has still given the
mandate: the subscription starts with cycle 0 due at once, collected off-session by the engine
(an event ``first_payment_voided`` says so). The externalReferenceId is the enrollment id, so
the check payment's guid names the enrollment that took it.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from billing.domain import calendar
from billing.domain.states import AttemptStatus, ChargeStatus, PlanKind
from billing.engine import materialize
from billing.enroll import cards
from billing.errors import DomainError
from billing.manage import members
from billing.store import events
from billing.store.tables import Attempt, Charge, Enrollment, Mandate, Plan, Subscription
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient
from billing.toast.models.base import StandingInstructionType
from billing.toast.models.orders import OrderPayment
from billing.toast.models.payment_intents import PaymentIntent, PaymentIntentStatus

log = logging.getLogger("billing.enroll")
# Enrollment.purpose -> the business package that prices and records a first payment taken
# for its own object instead of a subscription. Its module defines ``amount(session, row)``,
# ``paid(session, row, mandate, charge, now)`` (``charge``: the paid row recorded here) and
# ``voided(session, row, mandate, now)``; and ``source_key(session, row) -> (source, key,
# check_item)`` naming the charge.
SIGNUP_HOOKS: dict[str, str] = {"event": "billing.events.checkout"}
PAYMENT_INTENT_TTL = timedelta(hours=24)  # Toast: a payment intent expires 24 h after creation
KIND = "payment"  # Enrollment.intent_kind


def check_plan(plan: Plan) -> None:
    """Refuse a first payment where it makes no sense, before anything is stored."""
    limit = materialize.cycle_limit(plan)
    if limit is not None and limit < 2:
        raise DomainError(
            f"plan {plan.code!r} has a single charge: there is nothing to bill later, so "
            "take it as a one-off payment, not with pay_now", field="pay_now",
        )  # fmt: skip


def _hook(row: Enrollment) -> Any:
    name = SIGNUP_HOOKS.get(row.purpose) if row.subscription_id is None else None
    return importlib.import_module(name) if name else None


def amount(session: Session, row: Enrollment) -> int:
    """Cycle 0's amount, from the same rule the engine uses for every cycle."""
    hook = _hook(row)
    if hook is not None:
        return int(hook.amount(session, row))
    sub = session.get(Subscription, row.subscription_id)
    assert sub is not None
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    return materialize.amount_for(plan, sub, 0)


async def open_intent(
    toast: ToastClient, row: Enrollment, *, amount_cents: int, email: str,
    instruction: StandingInstructionType, toast_customer: str | None,
) -> PaymentIntent:  # fmt: skip
    """The customer-initiated payment intent for cycle 0 (MANUAL capture, the default)."""
    return await toast.payment_intents.create(
        location=row.location_guid, amount=amount_cents, external_reference_id=row.id,
        email=email, customer_id=toast_customer, off_session=False,
        standing_instruction_type=instruction,
    )  # fmt: skip


def authorized(intent: PaymentIntent) -> bool:
    """Paid and the mandate given (SUCCEEDED: Toast has captured it since)."""
    return bool(intent.mandate_id) and intent.status in (
        PaymentIntentStatus.REQUIRES_CAPTURE,
        PaymentIntentStatus.SUCCEEDED,
    )


def voided(intent: PaymentIntent) -> bool:
    return bool(intent.mandate_id) and intent.status == PaymentIntentStatus.CANCELLED


async def apply_to_check(toast: ToastClient, intent: PaymentIntent, *, location: str) -> str:
    """Put the authorized payment on a Toast check; returns the order guid. Looked up by guid
    first: a completion that crashed after applying it must not apply it twice."""
    guid = intent.external_reference_id
    assert guid is not None
    try:
        payment = await toast.orders.get_payment(guid, location=location)
    except toast_errors.ToastNotFound:
        pass
    else:
        return payment.order_guid or ""
    try:
        order = await toast.orders.create_order(
            location=location, payments=[OrderPayment.for_intent(intent)]
        )
    except toast_errors.ToastAPIError as refused:
        # refused: a concurrent completion (the website and the job) may have applied it
        try:
            payment = await toast.orders.get_payment(guid, location=location)
        except toast_errors.ToastNotFound:
            raise refused from None
        return payment.order_guid or ""
    return order.guid


def card_of(intent: PaymentIntent) -> cards.Summary:
    """The paid card's display details, as the payment intent reports them."""
    return cards.summary_of(intent.latest_payment.card if intent.latest_payment else None)


def record_paid(
    session: Session, row: Enrollment, intent: PaymentIntent, *, order_guid: str | None,
    now: datetime,
) -> None:  # fmt: skip
    """Mandate active, cycle 0 paid (charge + succeeded attempt), subscription active from
    cycle 1. The caller holds the enrollment row and moves it to completed."""
    hook = _hook(row)
    if hook is not None:
        _source_paid(session, row, intent, hook, order_guid=order_guid, now=now)
        return
    mandate, sub, plan = _activate(session, row, intent, now=now)
    assert intent.amount is not None
    charge = Charge(
        subscription_id=sub.id, cycle=0, mandate_id=mandate.id or 0, kind=plan.kind,
        amount_cents=intent.amount, location_guid=row.location_guid,
        check_item=plan.check_item, reason="first payment at signup",
        status=ChargeStatus.PAID, due_at=now, next_attempt_at=now, attempt_count=1,
        created_at=now, settled_at=now,
    )  # fmt: skip
    session.add(charge)
    session.flush()
    session.add(Attempt(
        charge_id=charge.id or 0, number=1, external_reference_id=row.id,
        status=AttemptStatus.SUCCEEDED, toast_intent_id=intent.id, order_guid=order_guid,
        created_at=now, updated_at=now, settled_at=now,
    ))  # fmt: skip
    sub.next_cycle, sub.cycles_paid = 1, 1
    sub.next_charge_at = calendar.due_at(materialize.rule_for(plan, sub), 1)
    session.flush()
    events.emit(session, at=now, entity="charge", entity_id=charge.id or 0, type="paid",
                cycle=0, amount_cents=intent.amount, first_payment=True)  # fmt: skip


def record_voided(
    session: Session, row: Enrollment, intent: PaymentIntent, *, now: datetime
) -> None:
    """The authorization was voided before it reached a check, but the mandate stands: the
    subscription starts with cycle 0 due now, to be charged off-session by the engine."""
    hook = _hook(row)
    if hook is not None:
        hook.voided(session, row, _activate_mandate(session, row, intent, now=now), now)
        return
    _, sub, _ = _activate(session, row, intent, now=now)
    sub.next_charge_at = min(sub.next_charge_at or now, now)
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0,
                type="first_payment_voided", enrollment=row.id)  # fmt: skip


def _source_paid(
    session: Session, row: Enrollment, intent: PaymentIntent, hook: Any, *,
    order_guid: str | None, now: datetime,
) -> None:  # fmt: skip
    """A business package's first payment: the mandate active, the payment recorded as a paid
    charge of the package's (source, key) with its succeeded attempt; the package is told."""
    mandate = _activate_mandate(session, row, intent, now=now)
    source, key, check_item = hook.source_key(session, row)
    assert intent.amount is not None
    charge = Charge(
        source=source, source_key=key, mandate_id=mandate.id or 0,
        kind=mandate.standing_instruction,
        amount_cents=intent.amount, location_guid=row.location_guid, check_item=check_item,
        reason="first payment at signing", status=ChargeStatus.PAID, due_at=now,
        next_attempt_at=now, attempt_count=1, created_at=now, settled_at=now,
    )  # fmt: skip
    session.add(charge)
    session.flush()
    session.add(Attempt(
        charge_id=charge.id or 0, number=1, external_reference_id=row.id,
        status=AttemptStatus.SUCCEEDED, toast_intent_id=intent.id, order_guid=order_guid,
        created_at=now, updated_at=now, settled_at=now,
    ))  # fmt: skip
    session.flush()
    events.emit(session, at=now, entity="charge", entity_id=charge.id or 0, type="paid",
                amount_cents=intent.amount, first_payment=True, source=source)  # fmt: skip
    hook.paid(session, row, mandate, charge, now)


def _activate_mandate(
    session: Session, row: Enrollment, intent: PaymentIntent, *, now: datetime
) -> Mandate:
    assert intent.mandate_id is not None
    mandate = session.get(Mandate, row.mandate_id)
    assert mandate is not None
    card = card_of(intent)
    members.activate_mandate(
        session, mandate, toast_mandate_id=intent.mandate_id,
        payment_method_id=intent.payment_method_id, card_brand=card.brand,
        card_last4=card.last_four, card_exp=card.expiry, now=now,
    )  # fmt: skip
    return mandate


def _activate(
    session: Session, row: Enrollment, intent: PaymentIntent, *, now: datetime
) -> tuple[Mandate, Subscription, Plan]:
    assert intent.mandate_id is not None
    mandate = session.get(Mandate, row.mandate_id)
    sub = session.get(Subscription, row.subscription_id)
    assert mandate is not None
    assert sub is not None
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    assert plan.kind != PlanKind.UNSCHEDULED
    card = card_of(intent)
    members.activate_mandate(
        session, mandate, toast_mandate_id=intent.mandate_id,
        payment_method_id=intent.payment_method_id, card_brand=card.brand,
        card_last4=card.last_four, card_exp=card.expiry, now=now,
    )  # fmt: skip
    members.activate(session, sub, plan, now=now)
    return mandate, sub, plan
