"""Claiming due charges with a lease (owner, expiry): how workers share the work.

On PostgreSQL the due rows are locked with ``FOR UPDATE SKIP LOCKED``, so any number of
workers on any hosts claim disjoint batches. SQLite has a single writer (``BEGIN IMMEDIATE``),
which serializes claims. A lease that expires makes the charge claimable again; a charge
whose attempt may have reached Toast is not in a claimable status (it is ``processing``) and
goes to the reconciler instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, text, update
from sqlmodel import Session, col

from billing.store.tables import CLAIMABLE_PREDICATE, Charge
from billing.store.types import UTCDateTime

# The due scan repeats the partial index's predicate literally, so it is a range scan of
# ``ix_charge_due`` on both backends (planners match partial indexes on the WHERE text).
_DUE_IDS = text(
    f"SELECT id FROM charge WHERE {CLAIMABLE_PREDICATE} AND next_attempt_at <= :now "
    "AND (lease_expires_at IS NULL OR lease_expires_at <= :now) "
    "ORDER BY next_attempt_at LIMIT :limit"
).bindparams(bindparam("now", type_=UTCDateTime()))
_DUE_IDS_SKIP_LOCKED = text(f"{_DUE_IDS.text} FOR UPDATE SKIP LOCKED").bindparams(
    bindparam("now", type_=UTCDateTime())
)
_LEASE = (
    update(Charge)
    .where(col(Charge.id).in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("expires"))
)


def claim_due(
    db: Session | Connection, *, owner: str, now: datetime, lease_s: float, limit: int
) -> list[int]:
    """Lease up to ``limit`` charges due at ``now``, oldest first; returns their ids. The
    caller's transaction commits the claim."""
    scan = _DUE_IDS_SKIP_LOCKED if _dialect(db) == "postgresql" else _DUE_IDS
    ids = [row[0] for row in db.execute(scan, {"now": now, "limit": limit})]
    if ids:
        expires = now + timedelta(seconds=lease_s)
        db.execute(_LEASE, {"ids": ids, "owner": owner, "expires": expires})
    return ids


def _dialect(db: Session | Connection) -> str:
    return db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name


def leased_to(db: Session | Connection, ids: list[int]) -> dict[int, str | None]:
    """Who holds each charge's lease."""
    query = text("SELECT id, lease_owner FROM charge WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    return {int(row[0]): row[1] for row in db.execute(query, {"ids": ids})}


def release(session: Session | Connection, *, charge_ids: list[int], owner: str) -> int:
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
