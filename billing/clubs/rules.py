"""The wine-club rules, pure: values in, decisions out (no I/O, no ORM).

Amount rule, in integer cents, in this order:

1. the lines: the release's package lines (or the member's customized lines), each quantity
   times the member's package quantity (default 1);
2. each line at the club price: ``qty * retail`` less the tier's discount percent, **rounded
   half up per line** (``1999 * 85% = 1699.15 -> 1699``; ``.5`` goes up);
3. goods = the sum of the discounted lines;
4. shipping: the club's flat amount for the member's region (``*`` is every other region);
   none for pickup;
5. tax on the **goods subtotal only** (not shipping) at the rate of the ship-to region (the
   club's own region for pickup), in parts per million of the goods (7.25 % = 72,500;
   8.875 % = 88,750), **rounded half up once** on the subtotal;
6. total = goods + shipping + tax. A staff-set explicit amount (with its reason) replaces it.

A region with no shipping rate (and no ``*``), or no tax rate, is missing data: the member is
*blocked* with that reason, never charged a guess.

Times: a release processes at its local date's 00:00 (or the given local time) in the club's
zone. On a DST gap the first instant at or after that wall time is used; on a fold, the first
of the two. The edit cutoff is one minute before, by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from billing.errors import DomainError, InvalidTransition

DEFAULT_CUTOFF = timedelta(minutes=1)
DEFAULT_SKIP_CAP = 3
DEFAULT_RETRY_DAYS = tuple(range(1, 11))  # daily for 10 days (Winehub's default)
DEFAULT_FINAL_ACTION = "skip"
ANY_REGION = "*"
MAX_CENTS = 99_999_999

# Release states and their allowed moves. processing/processed/open may be archived: an
# archived release is never charged again (its unstarted charges are withdrawn).
RELEASE_MOVES: dict[str, frozenset[str]] = {
    "draft": frozenset({"open", "archived"}),
    "open": frozenset({"processing", "archived"}),
    "processing": frozenset({"processed", "archived"}),
    "processed": frozenset({"archived"}),
    "archived": frozenset(),
}
MEMBERSHIP_MOVES: dict[str, frozenset[str]] = {
    "active": frozenset({"on_hold", "cancelled"}),
    "on_hold": frozenset({"active", "on_hold", "cancelled"}),
    "cancelled": frozenset(),
}

Category = Literal[
    "chargeable", "skipped", "shipped_now", "on_hold", "cancelled", "blocked", "not_eligible"
]


def release_move(current: str, target: str) -> str:
    if target not in RELEASE_MOVES.get(current, frozenset()):
        raise InvalidTransition("release", current, target)
    return target


def membership_move(current: str, target: str) -> str:
    if target not in MEMBERSHIP_MOVES.get(current, frozenset()):
        raise InvalidTransition("membership", current, target)
    return target


# money --------------------------------------------------------------------------------------
def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up (both non-negative)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class Line:
    item: str
    qty: int
    retail_cents: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    item: str
    qty: int
    retail_cents: int
    net_cents: int  # qty * retail less the discount, rounded half up


@dataclass(frozen=True, slots=True)
class Amount:
    lines: tuple[PricedLine, ...]
    goods_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    explicit: bool = False


def check_line(item: str, qty: int, retail_cents: int) -> Line:
    if not item.strip() or len(item) > 200:
        raise DomainError("item must be 1 to 200 characters", field="item")
    if not 1 <= qty <= 1000:
        raise DomainError(f"quantity must be 1..1000, got {qty}", field="qty")
    if not 0 <= retail_cents <= MAX_CENTS:
        raise DomainError(f"retail price must be 0..{MAX_CENTS} cents", field="retail")
    return Line(item.strip(), qty, retail_cents)


def check_discount(pct: int) -> int:
    if not 0 <= pct <= 100:
        raise DomainError(f"discount must be 0..100 percent, got {pct}", field="discount")
    return pct


def price_lines(lines: Sequence[Line], *, discount_pct: int, quantity: int = 1) -> tuple[
    PricedLine, ...
]:
    check_discount(discount_pct)
    if quantity < 1:
        raise DomainError(f"quantity must be at least 1, got {quantity}", field="quantity")
    priced = []
    for line in lines:
        qty = line.qty * quantity
        net = half_up(qty * line.retail_cents * (100 - discount_pct), 100)
        priced.append(PricedLine(line.item, qty, line.retail_cents, net))
    return tuple(priced)


def shipping_for(table: Mapping[str, int], region: str, *, pickup: bool) -> int | None:
    """Flat shipping for the region (``*`` for any other); 0 for pickup; None: no rate."""
    if pickup:
        return 0
    if region in table:
        return int(table[region])
    return int(table[ANY_REGION]) if ANY_REGION in table else None


def tax_rate_for(rates: Mapping[str, int], region: str) -> int | None:
    """The region's rate in parts per million (``*`` for any other); None: no rate."""
    if region in rates:
        return int(rates[region])
    return int(rates[ANY_REGION]) if ANY_REGION in rates else None


def amount(
    lines: Sequence[Line], *, discount_pct: int, quantity: int, shipping_cents: int,
    tax_ppm: int, explicit_cents: int | None = None,
) -> Amount:  # fmt: skip
    priced = price_lines(lines, discount_pct=discount_pct, quantity=quantity)
    goods = sum(p.net_cents for p in priced)
    tax = half_up(goods * tax_ppm, 1_000_000)
    total = goods + shipping_cents + tax
    if explicit_cents is not None:
        return Amount(priced, goods, shipping_cents, tax, explicit_cents, explicit=True)
    return Amount(priced, goods, shipping_cents, tax, total)


# who is charged -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Member:
    """What the decision needs of a member for one release."""

    status: str  # active | on_hold | cancelled
    hold_until: date | None
    joined_at: datetime
    skipped: bool
    shipped_now: bool
    mandate_status: str | None  # None: no mandate
    card_exp: tuple[int, int] | None  # (month, year)


@dataclass(frozen=True, slots=True)
class Verdict:
    category: Category
    reason: str = ""


def on_hold(status: str, hold_until: date | None, on: date) -> bool:
    """On hold on ``on``: a hold ends on its until-date (the member is charged from then)."""
    return status == "on_hold" and (hold_until is None or on < hold_until)


def card_expired(exp: tuple[int, int] | None, on: date) -> bool:
    if exp is None:
        return False
    month, year = exp
    year = year + 2000 if 0 <= year < 100 else year
    return (on.year, on.month) > (year, month)


def verdict(member: Member, *, cutoff_at: datetime, process_on: date) -> Verdict:
    """Where a member stands for a release processed on local date ``process_on``."""
    if member.joined_at >= cutoff_at:
        return Verdict("not_eligible", "joined after the cutoff")
    if member.status == "cancelled":
        return Verdict("cancelled", "membership cancelled")
    if on_hold(member.status, member.hold_until, process_on):
        until = f" until {member.hold_until.isoformat()}" if member.hold_until else ""
        return Verdict("on_hold", f"on hold{until}")
    if member.shipped_now:
        return Verdict("shipped_now", "shipped now: charged at once")
    if member.skipped:
        return Verdict("skipped", "skipped by the member")
    if member.mandate_status is None:
        return Verdict("blocked", "no mandate: the member has no card on file")
    if member.mandate_status != "active":
        return Verdict("blocked", f"mandate {member.mandate_status}: ask for a new card")
    if card_expired(member.card_exp, process_on):
        month, year = member.card_exp or (0, 0)
        return Verdict("blocked", f"card expired {month:02d}/{year % 100:02d}: ask for a new card")
    return Verdict("chargeable")


def can_skip(consecutive_skips: int, cap: int) -> bool:
    """A member may skip while fewer than ``cap`` releases in a row are skipped."""
    return consecutive_skips < cap


def editable(now: datetime, *, status: str, cutoff_at: datetime) -> str | None:
    """None when a member's edit is allowed now, else why not."""
    if now >= cutoff_at:
        return f"edits closed at the cutoff ({cutoff_at.isoformat()})"
    if status not in ("draft", "open"):
        return f"the release is {status}"
    return None


# time ---------------------------------------------------------------------------------------
def local_instant(day: date, at: time, tz: str) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``tz``: the first one on a fold, and
    on a DST gap the first instant whose wall time is at or after ``at``."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if second.astimezone(zone).replace(tzinfo=None) == wall:
        return second
    low, high = min(first, second), max(first, second)  # the gap lies between: bisect
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def process_instant(day: date, tz: str, at: time = time(0, 0)) -> datetime:
    return local_instant(day, at, tz)


def cutoff_instant(process_at: datetime, before: timedelta = DEFAULT_CUTOFF) -> datetime:
    if before < timedelta(0):
        raise DomainError("the cutoff must be before the process instant", field="cutoff")
    return process_at - before


def local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


# preview equality ---------------------------------------------------------------------------
def differences(
    snapshot: Sequence[Mapping[str, object]], fresh: Sequence[Mapping[str, object]]
) -> list[str]:
    """What differs between the preview stored at the cutoff and a fresh one (per member:
    category and amount). Empty: processing charges exactly the snapshot."""
    def keyed(rows: Sequence[Mapping[str, object]]) -> dict[object, tuple[object, object]]:
        return {r["membership_id"]: (r["category"], r.get("amount_cents")) for r in rows}

    old, new = keyed(snapshot), keyed(fresh)
    found = []
    for member in sorted(set(old) | set(new), key=str):
        if old.get(member) != new.get(member):
            found.append(f"member {member}: {_show(old.get(member))} -> {_show(new.get(member))}")
    return found


def _show(entry: tuple[object, object] | None) -> str:
    if entry is None:
        return "absent"
    category, cents = entry
    return f"{category}" if cents is None else f"{category} {cents}c"


# release notices ----------------------------------------------------------------------------
# Card-network rule: a merchant-initiated charge under changed terms needs notice first. Each
# release's amount is new, so each chargeable member is told once per release (the club's
# ``notice_days``, default 7, before the edit cutoff, or at once when the release opens later),
# and a member whose notice was not sent by the cutoff is blocked, never charged.
DEFAULT_NOTICE_DAYS = 7
NOTICE_MISSING = "required notice missing: the release notice was not sent by the cutoff"


def notice_due(now: datetime, *, cutoff_at: datetime, days: int) -> bool:
    """Is it time to send the release notice (from ``days`` before the cutoff until it)?"""
    return days > 0 and cutoff_at - timedelta(days=days) <= now < cutoff_at


def notice_blocks(*, days: int, sent_at: datetime | None, cutoff_at: datetime,
                  now: datetime | None) -> bool:  # fmt: skip
    """Is a chargeable member blocked for want of their release notice? Only once the cutoff
    is reached (``now`` None: judged as at the cutoff): before it the notice may still go."""
    if days <= 0 or (sent_at is not None and sent_at <= cutoff_at):
        return False
    return now is None or now >= cutoff_at
