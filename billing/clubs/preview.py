"""The preview of a release: every member, where they stand and what they would be charged.

Processing charges exactly this (``billing.clubs.process``): the rows stored at the cutoff
(the snapshot) are compared with a fresh preview, member by member, before anything is put
through the door. Rows are plain JSON-ready dicts so the snapshot is the same shape.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from billing.clubs import rules
from billing.clubs import store as clubs_store
from billing.store.tables import Club, ClubTier, Mandate, Membership, Release, Shipment

CHARGED = ("chargeable",)


@dataclass
class Preview:
    release_id: int
    title: str
    status: str
    process_at: str
    cutoff_at: str
    approved: bool
    rows: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)
    snapshot_at: str | None = None
    differences: list[str] = field(default_factory=list)
    refused: str | None = None


def rows(
    session: Session, release: Release, *, only: set[int] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per member of the release's club (``only``: just these memberships). A
    chargeable member whose release notice was not sent by the cutoff is blocked once the
    cutoff is reached (``now`` None: judged as at the cutoff; ``billing.clubs.notices``)."""
    club = clubs_store.club(session, str(release.club_id))
    members = clubs_store.memberships(session, club.id or 0, only=only)
    tiers = {t.id: t for t in clubs_store.tiers(session, club.id or 0)}
    package = [rules.Line(line.item, line.qty, line.retail_cents)
               for line in clubs_store.lines(session, release.id or 0)]  # fmt: skip
    shipments = clubs_store.shipments(session, release.id or 0, only=only)
    mandates = clubs_store.current_mandates(
        session, {m.mandate_id for m in members if m.mandate_id is not None}
    )
    customers = clubs_store.customers(session, {m.customer_id for m in members})
    process_on = rules.local_date(release.process_at, club.timezone)
    out = []
    for member in members:
        mandate = mandates.get(member.mandate_id) if member.mandate_id is not None else None
        customer = customers.get(member.customer_id)
        row = _row(club, release, member, tiers[member.tier_id], package,
                   shipments.get(member.id or 0), mandate, process_on)  # fmt: skip
        row["member"] = customer.email if customer else ""
        out.append(row)
    return _noticed(session, club, release, out, now)


def _noticed(
    session: Session, club: Club, release: Release, out: list[dict[str, Any]],
    now: datetime | None,
) -> list[dict[str, Any]]:  # fmt: skip
    if club.notice_days <= 0:
        return out
    chargeable = {int(r["membership_id"]) for r in out if r["category"] == "chargeable"}
    sent = clubs_store.notices_sent(session, release.id or 0, chargeable)
    for row in out:
        if row["category"] != "chargeable":
            continue
        when = sent.get(int(row["membership_id"]))
        row["notice_sent_at"] = None if when is None else when.isoformat()
        if rules.notice_blocks(days=club.notice_days, sent_at=when, cutoff_at=release.cutoff_at,
                               now=now):  # fmt: skip
            row.update(category="blocked", reason=rules.NOTICE_MISSING)
    return out


def _row(
    club: Club, release: Release, member: Membership, tier: ClubTier, package: list[rules.Line],
    shipment: Shipment | None, mandate: Mandate | None, process_on: Any,
) -> dict[str, Any]:  # fmt: skip
    card_exp = None
    if mandate is not None and mandate.card_exp_month and mandate.card_exp_year:
        card_exp = (mandate.card_exp_month, mandate.card_exp_year)
    facts = rules.Member(
        status=member.status, hold_until=member.hold_until, joined_at=member.created_at,
        skipped=shipment is not None and shipment.skipped_at is not None,
        shipped_now=shipment is not None and shipment.ship_now_at is not None,
        mandate_status=None if mandate is None else mandate.status, card_exp=card_exp,
    )  # fmt: skip
    verdict = rules.verdict(facts, cutoff_at=release.cutoff_at, process_on=process_on)
    row: dict[str, Any] = {
        "membership_id": member.id, "customer_id": member.customer_id, "tier": tier.name,
        "category": verdict.category, "reason": verdict.reason, "amount_cents": None,
        "mandate_id": None if mandate is None else mandate.id,
        "card": _card(mandate), "delivery": member.delivery, "region": member.region,
    }  # fmt: skip
    if verdict.category not in ("chargeable", "shipped_now"):
        return row
    if verdict.category == "shipped_now" and shipment is not None:
        row["amount_cents"] = shipment.amount_cents
        return row
    return _priced(row, club, tier, member, package, shipment)


def _priced(
    row: dict[str, Any], club: Club, tier: ClubTier, member: Membership,
    package: list[rules.Line], shipment: Shipment | None,
) -> dict[str, Any]:  # fmt: skip
    pickup = member.delivery == "pickup"
    region = club.pickup_region if pickup else member.region
    shipping = rules.shipping_for(club.shipping, region, pickup=pickup)
    tax_ppm = rules.tax_rate_for(club.tax_rates, region)
    if shipping is None or tax_ppm is None:
        missing = "shipping" if shipping is None else "tax"
        row.update(category="blocked", reason=f"no {missing} rate for region {region!r}")
        return row
    lines = package
    quantity, explicit = 1, None
    if shipment is not None:
        if shipment.override_lines is not None:
            lines = [rules.Line(str(x["item"]), int(x["qty"]), int(x["retail_cents"]))
                     for x in shipment.override_lines]  # fmt: skip
        quantity, explicit = shipment.quantity, shipment.explicit_cents
        if explicit is not None:
            row["explicit_reason"] = shipment.explicit_reason
    if not lines:
        row.update(category="blocked", reason="the release has no package lines")
        return row
    amount = rules.amount(
        lines, discount_pct=tier.discount_pct, quantity=quantity, shipping_cents=shipping,
        tax_ppm=tax_ppm, explicit_cents=explicit,
    )  # fmt: skip
    if amount.total_cents < 1:
        row.update(category="blocked", reason="the amount is zero: nothing to charge")
        return row
    row.update(
        amount_cents=amount.total_cents, goods_cents=amount.goods_cents,
        shipping_cents=amount.shipping_cents, tax_cents=amount.tax_cents,
        lines=[{"item": p.item, "qty": p.qty, "net_cents": p.net_cents} for p in amount.lines],
    )  # fmt: skip
    return row


def _card(mandate: Mandate | None) -> str:
    if mandate is None or not mandate.card_last4:
        return ""
    return f"{mandate.card_brand or 'card'} ****{mandate.card_last4}"


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(r["category"] for r in rows)
    charge = [r for r in rows if r["category"] in CHARGED]
    return {
        "members": len(rows),
        **{category: counts.get(category, 0) for category in (
            "chargeable", "shipped_now", "skipped", "on_hold", "blocked", "cancelled",
            "not_eligible",
        )},
        "chargeable_cents": sum(int(r["amount_cents"]) for r in charge),
        "shipped_now_cents": sum(int(r["amount_cents"] or 0) for r in rows
                                 if r["category"] == "shipped_now"),
    }  # fmt: skip


def build(session: Session, release: Release, *, now: datetime | None = None) -> Preview:
    """The preview: before the cutoff the live rows; after it the stored snapshot, with any
    difference a fresh preview shows (processing refuses those; while processing, for the
    members not charged yet)."""
    fresh = rows(session, release, now=now)
    shown, diffs = fresh, []
    if release.snapshot is not None:
        shown = list(release.snapshot)
        if release.status == "open":
            diffs = rules.differences(release.snapshot, fresh)
        elif release.status == "processing":  # the members whose batch is not charged yet
            left = [r for r in shown if int(r["membership_id"]) > release.charged_through]
            ids = {int(r["membership_id"]) for r in left}
            diffs = rules.differences(left, [r for r in fresh if r["membership_id"] in ids])
    return Preview(
        release_id=release.id or 0, title=release.title, status=release.status,
        process_at=release.process_at.isoformat(), cutoff_at=release.cutoff_at.isoformat(),
        approved=release.approved_at is not None, rows=shown, totals=totals(shown),
        snapshot_at=None if release.snapshot_at is None else release.snapshot_at.isoformat(),
        differences=diffs, refused=release.refused,
    )  # fmt: skip
