"""Club reports: the club-run report of one release, and the failed-billing report (shipments
skipped because rebilling ended without a payment). Plain values; the CLI prints or dumps them."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlmodel import Session, col, select

from billing.clubs import store as clubs_store
from billing.manage import locations
from billing.store.tables import Charge, Club, ClubTier, Membership, Release, Shipment


def club_run(session: Session, release_id: int) -> dict[str, Any]:
    release = clubs_store.release(session, release_id)
    club = session.get(Club, release.club_id)
    assert club is not None
    ships = list(clubs_store.shipments(session, release_id).values())
    charges = _charges(session, [s.charge_id for s in ships if s.charge_id is not None])
    members = {m.id: m for m in clubs_store.memberships(session, club.id or 0)}
    tiers = {t.id: t.name for t in clubs_store.tiers(session, club.id or 0)}
    counts: Counter[str] = Counter()
    revenue_by_tier: dict[str, int] = defaultdict(int)
    revenue_by_location: dict[str, int] = defaultdict(int)  # the charge's (the card's) location
    names = locations.names(session)
    for ship in ships:
        charge = charges.get(ship.charge_id or -1)
        counts[_bucket(ship, charge)] += 1
        if charge is not None and charge.status == "paid":
            member = members.get(ship.membership_id)
            tier = tiers.get(member.tier_id if member else -1, "?")
            revenue_by_tier[tier] += charge.amount_cents
            revenue_by_location[locations.label(charge.location_guid, names)] += (
                charge.amount_cents
            )
            if charge.decline_count > 0:
                counts["recovered"] += 1
    revenue = sum(revenue_by_tier.values())
    return {
        "release_id": release_id, "title": release.title, "club": club.name,
        "status": release.status, "process_at": release.process_at.isoformat(),
        "counts": {k: counts.get(k, 0) for k in (
            "charged", "recovered", "declined", "held", "billing_failed", "skipped", "on_hold",
            "blocked", "cancelled", "pending",
        )},
        "revenue_cents": revenue, "revenue_by_tier": dict(sorted(revenue_by_tier.items())),
        "revenue_by_location": dict(sorted(revenue_by_location.items())),
    }  # fmt: skip


def _bucket(ship: Shipment, charge: Charge | None) -> str:
    if ship.failed_at is not None:
        return "billing_failed"
    if charge is not None:
        return {"paid": "charged", "retry_scheduled": "declined", "needs_attention": "held",
                "cancelled": "cancelled", "failed": "billing_failed"}.get(charge.status,
                                                                           "pending")  # fmt: skip
    return ship.status if ship.status in ("skipped", "on_hold", "blocked", "cancelled") else (
        "pending"
    )


def _charges(session: Session, ids: list[int]) -> dict[int, Charge]:
    if not ids:
        return {}
    return {c.id or 0: c for c in session.exec(select(Charge).where(col(Charge.id).in_(ids)))}


def failed_billing(session: Session, club_ref: str | None = None) -> list[dict[str, Any]]:
    """Shipments skipped because rebilling ended unpaid, newest first."""
    query = (
        select(Shipment, Release, Membership)
        .join(Release, col(Release.id) == Shipment.release_id)
        .join(Membership, col(Membership.id) == Shipment.membership_id)
        .where(col(Shipment.failed_at).is_not(None))
        .order_by(col(Shipment.failed_at).desc())
    )
    if club_ref is not None:
        query = query.where(Release.club_id == clubs_store.club(session, club_ref).id)
    found = session.exec(query).all()
    customers = clubs_store.customers(session, {m.customer_id for _, _, m in found})
    tiers = {t.id: t.name for t in session.exec(select(ClubTier)).all()}
    rows = []
    for ship, release, member in found:
        customer = customers.get(member.customer_id)
        charge = session.get(Charge, ship.charge_id) if ship.charge_id else None
        rows.append({
            "release_id": release.id, "release": release.title, "membership_id": member.id,
            "member": customer.email if customer else "", "tier": tiers.get(member.tier_id),
            "amount_cents": ship.amount_cents,
            "attempts": charge.attempt_count if charge else 0,
            "last_decline": charge.last_decline_code if charge else None,
            "failed_at": ship.failed_at.isoformat() if ship.failed_at else None,
            "reason": ship.reason,
        })  # fmt: skip
    return rows
