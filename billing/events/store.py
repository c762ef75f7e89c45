"""The events package's rows: lookups and the conversions between rows and rule values."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from billing.errors import NotFound
from billing.events import rules
from billing.store.tables import (
    Attempt,
    CancellationTier,
    CateringEvent,
    Charge,
    EventLink,
    EventMilestone,
    ScheduleTemplate,
    TemplateMilestone,
)

SOURCE = "event"  # the door's source for milestone charges (door.HOOKS)


def key(event_id: int, milestone: EventMilestone) -> str:
    base = f"event:{event_id}:milestone:{milestone.name}"
    return base if milestone.revision == 0 else f"{base}:r{milestone.revision}"


def parse_key(source_key: str) -> tuple[int, str, int] | None:
    """(event id, milestone name, revision) of a milestone charge's key."""
    parts = source_key.split(":")
    if len(parts) not in (4, 5) or parts[0] != "event" or parts[2] != "milestone":
        return None
    if not parts[1].isdigit():
        return None
    revision = int(parts[4][1:]) if len(parts) == 5 and parts[4][1:].isdigit() else 0
    return int(parts[1]), parts[3], revision


def event(session: Session, event_id: int, *, for_update: bool = False) -> CateringEvent:
    query = select(CateringEvent).where(CateringEvent.id == event_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        # the event's row lock orders every change to one event (use cases, engine callbacks)
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"unknown event {event_id}", field="event")
    return row


def milestones(session: Session, event_id: int) -> list[EventMilestone]:
    query = select(EventMilestone).where(EventMilestone.event_id == event_id)
    return list(session.exec(query.order_by(col(EventMilestone.position))).all())


def template(session: Session, code: str) -> ScheduleTemplate:
    row = session.exec(select(ScheduleTemplate).where(ScheduleTemplate.code == code)).first()
    if row is None:
        raise NotFound(f"unknown schedule {code!r} (see billing schedules list)", field="schedule")
    return row


def template_milestones(session: Session, template_id: int) -> list[TemplateMilestone]:
    query = select(TemplateMilestone).where(TemplateMilestone.template_id == template_id)
    return list(session.exec(query.order_by(col(TemplateMilestone.position))).all())


def template_tiers(session: Session, template_id: int) -> list[CancellationTier]:
    query = select(CancellationTier).where(CancellationTier.template_id == template_id)
    return list(session.exec(query.order_by(col(CancellationTier.min_days_before).desc())).all())


def parse_time(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def rule_of(m: EventMilestone | TemplateMilestone) -> rules.Milestone:
    return rules.Milestone(
        name=m.name, kind=m.kind,  # type: ignore[arg-type]
        value=m.value, days_before=m.days_before, at=parse_time(m.local_time),
    )  # fmt: skip


def tiers_of(event_row: CateringEvent) -> list[rules.Tier]:
    return [rules.Tier(**t) for t in event_row.tiers]


def price_of(event_row: CateringEvent) -> rules.Price:
    return rules.Price(
        per_guest_cents=event_row.per_guest_cents, fixed_cents=event_row.fixed_cents,
        total_cents=event_row.total_override_cents,
    )  # fmt: skip


def total_of(event_row: CateringEvent) -> int:
    return rules.total(price_of(event_row), event_row.guests)


def used_up(session: Session, enrollment_id: str, *, now: datetime) -> None:
    """The checkout of ``enrollment_id`` was paid: the payment link it came from (if any)
    works no more."""
    session.exec(
        update(EventLink)
        .where(col(EventLink.enrollment_id) == enrollment_id, col(EventLink.used_at).is_(None))
        .values(used_at=now)
    )


def paid_through(session: Session, enrollment_id: str) -> int:
    """What the checkout of ``enrollment_id`` collected (its charge's succeeded attempt)."""
    query = (
        select(func.coalesce(func.sum(Charge.amount_cents), 0))
        .join(Attempt, col(Attempt.charge_id) == col(Charge.id))
        .where(Attempt.external_reference_id == enrollment_id, Attempt.status == "succeeded")
    )
    return int(session.exec(query).one())
