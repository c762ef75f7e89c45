"""The fee decision: a pure function of the policy the guest accepted (the snapshot), the party
size, the slot, the status history and now. Values in, a ``Decision`` out; no I/O.

- no-show -> fee; cancelled inside the free-cancellation window -> fee;
- cancelled before the window, seated or completed -> none; a no-show later reverted to
  seated -> none (a guest who came is never charged);
- a fee may be charged only from ``reported + confirmation delay`` (so a mistaken status can be
  reverted before anything is sent) and never after ``slot + last moment``.

Time: every instant is UTC-aware. The free-cancellation deadline is computed both in elapsed
hours and on the restaurant's wall clock (its IANA zone), and the *later* of the two is used, so
a DST change never makes the window longer for the guest than the policy text says ("24 hours
before a 19:00 slot" is free at 19:00 the evening before, even across a spring-forward night).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from billing.domain import calendar, money
from billing.errors import DomainError, InvalidTransition


class Per(StrEnum):
    PERSON = "person"
    RESERVATION = "reservation"


class Status(StrEnum):
    BOOKED = "booked"
    SEATED = "seated"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# A no-show may be reverted (the guest arrived late, staff pressed the wrong button).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOOKED: frozenset({Status.SEATED, Status.CANCELLED, Status.NO_SHOW}),
    Status.NO_SHOW: frozenset({Status.SEATED, Status.COMPLETED}),
    Status.SEATED: frozenset({Status.COMPLETED}),
    Status.CANCELLED: frozenset(),
    Status.COMPLETED: frozenset(),
}
CAME = frozenset({Status.SEATED, Status.COMPLETED})


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A fee policy version as the guest accepted it."""

    per: Per
    amount_cents: int
    cap_cents: int | None
    free_cancel_hours: int
    confirm_delay: timedelta
    last_moment: timedelta
    timezone: str
    label: str = "policy"  # "code v2": named in reasons and on the check item

    def __post_init__(self) -> None:
        check_policy(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """One status as reported: ``at`` is when it happened (a cancellation's own instant),
    ``reported_at`` when the reservation system told us."""

    status: Status
    at: datetime
    reported_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """``amount_cents`` None: no fee. ``charge_at``: the earliest instant the fee may be sent;
    ``last_moment``: nothing is charged after it. ``closed``: no later report can bring a fee
    (the consent may end once no charge is pending)."""

    amount_cents: int | None
    reason: str
    charge_at: datetime | None
    last_moment: datetime
    closed: bool


def check_policy(policy: Policy) -> None:
    if not 0 <= policy.amount_cents <= money.MAX_CENTS:
        raise DomainError("amount must be 0 to 999,999.99", field="amount")
    if policy.cap_cents is not None and not 1 <= policy.cap_cents <= money.MAX_CENTS:
        raise DomainError("cap must be 0.01 to 999,999.99", field="cap")
    if not 0 <= policy.free_cancel_hours <= 24 * 30:
        raise DomainError("free-cancellation window must be 0 to 720 hours", field="window")
    if not timedelta(0) <= policy.confirm_delay <= timedelta(hours=24):
        raise DomainError("confirmation delay must be 0 to 1440 minutes", field="delay")
    if not timedelta(hours=1) <= policy.last_moment <= timedelta(days=30):
        raise DomainError("last moment must be 1 to 720 hours after the slot",
                          field="last_moment")  # fmt: skip
    calendar.zone(policy.timezone)


def full_fee(policy: Policy, party_size: int) -> int:
    """The policy's fee for this party: per person or per reservation, then the cap."""
    if party_size < 1:
        raise DomainError("party size must be at least 1", field="party_size")
    fee = min(policy.amount_cents * (party_size if policy.per == Per.PERSON else 1),
              money.MAX_CENTS)  # what one Toast payment can carry  # fmt: skip
    return fee if policy.cap_cents is None else min(fee, policy.cap_cents)


def free_cancel_deadline(policy: Policy, slot: datetime) -> datetime:
    """Cancelling at or before this instant is free: the later of N elapsed hours and N hours on
    the restaurant's clock before the slot."""
    calendar.require_aware(slot, "slot")
    hours = timedelta(hours=policy.free_cancel_hours)
    local = slot.astimezone(calendar.zone(policy.timezone))
    on_the_wall = (local - hours).astimezone(UTC)  # aware arithmetic is wall-clock arithmetic
    return max(slot - hours, on_the_wall)


def last_moment(policy: Policy, slot: datetime) -> datetime:
    return slot.astimezone(UTC) + policy.last_moment


def current(history: Sequence[Report]) -> Status:
    return history[-1].status if history else Status.BOOKED


def check_transition(history: Sequence[Report], to: Status) -> None:
    """Refuse a status the reservation cannot move to from its current one."""
    now_status = current(history)
    if to not in TRANSITIONS[now_status]:
        raise InvalidTransition("reservation", now_status, to)


def decide(
    policy: Policy, *, party_size: int, slot: datetime, history: Sequence[Report], now: datetime
) -> Decision:
    """The fee for this reservation now (``history`` in the order it was reported)."""
    calendar.require_aware(now, "now")
    last = last_moment(policy, slot)
    status = current(history)
    if status in CAME:
        return _none(_came_reason(history), last, closed=True)
    if status == Status.BOOKED:
        if now > last:
            return _none("no status reported by the last moment: honoured", last, closed=True)
        return _none("booked: no fee unless a no-show or a late cancellation", last, False)
    report = history[-1]
    if status == Status.CANCELLED:
        deadline = free_cancel_deadline(policy, slot)
        if report.at <= deadline:  # "at least N hours before" is free
            return _none(f"cancelled before the free-cancellation deadline "
                         f"({_local(deadline, policy)})", last, closed=True)  # fmt: skip
        why = f"cancelled inside the {policy.free_cancel_hours}-hour window"
    else:
        why = "no-show"
    return _fee(policy, party_size, report, last, now, why)


def _fee(
    policy: Policy, party_size: int, report: Report, last: datetime, now: datetime, why: str
) -> Decision:
    charge_at = report.reported_at + policy.confirm_delay
    if charge_at > last or now > last:
        return _none(f"{why}, but past the last moment ({_local(last, policy)}): no fee",
                     last, closed=True)  # fmt: skip
    amount = full_fee(policy, party_size)
    if amount == 0:
        return _none(f"{why}: {policy.label} has no fee", last, closed=True)
    capped = policy.cap_cents is not None and amount == policy.cap_cents
    detail = f"{why}: {policy.label}, {_basis(policy, party_size)}" + (" (cap)" if capped else "")
    return Decision(amount_cents=amount, reason=detail, charge_at=charge_at, last_moment=last,
                    closed=False)  # fmt: skip


def _basis(policy: Policy, party_size: int) -> str:
    each = money.format_cents(policy.amount_cents)
    if policy.per == Per.PERSON:
        return f"{each} x {party_size} guests"
    return f"{each} per reservation"


def _came_reason(history: Sequence[Report]) -> str:
    if any(r.status == Status.NO_SHOW for r in history):
        return "seated: the no-show was reverted"
    return f"{current(history)}: the guest came"


def _none(reason: str, last: datetime, closed: bool) -> Decision:
    return Decision(amount_cents=None, reason=reason, charge_at=None, last_moment=last,
                    closed=closed)  # fmt: skip


def _local(instant: datetime, policy: Policy) -> str:
    return instant.astimezone(calendar.zone(policy.timezone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Adjustment:
    """Staff lower the fee to ``amount_cents`` (0: waive), with a reason and their name."""

    amount_cents: int
    reason: str
    staff: str


def adjusted(decision: Decision, adjustment: Adjustment | None) -> Decision:
    """The decision after staff's last adjustment (which can only lower it)."""
    if adjustment is None or decision.amount_cents is None:
        return decision
    if adjustment.amount_cents == 0:
        return Decision(amount_cents=None, reason=f"waived by {adjustment.staff}: "
                        f"{adjustment.reason}", charge_at=None,
                        last_moment=decision.last_moment, closed=True)  # fmt: skip
    amount = min(adjustment.amount_cents, decision.amount_cents)
    reason = f"{decision.reason}; lowered to {money.format_cents(amount)} by {adjustment.staff}: "
    return Decision(amount_cents=amount, reason=(reason + adjustment.reason)[:300],
                    charge_at=decision.charge_at, last_moment=decision.last_moment,
                    closed=decision.closed)  # fmt: skip


def check_lower(amount_cents: int, *, fee_cents: int | None, cap_cents: int | None) -> None:
    """Staff may lower a pending fee, never above the cap nor above the fee itself."""
    if fee_cents is None:
        raise DomainError("there is no fee to lower", field="amount")
    if amount_cents < 1:
        raise DomainError("amount must be at least 0.01 (waive to charge nothing)",
                          field="amount")  # fmt: skip
    if cap_cents is not None and amount_cents > cap_cents:
        raise DomainError(f"amount {money.format_cents(amount_cents)} is above the policy's cap "
                          f"{money.format_cents(cap_cents)}", field="amount")  # fmt: skip
    if amount_cents > fee_cents:
        raise DomainError(f"amount {money.format_cents(amount_cents)} is above the fee "
                          f"{money.format_cents(fee_cents)}: staff may only lower it",
                          field="amount")  # fmt: skip
