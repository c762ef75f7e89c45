"""The queries the engine runs on its hot path, named, in one place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, text
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from billing.store.tables import CLAIMABLE_PREDICATE, Charge


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
