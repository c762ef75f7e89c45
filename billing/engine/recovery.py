"""The store side of the reconciler: which unsettled attempts to read back, and their backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, text
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from billing.engine.jobs import ChargeJob
from billing.store.db import Store
from billing.store.tables import Attempt, Charge, Customer, Mandate

# Read-back schedule after an unknown outcome: 15 s, 1 min, 3 min, 1 h, then hourly for a day.
BACKOFF = (
    timedelta(seconds=15),
    timedelta(minutes=1),
    timedelta(minutes=3),
    timedelta(hours=1),
)
HOURLY = timedelta(hours=1)
GIVE_UP_AFTER_CHECKS = len(BACKOFF) + 24


def next_check_delay(check_count: int) -> timedelta | None:
    """Delay before read-back number ``check_count + 1``; None once a day of tries is spent."""
    if check_count >= GIVE_UP_AFTER_CHECKS:
        return None
    return BACKOFF[check_count] if check_count < len(BACKOFF) else HOURLY


def stale_attempts(
    dialect: str, *, now: datetime, limit: int, locations: list[str] | None = None
) -> SelectOfScalar[Attempt]:
    """The reconciler's scan: a range scan of the partial index ``ix_attempt_recheck``, those
    whose apply deadline is still ahead first (only at ``locations`` when given)."""
    stmt = (
        select(Attempt)
        .where(text("settled_at IS NULL"))
        .where(col(Attempt.next_check_at) <= now)
        .order_by(
            case((col(Attempt.apply_deadline_at) > now, 0), else_=1),
            col(Attempt.next_check_at),
        )
        .limit(limit)
    )
    if locations is not None:
        at = select(Charge.id).where(
            col(Charge.id) == col(Attempt.charge_id), col(Charge.location_guid).in_(locations)
        )
        stmt = stmt.where(at.exists())
    return stmt.with_for_update(skip_locked=True) if dialect == "postgresql" else stmt


def claim_stale(
    store: Store, *, now: datetime, lease_s: float, limit: int, owner: str | None = None,
    locations: list[str] | None = None,
) -> list[ChargeJob]:
    """Unsettled attempts whose next read-back is due, earliest apply deadline first (an
    authorization about to be voided goes before a read-back that has all day), leased to
    ``owner`` by pushing ``next_check_at`` one lease out (the owner's heartbeat renews it);
    only at ``locations`` (the ones this worker owns) when given."""
    if locations is not None and not locations:
        return []
    with store.transaction() as session:
        stmt = stale_attempts(store.dialect, now=now, limit=limit, locations=locations)
        attempts = sorted(session.exec(stmt).all(), key=lambda a: _urgency(a, now))
        jobs = []
        for attempt in attempts:
            attempt.next_check_at = now + timedelta(seconds=lease_s)
            attempt.held_by = owner
            jobs.append(job_for(session, attempt))
        return jobs


def _urgency(attempt: Attempt, now: datetime) -> tuple[int, datetime]:
    """Attempts whose apply deadline is still ahead come first, soonest deadline first."""
    deadline = attempt.apply_deadline_at
    if deadline is not None and deadline > now:
        return (0, deadline)
    return (1, attempt.next_check_at or now)


def job_for(session: Session, attempt: Attempt) -> ChargeJob:
    charge = session.get(Charge, attempt.charge_id)
    assert charge is not None
    mandate = session.get(Mandate, charge.mandate_id)
    assert mandate is not None
    assert mandate.toast_mandate_id is not None
    customer = session.get(Customer, mandate.customer_id)
    assert customer is not None
    assert attempt.id is not None
    return ChargeJob(
        charge_id=attempt.charge_id,
        attempt_id=attempt.id,
        attempt_number=attempt.number,
        external_reference_id=attempt.external_reference_id,
        amount_cents=charge.amount_cents,
        location_guid=charge.location_guid,
        toast_mandate_id=mandate.toast_mandate_id,
        payment_method_id=mandate.toast_payment_method_id,
        toast_customer_id=customer.toast_customer_id,
        email=customer.email,
        check_item=charge.check_item,
        attempt_status=attempt.status,
        intent_id=attempt.toast_intent_id,
        session_secret=attempt.session_secret,
        apply_deadline_at=attempt.apply_deadline_at,
    )
