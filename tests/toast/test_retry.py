from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.toast import errors, retry

POLICY = retry.RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=4.0, deadline_s=10.0)


def _decide(
    error: errors.ToastError, *, safe: bool, attempt: int = 1, elapsed: float = 0.0
) -> retry.RetryDecision | None:
    return retry.decide(
        POLICY, error, attempt=attempt, elapsed_s=elapsed, safe=safe, rng=random.Random(7)
    )


@pytest.mark.parametrize("safe", [True, False])
def test_not_sent_and_429_are_always_retried(safe: bool) -> None:
    assert _decide(errors.ToastNotSent("x"), safe=safe) is not None
    assert _decide(errors.ToastRateLimited("x"), safe=safe) is not None


def test_unknown_outcome_is_retried_only_when_safe() -> None:
    assert _decide(errors.ToastOutcomeUnknown("x"), safe=True) is not None
    assert _decide(errors.ToastOutcomeUnknown("x"), safe=False) is None
    assert _decide(errors.ToastServerOutcomeUnknown("x", status=500), safe=False) is None
    assert _decide(errors.ToastServerError("x", status=503), safe=True) is not None


@pytest.mark.parametrize(
    "error",
    [
        errors.ToastInvalidRequest("x"),
        errors.ToastConflict("x"),
        errors.ToastNotFound("x"),
        errors.ToastAuthFailed("x"),
        errors.ToastDeclined("x", decline_type="CARD_DECLINED", decline_code="generic_decline"),
    ],
)
def test_definitive_answers_are_not_retried(error: errors.ToastError) -> None:
    assert _decide(error, safe=True) is None


def test_attempts_are_bounded() -> None:
    assert _decide(errors.ToastNotSent("x"), safe=True, attempt=3) is not None
    assert _decide(errors.ToastNotSent("x"), safe=True, attempt=4) is None


def test_deadline_is_bounded() -> None:
    assert _decide(errors.ToastRateLimited("x", retry_after=5), safe=True, elapsed=4.0) is not None
    assert _decide(errors.ToastRateLimited("x", retry_after=5), safe=True, elapsed=6.0) is None


def test_retry_after_is_honoured() -> None:
    decision = _decide(errors.ToastRateLimited("x", retry_after=3.0), safe=False)
    assert decision is not None
    assert decision.delay_s >= 3.0


@given(attempt=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_full_jitter_stays_within_the_exponential_ceiling(attempt: int, seed: int) -> None:
    delay = retry.backoff_delay(POLICY, attempt, random.Random(seed))
    assert 0.0 <= delay <= min(POLICY.max_delay_s, POLICY.base_delay_s * 2 ** (attempt - 1))


def test_jitter_is_deterministic_with_injected_randomness() -> None:
    first = [retry.backoff_delay(POLICY, n, random.Random(1)) for n in range(1, 6)]
    again = [retry.backoff_delay(POLICY, n, random.Random(1)) for n in range(1, 6)]
    assert first == again
