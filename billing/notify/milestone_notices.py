"""The event milestone notice scan: a guest is told the exact amount of a milestone charge
``notify.milestone_notice_days`` before it falls due, and told again whenever the amount changes
after that (a guest-count or price change recomputes unpaid milestones). Each notice is one
``milestone_notice`` event committed with a ``notice`` row whose (kind, key) is unique (the
milestone's charge key and the notice's number), so however many dispatchers scan, each notice
is given once. Only charges the engine has not started are told: a started one can no longer
change, and a declined one is told by the decline notice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.domain.states import ChargeStatus
from billing.events import store as ev_store
from billing.events.rules import EXTRA
from billing.notify import rules
from billing.settings import NotifySettings
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import CateringEvent, Charge, Event, EventMilestone, Notice

MILESTONE = "milestone_notice"
LIVE = ("booked", "balance_due")


def scan(store: Store, *, now: datetime, notify: NotifySettings) -> int:
    """Create the milestone notice events now due; returns how many were created."""
    days = notify.milestone_notice_days
    with store.transaction() as session:
        query = (
            select(EventMilestone, CateringEvent)
            .join(CateringEvent, col(CateringEvent.id) == EventMilestone.event_id)
            .where(col(CateringEvent.status).in_(LIVE), EventMilestone.state == "open")
            .where(  # not the deposit at signing; an extra milestone is told like the rest
                col(EventMilestone.days_before).is_not(None)
                | col(EventMilestone.name).startswith(f"{EXTRA}-", autoescape=True)
            )
            .where(col(EventMilestone.due_at) > now - timedelta(days=1))
            .where(col(EventMilestone.due_at) <= now + timedelta(days=days))
            .order_by(col(EventMilestone.id))
        )
        created = 0
        for milestone, event in session.exec(query).all():
            charge = _unstarted_charge(session, event, milestone)
            if charge is not None and _tell(session, event, milestone, charge, now, days):
                created += 1
        return created


def _unstarted_charge(session: Session, ev: CateringEvent, m: EventMilestone) -> Charge | None:
    if ev.mandate_id is None or ev.id is None:
        return None
    charge = door.find(session, ev_store.SOURCE, ev_store.key(ev.id, m))
    if charge is None or charge.status != ChargeStatus.SCHEDULED or charge.decline_count > 0:
        return None
    return None if charge.lease_owner is not None else charge


def _tell(
    session: Session, ev: CateringEvent, m: EventMilestone, charge: Charge, now: datetime,
    days: int,
) -> bool:  # fmt: skip
    charge_key = charge.source_key or ""
    told = _told(session, charge_key)
    told_cents = int(told[-1].data["amount_cents"]) if told else None
    if not rules.milestone_notice_due(due_at=charge.due_at, now=now, days=days,
                                      amount_cents=charge.amount_cents, told_cents=told_cents):
        return False  # fmt: skip
    event = events.emit(
        session, at=now, entity="catering_event", entity_id=ev.id or 0,
        type=rules.MILESTONE_EVENT, milestone=m.name, amount_cents=charge.amount_cents,
        previous_cents=told_cents, due_at=charge.due_at.isoformat(), timezone=ev.timezone,
        title=ev.title, starts_at=ev.start_at.isoformat(), number=len(told) + 1,
    )  # fmt: skip
    session.flush()
    key = rules.milestone_notice_key(charge_key, len(told) + 1)
    session.add(Notice(kind=MILESTONE, key=key, event_id=event.id or 0, created_at=now))
    return True


def _told(session: Session, charge_key: str) -> list[Event]:
    """The notice events already given for one milestone charge, oldest first."""
    prefix = rules.milestone_notice_key(charge_key, 0)[: -len("0")]
    query = (
        select(Event)
        .join(Notice, col(Notice.event_id) == Event.id)
        .where(Notice.kind == MILESTONE)
        .where(col(Notice.key).startswith(prefix, autoescape=True))
        .order_by(col(Notice.id))
    )
    return list(session.exec(query).all())
