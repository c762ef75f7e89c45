"""The required-notice rule (card-network rules for merchant-initiated charges), pure.

Visa asks for notice at least 7 days before the first charge after a trial or under changed
terms; a long interval (6 months or more) gets the same treatment here, since a member cannot be
expected to remember a charge twice a year. Such a charge needs a *required* reminder: it goes
out ``REQUIRED_LEAD_DAYS`` (8) days before the charge, a day earlier than the 7 the rule asks,
so a dispatcher that runs late still makes it, and a member cannot unsubscribe from it. A charge
whose required reminder was not sent at least ``NOTICE_DAYS`` before it is due is held, not
sent (the engine asks the store: ``billing.store.notices``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

NOTICE_DAYS = 7
REQUIRED_LEAD_DAYS = NOTICE_DAYS + 1
LONG_INTERVAL_MONTHS = 6
MONTHS_PER_UNIT = {"month": 1, "year": 12}


def reminder_key(subscription_id: int, cycle: int) -> str:
    """The notice row of one cycle's reminder (unique with its kind)."""
    return f"subscription:{subscription_id}:cycle:{cycle}"


def interval_months(unit: str | None, count: int) -> int:
    """The interval in whole months (0 for daily and weekly plans, and for one-offs)."""
    return MONTHS_PER_UNIT.get((unit or "").lower(), 0) * max(count, 0)


def required_reason(
    *, amount_cents: int, previous_cents: int | None, unit: str | None, count: int,
    recurring: bool = True, trial_days: int = 0,
) -> str | None:  # fmt: skip
    """Why this charge needs a required notice, or None. ``previous_cents`` is the amount of
    the subscription's previous cycle (None for its first charge, which the member agreed to
    when enrolling: only the end of a trial longer than ``NOTICE_DAYS`` makes it need one;
    ``trial_days`` is the plan's trial). Otherwise only a RECURRING plan's charges need one:
    an installment plan's amounts and dates (remainder cents included) are all agreed at
    enrollment."""
    if previous_cents is None:
        return "the first charge after a trial" if after_trial(trial_days) else None
    if not recurring:
        return None
    if previous_cents != amount_cents:
        return "the price changed"
    if interval_months(unit, count) >= LONG_INTERVAL_MONTHS:
        return "the interval is 6 months or longer"
    return None


def after_trial(trial_days: int) -> bool:
    """Does a plan's first charge need the required notice? Only after a trial longer than
    ``NOTICE_DAYS`` (Visa: a reminder 7 days before the first charge of a longer trial)."""
    return trial_days > NOTICE_DAYS


def reminder_days(configured: int, *, required: bool) -> int:
    """How many days before a charge its reminder goes out."""
    return max(configured, REQUIRED_LEAD_DAYS) if required else configured


def in_time(*, sent_at: datetime | None, due_at: datetime) -> bool:
    """Was the notice sent at least ``NOTICE_DAYS`` before the charge?"""
    return sent_at is not None and sent_at <= due_at - timedelta(days=NOTICE_DAYS)
