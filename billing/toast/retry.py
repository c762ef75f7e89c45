"""Transport retries as a pure policy: which failures to retry, and how long to wait.

The decision (``decide``) is separate from the backoff (``backoff_delay``), as in stripe-python's
``_should_retry`` / ``_sleep_time_seconds``. Randomness is injected, so tests are deterministic.

Retry only where it is safe:

- ``ToastNotSent``: the request never left, any call may be re-sent;
- ``ToastRateLimited`` (429): Toast refused it before processing, any call may be re-sent,
  after ``Retry-After`` at least;
- ``ToastServerError`` (5xx to a read) and ``ToastOutcomeUnknown``: only when the call is
  ``safe`` (a read, or a call carrying an idempotency key). A payment-intent create or confirm
  whose outcome is unknown is never re-sent here: it surfaces for the engine to read back.

Attempts are bounded (``max_attempts``) and so is the total time (``deadline_s``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from billing.toast import errors


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    deadline_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryDecision:
    delay_s: float
    reason: str


def is_retryable(error: errors.ToastError, *, safe: bool) -> bool:
    """Whether re-sending could succeed without risking a second effect."""
    if isinstance(error, errors.ToastLoginUnavailable | errors.ToastLocationNotOwned):
        return False  # the budget frees in minutes; another worker owns the location
    if isinstance(error, errors.ToastNotSent | errors.ToastRateLimited):
        return True
    if isinstance(error, errors.ToastOutcomeUnknown | errors.ToastServerError):
        return safe
    return False


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * (2 ** max(0, attempt - 1)))
    return rng.uniform(0.0, ceiling)


def decide(
    policy: RetryPolicy,
    error: errors.ToastError,
    *,
    attempt: int,
    elapsed_s: float,
    safe: bool,
    rng: random.Random,
) -> RetryDecision | None:
    """Retry after ``delay_s``, or None to give up. ``attempt`` counts the failed tries so far."""
    if attempt >= policy.max_attempts or not is_retryable(error, safe=safe):
        return None
    delay = backoff_delay(policy, attempt, rng)
    if isinstance(error, errors.ToastRateLimited) and error.retry_after is not None:
        delay = max(delay, error.retry_after)
    if elapsed_s + delay > policy.deadline_s:
        return None
    return RetryDecision(delay_s=delay, reason=type(error).__name__)
