"""Lifecycle: each table allows exactly its transitions; terminal states have no exits."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain import lifecycle
from billing.domain.states import (
    SETTLED_ATTEMPT_STATES,
    AttemptStatus,
    ChargeStatus,
    MandateStatus,
    SubscriptionStatus,
)
from billing.errors import InvalidTransition

A, C, M, S = AttemptStatus, ChargeStatus, MandateStatus, SubscriptionStatus
ENTITIES: list[lifecycle.Entity] = ["subscription", "charge", "attempt", "mandate"]
PAIRS = [
    (entity, current, target)
    for entity in ENTITIES
    for current, target in itertools.product(lifecycle.ENUMS[entity], repeat=2)
]


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_state_has_a_row(entity: lifecycle.Entity) -> None:
    assert set(lifecycle.TABLES[entity]) == set(lifecycle.ENUMS[entity])
    for exits in lifecycle.TABLES[entity].values():
        assert all(isinstance(state, lifecycle.ENUMS[entity]) for state in exits)


@pytest.mark.parametrize(("entity", "current", "target"), PAIRS)
def test_allowed_transitions_pass_and_the_others_raise(
    entity: lifecycle.Entity, current: StrEnum, target: StrEnum
) -> None:
    if target in lifecycle.TABLES[entity][current]:
        assert lifecycle.transition(entity, current, target) is target
        assert lifecycle.transition(entity, current.value, target) is target  # a raw row value
    else:
        with pytest.raises(InvalidTransition) as info:
            lifecycle.transition(entity, current, target)
        assert (info.value.entity, info.value.current, info.value.target) == (
            entity, current.value, target.value,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("entity", "path"),
    [
        ("subscription", [S.PENDING_MANDATE, S.ACTIVE, S.PAST_DUE, S.ACTIVE, S.PAUSED, S.ACTIVE,
                          S.PAST_DUE, S.CANCELLED]),
        ("subscription", [S.ACTIVE, S.PAST_DUE, S.DEFAULTED]),
        ("subscription", [S.ACTIVE, S.PAST_DUE, S.COMPLETED]),
        ("charge", [C.SCHEDULED, C.PROCESSING, C.RETRY_SCHEDULED, C.PROCESSING,
                    C.RETRY_SCHEDULED, C.PROCESSING, C.PAID]),
        ("charge", [C.SCHEDULED, C.PROCESSING, C.NEEDS_ATTENTION, C.PROCESSING, C.FAILED]),
        ("charge", [C.SCHEDULED, C.PROCESSING, C.SCHEDULED, C.CANCELLED]),
        ("charge", [C.RETRY_SCHEDULED, C.CANCELLED]),
        ("attempt", [A.STARTED, A.INTENT_CREATED, A.CONFIRM_SENT, A.AUTHORIZED, A.SUCCEEDED]),
        ("attempt", [A.STARTED, A.INTENT_CREATED, A.CONFIRM_SENT, A.UNKNOWN, A.DECLINED]),
        ("attempt", [A.CONFIRM_SENT, A.UNKNOWN, A.AUTHORIZED, A.VOIDED]),
        ("attempt", [A.STARTED, A.UNKNOWN, A.ABANDONED]),
        ("mandate", [M.PENDING_SETUP, M.ACTIVE, M.EXPIRED, M.REVOKED]),
        ("mandate", [M.PENDING_SETUP, M.SETUP_FAILED]),
    ],
)  # fmt: skip
def test_real_flows_are_allowed(entity: lifecycle.Entity, path: list[StrEnum]) -> None:
    for current, target in itertools.pairwise(path):
        assert lifecycle.transition(entity, current, target) is target


@pytest.mark.parametrize(
    ("entity", "current", "target"),
    [("charge", C.PROCESSING, C.CANCELLED),  # money may be moving
     ("charge", C.PAID, C.PROCESSING), ("subscription", S.CANCELLED, S.ACTIVE),
     ("subscription", S.PAUSED, S.PAST_DUE), ("attempt", A.DECLINED, A.SUCCEEDED),
     ("attempt", A.STARTED, A.SUCCEEDED), ("mandate", M.REVOKED, M.ACTIVE)],
)  # fmt: skip
def test_dangerous_moves_are_refused(
    entity: lifecycle.Entity, current: StrEnum, target: StrEnum
) -> None:
    assert not lifecycle.allowed(entity, current, target)


def test_states_of_another_entity_or_unknown_values_are_refused() -> None:
    # ChargeStatus.CANCELLED == "cancelled" == SubscriptionStatus.CANCELLED as strings
    with pytest.raises(InvalidTransition):
        lifecycle.transition("subscription", S.ACTIVE, C.CANCELLED)
    with pytest.raises(InvalidTransition):
        lifecycle.transition("charge", "bogus", C.PROCESSING)
    assert not lifecycle.allowed("mandate", "active", "nope")


def test_terminal_states_and_settled_attempts() -> None:
    terminal = {
        entity: {s for s in lifecycle.ENUMS[entity] if lifecycle.is_terminal(entity, s)}
        for entity in ENTITIES
    }
    assert terminal["subscription"] == {S.CANCELLED, S.COMPLETED, S.DEFAULTED}
    assert terminal["charge"] == {C.PAID, C.FAILED, C.CANCELLED}
    assert terminal["attempt"] == set(SETTLED_ATTEMPT_STATES)
    assert terminal["mandate"] == {M.REVOKED, M.SETUP_FAILED}
    assert all(lifecycle.is_settled(s) == (s in terminal["attempt"]) for s in AttemptStatus)
    assert lifecycle.is_settled("declined")
    assert lifecycle.CLAIMABLE_CHARGES <= lifecycle.OPEN_CHARGES
    assert lifecycle.OPEN_CHARGES.isdisjoint(terminal["charge"])


@given(entity=st.sampled_from(ENTITIES), data=st.data())
def test_random_walks_end_only_in_terminal_states(
    entity: lifecycle.Entity, data: st.DataObject
) -> None:
    state: StrEnum = data.draw(st.sampled_from(list(lifecycle.ENUMS[entity])))
    for _ in range(20):
        exits = sorted(lifecycle.exits(entity, state))
        if not exits:
            assert lifecycle.is_terminal(entity, state)
            return
        state = lifecycle.transition(entity, state, data.draw(st.sampled_from(exits)))
