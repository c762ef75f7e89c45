"""An event as staff and guests read it: its schedule line by line, what is paid and owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from billing.events import schedules
from billing.events import store as ev_store
from billing.store import door
from billing.store.tables import CateringEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    name: str
    rule: str
    due_at: datetime | None
    amount_cents: int
    state: str  # open | paid | failed | withdrawn | waived
    charge_id: int | None
    charge_status: str | None
    confirmed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    event: CateringEvent
    total_cents: int
    paid_cents: int
    lines: list[Line]
    written_off_cents: int = 0  # milestones waived by staff

    @property
    def balance_cents(self) -> int:
        return max(0, self.total_cents - self.paid_cents - self.written_off_cents)


def view(session: Session, event_id: int) -> EventView:
    ev = ev_store.event(session, event_id)
    rows = ev_store.milestones(session, event_id)
    found = door.of_source(session, ev_store.SOURCE, [ev_store.key(event_id, m) for m in rows])
    lines = []
    for m in rows:
        charge = found.get(ev_store.key(event_id, m))
        lines.append(Line(
            name=m.name, rule=schedules.describe(ev_store.rule_of(m)), due_at=m.due_at,
            amount_cents=m.amount_cents, state=m.state,
            charge_id=charge.id if charge else None,
            charge_status=charge.status if charge else None, confirmed=m.confirmed_at is not None,
        ))  # fmt: skip
    paid = sum(m.amount_cents for m in rows if m.state == "paid")
    written_off = sum(m.amount_cents for m in rows if m.state == "waived")
    return EventView(event=ev, total_cents=ev_store.total_of(ev), paid_cents=paid, lines=lines,
                     written_off_cents=written_off)  # fmt: skip


def list_events(
    session: Session, *, status: str | None = None, after: date | None = None
) -> list[CateringEvent]:
    query = select(CateringEvent)
    if status is not None:
        query = query.where(CateringEvent.status == status)
    if after is not None:
        query = query.where(col(CateringEvent.local_date) >= after)
    return list(session.exec(query.order_by(col(CateringEvent.start_at))).all())


def as_dict(v: EventView, *, for_guest: bool = False) -> dict[str, Any]:
    """Plain data (the CLI's --json and the API). ``for_guest``: only what the guest sees."""
    ev = v.event
    data: dict[str, Any] = {
        "id": ev.id, "title": ev.title, "status": ev.status, "date": ev.local_date.isoformat(),
        "time": ev.local_time, "timezone": ev.timezone, "start_at": _iso(ev.start_at),
        "guests": ev.guests, "guarantee_date": ev.guarantee_date.isoformat(),
        "total_cents": v.total_cents, "paid_cents": v.paid_cents,
        "written_off_cents": v.written_off_cents, "balance_cents": v.balance_cents,
        "schedule": [
            {"milestone": li.name, "rule": li.rule, "due_at": _iso(li.due_at),
             "amount_cents": li.amount_cents, "state": li.state}
            | ({} if for_guest else {"charge_id": li.charge_id,
                                     "charge_status": li.charge_status,
                                     "confirmed_after_start": li.confirmed})
            for li in v.lines
        ],
    }  # fmt: skip
    if ev.cancelled_at is not None:
        data["cancelled_at"] = _iso(ev.cancelled_at)
        data["retained_cents"] = ev.retained_cents
        data["refund_owed_cents"] = ev.refund_owed_cents
    if not for_guest:
        data |= {"location_guid": ev.location_guid, "customer_id": ev.customer_id,
                 "mandate_id": ev.mandate_id, "per_guest_cents": ev.per_guest_cents,
                 "fixed_cents": ev.fixed_cents, "total_override_cents": ev.total_override_cents}
    return data


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
