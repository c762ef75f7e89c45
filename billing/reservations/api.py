"""The reservations API the reservation system calls: same auth, error shape and
Idempotency-Key rules as the enrollment API (``billing.enroll.api`` includes these routes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query

from billing.enroll import service as enroll
from billing.reservations import fees, present, service
from billing.reservations.models import (
    GUID_PATTERN,
    FeeChange,
    ReservationCreate,
    ReservationPublic,
    StatusReport,
)
from billing.store.tables import Reservation

Runner = Callable[[Callable[[enroll.Context], Awaitable[Any]]], Awaitable[Any]]
IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
           description="Your key for this request: a repeat returns the same result"),
]  # fmt: skip
RefPath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$",
                              description="The reservation system's reference")]  # fmt: skip
LocationQuery = Annotated[
    str | None,
    Query(pattern=GUID_PATTERN, description="Toast location GUID, when two locations share "
          "the reference"),
]  # fmt: skip


def routes(router: APIRouter, run: Runner) -> None:
    @router.post("/reservations", status_code=201, response_model=ReservationPublic,
                 tags=["reservations"])  # fmt: skip
    async def create_reservation(
        body: ReservationCreate, idempotency_key: IdempotencyKey
    ) -> ReservationPublic:
        """Book: the reservation under the policy version that applies now, and a
        card-saving checkout (UNSCHEDULED setup intent) whose secret the iframe needs."""

        async def use(ctx: enroll.Context) -> ReservationPublic:
            booked = await service.book(ctx, body, key=idempotency_key)
            return _view(ctx, booked.reservation_id, booked.enrollment)

        return await run(use)  # type: ignore[no-any-return]

    @router.post("/reservations/{ref}/status", response_model=ReservationPublic,
                 tags=["reservations"])  # fmt: skip
    async def report_status(
        ref: RefPath, body: StatusReport, location: LocationQuery = None
    ) -> ReservationPublic:
        """Report seated, completed, cancelled (``at``: when) or no-show; idempotent per
        ``report_id``. The fee is decided at once and charged after the confirmation delay."""

        async def use(ctx: enroll.Context) -> ReservationPublic:
            now = ctx.clock.now()
            reservation_id = service.report(ctx.store, ref, body, now=now, location=location)
            return _view(ctx, reservation_id)

        return await run(use)  # type: ignore[no-any-return]

    @router.get("/reservations/{ref}", response_model=ReservationPublic, tags=["reservations"])
    async def get_reservation(ref: RefPath, location: LocationQuery = None) -> ReservationPublic:
        """Status, policy snapshot, fee decision and charge."""

        async def use(ctx: enroll.Context) -> ReservationPublic:
            with ctx.store.transaction() as session:
                row = service.find(session, ref, location, lock=True)
                fees.sweep(session, row, ctx.clock.now())
                reservation_id = row.id or 0
            return _view(ctx, reservation_id)

        return await run(use)  # type: ignore[no-any-return]

    @router.post("/reservations/{ref}/fee", response_model=ReservationPublic,
                 tags=["reservations"])  # fmt: skip
    async def change_fee(
        ref: RefPath, body: FeeChange, idempotency_key: IdempotencyKey,
        location: LocationQuery = None,
    ) -> ReservationPublic:  # fmt: skip
        """Staff lower (never above the cap) or waive the fee before it is charged."""

        async def use(ctx: enroll.Context) -> ReservationPublic:
            reservation_id = service.change_fee(ctx.store, ref, body, key=idempotency_key,
                                                now=ctx.clock.now(), location=location)  # fmt: skip
            return _view(ctx, reservation_id)

        return await run(use)  # type: ignore[no-any-return]


def _view(
    ctx: enroll.Context, reservation_id: int, checkout: enroll.View | None = None
) -> ReservationPublic:
    with ctx.store.transaction() as session:
        row = session.get(Reservation, reservation_id)
        assert row is not None
        return present.reservation(session, row, now=ctx.clock.now(), checkout=checkout)
