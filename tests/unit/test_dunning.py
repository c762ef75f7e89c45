"""Dunning: retries on fixed days from the first decline, never for hopeless declines, capped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain import dunning
from billing.domain.states import PlanKind, SubscriptionStatus
from billing.errors import DomainError, InvalidSchedule

T0 = datetime(2027, 1, 1, 15, tzinfo=UTC)
POLICY = dunning.DunningPolicy()
RETRYABLE = [dunning.GENERIC_DECLINE, dunning.INSUFFICIENT_FUNDS, dunning.DO_NOT_HONOR,
             "some_code_we_never_heard_of", None]  # fmt: skip
HOPELESS = sorted(dunning.NEVER_RETRY_CODES)


def decide(
    n: int,
    code: str | None = dunning.INSUFFICIENT_FUNDS,
    kind: str | None = dunning.CARD_DECLINED,
    tries: int | None = None,
    policy: dunning.DunningPolicy = POLICY,
    now: datetime | None = None,
) -> dunning.Decision:
    return dunning.decide(
        policy, decline_type=kind, decline_code=code, attempt_number=n, first_declined_at=T0,
        now=now or T0, attempts_last_30d=n if tries is None else tries,
    )  # fmt: skip


def test_retries_follow_the_schedule_from_the_first_decline() -> None:
    # Given the default 1, 3, 7, 14 days, each retry is counted from the first decline
    decisions = [decide(n, now=T0 + timedelta(days=n - 1, hours=1)) for n in range(1, 5)]
    assert decisions == [
        dunning.RetryAt(at=T0 + timedelta(days=d), retry_number=n)
        for n, d in enumerate((1, 3, 7, 14), start=1)
    ]
    assert isinstance(decide(5), dunning.GiveUp)


def test_a_late_decision_retries_now_rather_than_in_the_past() -> None:
    late = T0 + timedelta(days=5)
    assert decide(2, now=late) == dunning.RetryAt(at=late, retry_number=2)


@pytest.mark.parametrize(
    ("kind", "code"),
    [(dunning.FRAUDULENT, None), (dunning.CARD_DECLINED, dunning.STOLEN_CARD),
     ("card_declined", "LOST_CARD"), (dunning.CARD_DECLINED, dunning.INVALID_CARD),
     (dunning.CARD_DECLINED, dunning.EXPIRED_CARD), (None, dunning.DO_NOT_RETRY),
     (dunning.CARD_DECLINED, dunning.INVALID_ACCOUNT)],
)  # fmt: skip
def test_do_not_retry_declines_are_never_retried(kind: str | None, code: str | None) -> None:
    assert not isinstance(decide(1, code, kind), dunning.RetryAt)


@given(
    code=st.sampled_from(HOPELESS).map(lambda c: c.upper() if len(c) % 2 else c),
    n=st.integers(1, 4),
    tries=st.integers(0, 14),
)
def test_hopeless_codes_never_retry_whatever_the_count(code: str, n: int, tries: int) -> None:
    assert not isinstance(decide(n, code, tries=tries), dunning.RetryAt)


@given(
    code=st.sampled_from(["expired_card", "EXPIRED_CARD", "Expired_Card"]),
    n=st.integers(1, 10),
    tries=st.integers(0, 30),
)
def test_an_expired_card_is_held_for_a_new_card_never_failed(code: str, n: int, tries: int) -> None:
    # an expired card cannot succeed, but the debt stands: held (never retried), not failed
    decision = decide(n, code, tries=tries)
    assert isinstance(decision, dunning.HoldForNewCard)
    assert "new card" in decision.reason


@given(
    code=st.sampled_from(RETRYABLE),
    retry_days=st.lists(st.integers(1, 60), min_size=1, max_size=8, unique=True).map(
        lambda days: tuple(sorted(days))
    ),
    n=st.integers(1, 10),
    tries=st.integers(0, 30),
    cap=st.integers(1, 20),
)
def test_schedule_and_cap(
    code: str | None, retry_days: tuple[int, ...], n: int, tries: int, cap: int
) -> None:
    policy = dunning.DunningPolicy(retry_days=retry_days, max_attempts_30d=cap)
    decision = decide(n, code, tries=tries, policy=policy)
    if n > len(retry_days) or tries >= cap:
        assert isinstance(decision, dunning.GiveUp)
    else:
        assert decision == dunning.RetryAt(
            at=T0 + timedelta(days=retry_days[n - 1]), retry_number=n
        )


def test_card_network_cap() -> None:
    assert isinstance(decide(1, tries=15), dunning.GiveUp)
    assert isinstance(decide(1, tries=14), dunning.RetryAt)
    assert "15 tries" in str(decide(2, tries=15))


def test_naive_times_and_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(1, now=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="starts at 1"):
        decide(0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"retry_days": (3, 1)}, "retry_days"), ({"retry_days": (0, 1)}, "retry_days"),
     ({"retry_days": (2, 2)}, "retry_days"), ({"final_action": "explode"}, "final_action"),
     ({"max_attempts_30d": 0}, "max_attempts_30d"), ({"on_default": "shrug"}, "on_default")],
)  # fmt: skip
def test_bad_policies_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSchedule) as info:
        dunning.DunningPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_no_retry_days_means_give_up_at_the_first_decline() -> None:
    assert isinstance(decide(1, policy=dunning.DunningPolicy(retry_days=())), dunning.GiveUp)


def test_end_of_dunning_outcomes() -> None:
    end = dunning.end_of_dunning
    assert end(POLICY, PlanKind.INSTALLMENT) == SubscriptionStatus.DEFAULTED
    assert end(POLICY, PlanKind.RECURRING) == SubscriptionStatus.PAUSED
    cancel = dunning.DunningPolicy(final_action="cancel")
    skip = dunning.DunningPolicy(final_action="skip")
    assert end(cancel, PlanKind.RECURRING) == SubscriptionStatus.CANCELLED
    assert end(skip, PlanKind.RECURRING) is None
    assert end(cancel, PlanKind.INSTALLMENT) == SubscriptionStatus.DEFAULTED
    assert end(POLICY, PlanKind.UNSCHEDULED) is None


def test_card_valid_through_its_expiry_month() -> None:
    assert not dunning.card_expired(2, 27, date(2027, 2, 28))
    assert dunning.card_expired(2, 27, date(2027, 3, 1))
    assert dunning.card_expired(12, 2026, date(2027, 1, 1))
    assert not dunning.card_expired(12, 2026, date(2026, 12, 31))
    with pytest.raises(DomainError) as info:
        dunning.card_expired(13, 2027, date(2027, 1, 1))
    assert info.value.field == "exp_month"


@given(month=st.integers(1, 12), year=st.integers(2000, 2098), on=st.dates())
def test_card_expiry_is_the_month_boundary(month: int, year: int, on: date) -> None:
    assert dunning.card_expired(month, year, on) == (on > _last_valid_day(month, year))
    assert dunning.card_expired(month, year % 100, on) == dunning.card_expired(month, year, on)


def _last_valid_day(month: int, year: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
