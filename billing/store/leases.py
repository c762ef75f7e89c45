"""Claiming due charges with a lease (owner, expiry): how workers share the work.

On PostgreSQL the due rows are locked with ``FOR UPDATE SKIP LOCKED``, so any number of
workers on any hosts claim disjoint batches. SQLite has a single writer (``BEGIN IMMEDIATE``),
which serializes claims. A lease that expires makes the charge claimable again; a charge
whose attempt may have reached Toast is not in a claimable status (it is ``processing``) and
goes to the reconciler instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from billing.store import queries
from billing.store.tables import Charge


def claim_due(
    session: Session, *, owner: str, now: datetime, lease_s: float, limit: int
) -> list[Charge]:
    """Lease up to ``limit`` charges due at ``now``; the caller's transaction commits the claim."""
    stmt = queries.due_charges(before=now, now=now, limit=limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Charge)
    rows = list(session.exec(stmt).all())
    expires = now + timedelta(seconds=lease_s)
    for row in rows:
        row.lease_owner = owner
        row.lease_expires_at = expires
    session.flush()
    return rows


def release(session: Session, *, charge_ids: list[int], owner: str) -> int:
    """Give back leases this owner still holds (shutdown, or work it will not start)."""
    if not charge_ids:
        return 0
    result = session.execute(
        update(Charge)
        .where(col(Charge.id).in_(charge_ids))
        .where(col(Charge.lease_owner) == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
