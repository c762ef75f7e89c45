"""The states of the things billing tracks. Transitions between them live in ``lifecycle``."""

from __future__ import annotations

from enum import StrEnum


class PlanKind(StrEnum):
    RECURRING = "RECURRING"
    INSTALLMENT = "INSTALLMENT"
    UNSCHEDULED = "UNSCHEDULED"


class IntervalUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(StrEnum):
    PENDING_MANDATE = "pending_mandate"  # waiting for the customer to authorize a card
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a charge is in dunning
    PAUSED = "paused"  # dunning ended (default action) or paused by staff
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # every installment paid / fixed count reached
    DEFAULTED = "defaulted"  # an installment plan whose dunning ended unpaid


class ChargeStatus(StrEnum):
    SCHEDULED = "scheduled"  # due at due_at, no attempt open
    PROCESSING = "processing"  # an attempt is open (in flight, or outcome unknown)
    RETRY_SCHEDULED = "retry_scheduled"  # declined; dunning picked the next try (due_at moved)
    PAID = "paid"  # authorized and applied to a Toast check
    FAILED = "failed"  # dunning gave up, or a do-not-retry decline
    CANCELLED = "cancelled"  # will not be collected
    NEEDS_ATTENTION = "needs_attention"  # the reconciler could not settle it; a human decides


class AttemptStatus(StrEnum):
    STARTED = "started"  # write-ahead: externalReferenceId committed, nothing sent yet
    INTENT_CREATED = "intent_created"  # Toast intent id and session secret stored
    CONFIRM_SENT = "confirm_sent"  # confirm is (or was) on the wire
    AUTHORIZED = "authorized"  # REQUIRES_CAPTURE; the check is not applied yet
    UNKNOWN = "unknown"  # outcome unknown; the reconciler reads it back
    SUCCEEDED = "succeeded"  # settled: authorized and applied to a check
    DECLINED = "declined"  # settled: authorization declined
    VOIDED = "voided"  # settled: authorized but voided (check not applied in time)
    ABANDONED = "abandoned"  # settled: never confirmed (create outcome unknown); harmless orphan
    FAILED = "failed"  # settled: Toast refused the request (not a decline)


SETTLED_ATTEMPT_STATES = frozenset(
    {
        AttemptStatus.SUCCEEDED,
        AttemptStatus.DECLINED,
        AttemptStatus.VOIDED,
        AttemptStatus.ABANDONED,
        AttemptStatus.FAILED,
    }
)


class MandateStatus(StrEnum):
    PENDING_SETUP = "pending_setup"  # setup intent created, not confirmed yet
    ACTIVE = "active"
    REVOKED = "revoked"  # revoked through Toast; cannot be reactivated
    EXPIRED = "expired"  # card expiry passed; collection stopped
    SETUP_FAILED = "setup_failed"  # the setup intent expired or failed


class StandingInstruction(StrEnum):
    RECURRING = "RECURRING"
    INSTALLMENT = "INSTALLMENT"
    UNSCHEDULED = "UNSCHEDULED"
