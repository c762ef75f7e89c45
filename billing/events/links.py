"""Staff payment links for an event: a single-use, expiring URL where the guest pays what the
event owes in the hosted checkout, without an account (``billing events link``).

- **deposit** (a tentative event): the guest pays the signing milestone as a customer-initiated
  payment carrying ``standingInstructionType: INSTALLMENT``, through the same enrollment
  first-payment path as ``POST /v1/events`` (``billing.events.checkout``): the consent text
  states the schedule; on success the deposit is recorded paid, the mandate is attached to the
  event and the later milestones are put for the engine (``booking.book``).
- **balance** (an event that was paid in full, whose total rose afterwards): the mandate was
  revoked at paid in full, so the difference cannot be charged off-session; the guest pays it
  here (``booking.top_up``), again as an INSTALLMENT payment of the same schedule, whose new
  mandate is attached to the event and ended at once when nothing is owed any more.

A link is a random 256-bit token stored only as its SHA-256, like a card-update link
(``billing.links``: same token rules, same reasons for not signing the URL). It opens at most one
live checkout at a time (the link's ``enrollment_id`` moves by compare-and-set); it is used up
in the transaction that records the payment (``checkout.paid``).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.enroll import first_payment, service
from billing.enroll.models import CardIn, EnrollmentStatus, Purpose
from billing.errors import BillingError, DomainError
from billing.events import booking, checkout, rules
from billing.events import store as ev_store
from billing.events.rules import EventStatus, LinkState
from billing.links import rules as link_rules
from billing.manage import members
from billing.settings import ServeSettings
from billing.store import events
from billing.store.tables import CateringEvent, Customer, Enrollment, EventLink

PATH = "/pay"
DEPOSIT, BALANCE = "deposit", "balance"
CLOSED_CHECKOUTS = (EnrollmentStatus.EXPIRED, EnrollmentStatus.FAILED)
UNAVAILABLE = "the payment form could not be opened just now: please try again in a few minutes"


@dataclass(frozen=True, slots=True)
class Issued:
    url: str
    event: CateringEvent
    purpose: str
    amount_cents: int
    expires_at: datetime


def url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}/{token}"


def purpose_of(session: Session, ev: CateringEvent) -> str | None:
    """What a link for this event would collect now (None: nothing to pay through a link)."""
    if ev.status == EventStatus.TENTATIVE:
        return DEPOSIT
    if ev.status == EventStatus.BALANCE_DUE and booking.owed_by_link(session, ev) > 0:
        return BALANCE
    return None


def amount_of(session: Session, ev: CateringEvent, purpose: str) -> int:
    if purpose == DEPOSIT:
        return booking.signing_amount(session, ev)
    return booking.owed_by_link(session, ev)


def issue(
    session: Session, event_id: int, *, now: datetime, serve: ServeSettings,
    created_by: str = "staff",
) -> Issued:  # fmt: skip
    """A new link for what the event owes now (refused, naming why, when it owes nothing a
    link could collect)."""
    ev = ev_store.event(session, event_id)
    purpose = purpose_of(session, ev)
    if purpose is None:
        raise DomainError(f"event {event_id} is {ev.status}: a payment link collects the deposit "
                          "of a tentative event, or a balance owed after it was paid in full "
                          "(milestones under a live mandate are charged by the engine)",
                          field="event")  # fmt: skip
    if purpose == DEPOSIT:
        booking.signing_milestone(session, event_id)  # refused without one
    amount = amount_of(session, ev, purpose)
    token = secrets.token_urlsafe(link_rules.TOKEN_BYTES)
    expires = link_rules.expires_at(now, serve.card_link_days)
    row = EventLink(token_hash=link_rules.token_hash(token), event_id=event_id, purpose=purpose,
                    created_by=created_by, created_at=now, expires_at=expires)  # fmt: skip
    session.add(row)
    session.flush()
    events.emit(session, at=now, entity=booking.ENTITY, entity_id=event_id, type="link_created",
                link=row.id, purpose=purpose, amount_cents=amount)  # fmt: skip
    return Issued(url(serve.public_url, token), ev, purpose, amount, expires)


def find(session: Session, token: str) -> EventLink | None:
    if not link_rules.well_formed(token):
        return None
    query = select(EventLink).where(EventLink.token_hash == link_rules.token_hash(token))
    return session.exec(query).first()


def state_of(session: Session, link: EventLink, ev: CateringEvent, now: datetime) -> LinkState:
    return rules.link_state(now=now, expires_at=link.expires_at, used_at=link.used_at,
                            payable=purpose_of(session, ev) == link.purpose)  # fmt: skip


# --- the page's use cases ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """What the page shows. ``state`` None: no such link (never says more than that)."""

    state: LinkState | None = None
    purpose: str = DEPOSIT
    title: str = ""
    amount_cents: int = 0
    consent: str = ""
    session_secret: str | None = None
    message: str | None = None
    just_used: bool = False
    paid_cents: int = 0  # what this link collected (a used link)


class _Raced(Exception):
    """Another request opened this link's checkout first."""


def _shown(session: Session, link: EventLink, ev: CateringEvent, state: LinkState,
           **more: object) -> Visit:  # fmt: skip
    paid = 0
    if state == LinkState.USED and link.enrollment_id is not None:
        paid = ev_store.paid_through(session, link.enrollment_id)
    return Visit(state=state, purpose=link.purpose, title=ev.title, paid_cents=paid,
                 **more)  # type: ignore[arg-type]


async def open_checkout(ctx: service.Context, token: str) -> Visit:
    """The page for a link: closed (used, settled, expired), or an open checkout."""
    for _ in range(3):
        now = ctx.clock.now()
        try:
            with ctx.store.transaction() as session:
                link = find(session, token)
                if link is None:
                    return Visit()
                ev = ev_store.event(session, link.event_id)
                state = state_of(session, link, ev, now)
                if state != LinkState.OPEN:
                    return _shown(session, link, ev, state)
                amount = amount_of(session, ev, link.purpose)
                consent = (checkout.consent_text(session, ev) if link.purpose == DEPOSIT
                           else checkout.balance_consent(session, ev, amount))  # fmt: skip
                enrollment_id = _live_checkout(session, link, ev, consent=consent, now=now)
        except _Raced:
            continue
        try:
            view = await service.refresh(ctx, enrollment_id)
        except BillingError:
            return Visit(state=LinkState.OPEN, purpose=link.purpose, title=ev.title,
                         message=UNAVAILABLE)  # fmt: skip
        status = view.enrollment.status
        if status == EnrollmentStatus.COMPLETED:
            return await _after(ctx, token)
        if status == EnrollmentStatus.PENDING and view.session_secret:
            return Visit(state=LinkState.OPEN, purpose=link.purpose, title=ev.title,
                         amount_cents=view.first_payment_cents or amount, consent=consent,
                         session_secret=view.session_secret, message=view.message)  # fmt: skip
    return Visit(state=LinkState.OPEN, message=UNAVAILABLE)


def _live_checkout(
    session: Session, link: EventLink, ev: CateringEvent, *, consent: str, now: datetime
) -> str:
    """The link's open checkout, else the event's own (an API deposit checkout still open),
    else a new one: a pending INSTALLMENT mandate and an enrollment taking the payment now."""
    for candidate in (link.enrollment_id, ev.enrollment_id):
        current = session.get(Enrollment, candidate) if candidate else None
        if current is not None and current.status == EnrollmentStatus.PENDING:
            _point(session, link, current.id)
            return current.id
    customer = session.get(Customer, ev.customer_id)
    assert customer is not None
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=ev.location_guid,
        standing_instruction="INSTALLMENT", now=now,
    )  # fmt: skip
    row = Enrollment(
        id=str(uuid.uuid4()), idempotency_key=f"event-link:{uuid.uuid4()}",
        request_hash=hashlib.sha256(f"event_link:{link.id}".encode()).hexdigest(),
        purpose=Purpose.EVENT, customer_id=customer.id or 0,
        fee_purpose=f"event {ev.id}: {ev.title}"[:200], mandate_id=mandate.id or 0,
        location_guid=ev.location_guid, created_at=now, intent_kind=first_payment.KIND,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _point(session, link, row.id)  # the checkout's event is found through its link
    events.emit(session, at=now, entity="enrollment", entity_id=mandate.id or 0, type="started",
                enrollment=row.id, event_id=ev.id, event_link=link.id,
                consent=consent)  # fmt: skip
    return row.id


def _point(session: Session, link: EventLink, enrollment_id: str) -> None:
    """Move the link to ``enrollment_id`` by compare-and-set (two tabs: one wins)."""
    if link.enrollment_id == enrollment_id:
        return
    was = col(EventLink.enrollment_id)
    unchanged = was.is_(None) if link.enrollment_id is None else was == link.enrollment_id
    moved = session.exec(
        update(EventLink).where(col(EventLink.id) == link.id, unchanged)
        .values(enrollment_id=enrollment_id)
    )  # fmt: skip
    if moved.rowcount != 1:
        raise _Raced


async def complete(ctx: service.Context, token: str, card: CardIn | None) -> Visit:
    """The hosted checkout reported success: read the payment back (``service.refresh``
    applies it to a check and records it); then the page says what was paid."""
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        link = find(session, token)
        if link is None:
            return Visit()
        ev = ev_store.event(session, link.event_id)
        state = state_of(session, link, ev, now)
        enrollment_id = link.enrollment_id
        if state == LinkState.USED or enrollment_id is None:
            return _shown(session, link, ev, state)
    # on an error the page below says what is known; the completer of billing run finishes it
    with contextlib.suppress(BillingError):
        await service.refresh(ctx, enrollment_id, card=card)
    return await _after(ctx, token)


async def _after(ctx: service.Context, token: str) -> Visit:
    with ctx.store.transaction() as session:
        link = find(session, token)
        assert link is not None
        ev = ev_store.event(session, link.event_id)
        state = state_of(session, link, ev, ctx.clock.now())
        if state == LinkState.USED:
            return _shown(session, link, ev, state, just_used=True)
    return await open_checkout(ctx, token)
