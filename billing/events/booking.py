"""Event use cases, shared by the CLI and the HTTP API: create, book, move, change the guest
count or the price, confirm a charge on/after the start, cancel, close.

How milestones get charged: every use case that changes what an event owes (booking, a move, a
guest-count or price change) and every engine callback (a milestone paid, declined, failed)
ends with ``sync``, in the same transaction: it recomputes every unpaid milestone from the
event's current total (``rules.allocate``) and puts its charge through the door, ahead of time,
due at the milestone's instant. A charge can be updated until the engine starts it, so the
amount the engine collects is the one computed from the total as it is when it falls due; a
paid (or started) milestone never changes. There is no separate pass: nothing about a
milestone changes with the mere passing of time, so a pass would only repeat the last sync.
What time does change (the event starting) is checked by the engine itself when it claims the
charge (``hooks.veto``), so a charge due before the start but claimed late is held, not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from billing.domain import calendar, inputs, money
from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.errors import DomainError, NotFound
from billing.events import rules, schedules
from billing.events import store as ev_store
from billing.events.rules import EventStatus
from billing.manage import charges as manage_charges
from billing.manage import locations, members
from billing.manage.alerts import ATTENTION
from billing.store import door, events
from billing.store.tables import (
    CateringEvent,
    Charge,
    EventMilestone,
    GuestCountChange,
    Location,
    Mandate,
)

SOURCE = ev_store.SOURCE
ENTITY = "catering_event"
LOCKED_STATES = (ChargeStatus.PAID, ChargeStatus.PROCESSING, ChargeStatus.NEEDS_ATTENTION)
TROUBLE_STATES = (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCreate:
    title: str
    location: str  # a GUID, or a location's name
    local_date: date
    local_time: time
    guests: int
    schedule: str  # template code
    customer: str  # id, email or reference
    per_guest_cents: int = 0
    fixed_cents: int = 0
    total_cents: int | None = None
    mandate_id: int | None = None
    timezone: str | None = None  # needed when the location has no zone on record
    milestones: Sequence[rules.Milestone] | None = None  # per-event schedule (else template's)
    guarantee_date: date | None = None


def create(session: Session, spec: EventCreate, *, now: datetime) -> CateringEvent:
    """A tentative event (booked at once when ``mandate_id`` is given). Checks everything
    before writing anything."""
    title = inputs.text(spec.title, field="title", max_length=200)
    guid, tz = _where(session, spec.location, spec.timezone)
    template = schedules.load(session, spec.schedule)
    milestones = list(spec.milestones) if spec.milestones is not None else template.milestones
    rules.check_schedule(milestones)
    price = rules.Price(per_guest_cents=spec.per_guest_cents, fixed_cents=spec.fixed_cents,
                        total_cents=spec.total_cents)  # fmt: skip
    if not 1 <= spec.guests <= 100_000:
        raise DomainError("guests must be 1..100000", field="guests")
    rules.check_price(price, spec.guests)
    start = _start(spec.local_date, spec.local_time, tz, now=now)
    _check_dues(milestones, day=spec.local_date, tz=tz, start=start, now=now)
    customer = members.get_customer(session, spec.customer)
    guarantee = spec.guarantee_date or rules.default_guarantee(
        milestones, event_day=spec.local_date, tz=tz, signed_at=now
    )
    if guarantee >= spec.local_date:
        raise DomainError("the guarantee date must be before the event", field="guarantee")
    row = CateringEvent(
        title=title, location_guid=guid, timezone=tz, local_date=spec.local_date,
        local_time=spec.local_time.strftime("%H:%M"), start_at=start, guests=spec.guests,
        per_guest_cents=spec.per_guest_cents, fixed_cents=spec.fixed_cents,
        total_override_cents=spec.total_cents, template_id=template.row.id or 0,
        customer_id=customer.id or 0, status=EventStatus.TENTATIVE, guarantee_date=guarantee,
        retry_days=list(template.row.retry_days), alert_days=template.row.alert_days,
        tiers=[{"min_days_before": t.min_days_before, "keep_deposit": t.keep_deposit,
                "retain_bp": t.retain_bp} for t in template.tiers],
        created_at=now,
    )  # fmt: skip
    if spec.mandate_id is not None:
        _usable_mandate(session, spec.mandate_id, customer_id=row.customer_id, location=guid)
    session.add(row)
    session.flush()
    assert row.id is not None
    for position, m in enumerate(milestones):
        session.add(EventMilestone(
            event_id=row.id, position=position, name=m.name, kind=m.kind, value=m.value,
            days_before=m.days_before, local_time=m.at.strftime("%H:%M"),
        ))  # fmt: skip
    session.add(GuestCountChange(event_id=row.id, at=now, old=0, new=spec.guests,
                                 total_cents=ev_store.total_of(row)))  # fmt: skip
    session.flush()
    events.emit(session, at=now, entity=ENTITY, entity_id=row.id, type="created",
                title=title, total_cents=ev_store.total_of(row))  # fmt: skip
    if spec.mandate_id is not None:
        book(session, row.id, spec.mandate_id, now=now)
    return row


def book(
    session: Session, event_id: int, mandate_id: int, *, now: datetime,
    paid_at_signing: Charge | None = None, late_ok: bool = False,
) -> CateringEvent:  # fmt: skip
    """Attach the guest's INSTALLMENT mandate (the consent for this event's schedule): the
    schedule goes live and the milestones due at signing are due now, unless the deposit
    checkout already took the signing milestone (``paid_at_signing``)."""
    ev = ev_store.event(session, event_id, for_update=True)
    if ev.status != EventStatus.TENTATIVE:
        raise DomainError(f"event {event_id} is {ev.status}, not tentative", field="event")
    _usable_mandate(session, mandate_id, customer_id=ev.customer_id, location=ev.location_guid)
    if now >= ev.start_at and not late_ok:
        raise DomainError("the event has started: it can no longer be booked", field="event")
    ev.mandate_id, ev.signed_at = mandate_id, now
    if paid_at_signing is not None:
        signing = signing_milestone(session, event_id)
        signing.state, signing.amount_cents = "paid", paid_at_signing.amount_cents
        signing.due_at = now
        session.add(signing)
    ev.status = rules.move(ev.status, EventStatus.BOOKED)
    session.add(ev)
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="booked",
                mandate_id=mandate_id)  # fmt: skip
    sync(session, ev, now=now)
    return ev


def signing_milestone(session: Session, event_id: int) -> EventMilestone:
    """The one milestone due at signing (what a deposit checkout takes)."""
    at_signing = [m for m in ev_store.milestones(session, event_id) if m.days_before is None]
    if len(at_signing) != 1:
        raise DomainError("a deposit checkout needs exactly one milestone due at signing",
                          field="schedule")  # fmt: skip
    return at_signing[0]


def signing_amount(session: Session, ev: CateringEvent) -> int:
    """The signing milestone's amount from the event's total now."""
    rows = ev_store.milestones(session, ev.id or 0)
    allocation = rules.allocate([ev_store.rule_of(m) for m in rows], ev_store.total_of(ev), {})
    return allocation.amounts[signing_milestone(session, ev.id or 0).name]


def move(
    session: Session, event_id: int, *, local_date: date, local_time: time | None, now: datetime
) -> CateringEvent:
    """Move the event: every unpaid milestone moves with it (a paid one never changes); a
    guarantee date moves by the same number of days."""
    ev = changeable(session, event_id)  # a paid-in-full event may move too (it closes later)
    at = local_time or ev_store.parse_time(ev.local_time)
    start = _start(local_date, at, ev.timezone, now=now)
    if now >= ev.start_at:
        raise DomainError("the event has started: it cannot move", field="date")
    rows = ev_store.milestones(session, event_id)
    open_rules = [ev_store.rule_of(m) for m in rows if m.state == "open"]
    _check_dues(open_rules, day=local_date, tz=ev.timezone, start=start, now=now,
                signed_at=ev.signed_at)  # fmt: skip
    shift = local_date - ev.local_date
    old = (ev.local_date, ev.local_time)
    ev.local_date, ev.local_time, ev.start_at = local_date, at.strftime("%H:%M"), start
    ev.guarantee_date = ev.guarantee_date + shift
    session.add(ev)
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="moved",
                was=f"{old[0]} {old[1]}", now=f"{local_date} {ev.local_time}")  # fmt: skip
    sync(session, ev, now=now)
    return ev


def guests(session: Session, event_id: int, count: int, *, now: datetime) -> CateringEvent:
    """Change the guest count (the guarantee rule applies); unpaid milestones follow."""
    ev = changeable(session, event_id)
    today = now.astimezone(calendar.zone(ev.timezone)).date()
    rules.check_guests(ev.guests, count, today=today, guarantee=ev.guarantee_date)
    rules.check_price(ev_store.price_of(ev), count)
    if ev.status == EventStatus.PAID_IN_FULL:
        rules.check_rise_after_paid(old_total=ev_store.total_of(ev), now=now, start=ev.start_at,
                                    new_total=rules.total(ev_store.price_of(ev), count))
    old, ev.guests = ev.guests, count
    session.add(ev)
    session.add(GuestCountChange(event_id=event_id, at=now, old=old, new=count,
                                 total_cents=ev_store.total_of(ev)))  # fmt: skip
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="guests_changed",
                old=old, new=count, total_cents=ev_store.total_of(ev))  # fmt: skip
    sync(session, ev, now=now)
    return ev


def price(
    session: Session, event_id: int, *, per_guest_cents: int | None = None,
    fixed_cents: int | None = None, total_cents: int | None = None, rule_total: bool = False,
    now: datetime,
) -> CateringEvent:  # fmt: skip
    """Change the price rule (or set an explicit total; ``rule_total`` drops it)."""
    ev = changeable(session, event_id)
    new = rules.Price(
        per_guest_cents=ev.per_guest_cents if per_guest_cents is None else per_guest_cents,
        fixed_cents=ev.fixed_cents if fixed_cents is None else fixed_cents,
        total_cents=None if rule_total else (
            ev.total_override_cents if total_cents is None else total_cents
        ),
    )  # fmt: skip
    rules.check_price(new, ev.guests)
    before = ev_store.total_of(ev)
    if ev.status == EventStatus.PAID_IN_FULL:
        rules.check_rise_after_paid(old_total=before, new_total=rules.total(new, ev.guests),
                                    now=now, start=ev.start_at)  # fmt: skip
    ev.per_guest_cents, ev.fixed_cents = new.per_guest_cents, new.fixed_cents
    ev.total_override_cents = new.total_cents
    session.add(ev)
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="price_changed",
                was_cents=before, total_cents=ev_store.total_of(ev))  # fmt: skip
    sync(session, ev, now=now)
    return ev


def confirm(session: Session, event_id: int, name: str, *, now: datetime) -> EventMilestone:
    """Staff confirm that a milestone may be charged on or after the event's start."""
    ev = live(session, event_id)
    milestone = _milestone(session, event_id, name)
    if milestone.state != "open":
        raise DomainError(f"milestone {name} is {milestone.state}", field="milestone")
    milestone.confirmed_at = now
    session.add(milestone)
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="charge_confirmed",
                milestone=name)  # fmt: skip
    charge = door.find(session, SOURCE, ev_store.key(event_id, milestone))
    if charge is not None and charge.status == ChargeStatus.NEEDS_ATTENTION:
        manage_charges.retry(session, charge.id or 0, now=now)
    sync(session, ev, now=now)
    return milestone


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelled:
    event: CateringEvent
    settlement: rules.Settlement
    still_in_flight: list[str]


def cancel(session: Session, event_id: int, *, now: datetime) -> Cancelled:
    """Stop every future milestone, end the mandate's purpose (revoked once nothing is in
    flight) and record what the cancellation tier retains and the refund owed. Nothing is
    refunded here: Toast's hosted checkout has no refund API (toast-api.md §12)."""
    ev = ev_store.event(session, event_id, for_update=True)
    if ev.status in (EventStatus.CANCELLED, EventStatus.CLOSED):
        raise DomainError(f"event {event_id} is already {ev.status}", field="event")
    rows = ev_store.milestones(session, event_id)
    in_flight = []
    for m in rows:
        if m.state != "open":
            continue
        if door.withdraw(session, SOURCE, ev_store.key(event_id, m), reason="event cancelled",
                         now=now):  # fmt: skip
            m.state = "withdrawn"
            session.add(m)
        else:
            in_flight.append(m.name)
    ev.status = rules.move(ev.status, EventStatus.CANCELLED)
    ev.cancelled_at = now
    settlement = settle(ev, rows)
    if ev.mandate_id is not None:
        door.end_purpose(session, ev.mandate_id, now=now)
    session.add(ev)
    events.emit(
        session, at=now, entity=ENTITY, entity_id=event_id, type="cancelled",
        paid_cents=settlement.paid, retained_cents=settlement.retained,
        refund_owed_cents=settlement.refund_owed, tier=settlement.tier.min_days_before,
        in_flight=in_flight,
    )  # fmt: skip
    return Cancelled(event=ev, settlement=settlement, still_in_flight=in_flight)


def settle(ev: CateringEvent, rows: list[EventMilestone]) -> rules.Settlement:
    """Retained and refund owed of a cancelled event, from what has been paid (again after a
    milestone in flight at the cancellation is paid)."""
    assert ev.cancelled_at is not None
    paid = sum(m.amount_cents for m in rows if m.state == "paid")
    first = rules.in_due_order([ev_store.rule_of(m) for m in rows])[0].name
    deposit = sum(m.amount_cents for m in rows if m.name == first and m.state == "paid")
    days = rules.days_before(ev.local_date, ev.cancelled_at, ev.timezone)
    result = rules.cancellation(ev_store.tiers_of(ev), days_before=days, paid=paid,
                                deposit_paid=deposit)  # fmt: skip
    ev.retained_cents, ev.refund_owed_cents = result.retained, result.refund_owed
    return result


def close(session: Session, event_id: int, *, now: datetime) -> CateringEvent:
    """Close an event for good: unpaid milestones are withdrawn, the mandate's purpose ends.
    Refused while a milestone's charge is in flight."""
    ev = ev_store.event(session, event_id, for_update=True)
    if ev.status in (EventStatus.CANCELLED, EventStatus.CLOSED):
        raise DomainError(f"event {event_id} is already {ev.status}", field="event")
    rows = ev_store.milestones(session, event_id)
    for m in rows:
        if m.state == "open" and not door.withdraw(
            session, SOURCE, ev_store.key(event_id, m), reason="event closed", now=now
        ):
            raise DomainError(f"milestone {m.name} is being charged now: close the event once "
                              "it has settled", field="event")  # fmt: skip
    for m in rows:
        if m.state == "open":
            m.state = "withdrawn"
            session.add(m)
    _close(session, ev, now=now, why="closed by staff")
    return ev


def close_paid(session: Session, ev: CateringEvent, *, now: datetime) -> None:
    """An event paid in full closes once it has started (the engine's materialize lane)."""
    _close(session, ev, now=now, why="paid in full; the event has started")


def _close(session: Session, ev: CateringEvent, *, now: datetime, why: str) -> None:
    ev.status = rules.move(ev.status, EventStatus.CLOSED)
    ev.closed_at = now
    session.add(ev)
    if ev.mandate_id is not None:
        door.end_purpose(session, ev.mandate_id, now=now)
    events.emit(session, at=now, entity=ENTITY, entity_id=ev.id or 0, type="closed", why=why)


# --- the schedule's charges ---------------------------------------------------------------------
def standing_of(m: EventMilestone, charge: Charge | None) -> tuple[rules.Standing, int]:
    if m.state == "paid":
        return "locked", m.amount_cents
    if m.state in ("failed", "withdrawn"):
        return "gone", m.amount_cents
    if m.state == "waived":
        return "waived", m.amount_cents
    if charge is None:
        return "open", 0
    if charge.status in LOCKED_STATES or charge.lease_owner is not None:
        return "locked", charge.amount_cents
    if charge.status == ChargeStatus.FAILED:
        return "gone", charge.amount_cents
    if charge.status == ChargeStatus.CANCELLED and m.amount_cents > 0:
        return "gone", charge.amount_cents  # cancelled by staff (a write-off)
    return "open", 0


def sync(session: Session, ev: CateringEvent, *, now: datetime) -> None:
    """Bring every unpaid milestone's charge up to the event as it is now (see the module
    docstring), then the event's status."""
    if ev.mandate_id is None or ev.status in rules.FINISHED:
        return
    assert ev.id is not None
    rows, charge_of, standing, allocation = _allocate(session, ev)
    if allocation.unplaced > 0:  # the remainder is paid or waived: an extra milestone takes it
        _extra(session, ev, rows, standing, allocation.unplaced, now=now)
        rows, charge_of, standing, allocation = _allocate(session, ev)
    signed = ev.signed_at or now
    chargeable = not purpose_ended(session, ev)  # paid in full once: owed through a link
    for m in rows:
        if standing[m.name][0] != "open":
            continue
        due = m.due_at if _is_extra(m) and m.due_at is not None else rules.due_at(
            ev_store.rule_of(m), event_day=ev.local_date, tz=ev.timezone, signed_at=signed)
        m.amount_cents, m.due_at = allocation.amounts[m.name], due
        session.add(m)
        if chargeable:
            _put(session, ev, m, charge_of[m.name], now=now)
    _update_status(session, ev, rows, ev_store.total_of(ev), now=now)


Standings = dict[str, tuple[rules.Standing, int]]


def _allocate(
    session: Session, ev: CateringEvent
) -> tuple[list[EventMilestone], dict[str, Charge | None], Standings, rules.Allocation]:
    rows = ev_store.milestones(session, ev.id or 0)
    found = door.of_source(session, SOURCE, [ev_store.key(ev.id or 0, m) for m in rows])
    charge_of = {m.name: found.get(ev_store.key(ev.id or 0, m)) for m in rows}
    standing = {m.name: standing_of(m, charge_of[m.name]) for m in rows}
    milestones = [ev_store.rule_of(m) for m in rows]
    return rows, charge_of, standing, rules.allocate(milestones, ev_store.total_of(ev), standing)


def _is_extra(m: EventMilestone) -> bool:
    return m.name.startswith(rules.EXTRA) and m.days_before is None


def _extra(
    session: Session, ev: CateringEvent, rows: list[EventMilestone], standing: Standings,
    cents: int, *, now: datetime,
) -> None:  # fmt: skip
    """Owed beyond what the schedule can place: the open extra milestone grows (keeping its
    date: the guest is told the new amount), or a new one (fixed) takes it, due once the guest
    can have been told (``rules.extra_due``)."""
    for m in rows:
        if _is_extra(m) and standing[m.name][0] == "open":
            m.value += cents
            session.add(m)
            return
    session.add(EventMilestone(
        event_id=ev.id or 0, position=max(m.position for m in rows) + 1, kind="fixed",
        name=rules.extra_name([m.name for m in rows]), value=cents, days_before=None,
        due_at=rules.extra_due(now=now, start=ev.start_at),
    ))  # fmt: skip
    session.flush()


def purpose_ended(session: Session, ev: CateringEvent) -> bool:
    """The event's mandate was ended (at paid in full): nothing more is charged off-session."""
    mandate = session.get(Mandate, ev.mandate_id) if ev.mandate_id else None
    return mandate is not None and mandate.purpose_ended_at is not None


def owed_by_link(session: Session, ev: CateringEvent) -> int:
    """What the event owes that only the guest can pay (its mandate ended at paid in full)."""
    if ev.status in rules.FINISHED or not purpose_ended(session, ev):
        return 0
    rows = ev_store.milestones(session, ev.id or 0)
    return sum(m.amount_cents for m in rows if m.state == "open")


def extra_owed(session: Session, event_id: int) -> EventMilestone:
    """The open milestone a balance link pays."""
    for m in ev_store.milestones(session, event_id):
        if m.state == "open" and m.amount_cents > 0:
            return m
    raise DomainError(f"event {event_id} owes nothing", field="event")


def balance_paid(
    session: Session, event_id: int, mandate_id: int, *, now: datetime,
    paid: Charge | None = None,
) -> CateringEvent:  # fmt: skip
    """A balance owed after paid in full was paid through a link (``paid``), or authorized
    and voided before it reached a check (the engine then charges it): the guest's new
    INSTALLMENT mandate is the event's; paid in full again, it is ended at once."""
    ev = ev_store.event(session, event_id, for_update=True)
    if paid is not None:
        m = extra_owed(session, event_id)
        m.state, m.amount_cents, m.due_at = "paid", paid.amount_cents, now
        session.add(m)
    ev.mandate_id = mandate_id
    session.add(ev)
    events.emit(session, at=now, entity=ENTITY, entity_id=event_id, type="balance_link_paid",
                mandate_id=mandate_id, paid_cents=paid.amount_cents if paid else 0)  # fmt: skip
    sync(session, ev, now=now)
    return ev


def _put(
    session: Session, ev: CateringEvent, m: EventMilestone, charge: Charge | None, *,
    now: datetime,
) -> None:  # fmt: skip
    assert ev.id is not None
    assert ev.mandate_id is not None
    assert m.due_at is not None
    if m.amount_cents == 0:  # nothing to charge
        if charge is not None and charge.status != ChargeStatus.CANCELLED:
            door.withdraw(session, SOURCE, ev_store.key(ev.id, m), reason="amount is zero",
                          now=now)  # fmt: skip
        return
    at = rules.charge_at(m.due_at, now=now, start=ev.start_at)
    if at is None:
        if m.confirmed_at is None:
            return  # on or after the start: only with staff confirmation (billing events confirm)
        at = now
    if charge is not None and charge.status == ChargeStatus.CANCELLED:
        m.revision += 1  # withdrawn at zero earlier: a new charge under the next key
        session.add(m)
    spec = door.ChargeSpec(
        source=SOURCE, key=ev_store.key(ev.id, m), mandate_id=ev.mandate_id,
        kind=PlanKind.INSTALLMENT, amount_cents=m.amount_cents, due_at=at,
        check_item=f"{ev.title[:150]}: {m.name}", reason=f"event {ev.id} milestone {m.name}",
    )  # fmt: skip
    door.put(session, spec, now=now)


def _update_status(
    session: Session, ev: CateringEvent, rows: list[EventMilestone], total: int, *,
    now: datetime,
) -> None:  # fmt: skip
    assert ev.id is not None
    paid = sum(m.amount_cents for m in rows if m.state == "paid")
    written_off = sum(m.amount_cents for m in rows if m.state == "waived")
    owing = sum(m.amount_cents for m in rows if m.state == "open")
    if paid + written_off >= total and not owing:
        if ev.status != EventStatus.PAID_IN_FULL:
            ev.status = rules.move(ev.status, EventStatus.PAID_IN_FULL)
            events.emit(session, at=now, entity=ENTITY, entity_id=ev.id, type="paid_in_full",
                        paid_cents=paid, written_off_cents=written_off)  # fmt: skip
        if ev.mandate_id is not None:  # its purpose has ended (revoked by the maintain lane)
            door.end_purpose(session, ev.mandate_id, now=now)
        session.add(ev)
        return
    keys = [ev_store.key(ev.id, m) for m in rows if m.state == "open"]
    by_link = owing > 0 and purpose_ended(session, ev)
    troubled = by_link or any(m.state == "failed" for m in rows) or any(
        c.status in TROUBLE_STATES for c in door.of_source(session, SOURCE, keys).values()
    )
    target = EventStatus.BALANCE_DUE if troubled else EventStatus.BOOKED
    if ev.status != target:
        if by_link and ev.status == EventStatus.PAID_IN_FULL:
            _alert_reopened(session, ev, owing, now=now)
        ev.status = rules.move(ev.status, target)
        events.emit(session, at=now, entity=ENTITY, entity_id=ev.id, type=str(target))
    session.add(ev)


def _alert_reopened(session: Session, ev: CateringEvent, owing: int, *, now: datetime) -> None:
    events.emit(
        session, at=now, entity=ENTITY, entity_id=ev.id or 0, type=ATTENTION,
        kind="event balance owed after paid in full", subject=f"event {ev.id} {ev.title[:60]}",
        detail=(f"the total rose after the event was paid in full: {money.format_cents(owing)} "
                f"owed; its card's consent has ended, so send the guest a payment link "
                f"(billing events link {ev.id})"),
    )  # fmt: skip


# --- checks -------------------------------------------------------------------------------------
def _where(session: Session, location: str, timezone: str | None) -> tuple[str, str]:
    known: Location | None
    try:
        known = locations.get(session, location)
    except NotFound:
        known = None
    if known is not None:
        tz = inputs.timezone(timezone, field="timezone") if timezone else known.timezone
        return known.guid, tz
    guid = inputs.guid(location, field="location")
    if timezone is None:
        raise DomainError(f"location {guid} has no time zone on record: give --timezone "
                          "(or billing locations add)", field="timezone")  # fmt: skip
    return guid, inputs.timezone(timezone, field="timezone")


def _start(day: date, at: time, tz: str, *, now: datetime) -> datetime:
    inputs.checked_date(day, field="date")
    start = calendar.local_instant(day, at, tz)
    if start <= now:
        raise DomainError(f"the event must start in the future ({day} {at:%H:%M} {tz})",
                          field="date")  # fmt: skip
    return start


def _check_dues(
    milestones: Sequence[rules.Milestone], *, day: date, tz: str, start: datetime,
    now: datetime, signed_at: datetime | None = None,
) -> None:  # fmt: skip
    for m in milestones:
        due = rules.due_at(m, event_day=day, tz=tz, signed_at=signed_at or now)
        if due >= start:
            raise DomainError(f"milestone {m.name} would fall due on or after the event's "
                              "start", field="milestones.days_before")  # fmt: skip


def check_dues(milestones: Sequence[rules.Milestone], ev: CateringEvent, *, now: datetime) -> None:
    """Refuse milestones of ``ev`` that would fall due on or after its start."""
    _check_dues(milestones, day=ev.local_date, tz=ev.timezone, start=ev.start_at, now=now,
                signed_at=ev.signed_at)  # fmt: skip


def _usable_mandate(session: Session, mandate_id: int, *, customer_id: int, location: str) -> None:
    mandate = members.get_mandate(session, mandate_id)
    if mandate.status != MandateStatus.ACTIVE:
        raise DomainError(f"mandate {mandate_id} is {mandate.status}", field="mandate")
    if mandate.standing_instruction != PlanKind.INSTALLMENT:
        raise DomainError(f"mandate {mandate_id} is {mandate.standing_instruction}: an event's "
                          "schedule needs an INSTALLMENT mandate", field="mandate")  # fmt: skip
    if mandate.customer_id != customer_id:
        raise DomainError(f"mandate {mandate_id} belongs to another customer", field="mandate")
    if mandate.location_guid != location:
        raise DomainError(f"mandate {mandate_id} is for another location", field="mandate")
    if mandate.purpose_ended_at is not None:
        raise DomainError(f"mandate {mandate_id}'s purpose has ended", field="mandate")


def changeable(session: Session, event_id: int) -> CateringEvent:
    """The event, locked, for a guest-count or price change: refused once closed or cancelled
    (a paid-in-full event may still see its total rise: ``rules.check_rise_after_paid``)."""
    ev = ev_store.event(session, event_id, for_update=True)
    if ev.status in rules.FINISHED:
        raise DomainError(f"event {event_id} is {ev.status}: nothing can change", field="event")
    return ev


def live(session: Session, event_id: int) -> CateringEvent:
    """The event, locked, refused when finished (nothing can change)."""
    ev = ev_store.event(session, event_id, for_update=True)
    if ev.status in (EventStatus.CANCELLED, EventStatus.CLOSED, EventStatus.PAID_IN_FULL):
        raise DomainError(f"event {event_id} is {ev.status}: nothing can change", field="event")
    return ev


def _milestone(session: Session, event_id: int, name: str) -> EventMilestone:
    for m in ev_store.milestones(session, event_id):
        if m.name == name:
            return m
    raise DomainError(f"event {event_id} has no milestone {name!r}", field="milestone")


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundOwed:
    event_id: int
    title: str
    customer_id: int
    cancelled_at: datetime
    retained_cents: int
    refund_owed_cents: int


def refunds_owed(session: Session) -> list[RefundOwed]:
    """Cancelled events that owe the guest money back (staff refund it outside billing:
    Toast's hosted checkout has no refund API)."""
    query = select(CateringEvent).where(
        CateringEvent.status == EventStatus.CANCELLED, col(CateringEvent.refund_owed_cents) > 0
    )
    return [
        RefundOwed(event_id=e.id or 0, title=e.title, customer_id=e.customer_id,
                   cancelled_at=e.cancelled_at or e.created_at,
                   retained_cents=e.retained_cents or 0,
                   refund_owed_cents=e.refund_owed_cents or 0)
        for e in session.exec(query.order_by(col(CateringEvent.cancelled_at))).all()
    ]  # fmt: skip
