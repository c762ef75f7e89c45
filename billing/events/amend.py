"""Staff amending a booked (or tentative) event's schedule: editing its open milestones
(``edit_schedule``, the rule in ``editing``) and waiving one (``waive``: its amount written off,
not rolled into the remainder). Each ends with ``booking.sync`` in the same transaction, so the
unpaid milestones' charges go back through the door at once. Everything is checked before
anything is written; an error names the field and leaves the event as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from billing.domain import inputs
from billing.errors import DomainError
from billing.events import booking, editing, rules, schedules
from billing.events import store as ev_store
from billing.store import door, events
from billing.store.tables import CateringEvent, EventMilestone

SOURCE = ev_store.SOURCE


def open_milestones(session: Session, ev: CateringEvent) -> dict[str, EventMilestone]:
    """The milestones that may still change: open, and their charge (if any) unstarted."""
    rows = ev_store.milestones(session, ev.id or 0)
    found = door.of_source(session, SOURCE, [ev_store.key(ev.id or 0, m) for m in rows])
    return {
        m.name: m for m in rows
        if m.state == "open"
        and booking.standing_of(m, found.get(ev_store.key(ev.id or 0, m)))[0] == "open"
    }  # fmt: skip


def edit_schedule(
    session: Session, event_id: int, edit: editing.Edit, *, now: datetime
) -> CateringEvent:
    """Add, remove or change the event's open milestones; paid ones never change."""
    ev = booking.live(session, event_id)
    rows = ev_store.milestones(session, event_id)
    editable = open_milestones(session, ev)
    before = [ev_store.rule_of(m) for m in rows]
    after = editing.apply(before, edit, open_names=editable.keys())
    new_rules = {m.name: m for m in [*edit.change, *edit.add]}
    booking.check_dues(list(new_rules.values()), ev, now=now)
    for name in edit.remove:
        _remove(session, ev, editable[name], now=now)
    by_name = {m.name: m for m in rows if m.name not in edit.remove}
    for m in edit.add:
        by_name[m.name] = _added(session, ev, m)
    for position, rule in enumerate(after):
        row = by_name[rule.name]
        if rule.name in new_rules:
            row.kind, row.value, row.days_before = rule.kind, rule.value, rule.days_before
            row.local_time = rule.at.strftime("%H:%M")
        row.position = position
        session.add(row)
    ev.guarantee_date = rules.guarantee_after_edit(
        ev.guarantee_date, before, after, event_day=ev.local_date, tz=ev.timezone,
        signed_at=ev.signed_at or now,
    )  # fmt: skip
    session.add(ev)
    session.flush()
    events.emit(session, at=now, entity=booking.ENTITY, entity_id=event_id,
                type="schedule_changed", was=[schedules.describe(m) for m in before],
                now=[schedules.describe(m) for m in after])  # fmt: skip
    booking.sync(session, ev, now=now)
    return ev


def _remove(session: Session, ev: CateringEvent, m: EventMilestone, *, now: datetime) -> None:
    if not door.withdraw(session, SOURCE, ev_store.key(ev.id or 0, m),
                         reason="milestone removed by staff", now=now):  # fmt: skip
        raise DomainError(f"milestone {m.name} is being charged now: edit the schedule once "
                          "it has settled", field="remove")  # fmt: skip
    session.delete(m)
    session.flush()


def _added(session: Session, ev: CateringEvent, rule: rules.Milestone) -> EventMilestone:
    """A new milestone row; a name used before (removed since) takes the next free key."""
    row = EventMilestone(event_id=ev.id or 0, position=0, name=rule.name, kind=rule.kind,
                         value=rule.value, days_before=rule.days_before,
                         local_time=rule.at.strftime("%H:%M"))  # fmt: skip
    while door.find(session, SOURCE, ev_store.key(ev.id or 0, row)) is not None:
        row.revision += 1
    session.add(row)
    return row


def waive(
    session: Session, event_id: int, name: str, *, reason: str, now: datetime
) -> EventMilestone:
    """Staff waive an open milestone: its current amount is written off (never charged, and
    not rolled into the remainder: the remainder is total - paid - written off)."""
    why = inputs.text(reason, field="reason", max_length=200)
    ev = booking.live(session, event_id)
    if ev.mandate_id is None:  # no amounts yet: nothing to write off
        raise DomainError(f"event {event_id} is tentative: remove the milestone instead "
                          "(billing events schedule --remove)", field="event")  # fmt: skip
    editable = open_milestones(session, ev)
    m = editable.get(name)
    if m is None:
        known = {r.name for r in ev_store.milestones(session, event_id)}
        what = "is no longer open (paid, being charged, failed or waived)" if name in known \
            else "does not exist"  # fmt: skip
        raise DomainError(f"milestone {name!r} of event {event_id} {what}", field="milestone")
    booking.sync(session, ev, now=now)  # its amount as of now
    if not door.withdraw(session, SOURCE, ev_store.key(event_id, m), reason=f"waived: {why}",
                         now=now):  # fmt: skip
        raise DomainError(f"milestone {name} is being charged now", field="milestone")
    m.state, m.waived_reason = "waived", why
    session.add(m)
    events.emit(session, at=now, entity=booking.ENTITY, entity_id=event_id, type="waived",
                milestone=name, written_off_cents=m.amount_cents, reason=why)  # fmt: skip
    booking.sync(session, ev, now=now)
    return m
