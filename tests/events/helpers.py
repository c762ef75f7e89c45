"""Events on a real world (store + sandbox over HTTP + engine on a FakeClock)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlmodel import select

from billing.events import booking, rules, schedules
from billing.events import store as ev_store
from billing.manage import members
from billing.store import door
from billing.store.tables import CateringEvent, Charge, EventMilestone
from tests.engine.world import World

ZONE = "America/New_York"
STANDARD = [
    rules.Milestone(name="deposit", kind="percent", value=2500),
    rules.Milestone(name="second", kind="percent", value=5000, days_before=30),
    rules.Milestone(name="balance", kind="remainder", days_before=3),
]


def template(w: World, code: str = "standard", milestones: list[rules.Milestone] | None = None,
             **over: object) -> None:  # fmt: skip
    spec = schedules.TemplateSpec(code=code, name=code.title(),
                                  milestones=milestones or STANDARD, **over)  # type: ignore[arg-type]
    with w.store.transaction() as session:
        schedules.create(session, spec, now=w.clock.now())


async def guest_mandate(w: World, card: str = "4111111111111111") -> tuple[int, int]:
    """A customer and their INSTALLMENT mandate (a card-on-file confirmed in the sandbox)."""
    cof = await w.card(card, "INSTALLMENT")
    with w.store.transaction() as session:
        customer = members.create_customer(
            session, email=f"g{uuid.uuid4().hex[:8]}@example.com", now=w.clock.now()
        )
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=w.location,
            standing_instruction="INSTALLMENT", toast_mandate_id=cof["mandateId"],
            payment_method_id=cof["paymentMethodId"], now=w.clock.now(),
        )  # fmt: skip
        return customer.id or 0, mandate.id or 0


async def event(
    w: World, day: date, *, schedule: str = "standard", guests: int = 100,
    per_guest: int = 8_333, fixed: int = 50_001, card: str = "4111111111111111",
    at: time = time(18, 0),
) -> tuple[int, int]:  # fmt: skip
    customer, mandate = await guest_mandate(w, card)
    spec = booking.EventCreate(
        title="Wedding", location=w.location, timezone=ZONE, local_date=day, local_time=at,
        guests=guests, schedule=schedule, customer=str(customer), per_guest_cents=per_guest,
        fixed_cents=fixed, mandate_id=mandate,
    )  # fmt: skip
    with w.store.transaction() as session:
        return booking.create(session, spec, now=w.clock.now()).id or 0, mandate


def charges(w: World, event_id: int) -> dict[str, Charge]:
    """The event's milestone charges by milestone name."""
    with w.store.transaction() as session:
        rows = session.exec(select(Charge).where(Charge.source == "event")).all()
        out = {}
        for c in rows:
            parsed = ev_store.parse_key(c.source_key or "")
            if parsed is not None and parsed[0] == event_id:
                out[parsed[1]] = c
        return out


def the_event(w: World, event_id: int) -> CateringEvent:
    with w.store.transaction() as session:
        return ev_store.event(session, event_id)


def milestones(w: World, event_id: int) -> dict[str, EventMilestone]:
    with w.store.transaction() as session:
        return {m.name: m for m in ev_store.milestones(session, event_id)}


def local(instant: datetime) -> datetime:
    return instant.astimezone(rules.calendar.zone(ZONE))


__all__ = ["door"]
