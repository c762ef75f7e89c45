"""Allowed state transitions of subscriptions, charges, attempts and mandates.

``transition(entity, current, target)`` returns ``target`` or raises ``InvalidTransition``.
Terminal states have no exits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from billing.domain.states import (
    SETTLED_ATTEMPT_STATES,
    AttemptStatus,
    ChargeStatus,
    MandateStatus,
    SubscriptionStatus,
)
from billing.errors import InvalidTransition

S = SubscriptionStatus
C = ChargeStatus
A = AttemptStatus
M = MandateStatus
E = TypeVar("E", bound=StrEnum)

SUBSCRIPTION: dict[StrEnum, frozenset[StrEnum]] = {
    S.PENDING_MANDATE: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELLED, S.COMPLETED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.PAUSED, S.CANCELLED, S.COMPLETED, S.DEFAULTED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.COMPLETED: frozenset(),
    S.DEFAULTED: frozenset(),
}
CHARGE: dict[StrEnum, frozenset[StrEnum]] = {
    C.SCHEDULED: frozenset({C.PROCESSING, C.CANCELLED, C.NEEDS_ATTENTION}),
    C.PROCESSING: frozenset(
        {C.PAID, C.RETRY_SCHEDULED, C.SCHEDULED, C.FAILED, C.NEEDS_ATTENTION}
    ),
    C.RETRY_SCHEDULED: frozenset({C.PROCESSING, C.CANCELLED, C.FAILED, C.NEEDS_ATTENTION}),
    C.NEEDS_ATTENTION: frozenset(
        {C.PROCESSING, C.PAID, C.FAILED, C.CANCELLED, C.SCHEDULED, C.RETRY_SCHEDULED}
    ),
    C.PAID: frozenset(),
    C.FAILED: frozenset(),
    C.CANCELLED: frozenset(),
}
_SETTLED = frozenset(SETTLED_ATTEMPT_STATES)
ATTEMPT: dict[StrEnum, frozenset[StrEnum]] = {
    A.STARTED: frozenset({A.INTENT_CREATED, A.ABANDONED, A.FAILED, A.UNKNOWN}),
    A.INTENT_CREATED: frozenset({A.CONFIRM_SENT, A.ABANDONED, A.FAILED, A.UNKNOWN}),
    A.CONFIRM_SENT: frozenset(
        {A.AUTHORIZED, A.DECLINED, A.UNKNOWN, A.VOIDED, A.FAILED, A.SUCCEEDED}
    ),
    A.AUTHORIZED: frozenset({A.SUCCEEDED, A.VOIDED, A.UNKNOWN}),
    A.UNKNOWN: frozenset(
        {A.CONFIRM_SENT, A.AUTHORIZED, A.SUCCEEDED, A.DECLINED, A.VOIDED, A.ABANDONED, A.FAILED}
    ),
    **{state: frozenset() for state in _SETTLED},
}
MANDATE: dict[StrEnum, frozenset[StrEnum]] = {
    M.PENDING_SETUP: frozenset({M.ACTIVE, M.SETUP_FAILED}),
    M.ACTIVE: frozenset({M.REVOKED, M.EXPIRED}),
    M.EXPIRED: frozenset({M.REVOKED}),
    M.REVOKED: frozenset(),
    M.SETUP_FAILED: frozenset(),
}
TABLES: dict[str, dict[StrEnum, frozenset[StrEnum]]] = {
    "subscription": SUBSCRIPTION,
    "charge": CHARGE,
    "attempt": ATTEMPT,
    "mandate": MANDATE,
}
CLAIMABLE_CHARGES = frozenset({C.SCHEDULED, C.RETRY_SCHEDULED})


def allowed(entity: str, current: StrEnum, target: StrEnum) -> bool:
    return target in TABLES[entity].get(current, frozenset())


def transition(entity: str, current: E, target: E) -> E:
    if not allowed(entity, current, target):
        raise InvalidTransition(entity, str(current), str(target))
    return target


def is_settled(status: AttemptStatus) -> bool:
    return status in _SETTLED


def is_terminal(entity: str, status: StrEnum) -> bool:
    return not TABLES[entity][status]
