"""The card-update link's use cases, as the page runs them: open the checkout for a link, and
complete it once the hosted checkout reports the card.

A link opens at most one live checkout at a time: an enrollment (purpose ``card_link``) with
a pending mandate of the *same* standing instruction as the card it replaces, and an
OFF_SESSION setup intent (``billing.enroll.service``). Its setup intent lives 30 minutes; a
member who comes back later gets a fresh one. Two tabs racing for the first checkout: the
link's ``enrollment_id`` moves by compare-and-set, so one wins and the other reads its.
Completion runs through ``service.refresh``, which also serves the enrollment completer of
``billing run`` (the member who closed the tab after authorizing is not lost).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.domain.states import ChargeStatus
from billing.enroll import service
from billing.enroll.models import CardIn, EnrollmentStatus, Purpose
from billing.errors import BillingError
from billing.links import rules, tokens
from billing.manage import members
from billing.store import events
from billing.store.tables import CardLink, Charge, Customer, Enrollment, Mandate

log = logging.getLogger("billing.links")
CLOSED_CHECKOUTS = (EnrollmentStatus.EXPIRED, EnrollmentStatus.FAILED)
UNAVAILABLE = "the card form could not be opened just now: please try again in a few minutes"


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """What the page shows. ``state`` None: no such link (never says more than that)."""

    state: rules.State | None = None
    card: str = ""  # the card the link replaces, as the member knows it
    new_card: str = ""  # the card now on file (a used link)
    session_secret: str | None = None  # an open checkout
    message: str | None = None
    just_used: bool = False  # this request put the card in
    retrying: int = 0  # declined charges to be tried again now on the new card


class _Raced(Exception):
    """Another request opened this link's checkout first."""


def _card(mandate: Mandate | None) -> str:
    if mandate is None:
        return "card"
    return f"{mandate.card_brand or 'card'} ending {mandate.card_last4 or '????'}"


def _read(session: Session, link: CardLink, now: datetime) -> tuple[rules.State, Mandate]:
    mandate = session.get(Mandate, link.mandate_id)
    assert mandate is not None
    state = rules.state(now=now, expires_at=link.expires_at, used_at=link.used_at,
                        mandate_status=mandate.status,
                        replaced=mandate.replaced_by_id is not None)  # fmt: skip
    return state, mandate


def _closed(session: Session, link: CardLink, state: rules.State, old: Mandate,
            *, just_used: bool = False, now: datetime) -> Visit:  # fmt: skip
    new_card, retrying = "", 0
    enrollment = session.get(Enrollment, link.enrollment_id) if link.enrollment_id else None
    if state == rules.State.USED and enrollment is not None:
        new = session.get(Mandate, enrollment.mandate_id)
        new_card = _card(new)
        query = select(Charge.id).where(Charge.mandate_id == enrollment.mandate_id,
                                        Charge.status == ChargeStatus.RETRY_SCHEDULED,
                                        col(Charge.next_attempt_at) <= now)  # fmt: skip
        retrying = len(session.exec(query).all())
    return Visit(state=state, card=_card(old), new_card=new_card, just_used=just_used,
                 retrying=retrying)  # fmt: skip


async def open_checkout(ctx: service.Context, token: str) -> Visit:
    """The page for a link: closed (used, expired, card replaced), or an open checkout."""
    for _ in range(3):
        now = ctx.clock.now()
        try:
            with ctx.store.transaction() as session:
                link = tokens.find(session, token)
                if link is None:
                    return Visit()
                state, old = _read(session, link, now)
                if state != rules.State.OPEN:
                    return _closed(session, link, state, old, now=now)
                enrollment_id = _live_checkout(session, link, old, now=now)
        except _Raced:
            continue
        try:
            view = await service.refresh(ctx, enrollment_id)
        except BillingError as exc:
            log.warning("card_link_checkout_failed", extra={
                "action": "card_link_checkout_failed", "error": type(exc).__name__})  # fmt: skip
            return Visit(state=rules.State.OPEN, card=_card(old), message=UNAVAILABLE)
        status = view.enrollment.status
        if status == EnrollmentStatus.COMPLETED:
            return await _after(ctx, token)
        if status == EnrollmentStatus.PENDING and view.session_secret:
            return Visit(state=rules.State.OPEN, card=_card(old),
                         session_secret=view.session_secret, message=view.message)  # fmt: skip
        # expired (or failed) meanwhile: the next round opens a fresh checkout
    return Visit(state=rules.State.OPEN, message=UNAVAILABLE)


def _live_checkout(session: Session, link: CardLink, old: Mandate, *, now: datetime) -> str:
    current = session.get(Enrollment, link.enrollment_id) if link.enrollment_id else None
    if current is not None and current.status not in CLOSED_CHECKOUTS:
        return current.id
    customer = session.get(Customer, link.customer_id)
    assert customer is not None
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=old.location_guid,
        standing_instruction=old.standing_instruction, now=now,
    )  # the same consent as the card it replaces  # fmt: skip
    row = Enrollment(
        id=str(uuid.uuid4()), idempotency_key=f"card-link:{uuid.uuid4()}",
        request_hash=hashlib.sha256(f"card_link:{link.id}".encode()).hexdigest(),
        purpose=Purpose.CARD_LINK, customer_id=customer.id or 0, mandate_id=mandate.id or 0,
        replaces_mandate_id=old.id, location_guid=old.location_guid,
        save_card=customer.toast_customer_id is not None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    was = col(CardLink.enrollment_id)
    unchanged = was.is_(None) if current is None else was == current.id
    moved = session.exec(
        update(CardLink).where(col(CardLink.id) == link.id, unchanged).values(enrollment_id=row.id)
    )
    if moved.rowcount != 1:
        raise _Raced
    events.emit(session, at=now, entity="enrollment", entity_id=mandate.id or 0, type="started",
                enrollment=row.id, card_link=link.id, replaces=old.id)  # fmt: skip
    return row.id


async def complete(ctx: service.Context, token: str, card: CardIn | None) -> Visit:
    """The hosted checkout reported success: read the setup intent back and, once it has
    succeeded, the new card takes over (``billing.links.replace``)."""
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        link = tokens.find(session, token)
        if link is None:
            return Visit()
        state, old = _read(session, link, now)
        enrollment_id = link.enrollment_id
        if state == rules.State.USED or enrollment_id is None:
            return _closed(session, link, state, old, now=now)
    try:
        await service.refresh(ctx, enrollment_id, card=card)
    except BillingError as exc:
        log.warning("card_link_complete_failed", extra={
            "action": "card_link_complete_failed", "error": type(exc).__name__})  # fmt: skip
    return await _after(ctx, token)


async def _after(ctx: service.Context, token: str) -> Visit:
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        link = tokens.find(session, token)
        assert link is not None
        state, old = _read(session, link, now)
        if state == rules.State.USED:
            log.info("card_link_used", extra={"action": "card_link_used", "link": link.id,
                                               "mandate": link.mandate_id})  # fmt: skip
            return _closed(session, link, state, old, just_used=True, now=now)
    return await open_checkout(ctx, token)
