"""The pure rules of webhooks and of the required notice, property-tested."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing.domain import notice
from billing.notify import hook_rules
from billing.notify.hook_rules import Dead, RetryAt

NOW = datetime(2027, 1, 1, tzinfo=UTC)
DAY = timedelta(hours=24)


@given(attempts=st.integers(1, 200), jitter=st.floats(0, 0.999),
       elapsed=st.floats(0, 30 * 3600))  # fmt: skip
def test_retries_stay_inside_the_window_and_back_off(
    attempts: int, jitter: float, elapsed: float
) -> None:
    start = NOW
    now = start + timedelta(seconds=elapsed)
    decision = hook_rules.after_failure(attempts=attempts, now=now, until=start + DAY,
                                        base_s=30, max_s=3600, jitter=jitter)  # fmt: skip
    if now >= start + DAY:
        assert isinstance(decision, Dead)
        return
    assert isinstance(decision, RetryAt)
    delay = (decision.at - now).total_seconds()
    assert decision.at <= start + DAY  # the last try is at the end of the window
    nominal = min(3600, 30 * 2 ** (attempts - 1))
    assert delay <= nominal * 1.5
    assert delay >= min(nominal, (start + DAY - now).total_seconds())


def test_the_delays_double_from_the_base() -> None:
    delays = []
    for attempts in range(1, 9):
        d = hook_rules.after_failure(attempts=attempts, now=NOW, until=NOW + DAY, base_s=30,
                                     max_s=3600, jitter=0.0)  # fmt: skip
        assert isinstance(d, RetryAt)
        delays.append((d.at - NOW).total_seconds())
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_jitter_outside_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        hook_rules.after_failure(attempts=1, now=NOW, until=NOW + DAY, base_s=1, max_s=2,
                                 jitter=1.0)  # fmt: skip


@given(st.binary(min_size=24, max_size=64))
def test_a_secret_is_whsec_and_base64(raw: bytes) -> None:
    secret = hook_rules.secret_from(raw)
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == raw


@given(st.lists(st.sampled_from(hook_rules.EVENT_TYPES)), st.sampled_from(hook_rules.EVENT_TYPES))
def test_filters(types: list[str], wanted: str) -> None:
    assert hook_rules.wants(types, wanted) == (not types or wanted in types)
    assert hook_rules.wants(["*"], wanted)
    assert hook_rules.parse_types(",".join(types)) == sorted(set(types))


def test_unknown_types_and_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match=r"charge\.lost"):
        hook_rules.parse_types("charge.paid, charge.lost")
    for url in ("ftp://x/y", "/hooks", "https://user:pw@erp.example/h"):
        with pytest.raises(ValueError, match="must"):
            hook_rules.check_url(url, production=False)
    with pytest.raises(ValueError, match="https"):
        hook_rules.check_url("http://erp.example/h", production=True)
    assert hook_rules.check_url("https://erp.example/h", production=True)


UNITS = st.sampled_from(["day", "week", "month", "year"])


@given(amount=st.integers(1, 10**8), previous=st.none() | st.integers(1, 10**8), unit=UNITS,
       count=st.integers(1, 24))  # fmt: skip
def test_the_required_notice_rule(amount: int, previous: int | None, unit: str, count: int) -> None:
    why = notice.required_reason(amount_cents=amount, previous_cents=previous, unit=unit,
                                 count=count)  # fmt: skip
    months = {"day": 0, "week": 0, "month": count, "year": 12 * count}[unit]
    if previous is None:
        assert why is None  # the first charge is the one the member agreed to
    elif previous != amount:
        assert why == "the price changed"
    elif months >= 6:
        assert why == "the interval is 6 months or longer"
    else:
        assert why is None
    assert notice.required_reason(amount_cents=amount, previous_cents=previous, unit=unit,
                                  count=count, recurring=False) is None  # installments  # fmt: skip


@given(amount=st.integers(1, 10**8), previous=st.none() | st.integers(1, 10**8), unit=UNITS,
       count=st.integers(1, 24), trial=st.integers(0, 400), recurring=st.booleans())  # fmt: skip
def test_the_first_charge_after_a_trial_needs_the_notice(
    amount: int, previous: int | None, unit: str, count: int, trial: int, recurring: bool
) -> None:
    # Given a plan with a trial of ``trial`` days (0: none)
    why = notice.required_reason(amount_cents=amount, previous_cents=previous, unit=unit,
                                 count=count, recurring=recurring, trial_days=trial)  # fmt: skip
    without = notice.required_reason(amount_cents=amount, previous_cents=previous, unit=unit,
                                     count=count, recurring=recurring)  # fmt: skip
    if previous is None and trial > 7:
        # Then the first charge, after a trial longer than the 7 days' notice, needs one
        assert why == "the first charge after a trial"
    else:
        # Otherwise the trial changes nothing: shorter trials end before a notice could be 7
        # days ahead (Visa asks none), and later cycles are judged on their own terms
        assert why == without
    assert notice.after_trial(trial) == (trial > notice.NOTICE_DAYS)


@example(configured=3, lead=7 * 86400)
@given(configured=st.integers(1, 60), lead=st.floats(-10 * 86400, 20 * 86400))
def test_a_required_reminder_goes_out_in_time(configured: int, lead: float) -> None:
    days = notice.reminder_days(configured, required=True)
    assert days >= notice.REQUIRED_LEAD_DAYS > notice.NOTICE_DAYS
    assert notice.reminder_days(configured, required=False) == configured
    due = NOW + timedelta(days=30)
    sent = due - timedelta(seconds=lead)
    assert notice.in_time(sent_at=sent, due_at=due) == (lead >= 7 * 86400)
    assert not notice.in_time(sent_at=None, due_at=due)
