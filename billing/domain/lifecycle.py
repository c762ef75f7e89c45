"""Allowed state transitions of subscriptions, charges, attempts and mandates.

``transition(entity, current, target)`` returns ``target`` or raises ``InvalidTransition``.
Terminal states have no exits. The flows the tables allow:

- subscription: pending_mandate -> active -> past_due -> active (recovered) | paused |
  cancelled | completed | defaulted; paused -> active (resumed) | cancelled.
- charge: scheduled -> processing -> paid | retry_scheduled -> processing ... | failed;
  processing -> scheduled (the attempt was abandoned before any confirm); an unsettled
  charge -> needs_attention -> processing | paid | failed | cancelled | back in the queue;
  scheduled | retry_scheduled -> cancelled. Never cancelled while processing: money may move.
- attempt: started -> intent_created -> confirm_sent -> authorized -> succeeded; confirm_sent
  -> declined | unknown; unknown -> what the read-back shows (or confirm_sent again, as an
  idempotent re-send); started | intent_created -> abandoned | failed; authorized -> voided.
- mandate: pending_setup -> active | setup_failed; active -> revoked | expired; expired ->
  revoked (Toast asks for a revoke once the purpose ends, expired or not).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, TypeVar

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
Entity = Literal["subscription", "charge", "attempt", "mandate"]
Table = dict[StrEnum, frozenset[StrEnum]]

SUBSCRIPTION: Table = {
    S.PENDING_MANDATE: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELLED, S.COMPLETED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.PAUSED, S.CANCELLED, S.COMPLETED, S.DEFAULTED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.COMPLETED: frozenset(),
    S.DEFAULTED: frozenset(),
}
CHARGE: Table = {
    C.SCHEDULED: frozenset({C.PROCESSING, C.CANCELLED, C.NEEDS_ATTENTION}),
    C.PROCESSING: frozenset({C.PAID, C.RETRY_SCHEDULED, C.SCHEDULED, C.FAILED, C.NEEDS_ATTENTION}),
    C.RETRY_SCHEDULED: frozenset({C.PROCESSING, C.CANCELLED, C.FAILED, C.NEEDS_ATTENTION}),
    C.NEEDS_ATTENTION: frozenset(
        {C.PROCESSING, C.PAID, C.FAILED, C.CANCELLED, C.SCHEDULED, C.RETRY_SCHEDULED}
    ),
    C.PAID: frozenset(),
    C.FAILED: frozenset(),
    C.CANCELLED: frozenset(),
}
ATTEMPT: Table = {
    A.STARTED: frozenset({A.INTENT_CREATED, A.CONFIRM_SENT, A.ABANDONED, A.FAILED, A.UNKNOWN}),
    A.INTENT_CREATED: frozenset({A.CONFIRM_SENT, A.ABANDONED, A.FAILED, A.UNKNOWN}),
    A.CONFIRM_SENT: frozenset(
        {A.AUTHORIZED, A.DECLINED, A.UNKNOWN, A.VOIDED, A.FAILED, A.SUCCEEDED}
    ),
    A.AUTHORIZED: frozenset({A.SUCCEEDED, A.VOIDED, A.UNKNOWN}),
    A.UNKNOWN: frozenset(
        {A.CONFIRM_SENT, A.AUTHORIZED, A.SUCCEEDED, A.DECLINED, A.VOIDED, A.ABANDONED, A.FAILED}
    ),
    **{state: frozenset() for state in SETTLED_ATTEMPT_STATES},
}
MANDATE: Table = {
    M.PENDING_SETUP: frozenset({M.ACTIVE, M.SETUP_FAILED}),
    M.ACTIVE: frozenset({M.REVOKED, M.EXPIRED}),
    M.EXPIRED: frozenset({M.REVOKED}),
    M.REVOKED: frozenset(),
    M.SETUP_FAILED: frozenset(),
}
TABLES: dict[str, Table] = {
    "subscription": SUBSCRIPTION,
    "charge": CHARGE,
    "attempt": ATTEMPT,
    "mandate": MANDATE,
}
ENUMS: dict[str, type[StrEnum]] = {
    "subscription": SubscriptionStatus,
    "charge": ChargeStatus,
    "attempt": AttemptStatus,
    "mandate": MandateStatus,
}
CLAIMABLE_CHARGES = frozenset({C.SCHEDULED, C.RETRY_SCHEDULED})
OPEN_CHARGES = frozenset({C.SCHEDULED, C.PROCESSING, C.RETRY_SCHEDULED, C.NEEDS_ATTENTION})


def allowed(entity: Entity, current: StrEnum | str, target: StrEnum | str) -> bool:
    """Whether ``entity`` may go from ``current`` to ``target`` (states of another entity's
    enum, or unknown values, are never allowed)."""
    kind = ENUMS[entity]
    if not (_is_state(kind, current) and _is_state(kind, target)):
        return False
    return kind(target) in TABLES[entity][kind(current)]


def transition(entity: Entity, current: E | str, target: E) -> E:
    """``target`` if the move is allowed, else ``InvalidTransition``. ``current`` may be the
    raw value read from a row."""
    if not allowed(entity, current, target):
        raise InvalidTransition(entity, str(current), str(target))
    return target


def exits(entity: Entity, status: StrEnum | str) -> frozenset[StrEnum]:
    """The states ``entity`` may move to from ``status``."""
    return TABLES[entity][ENUMS[entity](status)]


def is_terminal(entity: Entity, status: StrEnum | str) -> bool:
    return not exits(entity, status)


def is_settled(status: AttemptStatus | str) -> bool:
    """An attempt whose outcome is final (another attempt of the charge may start)."""
    return status in SETTLED_ATTEMPT_STATES


def _is_state(kind: type[StrEnum], value: StrEnum | str) -> bool:
    if isinstance(value, StrEnum):
        return isinstance(value, kind)
    return value in kind._value2member_map_
