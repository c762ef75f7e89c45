"""The wine-club routes of the merchant's website API: a member views their upcoming shipment
and its amount, skips it, customizes it or ships it now, until the release's cutoff.

Mounted by the enrollment API's app factory (``billing.enroll.api.create_app``) under the same
``/v1`` prefix, API key and error shape ``{error, field, fields}``. The routes only touch the
store (charges go through the narrow door; the engine collects them), so each use case runs
in one transaction on a worker thread. The mutating routes (skip, customize, ship now) take
an optional ``Idempotency-Key`` with the enrollment API's semantics
(``billing.enroll.idempotency``): a repeat returns the first response and does nothing again
(ship now twice under one key: one charge, the same answer), the key with another request is
refused (409). Without a key a second ship-now is refused (409): one charge per (release,
member) in any case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from billing.clock import Clock
from billing.clubs import preview, service
from billing.clubs import store as clubs_store
from billing.enroll import idempotency
from billing.enroll.idempotency import OptionalKey
from billing.errors import DuplicateKey, NotFound
from billing.store.db import Store
from billing.store.tables import Membership, Release

T = TypeVar("T")
MembershipId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReleaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(min_length=1, max_length=200)
    qty: int = Field(ge=1, le=1000)
    retail_cents: int = Field(ge=0, le=99_999_999)


class SkipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    undo: bool = False


class CustomizeIn(BaseModel):
    """The member's own lines (replacing the package) and/or a package quantity; ``reset``
    returns to the release's package."""

    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] | None = Field(default=None, max_length=50)
    quantity: int | None = Field(default=None, ge=1, le=12)
    reset: bool = False


class LineOut(BaseModel):
    item: str
    qty: int
    net_cents: int


class ShipmentOut(BaseModel):
    """A member's shipment of one release: ``status`` is chargeable, skipped, shipped_now,
    on_hold, blocked (``reason`` says why), cancelled or not_eligible."""

    membership_id: int
    release_id: int
    title: str
    process_at: str
    cutoff_at: str
    editable: bool
    status: str
    reason: str = ""
    amount_cents: int | None = None
    goods_cents: int | None = None
    shipping_cents: int | None = None
    tax_cents: int | None = None
    card: str = ""
    lines: list[LineOut] = Field(default_factory=list)


def router(store: Store, clock: Clock) -> APIRouter:
    routes = APIRouter(tags=["wine clubs"])

    async def run(work: Callable[[Session], T]) -> T:
        def in_transaction() -> T:
            with store.transaction() as session:
                return work(session)

        return await anyio.to_thread.run_sync(in_transaction)

    async def once(key: str | None, request: tuple[object, ...],
                   work: Callable[[Session], ShipmentOut]) -> ShipmentOut:  # fmt: skip
        """``work`` under the Idempotency-Key (none: just ``work``)."""
        if key is None:
            return await run(work)
        fingerprint = idempotency.digest(*request)

        def first(session: Session) -> ShipmentOut:
            stored = idempotency.replay(session, key, fingerprint)
            if stored is not None:
                return ShipmentOut.model_validate(stored)
            out = work(session)
            idempotency.record(session, key, fingerprint, out.model_dump(mode="json"),
                               now=clock.now())  # fmt: skip
            return out

        try:
            return await run(first)
        except DuplicateKey as exc:  # a concurrent request with this key won: its answer
            if exc.constraint != idempotency.UNIQUE:
                raise
            return await run(first)

    @routes.get("/memberships/{membership_id}/upcoming", response_model=ShipmentOut)
    async def upcoming(membership_id: MembershipId) -> ShipmentOut:
        """The member's next release (draft or open, soonest first) and what it will cost."""
        def work(session: Session) -> ShipmentOut:
            member = clubs_store.membership(session, membership_id)
            query = select(Release).where(
                Release.club_id == member.club_id, col(Release.status).in_(("draft", "open"))
            ).order_by(col(Release.process_at))  # fmt: skip
            release = session.exec(query).first()
            if release is None:
                raise NotFound("no upcoming release for this membership", field="membership")
            return _view(session, release, member, clock)

        return await run(work)

    @routes.get("/memberships/{membership_id}/releases/{release_id}", response_model=ShipmentOut)
    async def shipment(membership_id: MembershipId, release_id: ReleaseId) -> ShipmentOut:
        """The member's shipment of one release and its amount."""
        return await run(lambda s: _view(s, *_pair(s, membership_id, release_id), clock))

    @routes.post("/memberships/{membership_id}/releases/{release_id}/skip",
                 response_model=ShipmentOut)  # fmt: skip
    async def skip(membership_id: MembershipId, release_id: ReleaseId,
                   body: SkipIn | None = None,
                   idempotency_key: OptionalKey = None) -> ShipmentOut:  # fmt: skip
        """Skip this release (``undo`` takes it back), until the cutoff, within the club's cap
        of skips in a row."""
        def work(session: Session) -> ShipmentOut:
            release, member = _pair(session, membership_id, release_id)
            fn = service.unskip if body is not None and body.undo else service.skip
            fn(session, release, member, now=clock.now())
            return _view(session, release, member, clock)

        request = ("skip", membership_id, release_id, (body or SkipIn()).model_dump())
        return await once(idempotency_key, request, work)

    @routes.post("/memberships/{membership_id}/releases/{release_id}/customize",
                 response_model=ShipmentOut)  # fmt: skip
    async def customize(membership_id: MembershipId, release_id: ReleaseId, body: CustomizeIn,
                        idempotency_key: OptionalKey = None) -> ShipmentOut:  # fmt: skip
        """Choose your own lines and/or the number of packages, until the cutoff."""
        def work(session: Session) -> ShipmentOut:
            release, member = _pair(session, membership_id, release_id)
            lines = None if body.lines is None else [
                (x.item, x.qty, x.retail_cents) for x in body.lines
            ]  # fmt: skip
            service.customize(session, release, member, lines=lines, quantity=body.quantity,
                              reset=body.reset, now=clock.now())  # fmt: skip
            return _view(session, release, member, clock)

        request = ("customize", membership_id, release_id, body.model_dump())
        return await once(idempotency_key, request, work)

    @routes.post("/memberships/{membership_id}/releases/{release_id}/ship-now",
                 response_model=ShipmentOut)  # fmt: skip
    async def ship_now(membership_id: MembershipId, release_id: ReleaseId,
                       idempotency_key: OptionalKey = None) -> ShipmentOut:  # fmt: skip
        """Charge this shipment at once; it is never charged again at the process date."""
        def work(session: Session) -> ShipmentOut:
            release, member = _pair(session, membership_id, release_id)
            done = clubs_store.shipment(session, release_id, membership_id)
            if done is not None and done.ship_now_at is not None:
                raise DuplicateKey("club_shipment_ship_now",
                                   "this shipment was already shipped now and charged")  # fmt: skip
            service.ship_now(session, release, member, now=clock.now())
            return _view(session, release, member, clock)

        return await once(idempotency_key, ("ship-now", membership_id, release_id), work)

    return routes


def _pair(session: Session, membership_id: int, release_id: int) -> tuple[Release, Membership]:
    member = clubs_store.membership(session, membership_id)
    release = clubs_store.release(session, release_id)
    if release.club_id != member.club_id:
        raise NotFound(f"release {release_id} is not of this member's club", field="release")
    return release, member


def _view(session: Session, release: Release, member: Membership, clock: Clock) -> ShipmentOut:
    session.flush()
    [row] = preview.rows(session, release, only={member.id or 0}, now=clock.now())
    ship = clubs_store.shipment(session, release.id or 0, member.id or 0)
    editable = release.status in ("draft", "open") and clock.now() < release.cutoff_at
    amount: Any = row.get("amount_cents")
    if ship is not None and ship.amount_cents is not None and row["category"] == "shipped_now":
        amount = ship.amount_cents
    return ShipmentOut(
        membership_id=member.id or 0, release_id=release.id or 0, title=release.title,
        process_at=release.process_at.isoformat(), cutoff_at=release.cutoff_at.isoformat(),
        editable=editable, status=row["category"], reason=row["reason"], amount_cents=amount,
        goods_cents=row.get("goods_cents"), shipping_cents=row.get("shipping_cents"),
        tax_cents=row.get("tax_cents"), card=row["card"],
        lines=[LineOut(**x) for x in row.get("lines", [])],
    )  # fmt: skip
