"""Use cases of the wine clubs, shared by the CLI and the HTTP API. Each takes a session (the
caller's transaction) and ``now``; bad input raises a DomainError naming the field before
anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from billing.clubs import notices, preview, rules
from billing.clubs import store as clubs_store
from billing.domain import inputs, money
from billing.domain.states import MandateStatus, PlanKind, SubscriptionStatus
from billing.errors import DomainError
from billing.manage import locations
from billing.store import door, events
from billing.store.tables import (
    Club,
    ClubTier,
    Customer,
    Mandate,
    Membership,
    Release,
    ReleaseLine,
    Shipment,
    Subscription,
)

LIVE_SUBSCRIPTION = (SubscriptionStatus.PENDING_MANDATE, SubscriptionStatus.ACTIVE,
                     SubscriptionStatus.PAST_DUE, SubscriptionStatus.PAUSED)  # fmt: skip


# clubs and tiers ----------------------------------------------------------------------------
def create_club(
    session: Session, *, name: str, location: str, pickup_region: str = "",
    skip_cap: int = rules.DEFAULT_SKIP_CAP, auto_approve: bool = False,
    shipping: Mapping[str, int] | None = None, tax_rates: Mapping[str, int] | None = None,
    retry_days: Sequence[int] = rules.DEFAULT_RETRY_DAYS,
    notice_days: int = rules.DEFAULT_NOTICE_DAYS, now: datetime,
) -> Club:  # fmt: skip
    """``notice_days``: the release notice goes out that many days before each cutoff; 0 only
    for a club whose members agreed to every release's amount when they joined (then no
    notice is sent or required)."""
    name = inputs.text(name, field="name", max_length=100)
    if session.exec(select(Club).where(Club.name == name)).first() is not None:
        raise DomainError(f"a club named {name!r} exists", field="name")
    place = locations.get(session, location)
    if not 0 <= skip_cap <= 52:
        raise DomainError(f"skip cap must be 0..52, got {skip_cap}", field="skip_cap")
    if not 0 <= notice_days <= 60:
        raise DomainError(f"notice days must be 0..60, got {notice_days}", field="notice_days")
    days = tuple(retry_days)
    if any(d < 1 for d in days) or list(days) != sorted(set(days)):
        raise DomainError("retry days must be >= 1 and strictly increasing", field="retry_days")
    club = Club(
        name=name, location_guid=place.guid, timezone=place.timezone,
        pickup_region=pickup_region.strip().upper(), skip_cap=skip_cap,
        auto_approve=auto_approve, shipping=_cents_table(shipping or {}, "shipping"),
        tax_rates=_cents_table(tax_rates or {}, "tax"), retry_days=list(days),
        final_action=rules.DEFAULT_FINAL_ACTION, notice_days=notice_days, created_at=now,
    )  # fmt: skip
    session.add(club)
    session.flush()
    events.emit(session, at=now, entity="club", entity_id=club.id or 0, type="created")
    return club


def _cents_table(table: Mapping[str, int], what: str) -> dict[str, int]:
    out = {}
    for region, value in table.items():
        key = region.strip().upper() if region.strip() != rules.ANY_REGION else rules.ANY_REGION
        if not key or len(key) > 32:
            raise DomainError(f"{what} region must be 1 to 32 characters", field=what)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000_000:
            raise DomainError(f"{what} for {key} must be a whole number >= 0", field=what)
        out[key] = value
    return out


def parse_rate_table(text: str) -> dict[str, int]:
    """``CA=7.25,NY=8.875``: region -> percent (up to 4 decimals), to parts per million."""
    rates: dict[str, int] = {}
    for part in (p.strip() for p in text.replace("\n", ",").split(",")):
        if not part:
            continue
        region, _, value = part.partition("=")
        try:
            ppm = Decimal(value.strip()) * 10_000
        except InvalidOperation:
            raise DomainError(f"tax rate {part!r} is not REGION=PERCENT", field="tax") from None
        if ppm != ppm.to_integral_value() or not 0 <= ppm <= 500_000:
            raise DomainError(f"tax rate {part!r}: 0..50 percent, at most 4 decimals",
                              field="tax")  # fmt: skip
        rates[region.strip()] = int(ppm)
    return rates


def parse_shipping(pairs: Sequence[str]) -> dict[str, int]:
    """``CA=15.00`` ``*=25``: region -> dollars, to cents."""
    table: dict[str, int] = {}
    for pair in pairs:
        region, sep, value = pair.partition("=")
        if not sep:
            raise DomainError(f"shipping {pair!r} is not REGION=AMOUNT", field="shipping")
        table[region.strip()] = _dollars(value, "shipping", allow_zero=True)
    return table


def _dollars(text: str, field: str, *, allow_zero: bool = False) -> int:
    if allow_zero and text.strip() in ("0", "0.00", "0.0"):
        return 0
    return money.parse_amount(text.strip(), field=field)


def add_tier(
    session: Session, club: Club, *, name: str, bottles: int, discount_pct: int
) -> ClubTier:
    name = inputs.text(name, field="name", max_length=100)
    if not 1 <= bottles <= 120:
        raise DomainError(f"bottles must be 1..120, got {bottles}", field="bottles")
    rules.check_discount(discount_pct)
    if any(t.name == name for t in clubs_store.tiers(session, club.id or 0)):
        raise DomainError(f"tier {name!r} exists in this club", field="name")
    tier = ClubTier(club_id=club.id or 0, name=name, bottles=bottles, discount_pct=discount_pct)
    session.add(tier)
    session.flush()
    return tier


# memberships --------------------------------------------------------------------------------
def join(
    session: Session, club: Club, *, customer: Customer, tier: ClubTier, delivery: str,
    region: str = "", address: str = "", mandate_id: int | None = None, now: datetime,
) -> Membership:  # fmt: skip
    """A customer joins on a tier, charged on their RECURRING mandate at the club's location
    (``mandate_id``, or their newest active one there; none yet: blocked until enrolled)."""
    if delivery not in ("ship", "pickup"):
        raise DomainError("delivery must be ship or pickup", field="delivery")
    region = region.strip().upper()
    if delivery == "ship" and not region:
        raise DomainError("a shipped membership needs a region", field="region")
    if delivery == "ship" and not address.strip():
        raise DomainError("a shipped membership needs an address", field="address")
    taken = select(Membership).where(Membership.club_id == club.id,
                                     Membership.customer_id == customer.id)  # fmt: skip
    if session.exec(taken).first() is not None:
        raise DomainError("the customer is already a member of this club", field="customer")
    mandate = _mandate_for(session, club, customer, mandate_id)
    row = Membership(
        club_id=club.id or 0, tier_id=tier.id or 0, customer_id=customer.id or 0,
        mandate_id=None if mandate is None else mandate.id, delivery=delivery,
        region=region if delivery == "ship" else "", address=address.strip()[:300],
        created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    events.emit(session, at=now, entity="membership", entity_id=row.id or 0, type="joined",
                club_id=club.id, tier=tier.name)  # fmt: skip
    return row


def _mandate_for(
    session: Session, club: Club, customer: Customer, mandate_id: int | None
) -> Mandate | None:
    if mandate_id is not None:
        mandate = session.get(Mandate, mandate_id)
        if mandate is None or mandate.customer_id != customer.id:
            raise DomainError(f"mandate {mandate_id} is not this customer's", field="mandate")
        if mandate.standing_instruction != PlanKind.RECURRING:
            raise DomainError(f"mandate {mandate_id} is {mandate.standing_instruction}, "
                              "a club needs a RECURRING one", field="mandate")  # fmt: skip
        return mandate
    query = select(Mandate).where(
        Mandate.customer_id == customer.id, Mandate.location_guid == club.location_guid,
        Mandate.standing_instruction == PlanKind.RECURRING,
        Mandate.status == MandateStatus.ACTIVE,
    ).order_by(col(Mandate.id).desc())  # fmt: skip
    return session.exec(query).first()


def hold(session: Session, member: Membership, *, until: date | None, now: datetime) -> None:
    """On hold until ``until`` (charged again from that date); ``None`` resumes at once."""
    target = "active" if until is None else "on_hold"
    if target == "on_hold" and until is not None and until <= now.date():
        raise DomainError("the hold must end after today", field="until")
    if member.status != target or target == "on_hold":
        member.status = rules.membership_move(member.status, target)
    member.hold_until = until
    events.emit(session, at=now, entity="membership", entity_id=member.id or 0,
                type=target, until=None if until is None else until.isoformat())  # fmt: skip
    if target == "on_hold":
        session.flush()
        notices.withdraw_not_chargeable(session, member.id or 0, now=now,
                                        why="the membership is on hold")  # fmt: skip


def cancel(session: Session, member: Membership, *, now: datetime) -> None:
    """The membership ends, and with it the consent its card was given for: the mandate's
    purpose ends (the engine revokes it at Toast once nothing is in flight) unless a live
    subscription or another live membership still charges it."""
    member.status = rules.membership_move(member.status, "cancelled")
    member.cancelled_at = now
    events.emit(session, at=now, entity="membership", entity_id=member.id or 0, type="cancelled")
    session.flush()
    notices.withdraw_not_chargeable(session, member.id or 0, now=now,
                                    why="the membership was cancelled")  # fmt: skip
    if member.mandate_id is None:
        return
    mandate = clubs_store.current_mandates(session, {member.mandate_id}).get(member.mandate_id)
    if mandate is not None and not _mandate_in_use(session, mandate.id or 0, member.id or 0):
        door.end_purpose(session, mandate.id or 0, now=now)


def _mandate_in_use(session: Session, mandate_id: int, but: int) -> bool:
    """Does a live subscription, or a live membership other than ``but``, charge this mandate
    (directly, or through a card it replaced)?"""
    subs = select(Subscription.id).where(Subscription.mandate_id == mandate_id,
                                         col(Subscription.status).in_(LIVE_SUBSCRIPTION))
    if session.exec(subs).first() is not None:
        return True
    others = select(Membership.mandate_id).where(
        col(Membership.id) != but, col(Membership.status) != "cancelled",
        col(Membership.mandate_id).is_not(None),
    )  # fmt: skip
    ids = {int(m) for m in session.exec(others).all() if m is not None}
    current = clubs_store.current_mandates(session, ids)
    return any((m.id or 0) == mandate_id for m in current.values())


# releases -----------------------------------------------------------------------------------
def create_release(
    session: Session, club: Club, *, title: str, process_on: date, at: time = time(0, 0),
    cutoff_before: timedelta = rules.DEFAULT_CUTOFF, now: datetime,
) -> Release:  # fmt: skip
    title = inputs.text(title, field="title", max_length=200)
    process_at = rules.process_instant(process_on, club.timezone, at)
    if process_at <= now:
        raise DomainError("the process date must be in the future", field="date")
    release = Release(
        club_id=club.id or 0, title=title, process_at=process_at,
        cutoff_at=rules.cutoff_instant(process_at, cutoff_before), created_at=now,
    )  # fmt: skip
    session.add(release)
    session.flush()
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="created")
    return release


def set_line(
    session: Session, release: Release, *, item: str, qty: int, retail_cents: int,
    now: datetime,
) -> ReleaseLine:  # fmt: skip
    """Add a package line, or change the quantity and price of the line of that item."""
    _editable_by_staff(release, now)
    line = rules.check_line(item, qty, retail_cents)
    existing = next((x for x in clubs_store.lines(session, release.id or 0)
                     if x.item == line.item), None)  # fmt: skip
    row = existing or ReleaseLine(release_id=release.id or 0, item=line.item, qty=0,
                                  retail_cents=0)  # fmt: skip
    row.qty, row.retail_cents = line.qty, line.retail_cents
    session.add(row)
    session.flush()
    return row


def remove_line(session: Session, release: Release, *, item: str, now: datetime) -> None:
    _editable_by_staff(release, now)
    for row in clubs_store.lines(session, release.id or 0):
        if row.item == item:
            session.delete(row)
            return
    raise DomainError(f"no line {item[:80]!r} in this release", field="item")


def _editable_by_staff(release: Release, now: datetime) -> None:
    why = rules.editable(now, status=release.status, cutoff_at=release.cutoff_at)
    if why is not None:
        raise DomainError(f"release {release.id} cannot change: {why}", field="release")


def open_release(session: Session, release: Release, *, now: datetime) -> None:
    if not clubs_store.lines(session, release.id or 0):
        raise DomainError("the release has no package lines: add some first", field="lines")
    if release.cutoff_at <= now:
        raise DomainError("the cutoff has passed: create a new release", field="release")
    release.status = rules.release_move(release.status, "open")
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="open")


def approve(session: Session, release: Release, *, now: datetime) -> None:
    """Staff's go after the preview. After a refused processing, approving again takes a new
    snapshot: staff have seen the differences in the preview. A release halted part-way
    (``processing``, a batch refused) takes the new rows of the members not charged yet only:
    those charged stay as they were charged."""
    halted = release.status == "processing" and release.refused is not None
    if release.status not in ("draft", "open") and not halted:
        raise DomainError(f"release {release.id} is {release.status}", field="release")
    release.approved_at = now
    if halted:
        done = release.charged_through
        kept = [r for r in release.snapshot or [] if int(r["membership_id"]) <= done]
        left = {int(r["membership_id"]) for r in release.snapshot or []} - {
            int(r["membership_id"]) for r in kept}  # fmt: skip
        fresh = preview.rows(session, release, only=left, now=now) if left else []
        release.snapshot, release.snapshot_at, release.refused = kept + fresh, now, None
    elif release.refused is not None:
        release.snapshot = preview.rows(session, release, now=now)
        release.snapshot_at, release.refused = now, None
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="approved")


def archive(session: Session, release: Release, *, now: datetime) -> int:
    """Close the release: every unstarted charge of it is withdrawn (never charged again, not
    even after a card update). Returns how many were withdrawn."""
    release.status = rules.release_move(release.status, "archived")
    release.archived_at = now
    withdrawn = 0
    for ship in clubs_store.shipments(session, release.id or 0).values():
        if ship.charge_id is None or ship.status in ("paid", "skipped", "cancelled"):
            continue
        key = clubs_store.charge_key(release.id or 0, ship.membership_id)
        if door.withdraw(session, clubs_store.SOURCE, key, reason="release archived", now=now):
            ship.status, ship.reason, ship.updated_at = "cancelled", "release archived", now
            withdrawn += 1
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="archived",
                withdrawn=withdrawn)  # fmt: skip
    return withdrawn


# a member's edits before the cutoff ---------------------------------------------------------
def _member_edit(session: Session, release: Release, member: Membership, now: datetime) -> Shipment:
    if member.club_id != release.club_id:
        raise DomainError("the member is not in this release's club", field="membership")
    if member.status == "cancelled":
        raise DomainError("the membership is cancelled", field="membership")
    why = rules.editable(now, status=release.status, cutoff_at=release.cutoff_at)
    if why is not None:
        raise DomainError(f"release {release.id} cannot change: {why}", field="release")
    ship = clubs_store.shipment(session, release.id or 0, member.id or 0)
    if ship is None:
        ship = Shipment(release_id=release.id or 0, membership_id=member.id or 0, updated_at=now)
        session.add(ship)
    if ship.ship_now_at is not None:
        raise DomainError("this shipment was shipped now and charged", field="shipment")
    ship.updated_at = now
    return ship


def skip(session: Session, release: Release, member: Membership, *, now: datetime) -> Shipment:
    club = clubs_store.club(session, str(release.club_id))
    ship = _member_edit(session, release, member, now)
    if ship.skipped_at is not None:
        return ship
    if not rules.can_skip(member.consecutive_skips, club.skip_cap):
        raise DomainError(f"skip refused: {member.consecutive_skips} releases in a row are "
                          f"skipped (the club allows {club.skip_cap})", field="skip")  # fmt: skip
    ship.skipped_at, ship.status = now, "skipped"
    member.consecutive_skips += 1
    session.flush()
    events.emit(session, at=now, entity="shipment", entity_id=ship.id or 0, type="skipped")
    notices.withdraw(session, release.id or 0, member.id or 0, now=now)
    return ship


def unskip(session: Session, release: Release, member: Membership, *, now: datetime) -> Shipment:
    ship = _member_edit(session, release, member, now)
    if ship.skipped_at is not None:
        ship.skipped_at, ship.status = None, "open"
        member.consecutive_skips = max(0, member.consecutive_skips - 1)
    session.flush()
    return ship


def customize(
    session: Session, release: Release, member: Membership, *,
    lines: Sequence[tuple[str, int, int]] | None = None, quantity: int | None = None,
    explicit_cents: int | None = None, reason: str | None = None, reset: bool = False,
    now: datetime,
) -> Shipment:  # fmt: skip
    """The member's own lines and/or package quantity; or (staff) an explicit amount with its
    reason. ``reset`` returns to the release's package."""
    if quantity is not None and not 1 <= quantity <= 12:
        raise DomainError(f"quantity must be 1..12 packages, got {quantity}", field="quantity")
    if explicit_cents is not None:
        money.validate_amount(explicit_cents, field="amount")
        if not (reason or "").strip():
            raise DomainError("an explicit amount needs a reason", field="reason")
    checked = [rules.check_line(*line) for line in lines] if lines else None
    ship = _member_edit(session, release, member, now)
    if reset:
        ship.override_lines, ship.quantity = None, 1
        ship.explicit_cents, ship.explicit_reason = None, None
    if checked is not None:
        ship.override_lines = [{"item": x.item, "qty": x.qty, "retail_cents": x.retail_cents}
                               for x in checked]  # fmt: skip
    if quantity is not None:
        ship.quantity = quantity
    if explicit_cents is not None:
        ship.explicit_cents, ship.explicit_reason = explicit_cents, (reason or "").strip()[:200]
    session.flush()
    events.emit(session, at=now, entity="shipment", entity_id=ship.id or 0, type="customized")
    return ship


def ship_now(session: Session, release: Release, member: Membership, *, now: datetime) -> Shipment:
    """Charge this member's shipment at once; processing never charges it again (the same
    door key: one charge per (release, member))."""
    if release.status != "open":
        raise DomainError(f"release {release.id} is {release.status}: open it first",
                          field="release")  # fmt: skip
    ship = _member_edit(session, release, member, now)
    if ship.skipped_at is not None:
        raise DomainError("the shipment is skipped: unskip it first", field="shipment")
    session.flush()
    [row] = preview.rows(session, release, only={member.id or 0}, now=now)
    if row["category"] != "chargeable":
        raise DomainError(f"cannot ship now: {row['reason'] or row['category']}",
                          field="membership")  # fmt: skip
    put = door.put(session, _spec(release, row, due_at=now), now=now)
    ship.ship_now_at, ship.status, ship.amount_cents = now, "charging", row["amount_cents"]
    ship.charge_id = put.charge.id
    events.emit(session, at=now, entity="shipment", entity_id=ship.id or 0, type="ship_now",
                amount_cents=row["amount_cents"])  # fmt: skip
    return ship


def _spec(release: Release, row: dict[str, object], *, due_at: datetime) -> door.ChargeSpec:
    return door.ChargeSpec(
        source=clubs_store.SOURCE,
        key=clubs_store.charge_key(release.id or 0, int(str(row["membership_id"]))),
        mandate_id=int(str(row["mandate_id"])), kind=PlanKind.RECURRING,
        amount_cents=int(str(row["amount_cents"])), due_at=due_at, check_item=release.title,
        reason=f"wine club release: {release.title}"[:200],  # what receipts and notices name
    )  # fmt: skip
