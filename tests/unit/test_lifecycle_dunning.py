from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.domain import dunning, lifecycle
from billing.domain.states import (
    AttemptStatus,
    ChargeStatus,
    PlanKind,
    SubscriptionStatus,
)
from billing.errors import InvalidTransition

T0 = datetime(2027, 1, 1, 15, tzinfo=UTC)
POLICY = dunning.DunningPolicy()


@pytest.mark.parametrize("entity", sorted(lifecycle.TABLES))
def test_every_allowed_transition_passes_and_every_other_raises(entity: str) -> None:
    table = lifecycle.TABLES[entity]
    for current in table:
        for target in table:
            if target in table[current]:
                assert lifecycle.transition(entity, current, target) == target
            else:
                with pytest.raises(InvalidTransition):
                    lifecycle.transition(entity, current, target)


def test_terminal_states_have_no_exits() -> None:
    for status in (ChargeStatus.PAID, ChargeStatus.FAILED, ChargeStatus.CANCELLED):
        assert lifecycle.is_terminal("charge", status)
    assert lifecycle.is_terminal("subscription", SubscriptionStatus.CANCELLED)
    assert all(lifecycle.is_settled(s) for s in (AttemptStatus.DECLINED, AttemptStatus.VOIDED))
    assert not lifecycle.is_settled(AttemptStatus.UNKNOWN)


def decide(n: int, code: str = "insufficient_funds", kind: str = "CARD_DECLINED",
           tries: int = 1) -> dunning.RetryAt | dunning.GiveUp:  # fmt: skip
    return dunning.decide(
        POLICY, decline_type=kind, decline_code=code, attempt_number=n,
        first_declined_at=T0, now=T0 + timedelta(days=n), attempts_last_30d=tries,
    )  # fmt: skip


def test_retries_follow_the_schedule_from_the_first_decline() -> None:
    decisions = [decide(n) for n in range(1, 5)]
    assert [d.at - T0 for d in decisions if isinstance(d, dunning.RetryAt)] == [
        timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=14),
    ]  # fmt: skip
    assert isinstance(decide(5), dunning.GiveUp)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("FRAUDULENT", None), ("CARD_DECLINED", "stolen_card"), ("CARD_DECLINED", "LOST_CARD"),
     ("CARD_DECLINED", "invalid_card"), ("CARD_DECLINED", "expired_card")],
)  # fmt: skip
def test_do_not_retry_declines_are_never_retried(kind: str, code: str | None) -> None:
    assert isinstance(decide(1, code or "", kind), dunning.GiveUp)


def test_card_network_cap() -> None:
    assert isinstance(decide(1, tries=15), dunning.GiveUp)
    assert isinstance(decide(1, tries=14), dunning.RetryAt)


def test_end_of_dunning_outcomes() -> None:
    assert dunning.end_of_dunning(POLICY, PlanKind.INSTALLMENT) == SubscriptionStatus.DEFAULTED
    assert dunning.end_of_dunning(POLICY, PlanKind.RECURRING) == SubscriptionStatus.PAUSED
    cancel = dunning.DunningPolicy(final_action="cancel")
    assert dunning.end_of_dunning(cancel, PlanKind.RECURRING) == SubscriptionStatus.CANCELLED
    skip = dunning.DunningPolicy(final_action="skip")
    assert dunning.end_of_dunning(skip, PlanKind.RECURRING) is None


def test_card_valid_through_its_expiry_month() -> None:
    assert not dunning.card_expired(2, 27, date(2027, 2, 28))
    assert dunning.card_expired(2, 27, date(2027, 3, 1))
    assert dunning.card_expired(12, 2026, date(2027, 1, 1))
