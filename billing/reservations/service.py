"""Reservation use cases shared by the API and the CLI: book (with a card-saving checkout),
report a status, lower or waive the fee, look one up.

Every change locks the reservation's row first (``FOR UPDATE`` on PostgreSQL; SQLite has one
writer), so two reports for one reservation are decided one after the other; the unique
constraints (report id per reservation, one charge per reservation) stop duplicates even so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.enroll import service as enroll
from billing.enroll.models import EnrollmentCreate
from billing.errors import AmbiguousLookup, DomainError, DuplicateKey, NotFound
from billing.reservations import fees, policies, rules
from billing.reservations.models import FeeAction, FeeChange, ReservationCreate, StatusReport
from billing.store import events
from billing.store.db import Store
from billing.store.tables import FeeAdjustment, FeePolicy, Reservation, ReservationReport

MAX_AHEAD = timedelta(days=366)
OVERDUE_BATCH = 100


class IdempotencyConflict(enroll.IdempotencyConflict):
    """The same key (Idempotency-Key or report id) was sent with a different request."""


@dataclass(frozen=True, slots=True)
class Booked:
    reservation_id: int
    enrollment: enroll.View


def _hash(body: ReservationCreate) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def book(ctx: enroll.Context, body: ReservationCreate, *, key: str) -> Booked:
    """Record the reservation under the policy version that applies now, with a card-saving
    checkout (an UNSCHEDULED setup intent, ``fee_purpose``). A repeated key returns it."""
    location = body.location.lower() if body.location else ctx.location_guid
    digest = _hash(body)
    with ctx.store.transaction() as session:
        found = _by_key(session, key)
        policy = None if found else _check_new(session, body, location, now=ctx.clock.now())
    if found is not None or policy is None:
        assert found is not None
        return await _repeat(ctx, found, digest)
    spec = EnrollmentCreate(
        fee_purpose=f"Reservation {body.reference}: {policy.name} (v{policy.version})"[:200],
        customer=body.customer,
    )  # fmt: skip
    at_location = enroll.Context(ctx.store, ctx.toast, ctx.clock, location)
    view = await enroll.start(at_location, spec, key=f"reservation:{location}:{body.reference}")
    try:
        with ctx.store.transaction() as session:
            row = _record(session, body, location, key, digest, policy.id or 0, view,
                          now=ctx.clock.now())  # fmt: skip
            return Booked(row.id or 0, view)
    except DuplicateKey:  # a concurrent request with the same key (or reference) won
        with ctx.store.transaction() as session:
            found = _by_key(session, key)
        if found is None:
            raise
        return await _repeat(ctx, found, digest)


def _check_new(session: Session, body: ReservationCreate, location: str, *, now: datetime
               ) -> FeePolicy:  # fmt: skip
    taken = session.exec(select(Reservation).where(
        Reservation.location_guid == location, Reservation.external_ref == body.reference,
    )).first()  # fmt: skip
    if taken is not None:
        raise DuplicateKey("uq_reservation_location_guid_external_ref",
                           f"reservation {body.reference!r} exists at this location "
                           "(booked with another Idempotency-Key)")  # fmt: skip
    if not now < body.slot <= now + MAX_AHEAD:
        raise DomainError(f"slot must be in the future, at most {MAX_AHEAD.days} days ahead",
                          field="slot")  # fmt: skip
    if body.accepted_at is not None and not now - MAX_AHEAD <= body.accepted_at <= now:
        raise DomainError("accepted_at must be in the past year or now", field="accepted_at")
    return policies.for_slot(session, location, body.slot, service=body.service,
                             code=body.policy)  # fmt: skip


async def _repeat(ctx: enroll.Context, row: Reservation, digest: str) -> Booked:
    if row.request_hash != digest:
        raise IdempotencyConflict("this Idempotency-Key was already used for a different "
                                  "reservation", field="Idempotency-Key")  # fmt: skip
    view = await enroll.refresh(ctx, row.enrollment_id)
    return Booked(row.id or 0, view)


def _record(
    session: Session, body: ReservationCreate, location: str, key: str, digest: str,
    policy_id: int, view: enroll.View, *, now: datetime,
) -> Reservation:  # fmt: skip
    row = Reservation(
        location_guid=location, external_ref=body.reference, idempotency_key=key,
        request_hash=digest, slot_at=body.slot, party_size=body.party_size,
        service=body.service, customer_id=view.enrollment.customer_id,
        mandate_id=view.mandate.id or 0, enrollment_id=view.enrollment.id, policy_id=policy_id,
        accepted_at=body.accepted_at or now, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    events.emit(session, at=now, entity="reservation", entity_id=row.id or 0, type="booked",
                reference=body.reference, policy_id=policy_id)  # fmt: skip
    return row


def _by_key(session: Session, key: str) -> Reservation | None:
    return session.exec(select(Reservation).where(Reservation.idempotency_key == key)).first()


def find(session: Session, ref: str, location: str | None = None, *, lock: bool = False
         ) -> Reservation:  # fmt: skip
    """By the reservation system's reference (and location when two share it)."""
    query = select(Reservation).where(Reservation.external_ref == ref)
    if location is not None:
        query = query.where(Reservation.location_guid == location.lower())
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    rows = list(session.exec(query.order_by(col(Reservation.id))).all())
    if not rows:
        raise NotFound(f"unknown reservation {ref[:100]!r}", field="reference")
    if len(rows) > 1:
        raise AmbiguousLookup(f"reservation {ref[:100]!r} exists at {len(rows)} locations: "
                              "name the location", field="location")  # fmt: skip
    return rows[0]


def report(store: Store, ref: str, body: StatusReport, *, now: datetime,
           location: str | None = None) -> int:  # fmt: skip
    """Record a status once per report id and decide the fee; returns the reservation id."""
    at = body.at or now
    if not now - MAX_AHEAD <= at <= now:
        raise DomainError("at must be in the past year or now", field="at")
    try:
        with store.transaction() as session:
            row = find(session, ref, location, lock=True)
            if _known_report(session, row, body, at):
                fees.sweep(session, row, now)
                return row.id or 0
            rules.check_transition(fees.reports(fees.history(session, row)),
                                   rules.Status(body.status))  # fmt: skip
            session.add(ReservationReport(
                reservation_id=row.id or 0, report_id=body.report_id, status=body.status,
                at=at, reported_at=now, reported_by=body.reported_by,
            ))  # fmt: skip
            row.status = body.status
            session.add(row)
            session.flush()
            events.emit(session, at=now, entity="reservation", entity_id=row.id or 0,
                        type="status_reported", status=body.status, report_id=body.report_id,
                        reported_by=body.reported_by)  # fmt: skip
            fees.apply(session, row, trigger="report", now=now)
            close_overdue(session, now)
            return row.id or 0
    except DuplicateKey:  # the same report, concurrently: the other transaction recorded it
        with store.transaction() as session:
            row = find(session, ref, location)
            if not _known_report(session, row, body, at):
                raise
            return row.id or 0


def _known_report(session: Session, row: Reservation, body: StatusReport, at: datetime) -> bool:
    query = select(ReservationReport).where(
        ReservationReport.reservation_id == row.id, ReservationReport.report_id == body.report_id
    )
    seen = session.exec(query).first()
    if seen is None:
        return False
    if seen.status != body.status or (body.at is not None and seen.at != at):
        raise IdempotencyConflict(f"report {body.report_id!r} was already sent with another "
                                  "status or instant", field="report_id")  # fmt: skip
    return True


def change_fee(store: Store, ref: str, body: FeeChange, *, key: str, now: datetime,
               location: str | None = None) -> int:  # fmt: skip
    """Staff lower or waive the fee before it is charged; returns the reservation id."""
    with store.transaction() as session:
        row = find(session, ref, location, lock=True)
        amount = 0 if body.action == FeeAction.WAIVE else body.amount_cents or 0
        done = session.exec(select(FeeAdjustment).where(
            FeeAdjustment.reservation_id == row.id, FeeAdjustment.idempotency_key == key,
        )).first()  # fmt: skip
        if done is not None:
            if (done.amount_cents, done.reason, done.staff) != (amount, body.reason, body.staff):
                raise IdempotencyConflict("this Idempotency-Key was already used for another "
                                          "fee change", field="Idempotency-Key")  # fmt: skip
            return row.id or 0
        _check_change(session, row, amount, now)
        session.add(FeeAdjustment(reservation_id=row.id or 0, idempotency_key=key,
                                  amount_cents=amount, reason=body.reason, staff=body.staff,
                                  at=now))  # fmt: skip
        session.flush()
        events.emit(session, at=now, entity="reservation", entity_id=row.id or 0,
                    type="fee_waived" if amount == 0 else "fee_lowered", amount_cents=amount,
                    staff=body.staff, reason=body.reason)  # fmt: skip
        fees.apply(session, row, trigger="adjustment", now=now)
        return row.id or 0


def _check_change(session: Session, row: Reservation, amount: int, now: datetime) -> None:
    if fees.started(fees.charge_of(session, row)):
        raise DomainError("the fee is already being charged or settled: it can no longer be "
                          "changed", field="action")  # fmt: skip
    current = fees.decision(session, row, now)
    if current.amount_cents is None:
        raise DomainError(f"there is no fee to change ({current.reason})", field="action")
    if amount:
        cap = fees.policy_of(session, row).cap_cents
        rules.check_lower(amount, fee_cents=current.amount_cents, cap_cents=cap)


def close_overdue(session: Session, now: datetime, *, limit: int = OVERDUE_BATCH) -> int:
    """Decide once more the open reservations whose last moment may have passed (their slot
    is more than an hour old, the shortest last moment): no fee any more, an unstarted charge
    withdrawn, the consent ended. Returns how many were looked at."""
    query = (select(Reservation).where(col(Reservation.closed_at).is_(None))
             .where(col(Reservation.slot_at) < now - timedelta(hours=1))
             .order_by(col(Reservation.slot_at)).limit(limit))  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":  # another transaction's: leave it
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query).all())
    for row in rows:
        fees.sweep(session, row, now)
    return len(rows)
