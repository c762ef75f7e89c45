"""What the engine asks and tells the events package about milestone charges (``door.HOOKS``).

- ``policy``: the schedule's own retry days (the template's, copied to the event);
- ``changed``: a milestone paid, declined (retrying), failed or held: the milestone and the
  event follow, and unpaid milestones are recomputed (``booking.sync``: the remainder absorbs
  a failed milestone). A decline inside the template's alert window raises a ``billing
  attention`` alert at once and the event goes "balance due"; a retry that would fall on or
  after the event's start is held for staff instead (``door.hold``);
- ``materialize``: once per pass of the engine's materialize lane: an event paid in full is
  closed once it has started (until then its total may still rise: the difference is owed);
- ``veto``: asked as the engine claims a charge: never for a cancelled or closed event, and
  never on or after the event's start without staff confirmation (``billing events confirm``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.domain.dunning import DunningPolicy
from billing.domain.states import ChargeStatus
from billing.errors import NotFound
from billing.events import booking, rules
from billing.events import store as ev_store
from billing.events.rules import EventStatus
from billing.manage.alerts import ATTENTION
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import CateringEvent, Charge, EventMilestone


def _find(
    session: Session, charge: Charge, *, lock: bool = True
) -> tuple[CateringEvent, EventMilestone] | None:
    parsed = ev_store.parse_key(charge.source_key or "")
    if parsed is None:
        return None
    event_id, name, _ = parsed
    try:  # locked: two milestones of one event settled at once take turns (none is missed)
        ev = ev_store.event(session, event_id, for_update=lock)
    except NotFound:
        return None
    for m in ev_store.milestones(session, event_id):
        if m.name == name:
            return ev, m
    return None


def policy(session: Session, charge: Charge, default: DunningPolicy) -> DunningPolicy:
    found = _find(session, charge, lock=False)
    if found is None:
        return default
    return replace(default, retry_days=tuple(found[0].retry_days), final_action="skip")


def changed(session: Session, charge: Charge, what: str, now: datetime) -> None:
    found = _find(session, charge)
    if found is None:
        return
    ev, m = found
    if what == ChargeStatus.PAID:
        m.state, m.amount_cents = "paid", charge.amount_cents
    elif what == ChargeStatus.FAILED:
        m.state = "failed"
    session.add(m)
    if what in (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.FAILED,
                ChargeStatus.NEEDS_ATTENTION):  # fmt: skip
        _trouble(session, ev, m, charge, what, now)
    if ev.status == EventStatus.CANCELLED:
        booking.settle(ev, ev_store.milestones(session, ev.id or 0))  # paid while in flight
        session.add(ev)
        return
    booking.sync(session, ev, now=now)


def _trouble(
    session: Session, ev: CateringEvent, m: EventMilestone, charge: Charge, what: str,
    now: datetime,
) -> None:  # fmt: skip
    if ev.status in (EventStatus.BOOKED,):
        ev.status = rules.move(ev.status, EventStatus.BALANCE_DUE)
        session.add(ev)
        events.emit(session, at=now, entity=booking.ENTITY, entity_id=ev.id or 0,
                    type=EventStatus.BALANCE_DUE, milestone=m.name)  # fmt: skip
    retry_late = (
        what == ChargeStatus.RETRY_SCHEDULED and charge.next_attempt_at >= ev.start_at
        and m.confirmed_at is None
    )  # fmt: skip
    if retry_late:
        door.hold(session, charge, now=now, why=(
            f"the retry would fall on or after event {ev.id}'s start: charge it only with "
            f"staff confirmation (billing events confirm {ev.id} {m.name})"
        ))  # fmt: skip
    near = now >= ev.start_at - timedelta(days=ev.alert_days)
    if near or retry_late:
        if retry_late:
            then = "retry held for staff"
        elif charge.status == ChargeStatus.RETRY_SCHEDULED:
            then = f"next try {charge.next_attempt_at:%Y-%m-%d %H:%M}Z"
        else:
            then = "no more retries"
        code = charge.last_decline_code or "declined"
        days = (ev.start_at - now).days
        detail = f"{m.name} ({charge.status}, {code}) {days} days before the event; {then}"
        raise_alert(session, ev, m, now=now, detail=detail)


def raise_alert(
    session: Session, ev: CateringEvent, m: EventMilestone, *, now: datetime, detail: str
) -> None:
    events.emit(
        session, at=now, entity=booking.ENTITY, entity_id=ev.id or 0, type=ATTENTION,
        kind="event milestone declined", subject=f"event {ev.id} {ev.title[:60]}",
        detail=detail[:300], milestone=m.name,
    )  # fmt: skip


def veto(session: Session, charge: Charge, now: datetime) -> str | None:
    found = _find(session, charge, lock=False)
    if found is None:
        return None
    ev, m = found
    if ev.status in (EventStatus.CANCELLED, EventStatus.CLOSED):
        return f"event {ev.id} is {ev.status}: nothing is charged for it"
    if now >= ev.start_at and m.confirmed_at is None:
        why = (f"on or after event {ev.id}'s start: charge it only with staff confirmation "
               f"(billing events confirm {ev.id} {m.name})")  # fmt: skip
        raise_alert(session, ev, m, now=now, detail=f"{m.name} held unsent: {why}")
        if ev.status == EventStatus.BOOKED:
            ev.status = rules.move(ev.status, EventStatus.BALANCE_DUE)
            session.add(ev)
        return why
    return None


CLOSE_BATCH = 500


def materialize(store: Store, now: datetime) -> int:
    """Close the events paid in full whose start has passed (no charge is made: returns 0)."""
    query = (
        select(CateringEvent.id)
        .where(CateringEvent.status == EventStatus.PAID_IN_FULL,
               col(CateringEvent.start_at) <= now)
        .order_by(col(CateringEvent.start_at)).limit(CLOSE_BATCH)
    )  # fmt: skip
    with store.transaction() as session:
        for event_id in session.exec(query).all():
            ev = ev_store.event(session, event_id or 0, for_update=True)
            if ev.status == EventStatus.PAID_IN_FULL:
                booking.close_paid(session, ev, now=now)
    return 0
