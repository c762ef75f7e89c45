"""Dunning: what to do after a declined charge. A pure policy returning a decision value.

Retries fall on fixed days counted from the *first* decline (default 1, 3, 7 and 14 days
after it), not chained from the previous retry. Some declines are never retried: the type
FRAUDULENT, lost/stolen/invalid cards, an expired card (it cannot succeed until the customer
gives a new one) and explicit do-not-retry codes; unknown codes are retried. The card
networks cap re-attempts (Visa: at most 15 of one charge in 30 days). When dunning ends the
charge fails and the subscription is paused, cancelled or left to bill its next cycle
(``skip``); an installment plan is defaulted, and its other open charges are cancelled (or
held for a human: ``on_default``).

An expired card is not a failure of the charge: the card is gone, not the debt. The charge
is held for a human (``HoldForNewCard``) and never retried on that card; a replaced card
collects it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from billing.domain import calendar
from billing.domain.states import PlanKind, SubscriptionStatus
from billing.errors import DomainError, InvalidSchedule

FinalAction = Literal["pause", "cancel", "skip"]
FINAL_ACTIONS: tuple[FinalAction, ...] = ("pause", "cancel", "skip")
OnDefault = Literal["cancel", "hold"]
ON_DEFAULT: tuple[OnDefault, ...] = ("cancel", "hold")

# Decline vocabulary (Toast's payment intent ``lastPaymentError.type`` / ``.code``); compared
# case-insensitively.
CARD_DECLINED = "CARD_DECLINED"
FRAUDULENT = "FRAUDULENT"
GENERIC_DECLINE = "generic_decline"
INSUFFICIENT_FUNDS = "insufficient_funds"
DO_NOT_HONOR = "do_not_honor"  # retryable: issuers use it for temporary refusals too
EXPIRED_CARD = "expired_card"
LOST_CARD = "lost_card"
STOLEN_CARD = "stolen_card"
PICKUP_CARD = "pickup_card"
INVALID_CARD = "invalid_card"
INVALID_ACCOUNT = "invalid_account"
INVALID_NUMBER = "invalid_number"
RESTRICTED_CARD = "restricted_card"
REVOCATION_OF_AUTHORIZATION = "revocation_of_authorization"
DO_NOT_RETRY = "do_not_retry"
DO_NOT_HONOR_PERMANENT = "do_not_honor_permanent"

NEVER_RETRY_TYPES = frozenset({FRAUDULENT})
NEVER_RETRY_CODES = frozenset(
    {
        "fraudulent",
        LOST_CARD,
        STOLEN_CARD,
        PICKUP_CARD,
        INVALID_CARD,
        INVALID_ACCOUNT,
        INVALID_NUMBER,
        EXPIRED_CARD,
        RESTRICTED_CARD,
        REVOCATION_OF_AUTHORIZATION,
        DO_NOT_RETRY,
        DO_NOT_HONOR_PERMANENT,
    }
)
CAP_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class DunningPolicy:
    """``retry_days``: days after the first decline, strictly increasing; ``max_attempts_30d``
    counts every attempt of one charge in 30 days, the first included; ``never_retry``: decline
    codes (lower case) that end dunning at once; ``on_default``: what happens to a defaulted
    installment plan's other open charges (``cancel``, or ``hold`` them for a human)."""

    retry_days: tuple[int, ...] = (1, 3, 7, 14)
    final_action: FinalAction = "pause"
    on_default: OnDefault = "cancel"
    max_attempts_30d: int = 15
    never_retry: frozenset[str] = field(default=NEVER_RETRY_CODES)

    def __post_init__(self) -> None:
        days = self.retry_days
        if any(d < 1 for d in days) or any(a >= b for a, b in itertools.pairwise(days)):
            raise InvalidSchedule(
                f"retry days must be >= 1 and strictly increasing, got {list(days)}",
                field="retry_days",
            )
        if self.final_action not in FINAL_ACTIONS:
            raise InvalidSchedule(
                f"final action must be one of {FINAL_ACTIONS}", field="final_action"
            )
        if self.on_default not in ON_DEFAULT:
            raise InvalidSchedule(f"on default must be one of {ON_DEFAULT}", field="on_default")
        if self.max_attempts_30d < 1:
            raise InvalidSchedule("max attempts must be at least 1", field="max_attempts_30d")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryAt:
    """Try the charge again at ``at`` (retry number ``retry_number``, 1 = the first retry)."""

    at: datetime
    retry_number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveUp:
    """Dunning is over: the charge fails, for ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldForNewCard:
    """The card has expired: hold the charge for a human (never retried on this card), mark
    the mandate expired; a replaced card collects it."""

    reason: str


Decision = RetryAt | GiveUp | HoldForNewCard


def is_never_retry(policy: DunningPolicy, decline_type: str | None, code: str | None) -> bool:
    """A decline that retrying cannot fix (fraud, lost/stolen/invalid/expired card, ...)."""
    if (decline_type or "").upper() in NEVER_RETRY_TYPES:
        return True
    return (code or "").lower() in policy.never_retry


def decide(
    policy: DunningPolicy,
    *,
    decline_type: str | None,
    decline_code: str | None,
    attempt_number: int,
    first_declined_at: datetime,
    now: datetime,
    attempts_last_30d: int,
) -> Decision:
    """After decline number ``attempt_number`` (1 = the first) of one charge, with
    ``attempts_last_30d`` attempts of it (this one included) in the last 30 days."""
    calendar.require_aware(first_declined_at, "first_declined_at")
    calendar.require_aware(now, "now")
    if attempt_number < 1:
        raise ValueError(f"attempt_number starts at 1, got {attempt_number}")
    if is_expired_card(decline_code):
        return HoldForNewCard(reason="card expired: ask the customer for a new card")
    if is_never_retry(policy, decline_type, decline_code):
        return GiveUp(reason=f"do-not-retry decline ({decline_type}/{decline_code})")
    if attempt_number > len(policy.retry_days):
        return GiveUp(reason=f"dunning exhausted after {attempt_number} declines")
    if attempts_last_30d >= policy.max_attempts_30d:
        return GiveUp(reason=f"card-network limit of {policy.max_attempts_30d} tries in 30 days")
    at = first_declined_at + timedelta(days=policy.retry_days[attempt_number - 1])
    return RetryAt(at=max(at, now), retry_number=attempt_number)


def is_expired_card(code: str | None) -> bool:
    return (code or "").lower() == EXPIRED_CARD


def end_of_dunning(policy: DunningPolicy, kind: PlanKind) -> SubscriptionStatus | None:
    """The subscription's state once a charge has failed for good (None: keep billing, or
    no subscription at all for an UNSCHEDULED charge)."""
    if kind == PlanKind.INSTALLMENT:
        return SubscriptionStatus.DEFAULTED
    if kind == PlanKind.UNSCHEDULED:
        return None
    return {
        "pause": SubscriptionStatus.PAUSED,
        "cancel": SubscriptionStatus.CANCELLED,
        "skip": None,
    }[policy.final_action]


def card_expired(exp_month: int, exp_year: int, on: date) -> bool:
    """A card is valid through the last day of its expiry month (two-digit years are 20YY)."""
    if not 1 <= exp_month <= 12:
        raise DomainError(f"expiry month must be 1..12, got {exp_month}", field="exp_month")
    year = exp_year + 2000 if 0 <= exp_year < 100 else exp_year
    return (on.year, on.month) > (year, exp_month)


def reattempt_at(*, now: datetime, attempts: list[datetime], cap: int) -> datetime:
    """When a declined charge may be tried again after the member gave a new card: now, unless
    ``cap`` of its attempts already fall in the last 30 days; then as soon as enough of them
    have left the window (Visa: at most 15 tries of one charge in 30 days)."""
    calendar.require_aware(now, "now")
    recent = sorted(a for a in attempts if a > now - CAP_WINDOW)
    if len(recent) < cap:
        return now
    return recent[len(recent) - cap] + CAP_WINDOW
