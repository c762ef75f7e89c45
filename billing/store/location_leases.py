"""Location leases: which worker sends to a location now (see ``billing.engine.ownership``).

One ``location_lease`` row per location ever seen; ``owner`` holds it until ``expires_at``. A
released lease keeps its owner and gets ``expires_at = logged_at = now`` (so the same worker
can take it back without waiting, and the next owner knows the release was clean). Live workers
are the ``engine_worker`` rows whose ``alive_until`` is ahead. Every function runs in the
caller's transaction; instants are real (wall-clock) UTC, never a simulation's business time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, TextClause, bindparam, text

from billing.store.tables import (
    CLAIMABLE_PREDICATE,
    PENDING_ENROLLMENT_PREDICATE,
    PURPOSE_ENDED_PREDICATE,
)
from billing.store.types import UTCDateTime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FORGET_WORKERS_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Lease:
    location: str
    owner: str | None
    expires_at: datetime
    sends: list[list[int]]
    logged_at: datetime

    def free(self, now: datetime, me: str) -> bool:
        return self.owner == me or self.owner is None or self.expires_at <= now

    def held_by_other(self, now: datetime, me: str) -> bool:
        return self.owner not in (None, me) and self.expires_at > now


def _instants(sql: str, *names: str) -> TextClause:
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


_BEAT = {
    dialect: _instants(
        "INSERT INTO engine_worker (owner, alive_until) VALUES (:owner, :until) "
        "ON CONFLICT (owner) DO UPDATE SET alive_until = excluded.alive_until",
        "until",
    )
    for dialect in ("postgresql", "sqlite")
}
_FORGET = _instants("DELETE FROM engine_worker WHERE alive_until < :before", "before")
_LIVE = _instants("SELECT count(*) FROM engine_worker WHERE alive_until > :now", "now")
_LEAVE = text("DELETE FROM engine_worker WHERE owner = :owner")
# Locations with work, besides those already leased: configured locations, due charges (a
# range scan of ``ix_charge_due``), due read-backs (``ix_attempt_recheck``), pending
# enrollments (``ix_enrollment_pending``) and mandates to revoke (``ix_mandate_purpose_ended``:
# a location whose only work left is revoking a consent must still get an owner).
_SEEN = _instants(
    "SELECT guid FROM location "
    f"UNION SELECT location_guid FROM charge WHERE {CLAIMABLE_PREDICATE} "
    "AND next_attempt_at <= :now "
    "UNION SELECT c.location_guid FROM attempt a JOIN charge c ON c.id = a.charge_id "
    "WHERE a.settled_at IS NULL AND a.next_check_at <= :now "
    f"UNION SELECT location_guid FROM enrollment WHERE {PENDING_ENROLLMENT_PREDICATE} "
    f"UNION SELECT location_guid FROM mandate WHERE {PURPOSE_ENDED_PREDICATE}",
    "now",
)
_REGISTER = {
    dialect: _instants(
        "INSERT INTO location_lease (location_guid, owner, expires_at, sends, logged_at) "
        "VALUES (:location, NULL, :epoch, '[]', :epoch) ON CONFLICT (location_guid) DO NOTHING",
        "epoch",
    )
    for dialect in ("postgresql", "sqlite")
}
_COLUMNS = "SELECT location_guid, owner, expires_at, sends, logged_at FROM location_lease "
_TYPES: dict[str, Any] = {"expires_at": UTCDateTime(), "logged_at": UTCDateTime(), "sends": JSON()}
_ALL = text(_COLUMNS + "ORDER BY location_guid").columns(**_TYPES)
_ONE = {
    "postgresql": text(_COLUMNS + "WHERE location_guid = :location FOR UPDATE SKIP LOCKED"
                       ).columns(**_TYPES),
    "sqlite": text(_COLUMNS + "WHERE location_guid = :location").columns(**_TYPES),
}
# A take also stamps ``logged_at``: the send log (the previous owner's, which the taker carries
# on) is complete as of now, since the taker has sent nothing yet. Without it, a worker that
# died before its first renew left the registration's epoch there, and the next owner assumed
# it had sent flat out since 1970: the largest limit's worth of sends (10,000: the location
# blocked for 15 minutes; 10 million at the crash test's limits: every heartbeat then spent
# seconds bucketing them, and that worker sent nothing for minutes).
_TAKE = _instants(
    "UPDATE location_lease SET owner = :owner, expires_at = :until, logged_at = :now "
    "WHERE location_guid = :location AND (owner = :owner OR owner IS NULL OR expires_at <= :now)",
    "until", "now",
)  # fmt: skip
_RENEW = _instants(
    "UPDATE location_lease SET expires_at = :until, sends = :sends, logged_at = :now "
    "WHERE location_guid = :location AND owner = :owner",
    "until", "now",
).bindparams(bindparam("sends", type_=JSON()))  # fmt: skip


def _dialect(conn: Connection) -> str:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def beat(conn: Connection, *, owner: str, now: datetime, until: datetime) -> int:
    """Say this worker is alive until ``until``; return how many workers are alive now."""
    conn.execute(_BEAT[_dialect(conn)], {"owner": owner, "until": until})
    conn.execute(_FORGET, {"before": now - FORGET_WORKERS_AFTER})
    return int(conn.execute(_LIVE, {"now": now}).scalar_one())


def leave(conn: Connection, *, owner: str) -> None:
    """This worker stops: it no longer counts among the live ones."""
    conn.execute(_LEAVE, {"owner": owner})


def register_seen(conn: Connection, *, due: datetime) -> None:
    """Give every location with work due by ``due`` (business time) a lease row (free)."""
    locations = [row[0] for row in conn.execute(_SEEN, {"now": due}) if row[0]]
    if locations:
        statement = _REGISTER[_dialect(conn)]
        conn.execute(statement, [{"location": loc, "epoch": EPOCH} for loc in locations])


def _lease(row: Any) -> Lease:
    sends = [[int(at), int(count)] for at, count in row.sends or []]
    return Lease(row.location_guid, row.owner, row.expires_at, sends, row.logged_at)


def all_leases(conn: Connection) -> list[Lease]:
    return [_lease(row) for row in conn.execute(_ALL)]


def take(
    conn: Connection, *, location: str, owner: str, now: datetime, until: datetime
) -> Lease | None:
    """Take ``location`` if it is free (or already ours); return the lease as it was before,
    or None if another worker holds it (or is taking it right now)."""
    row = conn.execute(_ONE[_dialect(conn)], {"location": location}).one_or_none()
    if row is None:
        return None
    before = _lease(row)
    if not before.free(now, owner):
        return None
    params = {"location": location, "owner": owner, "until": until, "now": now}
    if conn.execute(_TAKE, params).rowcount != 1:
        return None
    return before


def renew(
    conn: Connection, *, location: str, owner: str, now: datetime, until: datetime,
    sends: list[list[int]],
) -> bool:  # fmt: skip
    """Push this owner's lease to ``until`` (``until = now``: release it) with its send log;
    False if another worker holds it now."""
    params = {"location": location, "owner": owner, "until": until, "now": now, "sends": sends}
    return bool(conn.execute(_RENEW, params).rowcount == 1)
