"""The pure rules of messaging: which event yields which message kind, what a decline means in
words, when a reminder is due, how a failed send is retried. Values in, decisions out.

The send rule (SMTP cannot be made idempotent, so the aim is *at most once* per key):

    pending ──claim──► claimed ──(about to send DATA)──► sending ──reply 250──► sent
       ▲                 │  │                              │  └─no reply / dropped──► unknown
       └─known not sent──┘  └─lease expired (crash before DATA): claimable again
                         (4xx, refused connection, ...)     5xx, or attempts used up ──► failed

A message is retried only while it is known that no copy reached the relay: before the DATA
command, or when the relay answered DATA with an error code. Once DATA is on the wire without an
answer (a timeout, a dropped connection, a crash) the outcome is ``unknown`` and the message is
never re-sent by itself: an operator decides (``billing messages list --status unknown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from billing.domain import notice


class Kind(StrEnum):
    RECEIPT = "receipt"  # after every paid charge (Mastercard: with cancel instructions)
    DECLINE = "decline"  # at once after a decline that dunning will retry
    FINAL_FAILURE = "final_failure"  # dunning gave up (or a never-retry decline)
    CANCELLATION = "cancellation"  # a subscription was cancelled
    REMINDER = "reminder"  # N days before a charge
    EXPIRING_CARD = "expiring_card"  # 30, 15, 3 days before the card's last day
    MILESTONE_NOTICE = "milestone_notice"  # an event milestone's exact amount, before charging
    RELEASE_NOTICE = "release_notice"  # a wine-club release's amount, before its cutoff


class Status(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    CLAIMED = "claimed"  # a dispatcher holds it; nothing sent yet
    SENDING = "sending"  # the message body is (or was) on the wire
    SENT = "sent"  # the relay accepted it
    FAILED = "failed"  # refused for good, or attempts used up: never sent
    UNKNOWN = "unknown"  # the body was sent without an answer: maybe delivered, never re-sent
    DEAD = "dead"  # a webhook not delivered within its retry window (a dead letter)
    WITHDRAWN = "withdrawn"  # no longer true before it left (a skipped release's notice)


EMAIL = "email"

# (entity, event type) -> the message it yields.
TRIGGERS: dict[tuple[str, str], Kind] = {
    ("charge", "charge_paid"): Kind.RECEIPT,
    ("charge", "retry_scheduled"): Kind.DECLINE,
    ("charge", "charge_failed"): Kind.FINAL_FAILURE,
    ("subscription", "cancelled"): Kind.CANCELLATION,
    ("subscription", "reminder_due"): Kind.REMINDER,
    ("mandate", "card_expiring"): Kind.EXPIRING_CARD,
    ("catering_event", "milestone_notice"): Kind.MILESTONE_NOTICE,
    ("membership", "release_notice"): Kind.RELEASE_NOTICE,
}
REMINDER_EVENT = "reminder_due"
EXPIRING_EVENT = "card_expiring"
MILESTONE_EVENT = "milestone_notice"


def kind_for(entity: str, event_type: str, *, off: frozenset[str]) -> Kind | None:
    """The message an event yields, or None (no message, or that kind is switched off)."""
    kind = TRIGGERS.get((entity, event_type))
    return None if kind is None or kind in off else kind


def silent(kind: Kind, data: dict[str, object]) -> bool:
    """An event whose message the member does not need: the decline of a charge in flight on
    a card they have already replaced (it is retried on the new card at once)."""
    return kind == Kind.DECLINE and bool(data.get("on_new_card"))


DECLINE_WORDS = {
    "insufficient_funds": "the card has insufficient funds",
    "expired_card": "the card has expired",
    "generic_decline": "the card issuer declined the payment",
    "card_declined": "the card issuer declined the payment",
    "do_not_honor": "the card issuer declined the payment",
    "fraudulent": "the card issuer refused the payment",
    "lost_card": "the card was reported lost",
    "stolen_card": "the card was reported stolen",
    "invalid_card": "the card is not valid",
}


def decline_words(code: str | None) -> str:
    """A decline code in words a member understands (never the raw issuer message)."""
    return DECLINE_WORDS.get((code or "").lower(), "the card issuer declined the payment")


def failure_words(reason: str | None) -> str:
    """Why dunning ended, in words (the engine's reason names codes and counts)."""
    text = (reason or "").lower()
    if text.startswith("do-not-retry"):
        return "the card issuer said the card cannot be charged again"
    if text.startswith("dunning exhausted"):
        return "every retry of the payment was declined"
    if text.startswith("card-network limit"):
        return "every retry the card networks allow was declined"
    return "the payment could not be collected"


def reminder_due(*, due_at: datetime, now: datetime, days: int) -> bool:
    """A reminder goes out once the charge is ``days`` away (or nearer), never after it."""
    return due_at - timedelta(days=days) <= now < due_at


def milestone_notice_due(
    *, due_at: datetime, now: datetime, days: int, amount_cents: int, told_cents: int | None
) -> bool:
    """An event milestone's notice goes out once its charge is ``days`` away (or nearer, never
    after it), and again whenever the amount to be charged differs from the one last told."""
    if amount_cents <= 0 or not reminder_due(due_at=due_at, now=now, days=days):
        return False
    return told_cents is None or told_cents != amount_cents


def milestone_notice_key(charge_key: str, number: int) -> str:
    """The ``number``-th notice of one milestone charge (its door key): unique per notice."""
    return f"{charge_key}:notice:{number}"


reminder_key = notice.reminder_key  # the engine reads the same rows (billing.store.notices)


def full_year(exp_year: int) -> int:
    """Card expiry years arrive as 27 or 2027."""
    return exp_year + 2000 if 0 <= exp_year < 100 else exp_year


def card_ends(exp_month: int, exp_year: int, zone: ZoneInfo) -> datetime:
    """The first instant a card is no longer valid: midnight after its month, in ``zone``."""
    exp_year = full_year(exp_year)
    year, month = (exp_year + 1, 1) if exp_month == 12 else (exp_year, exp_month + 1)
    return datetime(year, month, 1, tzinfo=zone)


def expiry_notice(*, ends: datetime, now: datetime, days: tuple[int, ...]) -> int | None:
    """Which expiring-card notice is due now: the nearest threshold (in days before ``ends``)
    already passed, or None before the first one and once the card has ended. A scan that
    starts late (a card added 10 days before it ends) sends the one notice of that window."""
    if now >= ends:
        return None
    passed = [d for d in days if now >= ends - timedelta(days=d)]
    return min(passed) if passed else None


def expiry_key(mandate_id: int, exp_month: int, exp_year: int, days: int) -> str:
    return f"mandate:{mandate_id}:expires:{full_year(exp_year):04d}-{exp_month:02d}:days:{days}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveUp:
    reason: str


def after_not_sent(
    *,
    attempts: int,
    permanent: bool,
    now: datetime,
    max_attempts: int,
    base_s: float,
    max_s: float,
) -> RetryAt | GiveUp:
    """A send known not to have happened: retry with exponential backoff, or give up."""
    if permanent:
        return GiveUp(reason="refused by the relay")
    if attempts >= max_attempts:
        return GiveUp(reason=f"not sent after {attempts} attempts")
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return RetryAt(at=now + timedelta(seconds=delay))
