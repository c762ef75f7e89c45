"""The deposit checkout: an event booked by the guest paying its signing milestone in Toast's
hosted checkout, through the enrollment flow's first-payment path (``billing.enroll``).

The guest's iframe confirms a customer-initiated payment intent for the deposit carrying
``standingInstructionType: INSTALLMENT``; Toast answers with the mandate that the engine
charges the later milestones under. The consent text states the schedule. Write-ahead as in
the enrollment flow: the tentative event, the pending mandate and the enrollment row are
committed before Toast is called, so a repeated Idempotency-Key resumes instead of repeating.

Also the enrollment flow's hook for these enrollments (``first_payment.SIGNUP_HOOKS``):
``amount``, ``source_key``, ``paid`` (the event booked, the deposit recorded paid) and
``voided`` (the event booked anyway: the engine charges the deposit off-session).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, select

from billing.domain import money
from billing.enroll import first_payment, service
from billing.enroll.models import CustomerIn, Purpose
from billing.errors import DomainError, DuplicateKey, NotFound
from billing.events import booking, schedules, views
from billing.events import store as ev_store
from billing.events.rules import EventStatus
from billing.manage import members
from billing.store import events
from billing.store.db import Store
from billing.store.tables import CateringEvent, Charge, Customer, Enrollment, EventLink, Mandate


@dataclass(frozen=True, slots=True)
class Checkout:
    event: views.EventView
    enrollment: service.View
    consent: str


def consent_text(session: Session, ev: CateringEvent) -> str:
    """What the guest authorizes: every payment of this event's schedule, on this card."""
    rows = ev_store.milestones(session, ev.id or 0)
    lines = [schedules.describe(ev_store.rule_of(m)) for m in rows]
    total = money.format_cents(ev_store.total_of(ev))
    return (
        f"I authorize {ev.title} to charge this card for all payments of this event "
        f"({ev.local_date}, total {total} for {ev.guests} guests, recomputed from the final "
        f"guest count), including the final balance: {'; '.join(lines)}. I am told each amount "
        "before it is charged; cancelling follows the cancellation policy."
    )[:1000]


def balance_consent(session: Session, ev: CateringEvent, owed: int) -> str:
    """What the guest authorizes paying a balance owed after the event was paid in full."""
    total = money.format_cents(ev_store.total_of(ev))
    return (
        f"I authorize {ev.title} to charge this card {money.format_cents(owed)} now: the "
        f"balance of this event ({ev.local_date}, total {total} for {ev.guests} guests, as "
        "the final guest count changed after it was paid in full). Nothing more is charged "
        "to this card once the event is paid in full."
    )[:1000]


async def start(
    ctx: service.Context, spec: booking.EventCreate, customer: CustomerIn, *, key: str,
    request_hash: str,
) -> Checkout:  # fmt: skip
    """Create (or, for a repeated key, resume) the event and its deposit checkout."""
    existing = _by_key(ctx.store, key)
    if existing is None:
        try:
            with ctx.store.transaction() as session:
                existing = _record(session, ctx, spec, customer, key=key, digest=request_hash)
        except DuplicateKey:
            existing = _by_key(ctx.store, key)
            if existing is None:
                raise
    if existing.request_hash != request_hash:
        raise service.IdempotencyConflict(
            "this Idempotency-Key was already used for a different event",
            field="Idempotency-Key",
        )
    view = await service.refresh(ctx, existing.id)
    with ctx.store.transaction() as session:
        ev = _event_of(session, existing.id)
        return Checkout(views.view(session, ev.id or 0), view, consent_text(session, ev))


def digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def _by_key(store: Store, key: str) -> Enrollment | None:
    with store.transaction() as session:
        found = session.exec(select(Enrollment).where(Enrollment.idempotency_key == key))
        row = found.first()
        if row is not None and row.purpose != Purpose.EVENT:
            raise service.IdempotencyConflict(
                "this Idempotency-Key was already used for another enrollment",
                field="Idempotency-Key",
            )
        return row


def _record(
    session: Session, ctx: service.Context, spec: booking.EventCreate, data: CustomerIn, *,
    key: str, digest: str,
) -> Enrollment:  # fmt: skip
    now = ctx.clock.now()
    customer = _customer(session, data, now=now)
    ev = booking.create(session, _with_customer(spec, customer), now=now)
    booking.signing_milestone(session, ev.id or 0)  # refused without one, nothing written
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=ev.location_guid,
        standing_instruction="INSTALLMENT", now=now,
    )  # fmt: skip
    row = Enrollment(
        id=str(uuid.uuid4()), idempotency_key=key, request_hash=digest, purpose=Purpose.EVENT,
        customer_id=customer.id or 0, fee_purpose=f"event {ev.id}: {ev.title}"[:200],
        mandate_id=mandate.id or 0, location_guid=ev.location_guid, created_at=now,
        intent_kind=first_payment.KIND,
    )  # fmt: skip
    session.add(row)
    session.flush()
    ev.enrollment_id = row.id
    session.add(ev)
    events.emit(session, at=now, entity="enrollment", entity_id=mandate.id or 0, type="started",
                enrollment=row.id, event_id=ev.id, consent=consent_text(session, ev))  # fmt: skip
    return row


def _with_customer(spec: booking.EventCreate, customer: Customer) -> booking.EventCreate:
    return replace(spec, customer=str(customer.id), mandate_id=None)


def _customer(session: Session, data: CustomerIn, *, now: datetime) -> Customer:
    """The merchant's reference identifies a returning guest; else the email does."""
    if data.reference is not None:
        found = session.exec(select(Customer).where(Customer.external_ref == data.reference))
        row = found.first()
        if row is not None:
            return row
    taken = members.by_email(session, data.email)
    if len(taken) == 1 and data.reference is None:
        return taken[0]
    if taken:
        raise DomainError("customer.email belongs to another customer", field="customer.email")
    return members.create_customer(session, email=data.email, name=data.name,
                                   external_ref=data.reference, now=now)  # fmt: skip


def _event_of(session: Session, enrollment_id: str) -> CateringEvent:
    row = session.exec(
        select(CateringEvent).where(CateringEvent.enrollment_id == enrollment_id)
    ).first()
    if row is None:  # a payment link's checkout (billing.events.links)
        link = session.exec(
            select(EventLink).where(EventLink.enrollment_id == enrollment_id)
        ).first()
        row = session.get(CateringEvent, link.event_id) if link is not None else None
    if row is None:
        raise NotFound(f"no event for enrollment {enrollment_id}", field="enrollment")
    return row


# --- the enrollment flow's hook (first_payment.SIGNUP_HOOKS) --------------------------------
# A tentative event's checkout takes the signing milestone (and books the event); any other
# takes the balance owed after the event was paid in full (a staff payment link).
def _signing(ev: CateringEvent) -> bool:
    return ev.status == EventStatus.TENTATIVE


def amount(session: Session, row: Enrollment) -> int:
    paid_now = ev_store.paid_through(session, row.id)
    if paid_now:  # a completed checkout: what it took
        return paid_now
    ev = _event_of(session, row.id)
    if _signing(ev):
        return booking.signing_amount(session, ev)
    return booking.owed_by_link(session, ev)


def source_key(session: Session, row: Enrollment) -> tuple[str, str, str]:
    ev = _event_of(session, row.id)
    if _signing(ev):
        m = booking.signing_milestone(session, ev.id or 0)
    else:
        m = booking.extra_owed(session, ev.id or 0)
    return ev_store.SOURCE, ev_store.key(ev.id or 0, m), f"{ev.title[:150]}: {m.name}"


def paid(
    session: Session, row: Enrollment, mandate: Mandate, charge: Charge, now: datetime
) -> None:
    ev = _event_of(session, row.id)
    ev_store.used_up(session, row.id, now=now)  # a payment link's checkout: used up
    if not _signing(ev):
        booking.balance_paid(session, ev.id or 0, mandate.id or 0, now=now, paid=charge)
        return
    booking.book(session, ev.id or 0, mandate.id or 0, now=now, paid_at_signing=charge,
                 late_ok=True)  # fmt: skip


def voided(session: Session, row: Enrollment, mandate: Mandate, now: datetime) -> None:
    ev = _event_of(session, row.id)
    ev_store.used_up(session, row.id, now=now)  # the mandate was given: the engine charges it
    if not _signing(ev):
        booking.balance_paid(session, ev.id or 0, mandate.id or 0, now=now)
        return
    booking.book(session, ev.id or 0, mandate.id or 0, now=now, late_ok=True)
