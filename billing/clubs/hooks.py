"""The clubs' hook module (``door.HOOKS["club"]``): what the engine asks and tells the clubs.

- ``policy``: the club's rebilling policy (daily for 10 days by default; at the end the
  shipment is skipped), always within the card networks' cap (the engine counts every attempt
  of the charge, whatever triggered it: a scheduled retry, a card update, a staff retry). A
  charge of an archived release is never retried.
- ``changed``: the shipment follows its charge: paid, declined (retrying), skipped after
  rebilling ended (listed in the failed-billing report), held (the card expired).
- ``materialize``: the engine's materialize lane calls it once per pass (``process.run``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, select

from billing.clubs import process
from billing.clubs import store as clubs_store
from billing.domain.dunning import DunningPolicy
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import Charge, Club, Mandate, Membership, Shipment


@dataclass(frozen=True, slots=True)
class ReleaseState:
    """What a hook needs of a release: never its snapshot (a big JSON column, read by
    preview and processing only; the engine calls a hook on every move of every charge)."""

    id: int
    club_id: int
    status: str


def _shipment(session: Session, charge: Charge) -> tuple[ReleaseState, Shipment] | None:
    ids = clubs_store.parse_key(charge.source_key or "")
    if ids is None:
        return None
    release = clubs_store.release_state(session, ids[0])
    ship = clubs_store.shipment(session, ids[0], ids[1])
    if release is None or ship is None:
        return None
    return ReleaseState(*release), ship


def policy(session: Session, charge: Charge, default: DunningPolicy) -> DunningPolicy:
    found = _shipment(session, charge)
    if found is None:
        return default
    release, _ = found
    if release.status == "archived":
        return replace(default, retry_days=(), final_action="skip")
    club = session.get(Club, release.club_id)
    days = tuple(club.retry_days) if club is not None and club.retry_days else default.retry_days
    cap = min(default.max_attempts_30d, 15)
    return replace(default, retry_days=days, final_action="skip", max_attempts_30d=cap)


def changed(session: Session, charge: Charge, what: str, now: datetime) -> None:
    found = _shipment(session, charge)
    if found is None:
        return
    release, ship = found
    ship.updated_at = now
    if what == "paid":
        ship.status, ship.reason = "paid", None
        member = session.get(Membership, ship.membership_id)
        if member is not None:
            member.consecutive_skips = 0
    elif what == "retry_scheduled":
        ship.status, ship.reason = "declined", f"declined: {charge.last_decline_code}"
        if release.status == "archived":
            key = charge.source_key or ""
            if door.withdraw(session, clubs_store.SOURCE, key, reason="release archived",
                             now=now):  # fmt: skip
                ship.status, ship.reason = "cancelled", "release archived"
    elif what == "failed":
        ship.status, ship.failed_at = "skipped", now
        ship.reason = f"billing failed ({charge.last_decline_code}): shipment skipped"
        events.emit(session, at=now, entity="shipment", entity_id=ship.id or 0,
                    type="billing_failed", release_id=release.id)  # fmt: skip
    elif what == "needs_attention":
        ship.status, ship.reason = "held", "held for a new card"
    session.add(ship)


def materialize(store: Store, now: datetime) -> int:
    return process.run(store, now=now)


def mandates_in_use(session: Session, ids: set[int]) -> set[int]:
    """Those of ``ids`` a live membership charges, directly or through a card it replaced: a
    cancelled subscription sharing the card must not end the membership's consent. Reads only
    the memberships on these cards and on the cards they replaced (never every membership)."""
    cards, frontier = set(ids), set(ids)
    while frontier:  # walk back from each card to the cards it replaced
        older = select(Mandate.id).where(col(Mandate.replaced_by_id).in_(frontier))
        frontier = {int(m) for m in session.exec(older).all() if m is not None} - cards
        cards |= frontier
    query = select(Membership.mandate_id).where(
        col(Membership.mandate_id).in_(cards), col(Membership.status) != "cancelled"
    )
    used = {int(m) for m in session.exec(query).all() if m is not None}
    current = clubs_store.current_mandates(session, used)
    return {m.id or 0 for m in current.values()} & ids
