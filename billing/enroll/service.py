"""Enrollment use cases: open a setup intent for the checkout iframe, then complete it.

Write-ahead, like the charger: the enrollment row (with its idempotency key, the pending
mandate and the pending subscription) is committed before Toast is called, so a repeated
``Idempotency-Key`` finds it and a crash between the two is resumed, not duplicated. The
session secret is never stored: it is read back from Toast whenever the website needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from billing.clock import Clock
from billing.domain import calendar
from billing.domain.states import MandateStatus, PlanKind, SubscriptionStatus
from billing.enroll import cards, first_payment
from billing.enroll.idempotency import IdempotencyConflict as IdempotencyConflict
from billing.enroll.models import CardIn, EnrollmentCreate, EnrollmentStatus, Purpose
from billing.errors import AmbiguousLookup, DomainError, DuplicateEmail, DuplicateKey, NotFound
from billing.links import replace
from billing.manage import members, plans
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Customer, Enrollment, Mandate, Plan, Subscription
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.payment_intents import PaymentIntent, PaymentIntentStatus
from billing.toast.models.setup_intents import SetupIntent, SetupIntentStatus

log = logging.getLogger("billing.enroll")
SETUP_INTENT_TTL = timedelta(minutes=30)  # Toast: the session secret expires 30 min after creation
MAX_START_AHEAD = timedelta(days=366)
EXPIRED_MESSAGE = "the card authorization window (30 minutes) expired: start a new enrollment"
VOIDED_MESSAGE = (
    "the first payment could not be applied to a check in time and was voided; it will be "
    "charged off-session with the card just authorized"
)
PAYMENT_EXPIRED_MESSAGE = "the payment window (24 hours) expired: start a new enrollment"


class EnrollmentFailed(DomainError):
    """Toast refused to open the intent (the enrollment is marked failed)."""


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    toast: ToastClient
    clock: Clock
    location_guid: str  # for fee enrollments (plans carry their own location)


@dataclass(frozen=True, slots=True)
class View:
    """An enrollment as read now; ``session_secret`` only while it is pending."""

    enrollment: Enrollment
    plan_code: str | None
    mandate: Mandate
    session_secret: str | None = None
    message: str | None = None
    first_payment_cents: int | None = None


def request_hash(spec: EnrollmentCreate) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()


async def start(
    ctx: Context, spec: EnrollmentCreate, *, key: str, customer_id: int | None = None
) -> View:
    """Open (or, for a repeated key, resume) an enrollment; returns what the iframe needs.

    ``customer_id``: staff enrolling a known customer (``billing enroll``); the start date
    may then be any day from today on (the API allows up to a year ahead)."""
    digest = request_hash(spec)
    existing = _by_key(ctx.store, key)
    if existing is None:
        try:
            with ctx.store.transaction() as session:
                existing = _record(
                    session, ctx, spec, key=key, digest=digest, customer_id=customer_id
                )
        except DuplicateKey:  # a concurrent request with the same key won
            existing = _by_key(ctx.store, key)
            if existing is None:  # another constraint (e.g. the customer's email)
                raise
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different enrollment",
            field="Idempotency-Key",
        )
    return await refresh(ctx, existing.id)


def _by_key(store: Store, key: str) -> Enrollment | None:
    with store.transaction() as session:
        query = select(Enrollment).where(Enrollment.idempotency_key == key)
        return session.exec(query).first()


def _record(
    session: Session, ctx: Context, spec: EnrollmentCreate, *, key: str, digest: str,
    customer_id: int | None,
) -> Enrollment:  # fmt: skip
    """The write-ahead rows. An UNSCHEDULED plan is a card-on-file for fees, like
    ``fee_purpose`` but at the plan's location; other plans get a pending subscription."""
    now = ctx.clock.now()
    plan = plans.get(session, spec.plan) if spec.plan else None
    if plan is not None and not plan.active:
        raise DomainError(f"plan {plan.code!r} is archived", field="plan")
    if plan is not None and spec.pay_now and plan.kind == PlanKind.UNSCHEDULED:
        raise DomainError(f"plan {plan.code!r} has no schedule: a fee is charged later",
                          field="pay_now")  # fmt: skip
    if customer_id is not None:
        customer = members.get_customer(session, str(customer_id))
    else:
        customer = find_or_create_customer(session, spec, now=now)
    location = plan.location_guid if plan else ctx.location_guid
    instruction = plan.kind if plan else StandingInstructionType.UNSCHEDULED
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=location, standing_instruction=instruction,
        now=now,
    )  # fmt: skip
    sub = None
    if plan is not None and plan.kind != PlanKind.UNSCHEDULED:
        start_date = _start_date(
            spec.start_date, today(ctx.clock, plan.timezone), bounded=customer_id is None
        )
        if spec.pay_now and plan.trial_days:
            raise DomainError(
                f"plan {plan.code!r} has a {plan.trial_days}-day trial: the first payment "
                "follows it, so leave pay_now out", field="pay_now",
            )  # fmt: skip
        if spec.pay_now:
            first_payment.check_plan(plan)
            if start_date != today(ctx.clock, plan.timezone):
                raise DomainError(
                    "with pay_now the first payment is today, so the schedule starts today: "
                    "leave start_date out", field="start_date",
                )  # fmt: skip
        sub = members.subscribe(
            session, customer=customer, plan=plan, mandate=mandate, start=start_date,
            anchor_day=spec.anchor_day, now=now,
        )  # fmt: skip
    enrollment = Enrollment(
        id=str(uuid.uuid4()), idempotency_key=key, request_hash=digest,
        purpose=Purpose.SUBSCRIBE if sub else Purpose.FEE, customer_id=customer.id or 0,
        plan_id=plan.id if plan else None,
        fee_purpose=spec.fee_purpose or (plan.name[:200] if plan and not sub else None),
        subscription_id=sub.id if sub else None, mandate_id=mandate.id or 0,
        location_guid=location, save_card=spec.save_card, created_at=now,
        intent_kind=first_payment.KIND if spec.pay_now else "setup",
    )  # fmt: skip
    session.add(enrollment)
    session.flush()
    events.emit(session, at=now, entity="enrollment", entity_id=mandate.id or 0, type="started",
                enrollment=enrollment.id, save_card=spec.save_card)  # fmt: skip
    return enrollment


def _start_date(asked: date | None, today: date, *, bounded: bool = True) -> date:
    if asked is None:
        return today
    if asked < today:
        raise DomainError(f"start_date must be today ({today}) or later", field="start_date")
    if bounded and asked > today + MAX_START_AHEAD:
        raise DomainError(f"start_date must be between {today} and {today + MAX_START_AHEAD}",
                          field="start_date")  # fmt: skip
    return asked


def find_or_create_customer(session: Session, spec: EnrollmentCreate, *, now: datetime) -> Customer:
    """The merchant's reference identifies a returning customer; without one, the email does
    (any case). An email that belongs to a customer with another reference is refused."""
    data = spec.customer
    if data.reference is not None:
        query = select(Customer).where(Customer.external_ref == data.reference)
        found = session.exec(query).first()
        if found is not None:
            return found
    taken = members.by_email(session, data.email)
    if len(taken) > 1:
        ids = ", ".join(str(c.id) for c in taken)
        raise AmbiguousLookup(f"customer.email is shared by customers {ids}: send the "
                              "customer's reference", field="customer.email")  # fmt: skip
    if taken and data.reference is None:
        return taken[0]
    if taken:
        raise DuplicateEmail(message=f"customer.email belongs to customer {taken[0].id}, "
                             "who has another reference", field="customer.email")  # fmt: skip
    return members.create_customer(
        session, email=data.email, name=data.name, external_ref=data.reference, now=now
    )


async def open_intent(ctx: Context, enrollment_id: str) -> str | None:
    """Create the OFF_SESSION setup intent, or with pay_now the customer-initiated payment
    intent for cycle 0 (and the Toast customer record when the card is also saved to the
    profile); returns its session secret, or None when a concurrent request with the same
    key stored its intent first."""
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id)
        customer = session.get(Customer, row.customer_id)
        mandate = session.get(Mandate, row.mandate_id)
        amount = first_payment.amount(session, row) if _pays_now(row) else 0
        assert customer is not None
        assert mandate is not None
    instruction = StandingInstructionType(mandate.standing_instruction)
    what = "payment intent" if _pays_now(row) else "setup intent"
    try:
        toast_customer = (
            await _toast_customer(ctx, customer, row.location_guid) if row.save_card else None
        )
        if _pays_now(row):
            intent: SetupIntent | PaymentIntent = await first_payment.open_intent(
                ctx.toast, row, amount_cents=amount, email=customer.email,
                instruction=instruction, toast_customer=toast_customer,
            )  # fmt: skip
            ttl = first_payment.PAYMENT_INTENT_TTL
        else:
            intent = await ctx.toast.setup_intents.create(
                location=row.location_guid, usage=Usage.OFF_SESSION,
                standing_instruction_type=instruction, customer_id=toast_customer,
                external_reference_id=row.id,
            )  # fmt: skip
            ttl = SETUP_INTENT_TTL
    except toast_errors.ToastAPIError as exc:
        fail(ctx, enrollment_id, exc.message)
        raise EnrollmentFailed(f"Toast refused the {what}: {exc.message}") from exc
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id, for_update=True)
        if row.intent_id is not None:  # a concurrent request (same key) stored its intent first
            raced = {"action": "enrollment_intent_raced", "enrollment": enrollment_id}
            log.info("enrollment_intent_raced", extra=raced)
            return None  # ours is an orphan that expires unused; the caller reads theirs
        row.intent_id = intent.id
        created = intent.creation_date or ctx.clock.now()
        row.expires_at = created + ttl
        mandate = session.get(Mandate, row.mandate_id)
        assert mandate is not None
        mandate.setup_intent_id = intent.id
    log.info("enrollment_intent_created",
             extra={"action": "enrollment_intent_created", "enrollment": enrollment_id})
    return intent.session_secret.get_secret_value() if intent.session_secret else ""


async def _toast_customer(ctx: Context, customer: Customer, location: str) -> str:
    if customer.toast_customer_id:
        return customer.toast_customer_id
    record = await ctx.toast.customers.create(
        location=location, external_reference_id=f"billing-customer-{customer.id}",
        description=customer.email,
    )  # fmt: skip
    with ctx.store.transaction() as session:
        row = session.get(Customer, customer.id, with_for_update=_is_pg(session))
        assert row is not None
        if row.toast_customer_id:  # a concurrent enrollment created one first: use theirs
            return row.toast_customer_id
        row.toast_customer_id = record.id
    return record.id


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def refresh(
    ctx: Context, enrollment_id: str, *, card: CardIn | cards.Summary | None = None
) -> View:
    """Read the intent back from Toast and move the enrollment on: completed when the
    card is authorized, expired when the 30 minutes are over, else still pending."""
    row = load(ctx.store, enrollment_id).enrollment
    if row.status != EnrollmentStatus.PENDING:
        return load(ctx.store, enrollment_id)
    if row.intent_id is None:  # write-ahead row whose intent was never (knowingly) created
        secret = await open_intent(ctx, enrollment_id)
        if secret is None:
            return await refresh(ctx, enrollment_id, card=card)
        return _with(load(ctx.store, enrollment_id), secret)
    if _pays_now(row):
        return await _refresh_payment(ctx, row)
    try:
        intent = await ctx.toast.setup_intents.get(row.intent_id, location=row.location_guid)
    except toast_errors.ToastNotFound:  # Toast: 404 "intent expired / does not exist"
        return expire(ctx, enrollment_id)
    if intent.status == SetupIntentStatus.SUCCEEDED and intent.mandate_id:
        return await complete(ctx, enrollment_id, intent, card)
    if row.expires_at is not None and ctx.clock.now() >= row.expires_at:
        return expire(ctx, enrollment_id)
    live = intent.session_secret.get_secret_value() if intent.session_secret else None
    message = None
    if intent.last_setup_error is not None:
        message = f"the card was declined ({intent.last_setup_error.code}); try another card"
    return _with(load(ctx.store, enrollment_id), live, message)


def _pays_now(row: Enrollment) -> bool:
    return row.intent_kind == first_payment.KIND


async def _refresh_payment(ctx: Context, row: Enrollment) -> View:
    """The pay_now flavour of ``refresh``: authorized -> on a check -> completed."""
    assert row.intent_id is not None
    try:
        intent = await ctx.toast.payment_intents.get(row.intent_id, location=row.location_guid)
    except toast_errors.ToastNotFound:
        return expire(ctx, row.id, PAYMENT_EXPIRED_MESSAGE)
    if first_payment.authorized(intent):
        order_guid = await first_payment.apply_to_check(
            ctx.toast, intent, location=row.location_guid
        )
        return _settle_payment(ctx, row.id, intent, order_guid=order_guid)
    if first_payment.voided(intent):
        log.warning("first_payment_voided",
                    extra={"action": "first_payment_voided", "enrollment": row.id})  # fmt: skip
        return _settle_payment(ctx, row.id, intent, order_guid=None)
    expired = row.expires_at is not None and ctx.clock.now() >= row.expires_at
    if expired and intent.status != PaymentIntentStatus.PROCESSING:
        return expire(ctx, row.id, PAYMENT_EXPIRED_MESSAGE)
    live = intent.session_secret.get_secret_value() if intent.session_secret else None
    message = None
    if intent.declined and intent.last_payment_error is not None:
        message = f"the card was declined ({intent.last_payment_error.code}); try another card"
    elif intent.status == PaymentIntentStatus.PROCESSING:
        message = "the payment is processing at Toast; check again shortly"
    return _with(load(ctx.store, row.id), live, message)


def _settle_payment(
    ctx: Context, enrollment_id: str, intent: PaymentIntent, *,
    order_guid: str | None,
) -> View:  # fmt: skip
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id, for_update=True)
        if row.status == EnrollmentStatus.PENDING:
            if order_guid is None:
                first_payment.record_voided(session, row, intent, now=now)
                row.error = VOIDED_MESSAGE
            else:
                first_payment.record_paid(session, row, intent, order_guid=order_guid, now=now)
            row.status, row.completed_at = EnrollmentStatus.COMPLETED, now
            events.emit(session, at=now, entity="enrollment", entity_id=row.mandate_id,
                        type="completed", enrollment=row.id,
                        paid_now=order_guid is not None)  # fmt: skip
    return load(ctx.store, enrollment_id)


def _with(view: View, secret: str | None, message: str | None = None) -> View:
    return View(view.enrollment, view.plan_code, view.mandate, secret, message or view.message,
                view.first_payment_cents)  # fmt: skip


async def complete(
    ctx: Context, enrollment_id: str, intent: SetupIntent, card: CardIn | cards.Summary | None
) -> View:
    assert intent.mandate_id is not None
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id)
        customer = session.get(Customer, row.customer_id)
    summary = await cards.lookup(
        ctx.toast, location=row.location_guid, intent=intent, hint=card,
        toast_customer_id=customer.toast_customer_id if customer else None,
    )  # fmt: skip
    old = None
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id, for_update=True)
        if row.status == EnrollmentStatus.PENDING:
            old = _activate(session, row, intent, summary, now=ctx.clock.now())
    if old is not None:
        await revoke(ctx, old)
    return load(ctx.store, enrollment_id)


def _activate(
    session: Session, row: Enrollment, intent: SetupIntent, card: cards.Summary, *, now: datetime
) -> int | None:
    """Mandate active, subscription active (or switched to the new card); returns the id of
    a replaced mandate to revoke."""
    assert intent.mandate_id is not None
    mandate = session.get(Mandate, row.mandate_id)
    assert mandate is not None
    members.activate_mandate(
        session, mandate, toast_mandate_id=intent.mandate_id,
        payment_method_id=intent.payment_method_id, card_brand=card.brand,
        card_last4=card.last_four, card_exp=card.expiry, now=now,
    )  # fmt: skip
    row.status, row.completed_at = EnrollmentStatus.COMPLETED, now
    sub = session.get(Subscription, row.subscription_id) if row.subscription_id else None
    events.emit(session, at=now, entity="enrollment", entity_id=mandate.id or 0,
                type="completed", enrollment=row.id)  # fmt: skip
    if row.purpose == Purpose.SUBSCRIBE and sub is not None:
        if sub.status == SubscriptionStatus.PENDING_MANDATE:
            plan = session.get(Plan, sub.plan_id)
            assert plan is not None
            members.activate(session, sub, plan, now=now)
        return None
    if row.purpose == Purpose.REPLACE_CARD and sub is not None:
        from billing.enroll import accounts

        return accounts.switch_card(session, sub, mandate, now=now)
    if row.purpose == Purpose.CARD_LINK:
        return replace.checkout_done(session, row, mandate, now=now)
    return None


def expire(ctx: Context, enrollment_id: str, message: str = EXPIRED_MESSAGE) -> View:
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id, for_update=True)
        if row.status == EnrollmentStatus.PENDING:
            _close(session, row, EnrollmentStatus.EXPIRED, message, now=now)
    return load(ctx.store, enrollment_id)


def fail(ctx: Context, enrollment_id: str, message: str) -> None:
    """Close a pending enrollment for good (its pending mandate and subscription too)."""
    with ctx.store.transaction() as session:
        row = _get(session, enrollment_id, for_update=True)
        if row.status == EnrollmentStatus.PENDING:
            _close(session, row, EnrollmentStatus.FAILED, message[:500], now=ctx.clock.now())


def _close(
    session: Session, row: Enrollment, status: EnrollmentStatus, message: str, *, now: datetime
) -> None:
    row.status, row.error, row.completed_at = status, message, now
    mandate = session.get(Mandate, row.mandate_id)
    if mandate is not None and mandate.status == MandateStatus.PENDING_SETUP:
        mandate.status = MandateStatus.SETUP_FAILED
    if row.purpose == Purpose.SUBSCRIBE and row.subscription_id is not None:
        sub = session.get(Subscription, row.subscription_id)
        if sub is not None and sub.status == SubscriptionStatus.PENDING_MANDATE:
            sub.status, sub.cancelled_at = SubscriptionStatus.CANCELLED, now
    events.emit(session, at=now, entity="enrollment", entity_id=row.mandate_id, type=status.value,
                enrollment=row.id)  # fmt: skip


async def revoke(ctx: Context, mandate_id: int) -> None:
    """Revoke a mandate at Toast, then record it (a 404 means it is already gone)."""
    with ctx.store.transaction() as session:
        mandate = session.get(Mandate, mandate_id)
        assert mandate is not None
    if mandate.status not in (MandateStatus.ACTIVE, MandateStatus.EXPIRED):
        return
    if mandate.toast_mandate_id:
        with contextlib.suppress(toast_errors.ToastNotFound):  # already gone at Toast
            await ctx.toast.mandates.revoke(
                mandate.toast_mandate_id, location=mandate.location_guid
            )
    with ctx.store.transaction() as session:
        row = session.get(Mandate, mandate_id)
        assert row is not None
        row.status, row.revoked_at = MandateStatus.REVOKED, ctx.clock.now()
        events.emit(session, at=ctx.clock.now(), entity="mandate", entity_id=mandate_id,
                    type="revoked")  # fmt: skip


def _get(session: Session, enrollment_id: str, *, for_update: bool = False) -> Enrollment:
    query = select(Enrollment).where(Enrollment.id == enrollment_id)
    if for_update and _is_pg(session):
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"unknown enrollment {enrollment_id!r}", field="enrollment")
    return row


def load(store: Store, enrollment_id: str) -> View:
    with store.transaction() as session:
        row = _get(session, enrollment_id)
        mandate = session.get(Mandate, row.mandate_id)
        plan = session.get(Plan, row.plan_id) if row.plan_id else None
        amount = first_payment.amount(session, row) if _pays_now(row) else None
        assert mandate is not None
    return View(row, plan.code if plan else None, mandate, None, row.error, amount)


def today(clock: Clock, tz: str) -> date:
    return clock.now().astimezone(calendar.zone(tz)).date()
