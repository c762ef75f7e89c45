"""The queries the engine runs on its hot path, named, in one place."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, select

from billing.store.tables import (
    BILLABLE_PREDICATE,
    CLAIMABLE_PREDICATE,
    Attempt,
    Charge,
    Subscription,
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
        select(func.min(Subscription.next_charge_at)).where(text(BILLABLE_PREDICATE))
    ).one()
    candidates = [t for t in (due, check) if t is not None]
    if upcoming is not None:
        candidates.append(upcoming - horizon)
    return min(candidates) if candidates else None
