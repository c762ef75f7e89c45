"""Dunning: what to do after a declined charge. A pure policy returning a decision value.

Retries fall on fixed days counted from the *first* decline (default 1, 3, 7 and 14 days
after it), not chained from the previous retry. Some declines are never retried (fraud,
lost/stolen or invalid cards), and the card networks cap re-attempts (Visa: at most 15 of
one charge in 30 days). When dunning ends the charge fails and the subscription is paused,
cancelled or left to bill its next cycle (``skip``); an installment plan is defaulted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from billing.domain.states import PlanKind, SubscriptionStatus

FinalAction = Literal["pause", "cancel", "skip"]

NEVER_RETRY_TYPES = frozenset({"FRAUDULENT"})
NEVER_RETRY_CODES = frozenset(
    {
        "fraudulent",
        "lost_card",
        "stolen_card",
        "pickup_card",
        "invalid_card",
        "invalid_account",
        "invalid_number",
        "expired_card",  # cannot succeed until the customer gives a new card
        "restricted_card",
        "revocation_of_authorization",
        "do_not_retry",
        "do_not_honor_permanent",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DunningPolicy:
    retry_days: tuple[int, ...] = (1, 3, 7, 14)
    final_action: FinalAction = "pause"
    max_attempts_30d: int = 15
    never_retry_codes: frozenset[str] = field(default=NEVER_RETRY_CODES)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryAt:
    at: datetime
    retry_number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveUp:
    reason: str


def never_retry(policy: DunningPolicy, decline_type: str | None, code: str | None) -> bool:
    if (decline_type or "").upper() in NEVER_RETRY_TYPES:
        return True
    return (code or "").lower() in policy.never_retry_codes


def decide(
    policy: DunningPolicy,
    *,
    decline_type: str | None,
    decline_code: str | None,
    attempt_number: int,
    first_declined_at: datetime,
    now: datetime,
    attempts_last_30d: int,
) -> RetryAt | GiveUp:
    """After decline number ``attempt_number`` (1 = the first) of one charge."""
    if never_retry(policy, decline_type, decline_code):
        return GiveUp(reason=f"do-not-retry decline ({decline_type}/{decline_code})")
    if attempt_number > len(policy.retry_days):
        return GiveUp(reason=f"dunning exhausted after {attempt_number} declines")
    if attempts_last_30d >= policy.max_attempts_30d:
        return GiveUp(reason=f"card-network limit of {policy.max_attempts_30d} tries in 30 days")
    at = first_declined_at + timedelta(days=policy.retry_days[attempt_number - 1])
    return RetryAt(at=max(at, now), retry_number=attempt_number)


def end_of_dunning(policy: DunningPolicy, kind: PlanKind) -> SubscriptionStatus | None:
    """The subscription's state once a charge has failed for good (None: keep billing)."""
    if kind == PlanKind.INSTALLMENT:
        return SubscriptionStatus.DEFAULTED
    return {
        "pause": SubscriptionStatus.PAUSED,
        "cancel": SubscriptionStatus.CANCELLED,
        "skip": None,
    }[policy.final_action]


def card_expired(exp_month: int, exp_year: int, on: date) -> bool:
    """A card is valid through the last day of its expiry month (two-digit years are 20YY)."""
    year = exp_year + 2000 if exp_year < 100 else exp_year
    return (on.year, on.month) > (year, exp_month)
