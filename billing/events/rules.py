"""The rules of catering and events payment schedules: values in, decisions out (no I/O).

**Milestones.** A schedule is a list of milestones, each one of:

- ``percent``: a share of the event's *current* total, in basis points (2500 = 25%);
- ``fixed``: an amount in cents;
- ``remainder``: what is left, total - everything paid - everything still planned.

Every schedule has exactly one remainder milestone, due last (nothing after it), so the
schedule always collects the whole total. A milestone is due at signing (``days_before`` is
None) or at ``days_before`` days before the event's local date, at a local time (default 09:00)
in the location's zone (DST safe: ``billing.domain.calendar.local_instant``).

**Rounding rule.** A percentage is rounded half up to the cent (``12.5`` cents -> 13); the
remainder absorbs every difference, so the milestones always add up to the total exactly.
Milestones are allocated in due order: each unpaid milestone takes at most what is left of the
total, so when the total falls below what is planned, later milestones shrink first and none
is ever negative; a milestone of zero means nothing to charge. A paid (or started) milestone
never changes; one that failed is no longer planned, so the remainder absorbs it; one staff
waived is written off: it counts against the total without being charged. Paid more
than the new total is ``overpaid`` (owed back, never negative anywhere else).

**Guarantee rule.** The guest count is fixed at the guarantee date (default: the day before the
last milestone's local due date). Through the end of that local day it may move either way;
after it, it may rise but not fall.

**Cancellation.** Tiers by whole days between the cancellation's local date and the event's
local date: the tier with the largest ``min_days_before`` not above that count applies (a
schedule always has a tier at 0 days, which also covers a cancellation after the start). A
tier retains the deposit (the first milestone, when paid) if ``keep_deposit``, plus
``retain_bp`` basis points of the rest of what was paid (half up to the cent); the refund
owed is what was paid minus what is retained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from billing.domain import calendar
from billing.errors import DomainError, InvalidSchedule

Kind = Literal["percent", "fixed", "remainder"]
KINDS: tuple[Kind, ...] = ("percent", "fixed", "remainder")
FULL_BP = 10_000  # 100% in basis points
DEFAULT_TIME = time(9, 0)
NAME_MAX = 40
MAX_DAYS_BEFORE = 3660
MAX_TOTAL_CENTS = 99_999_999


class EventStatus(StrEnum):
    TENTATIVE = "tentative"  # no mandate yet: nothing is charged
    BOOKED = "booked"  # a mandate: the schedule is live
    BALANCE_DUE = "balance_due"  # a milestone was declined, failed or held
    PAID_IN_FULL = "paid_in_full"
    CLOSED = "closed"
    CANCELLED = "cancelled"


_MOVES: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.TENTATIVE: frozenset({EventStatus.BOOKED, EventStatus.CANCELLED}),
    EventStatus.BOOKED: frozenset({EventStatus.BALANCE_DUE, EventStatus.PAID_IN_FULL,
                                   EventStatus.CLOSED, EventStatus.CANCELLED}),
    EventStatus.BALANCE_DUE: frozenset({EventStatus.BOOKED, EventStatus.PAID_IN_FULL,
                                        EventStatus.CLOSED, EventStatus.CANCELLED}),
    # a total that rises after paid in full: the difference is owed (through a payment link)
    # (and it may still be cancelled before it takes place: the tiers apply)
    EventStatus.PAID_IN_FULL: frozenset({EventStatus.CLOSED, EventStatus.BALANCE_DUE,
                                         EventStatus.CANCELLED}),
    EventStatus.CLOSED: frozenset(),
    EventStatus.CANCELLED: frozenset(),
}  # fmt: skip
# States in which nothing is ever charged again.
FINISHED = frozenset({EventStatus.CLOSED, EventStatus.CANCELLED})


def move(current: str, target: EventStatus) -> EventStatus:
    """``target`` if an event may go there from ``current`` (staying put is allowed)."""
    now = EventStatus(current)
    if now == target or target in _MOVES[now]:
        return target
    raise DomainError(f"an event cannot go from {now} to {target}", field="status")


@dataclass(frozen=True, slots=True, kw_only=True)
class Milestone:
    name: str
    kind: Kind
    value: int = 0  # basis points (percent), cents (fixed), 0 (remainder)
    days_before: int | None = None  # None: at signing
    at: time = DEFAULT_TIME


def check_schedule(milestones: Sequence[Milestone]) -> None:
    """Refuse a schedule that would not collect its total exactly, naming the field."""
    if not milestones:
        raise InvalidSchedule("a schedule needs at least one milestone", field="milestones")
    names = [m.name for m in milestones]
    for m in milestones:
        if not m.name or len(m.name) > NAME_MAX or ":" in m.name or m.name != m.name.strip():
            raise InvalidSchedule(f"milestone name {m.name!r} must be 1 to {NAME_MAX} "
                                  "characters without ':'", field="milestones.name")  # fmt: skip
        if m.kind not in KINDS:
            raise InvalidSchedule(f"milestone {m.name}: kind must be one of {KINDS}",
                                  field="milestones.kind")  # fmt: skip
        if m.days_before is not None and not 0 <= m.days_before <= MAX_DAYS_BEFORE:
            raise InvalidSchedule(f"milestone {m.name}: days before must be 0..{MAX_DAYS_BEFORE}",
                                  field="milestones.days_before")  # fmt: skip
        if m.kind == "percent" and not 1 <= m.value <= FULL_BP:
            raise InvalidSchedule(f"milestone {m.name}: a percentage must be 0.01..100",
                                  field="milestones.value")  # fmt: skip
        if m.kind == "fixed" and not 1 <= m.value <= MAX_TOTAL_CENTS:
            raise InvalidSchedule(f"milestone {m.name}: a fixed amount must be $0.01.."
                                  "$999,999.99", field="milestones.value")  # fmt: skip
        if m.kind == "remainder" and m.value != 0:
            raise InvalidSchedule(f"milestone {m.name}: the remainder takes no value",
                                  field="milestones.value")  # fmt: skip
    if len(set(names)) != len(names):
        raise InvalidSchedule("milestone names must be unique", field="milestones.name")
    remainders = [m for m in milestones if m.kind == "remainder"]
    if len(remainders) != 1:
        raise InvalidSchedule("a schedule needs exactly one remainder milestone (the balance)",
                              field="milestones.kind")  # fmt: skip
    last = remainders[0]
    if any(_order(m) > _order(last) for m in milestones if m is not last):
        raise InvalidSchedule(f"the remainder ({last.name}) must be the last milestone due",
                              field="milestones.days_before")  # fmt: skip
    if sum(m.value for m in milestones if m.kind == "percent") > FULL_BP:
        raise InvalidSchedule("percentages add up to more than 100%", field="milestones.value")


def _order(m: Milestone) -> tuple[int, int]:
    """Due order without a date: signing first, then by days before (more days = earlier)."""
    if m.days_before is None:
        return (0, 0)
    return (1, -m.days_before * 1440 + m.at.hour * 60 + m.at.minute)


def in_due_order(milestones: Sequence[Milestone]) -> list[Milestone]:
    return sorted(milestones, key=_order)


def percent_of(total: int, bp: int) -> int:
    """``bp`` basis points of ``total`` cents, rounded half up to the cent."""
    return (total * bp + FULL_BP // 2) // FULL_BP


# --- amounts -------------------------------------------------------------------------------
# may change / paid or in flight / failed, cancelled / written off by staff
Standing = Literal["open", "locked", "gone", "waived"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    amounts: dict[str, int]  # every milestone's amount now (locked ones: what they took)
    overpaid: int  # locked amounts above the total (owed back)
    unplaced: int = 0  # owed but no open milestone can take it (the remainder paid or waived)


def allocate(
    milestones: Sequence[Milestone], total: int, standing: Mapping[str, tuple[Standing, int]]
) -> Allocation:
    """Each milestone's amount for ``total``. ``standing[name]`` is ``("locked", cents)`` for a
    milestone paid or in flight (its amount never changes), ``("gone", cents)`` for one that
    failed or was withdrawn (not planned any more: the remainder absorbs it), ``("waived",
    cents)`` for one staff wrote off (counted against the total, never charged: the remainder
    is total - paid - written off), ``("open", _)`` or absent for the rest."""
    if total < 0:
        raise DomainError("the total cannot be negative", field="total")
    amounts: dict[str, int] = {}
    locked = written_off = 0
    for m in milestones:
        state, cents = standing.get(m.name, ("open", 0))
        if state != "open":
            amounts[m.name] = cents
            locked += cents if state == "locked" else 0
            written_off += cents if state == "waived" else 0
    left = total - locked - written_off
    for m in in_due_order(milestones):
        if m.name in amounts or m.kind == "remainder":
            continue
        wanted = percent_of(total, m.value) if m.kind == "percent" else m.value
        amounts[m.name] = max(0, min(wanted, left))
        left -= amounts[m.name]
    unplaced = max(0, left)
    for m in milestones:
        if m.kind == "remainder" and m.name not in amounts:
            amounts[m.name], unplaced = max(0, left), 0
    return Allocation(amounts=amounts, overpaid=max(0, locked - total), unplaced=unplaced)


EXTRA = "extra"  # the name prefix of a milestone added for what the schedule cannot place


def extra_name(names: Sequence[str]) -> str:
    """The next ``extra-N`` milestone name not taken."""
    n = 1
    while f"{EXTRA}-{n}" in names:
        n += 1
    return f"{EXTRA}-{n}"


def check_rise_after_paid(
    *, old_total: int, new_total: int, now: datetime, start: datetime
) -> None:
    """A paid-in-full event's total may rise before the event (the difference is then owed);
    it may not fall (a refund is staff's to make in Toast), nor change once it has started."""
    if now >= start:
        raise DomainError("the event is paid in full and has started: nothing can change",
                          field="event")  # fmt: skip
    if new_total < old_total:
        raise DomainError("the event is paid in full: its total may rise (the difference is "
                          "then owed), not fall; refund the guest in Toast", field="guests")


# --- dates -----------------------------------------------------------------------------------
def due_at(m: Milestone, *, event_day: date, tz: str, signed_at: datetime) -> datetime:
    """When ``m`` falls due (UTC): at signing, or its local time ``days_before`` days before
    the event's local date."""
    if m.days_before is None:
        return signed_at
    return calendar.local_instant(event_day - timedelta(days=m.days_before), m.at, tz)


EXTRA_LEAD = timedelta(days=3)  # an extra milestone's notice comes this long before its charge
EXTRA_LATEST = timedelta(hours=12)  # ... unless the event is nearer: then this long before it
EXTRA_SOONEST = timedelta(hours=1)  # and never sooner than this, so the notice goes out first


def extra_due(*, now: datetime, start: datetime) -> datetime:
    """When an extra milestone (what the schedule can no longer place, under a live mandate)
    falls due: the guest is told its exact amount first, as for any milestone, so not at once
    but ``EXTRA_LEAD`` later, or half a day before a nearer event, and at least an hour on.
    If that is on or after the start, staff must confirm it (``charge_at`` answers None)."""
    return max(min(now + EXTRA_LEAD, start - EXTRA_LATEST), now + EXTRA_SOONEST)


def charge_at(due: datetime, *, now: datetime, start: datetime) -> datetime | None:
    """When to charge a milestone due at ``due``: then, or now if that has passed; None when
    it would fall on or after the event's start (never charged then without staff)."""
    at = max(due, now)
    return None if at >= start else at


def default_guarantee(
    milestones: Sequence[Milestone], *, event_day: date, tz: str, signed_at: datetime
) -> date:
    """The day before the last milestone's local due date."""
    last = in_due_order(milestones)[-1]
    due = due_at(last, event_day=event_day, tz=tz, signed_at=signed_at)
    return due.astimezone(calendar.zone(tz)).date() - timedelta(days=1)


def guarantee_after_edit(
    current: date, before: Sequence[Milestone], after: Sequence[Milestone], *, event_day: date,
    tz: str, signed_at: datetime,
) -> date:  # fmt: skip
    """The guarantee date once the schedule changed from ``before`` to ``after``: a date that
    was the default (the day before the last milestone) follows the new last milestone; one
    staff set at booking stays."""
    old = default_guarantee(before, event_day=event_day, tz=tz, signed_at=signed_at)
    if current != old:
        return current
    return default_guarantee(after, event_day=event_day, tz=tz, signed_at=signed_at)


def check_guests(current: int, new: int, *, today: date, guarantee: date) -> None:
    """Refuse a guest count that breaks the guarantee rule (or is not a count)."""
    if not 1 <= new <= 100_000:
        raise DomainError("guests must be 1..100000", field="guests")
    if new < current and today > guarantee:
        raise DomainError(
            f"the guest count was guaranteed on {guarantee}: it may rise, not fall "
            f"(now {current})", field="guests",
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    per_guest_cents: int = 0
    fixed_cents: int = 0
    total_cents: int | None = None  # an explicit total set by staff overrides the rule


def total(price: Price, guests: int) -> int:
    if price.total_cents is not None:
        return price.total_cents
    return price.per_guest_cents * guests + price.fixed_cents


def check_price(price: Price, guests: int) -> None:
    if price.per_guest_cents < 0:
        raise DomainError("the per-guest price cannot be negative", field="per_guest")
    if price.fixed_cents < 0:
        raise DomainError("fixed items cannot be negative", field="fixed")
    if price.total_cents is not None and price.total_cents < 1:
        raise DomainError("an explicit total must be at least $0.01", field="total")
    amount = total(price, guests)
    if not 1 <= amount <= MAX_TOTAL_CENTS:
        raise DomainError(f"the total must be $0.01..$999,999.99, got {amount} cents",
                          field="total")  # fmt: skip


# --- cancellation -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    min_days_before: int
    keep_deposit: bool = False
    retain_bp: int = 0  # of what was paid beyond the deposit


def check_tiers(tiers: Sequence[Tier]) -> None:
    days = [t.min_days_before for t in tiers]
    if 0 not in days:
        raise InvalidSchedule("cancellation tiers need one at 0 days", field="tiers")
    if len(set(days)) != len(days) or any(d < 0 for d in days):
        raise InvalidSchedule("tier days must be distinct and >= 0", field="tiers")
    if any(not 0 <= t.retain_bp <= FULL_BP for t in tiers):
        raise InvalidSchedule("a tier retains 0..100% of what was paid", field="tiers")


def tier_for(tiers: Sequence[Tier], *, days_before: int) -> Tier:
    ordered = sorted(tiers, key=lambda t: t.min_days_before)
    chosen = ordered[0]
    for tier in ordered:
        if tier.min_days_before <= days_before:
            chosen = tier
    return chosen


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    tier: Tier
    paid: int
    retained: int
    refund_owed: int


def cancellation(
    tiers: Sequence[Tier], *, days_before: int, paid: int, deposit_paid: int
) -> Settlement:
    """What a cancellation ``days_before`` days before the event keeps of ``paid``."""
    tier = tier_for(tiers, days_before=days_before)
    deposit = min(deposit_paid, paid) if tier.keep_deposit else 0
    retained = min(paid, deposit + percent_of(paid - deposit, tier.retain_bp))
    return Settlement(tier=tier, paid=paid, retained=retained, refund_owed=paid - retained)


def days_before(event_day: date, when: datetime, tz: str) -> int:
    """Whole local days from ``when`` to the event's date (negative after it)."""
    return (event_day - when.astimezone(calendar.zone(tz)).date()).days


# --- payment links ----------------------------------------------------------------------------
class LinkState(StrEnum):
    OPEN = "open"  # the guest may pay
    USED = "used"  # paid through this link
    SETTLED = "settled"  # nothing to pay any more (booked some other way, cancelled, closed)
    EXPIRED = "expired"


def link_state(
    *, now: datetime, expires_at: datetime, used_at: datetime | None, payable: bool
) -> LinkState:
    """A used link stays used; then whether the event still owes what the link is for; then
    the clock."""
    if used_at is not None:
        return LinkState.USED
    if not payable:
        return LinkState.SETTLED
    if now >= expires_at:
        return LinkState.EXPIRED
    return LinkState.OPEN
