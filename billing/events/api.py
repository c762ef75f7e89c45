"""HTTP routes for the merchant's event-booking page, on the enrollment API's router (the same
API key, error shape ``{error, field, fields}`` and Idempotency-Key rules):

- ``POST /v1/events``: create an event with its deposit checkout (the iframe's secret);
- ``GET /v1/events/{id}``: the event and its schedule (staff);
- ``GET /v1/events/{id}/guest``: the guest's own view (no internal ids).

The checkout completes through the enrollment routes (``GET /v1/enrollments/{id}``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, time
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, ConfigDict, Field

from billing.enroll import present, service
from billing.enroll.models import CustomerIn, EnrollmentPublic
from billing.events import booking, checkout, views

EventId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
           description="Your key for this request: a repeat returns the same event"),
]  # fmt: skip
T = TypeVar("T")
Runner = Callable[[Callable[[service.Context], Awaitable[T]]], Awaitable[T]]


class EventCheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=100, description="Location GUID or name")
    date: date
    time: str = Field("18:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    guests: int = Field(ge=1, le=100_000)
    schedule: str = Field(min_length=1, max_length=64, description="Schedule template code")
    customer: CustomerIn
    per_guest_cents: int = Field(0, ge=0, le=99_999_999)
    fixed_cents: int = Field(0, ge=0, le=99_999_999)
    total_cents: int | None = Field(None, ge=1, le=99_999_999)
    timezone: str | None = Field(None, max_length=64)


class EventCheckoutOut(BaseModel):
    event: dict[str, Any]
    enrollment: EnrollmentPublic
    consent: str = Field(description="What the guest authorizes: show it next to the iframe")


def include(router: APIRouter, run: Runner[Any]) -> None:
    @router.post("/events", status_code=201, response_model=EventCheckoutOut)
    async def create_event(
        body: EventCheckoutIn, idempotency_key: IdempotencyKey
    ) -> EventCheckoutOut:
        """Create an event and open its deposit checkout: a customer-initiated payment of the
        signing milestone carrying ``standingInstructionType: INSTALLMENT`` (the mandate for
        the later milestones)."""
        hour, minute = (int(p) for p in body.time.split(":"))
        spec = booking.EventCreate(
            title=body.title, location=body.location, local_date=body.date,
            local_time=time(hour, minute), guests=body.guests, schedule=body.schedule,
            customer="-", per_guest_cents=body.per_guest_cents, fixed_cents=body.fixed_cents,
            total_cents=body.total_cents, timezone=body.timezone,
        )  # fmt: skip
        digest = checkout.digest(body.model_dump_json())

        async def use_case(ctx: service.Context) -> checkout.Checkout:
            return await checkout.start(ctx, spec, body.customer, key=idempotency_key,
                                        request_hash=digest)  # fmt: skip

        done = await run(use_case)
        return EventCheckoutOut(event=views.as_dict(done.event, for_guest=True),
                                enrollment=present.enrollment(done.enrollment),
                                consent=done.consent)  # fmt: skip

    @router.get("/events/{event_id}")
    async def get_event(event_id: EventId) -> dict[str, Any]:
        """The event and its schedule: each milestone's rule, due instant, amount and charge."""
        data: dict[str, Any] = await run(lambda ctx: _read(ctx, event_id, for_guest=False))
        return data

    @router.get("/events/{event_id}/guest")
    async def guest_view(event_id: EventId) -> dict[str, Any]:
        """What the guest sees: the schedule, what is paid and the balance (no internal ids)."""
        data: dict[str, Any] = await run(lambda ctx: _read(ctx, event_id, for_guest=True))
        return data


async def _read(ctx: service.Context, event_id: int, *, for_guest: bool) -> dict[str, Any]:
    with ctx.store.transaction() as session:
        return views.as_dict(views.view(session, event_id), for_guest=for_guest)
