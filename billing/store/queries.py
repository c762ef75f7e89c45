"""The queries the engine runs on its hot path, named, in one place."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, text
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from billing.store.tables import CLAIMABLE_PREDICATE, Attempt, Charge, Subscription


def due_charges(*, before: datetime, now: datetime, limit: int) -> SelectOfScalar[Charge]:
    """Charges due at or before ``before`` with no live lease, oldest first.

    A range scan of the partial index ``ix_charge_due`` on both SQLite and PostgreSQL.
    """
    col = Charge.__table__.c  # type: ignore[attr-defined]
    return (
        select(Charge)
        .where(text(CLAIMABLE_PREDICATE))
        .where(col.next_attempt_at <= before)
        .where(or_(col.lease_expires_at.is_(None), col.lease_expires_at <= now))
        .order_by(col.next_attempt_at)
        .limit(limit)
    )


def next_wakeup(session: Session, *, horizon: timedelta) -> datetime | None:
    """The earliest instant at which a tick would find work: a charge due, a read-back due, or
    a subscription whose next charge enters the materialization horizon."""
    charge_col = Charge.__table__.c  # type: ignore[attr-defined]
    due = session.exec(
        select(func.min(charge_col.next_attempt_at)).where(text(CLAIMABLE_PREDICATE))
    ).one()
    check = session.exec(
        select(func.min(Attempt.next_check_at)).where(text("settled_at IS NULL"))
    ).one()
    upcoming = session.exec(
        select(func.min(Subscription.next_charge_at)).where(
            col(Subscription.status).in_(("active", "past_due"))
        )
    ).one()
    candidates = [t for t in (due, check) if t is not None]
    if upcoming is not None:
        candidates.append(upcoming - horizon)
    return min(candidates) if candidates else None
