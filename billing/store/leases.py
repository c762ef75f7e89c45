"""Claiming due charges with a lease (owner, expiry): how workers share the work.

On PostgreSQL the due rows are locked with ``FOR UPDATE SKIP LOCKED``, so any number of
workers on any hosts claim disjoint batches. SQLite has a single writer (``BEGIN IMMEDIATE``),
which serializes claims. A lease that expires makes the charge claimable again; a charge
whose attempt may have reached Toast is not in a claimable status (it is ``processing``) and
goes to the reconciler instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, TextClause, bindparam, text, update
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
_LEASE = (
    update(Charge)
    .where(col(Charge.id).in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("expires"))
)


def _due_scan(*, skip_locked: bool, skip_locations: bool, only: bool = False) -> TextClause:
    sql = _DUE_IDS.text
    if skip_locations:
        sql = sql.replace("ORDER BY", "AND location_guid NOT IN :held ORDER BY")
    if only:
        sql = sql.replace("ORDER BY", "AND location_guid IN :only ORDER BY")
    if skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    scan = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
    if only:
        scan = scan.bindparams(bindparam("only", expanding=True))
    return scan.bindparams(bindparam("held", expanding=True)) if skip_locations else scan


_SCANS = {
    (locked, held): _due_scan(skip_locked=locked, skip_locations=held)
    for locked in (False, True)
    for held in (False, True)
}
# The scans of a worker that owns locations (``billing.engine.ownership``): its own only.
_OWN_SCANS = {
    (locked, held): _due_scan(skip_locked=locked, skip_locations=held, only=True)
    for locked in (False, True)
    for held in (False, True)
}


def claim_due(
    db: Session | Connection, *, owner: str, now: datetime, lease_s: float, limit: int,
    skip_locations: list[str] | None = None, only_locations: list[str] | None = None,
) -> list[int]:  # fmt: skip
    """Lease up to ``limit`` charges due at ``now``, oldest first, at locations other than
    ``skip_locations`` (and among ``only_locations`` when given); returns their ids. The
    caller's transaction commits the claim."""
    if only_locations is not None and not only_locations:
        return []
    scans = _SCANS if only_locations is None else _OWN_SCANS
    scan = scans[(_dialect(db) == "postgresql", bool(skip_locations))]
    params: dict[str, object] = {"now": now, "limit": limit}
    if skip_locations:
        params["held"] = skip_locations
    ids: list[int] = []
    if only_locations is not None and len(only_locations) > 1:
        # A fair share of the batch at each location first: charges due at one instant (a club
        # release, a month's renewals) would otherwise be claimed one location at a time, and
        # every other location's rate limit would sit idle while the first one's is the bound.
        # When the batch is too small to give each an equal share, the first in the caller's
        # order get theirs (the sweeper puts the least busy first, turning ties).
        share = -(-limit // len(only_locations))
        for location in only_locations:
            found = db.execute(scan, {**params, "only": [location], "limit": share})
            ids += [row[0] for row in found]
            if len(ids) >= limit:
                break
    if only_locations is not None:
        params["only"] = only_locations
    if len(ids) < limit:  # the rest of the batch from wherever there is more work
        taken = set(ids)
        more = [row[0] for row in db.execute(scan, {**params, "limit": limit})]
        ids += [i for i in more if i not in taken][: limit - len(ids)]
    ids = ids[:limit]
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
