"""The demo's catering part: three events on the standard 25% / 50% at 30 days / the rest at 3
days schedule, booked on the first day with cards-on-file (INSTALLMENT), then: one moved, one
whose guest count rises after the second milestone, one cancelled inside the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from rich.console import Console
from sqlmodel import Session, col, select

from billing.demo import cast
from billing.demo.scenario import DOWNTOWN
from billing.domain import calendar
from billing.domain.money import format_cents
from billing.events import booking, rules, schedules, views
from billing.manage import members
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Event, Message

STANDARD = [
    rules.Milestone(name="deposit", kind="percent", value=2500),
    rules.Milestone(name="second", kind="percent", value=5000, days_before=30),
    rules.Milestone(name="balance", kind="remainder", days_before=3),
]
# title, guest, date, guests, per guest (cents), fixed (cents)
EVENTS = (
    ("Rivera wedding (moved)", "rivera@example.com", date(2027, 3, 20), 120, 8_500, 150_000),
    ("Chen anniversary (more guests)", "chen@example.com", date(2027, 4, 17), 60, 7_250, 0),
    ("Okafor gala (cancelled)", "okafor@example.com", date(2027, 5, 15), 200, 9_500, 250_000),
)


async def at_month(store: Store, control: SandboxControl, month: int, *, now: datetime) -> None:
    """What staff do on the first of ``month`` (0 = January 2027)."""
    if month == 0:
        await _book(store, control, now=now)
    with store.transaction() as session:
        ids = {e.title: e.id or 0 for e in views.list_events(session)}
        if month == 1:  # the Riveras move three weeks later: unpaid milestones move too
            booking.move(session, ids[EVENTS[0][0]], local_date=date(2027, 4, 10),
                         local_time=None, now=now)  # fmt: skip
        if month == 3:  # the Chens invite 25 more (the balance follows; paid ones stay)
            booking.guests(session, ids[EVENTS[1][0]], 85, now=now)
        if month == 4:  # the gala is called off 14 days before: the tier keeps what was paid
            booking.cancel(session, ids[EVENTS[2][0]], now=now)


async def _book(store: Store, control: SandboxControl, *, now: datetime) -> None:
    with store.transaction() as session:
        schedules.create(session, schedules.TemplateSpec(
            code="standard", name="25% now, 50% at 30 days, the rest at 3 days",
            milestones=STANDARD), now=now)  # fmt: skip
    for title, email, day, guests, per_guest, fixed in EVENTS:
        cof = await cast.card_on_file(control, DOWNTOWN, "4111111111111111", "INSTALLMENT")
        with store.transaction() as session:
            customer = members.create_customer(session, email=email, now=now)
            mandate = cast._mandate(session, customer, cof, "INSTALLMENT", now)
            booking.create(session, booking.EventCreate(
                title=title, location=DOWNTOWN, local_date=day, local_time=time(18, 0),
                guests=guests, schedule="standard", customer=str(customer.id),
                per_guest_cents=per_guest, fixed_cents=fixed, mandate_id=mandate.id,
            ), now=now)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notice:
    sent_at: datetime
    milestone: str
    amount_cents: int
    due_at: datetime
    previous_cents: int | None


def notices(session: Session) -> dict[int, list[Notice]]:
    """The milestone notices each event's guest received (sent emails), by event id."""
    query = (
        select(Message, Event).join(Event, col(Event.id) == Message.event_id)
        .where(Message.kind == "milestone_notice", Message.status == "sent",
               Event.entity == "catering_event")
        .order_by(col(Message.sent_at), col(Message.id))
    )  # fmt: skip
    out: dict[int, list[Notice]] = {}
    for message, event in session.exec(query).all():
        facts = message.context
        previous = facts.get("previous_cents")
        out.setdefault(event.entity_id, []).append(Notice(
            sent_at=message.sent_at or message.created_at, milestone=str(facts["milestone"]),
            amount_cents=int(facts["amount_cents"]),
            due_at=datetime.fromisoformat(str(facts["due_at"])),
            previous_cents=None if previous is None else int(previous),
        ))  # fmt: skip
    return out


def show(console: Console, store: Store) -> None:
    """Each event's schedule, what was charged and the notices its guest received."""
    with store.transaction() as session:
        shown = [views.view(session, e.id or 0) for e in views.list_events(session)]
        told = notices(session)
    for v in shown:
        ev = v.event
        extra = ""
        if ev.cancelled_at is not None:
            extra = (f"; retained {format_cents(ev.retained_cents or 0)}, refund owed "
                     f"{format_cents(ev.refund_owed_cents or 0)}")  # fmt: skip
        console.print(f"\n[bold]{ev.title}[/] {ev.local_date} {ev.local_time}, {ev.guests} "
                      f"guests: {ev.status}, total {format_cents(v.total_cents)}, paid "
                      f"{format_cents(v.paid_cents)}{extra}")  # fmt: skip
        for li in v.lines:
            due = f"{li.due_at:%Y-%m-%d %H:%M}Z" if li.due_at else "-"
            rule = li.rule.split(": ", 1)[-1]
            console.print(f"  {rule:<32} {due} {format_cents(li.amount_cents):>11} "
                          f"{li.charge_status or li.state}")  # fmt: skip
        _show_notices(console, told.get(ev.id or 0, []), ev.timezone)


def _show_notices(console: Console, received: list[Notice], tz: str) -> None:
    console.print(f"  notices received: {len(received)}")
    for n in received:
        due = n.due_at.astimezone(calendar.zone(tz))
        changed = ("" if n.previous_cents is None
                   else f" (changed from {format_cents(n.previous_cents)})")  # fmt: skip
        console.print(f"    {n.sent_at:%Y-%m-%d}: {n.milestone} {format_cents(n.amount_cents)} "
                      f"due {due:%Y-%m-%d %H:%M}{changed}")  # fmt: skip
