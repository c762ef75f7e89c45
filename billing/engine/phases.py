"""The store side of collecting a charge: one short transaction per phase.

Each function records what just happened *before* the next request is sent (write-ahead), so
a crash at any instant leaves a row that says how far the attempt got:

    begin            attempt STARTED with a fresh externalReferenceId; charge PROCESSING
    intent_created   the Toast intent id and session secret stored
    confirm_sending  CONFIRM_SENT committed, then the confirm goes out
    authorized       REQUIRES_CAPTURE seen; the check is not applied yet
    paid             applied to a check: attempt SUCCEEDED, charge PAID
    declined         attempt DECLINED; dunning moves the charge (retry, or give up)
    unknown          outcome unknown: the reconciler reads the intent back later
    abandoned        never confirmed (create not sent or its outcome unknown): a new attempt
    voided           authorized but voided by Toast: a new attempt
    failed           Toast refused the request (not a decline): needs attention
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlmodel import Session

from billing.domain import dunning, lifecycle
from billing.domain.states import (
    AttemptStatus,
    ChargeStatus,
    MandateStatus,
    PlanKind,
    SubscriptionStatus,
)
from billing.engine import recovery
from billing.engine.jobs import ChargeJob
from billing.errors import NotFound
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Attempt, Charge, Customer, Mandate, Plan, Subscription

FIRST_RECHECK = timedelta(seconds=15)
# A charge whose attempt never reached a confirm (or was voided) is tried again this much later.
RETRY_DELAY = timedelta(seconds=30)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class MandateToRevoke:
    mandate_id: int
    toast_mandate_id: str
    location_guid: str


def _get(session: Session, table: type[T], row_id: int | None) -> T:
    row = session.get(table, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"{table.__name__.lower()} {row_id} does not exist")
    return row


def _move_charge(charge: Charge, target: ChargeStatus) -> None:
    charge.status = lifecycle.transition("charge", ChargeStatus(charge.status), target)


def _move_attempt(attempt: Attempt, target: AttemptStatus, now: datetime) -> None:
    attempt.status = lifecycle.transition("attempt", AttemptStatus(attempt.status), target)
    attempt.updated_at = now
    if lifecycle.is_settled(target):
        attempt.settled_at = now
        attempt.next_check_at = None


def _move_subscription(sub: Subscription, target: SubscriptionStatus) -> None:
    current = SubscriptionStatus(sub.status)
    if current != target:
        sub.status = lifecycle.transition("subscription", current, target)


def begin(
    store: Store, *, charge_id: int, owner: str, now: datetime, lease_s: float
) -> ChargeJob | None:
    """Write-ahead a new attempt for a leased charge; None if the lease was lost meanwhile."""
    with store.transaction() as session:
        charge = _get(session, Charge, charge_id)
        if charge.lease_owner != owner or charge.status not in lifecycle.CLAIMABLE_CHARGES:
            return None
        mandate = _get(session, Mandate, charge.mandate_id)
        customer = _get(session, Customer, mandate.customer_id)
        if mandate.status != MandateStatus.ACTIVE or mandate.toast_mandate_id is None:
            _needs_attention(session, charge, now, f"mandate is {mandate.status}")
            return None
        attempt = Attempt(
            charge_id=charge_id,
            number=charge.attempt_count + 1,
            external_reference_id=str(uuid.uuid4()),
            worker=owner,
            created_at=now,
            updated_at=now,
            next_check_at=now + timedelta(seconds=lease_s),
        )
        session.add(attempt)
        charge.attempt_count += 1
        _move_charge(charge, ChargeStatus.PROCESSING)
        session.flush()
        events.emit(
            session, at=now, entity="charge", entity_id=charge_id, type="attempt_started",
            attempt_id=attempt.id, number=attempt.number,
        )  # fmt: skip
        return ChargeJob(
            charge_id=charge_id,
            attempt_id=_id(attempt),
            attempt_number=attempt.number,
            external_reference_id=attempt.external_reference_id,
            amount_cents=charge.amount_cents,
            location_guid=charge.location_guid,
            toast_mandate_id=mandate.toast_mandate_id,
            payment_method_id=mandate.toast_payment_method_id,
            toast_customer_id=customer.toast_customer_id,
            email=customer.email,
            check_item=charge.check_item,
        )


def _id(row: Attempt | Charge) -> int:
    assert row.id is not None
    return row.id


def intent_created(
    store: Store, job: ChargeJob, *, intent_id: str, session_secret: str, now: datetime
) -> ChargeJob:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.toast_intent_id = intent_id
        attempt.session_secret = session_secret
        _move_attempt(attempt, AttemptStatus.INTENT_CREATED, now)
    return replace(job, intent_id=intent_id, session_secret=session_secret)


def confirm_sending(store: Store, job: ChargeJob, *, now: datetime, lease_s: float) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        if attempt.status != AttemptStatus.CONFIRM_SENT:
            _move_attempt(attempt, AttemptStatus.CONFIRM_SENT, now)
        attempt.next_check_at = now + timedelta(seconds=lease_s)


def authorized(store: Store, job: ChargeJob, *, now: datetime) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        if attempt.status != AttemptStatus.AUTHORIZED:
            _move_attempt(attempt, AttemptStatus.AUTHORIZED, now)
        attempt.next_check_at = now + FIRST_RECHECK


def paid(
    store: Store, job: ChargeJob, *, order_guid: str | None, now: datetime
) -> MandateToRevoke | None:
    """Settle as paid; returns the mandate to revoke when its purpose has ended."""
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.order_guid = order_guid
        _move_attempt(attempt, AttemptStatus.SUCCEEDED, now)
        charge = _get(session, Charge, job.charge_id)
        _move_charge(charge, ChargeStatus.PAID)
        charge.settled_at = now
        _clear_lease(charge)
        events.emit(
            session, at=now, entity="charge", entity_id=job.charge_id, type="charge_paid",
            attempt_id=job.attempt_id, amount_cents=charge.amount_cents,
        )  # fmt: skip
        return _after_paid(session, charge, now)


def _after_paid(session: Session, charge: Charge, now: datetime) -> MandateToRevoke | None:
    mandate = _get(session, Mandate, charge.mandate_id)
    if charge.subscription_id is None:  # a one-off fee: its mandate's purpose ends here
        return _revocation(mandate) if mandate.standing_instruction == "UNSCHEDULED" else None
    sub = _get(session, Subscription, charge.subscription_id)
    plan = _get(session, Plan, sub.plan_id)
    sub.cycles_paid += 1
    if sub.status == SubscriptionStatus.PAST_DUE:
        _move_subscription(sub, SubscriptionStatus.ACTIVE)
    if _all_cycles_paid(plan, sub):
        _move_subscription(sub, SubscriptionStatus.COMPLETED)
        events.emit(
            session, at=now, entity="subscription", entity_id=sub.id or 0, type="completed"
        )
        return _revocation(mandate)
    return None


def _all_cycles_paid(plan: Plan, sub: Subscription) -> bool:
    if plan.kind == PlanKind.INSTALLMENT:
        return sub.cycles_paid >= (plan.installments or 0)
    return plan.max_cycles is not None and sub.cycles_paid >= plan.max_cycles


def _revocation(mandate: Mandate) -> MandateToRevoke | None:
    if mandate.status != MandateStatus.ACTIVE or mandate.toast_mandate_id is None:
        return None
    return MandateToRevoke(
        mandate_id=mandate.id or 0,
        toast_mandate_id=mandate.toast_mandate_id,
        location_guid=mandate.location_guid,
    )


def mandate_revoked(store: Store, *, mandate_id: int, now: datetime) -> None:
    with store.transaction() as session:
        mandate = _get(session, Mandate, mandate_id)
        if mandate.status == MandateStatus.ACTIVE:
            mandate.status = lifecycle.transition(
                "mandate", MandateStatus.ACTIVE, MandateStatus.REVOKED
            )
            mandate.revoked_at = now
            events.emit(session, at=now, entity="mandate", entity_id=mandate_id, type="revoked")


def declined(
    store: Store,
    job: ChargeJob,
    *,
    decline_type: str | None,
    decline_code: str | None,
    now: datetime,
    policy: dunning.DunningPolicy,
) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.decline_type, attempt.decline_code = decline_type, decline_code
        _move_attempt(attempt, AttemptStatus.DECLINED, now)
        charge = _get(session, Charge, job.charge_id)
        charge.decline_count += 1
        charge.last_decline_code = decline_code or decline_type
        charge.first_declined_at = charge.first_declined_at or now
        _clear_lease(charge)
        decision = dunning.decide(
            policy,
            decline_type=decline_type,
            decline_code=decline_code,
            attempt_number=charge.decline_count,
            first_declined_at=charge.first_declined_at,
            now=now,
            attempts_last_30d=charge.attempt_count,
        )
        _apply_dunning(session, charge, decision, now, policy)


def _apply_dunning(
    session: Session,
    charge: Charge,
    decision: dunning.RetryAt | dunning.GiveUp,
    now: datetime,
    policy: dunning.DunningPolicy,
) -> None:
    sub = session.get(Subscription, charge.subscription_id) if charge.subscription_id else None
    if isinstance(decision, dunning.RetryAt):
        _move_charge(charge, ChargeStatus.RETRY_SCHEDULED)
        charge.next_attempt_at = decision.at
        if sub is not None and sub.status == SubscriptionStatus.ACTIVE:
            _move_subscription(sub, SubscriptionStatus.PAST_DUE)
        events.emit(
            session, at=now, entity="charge", entity_id=_id(charge), type="retry_scheduled",
            retry_at=decision.at.isoformat(), decline_code=charge.last_decline_code,
        )  # fmt: skip
        return
    _move_charge(charge, ChargeStatus.FAILED)
    charge.settled_at = now
    events.emit(
        session, at=now, entity="charge", entity_id=_id(charge), type="charge_failed",
        reason=decision.reason,
    )  # fmt: skip
    if sub is not None:
        plan = _get(session, Plan, sub.plan_id)
        _end_dunning(session, sub, plan, now, policy)


def _end_dunning(
    session: Session, sub: Subscription, plan: Plan, now: datetime, policy: dunning.DunningPolicy
) -> None:
    outcome = dunning.end_of_dunning(policy, PlanKind(plan.kind))
    if outcome is None:  # "skip": keep billing the next cycles
        if sub.status == SubscriptionStatus.PAST_DUE:
            _move_subscription(sub, SubscriptionStatus.ACTIVE)
        return
    if sub.status == SubscriptionStatus.ACTIVE:
        _move_subscription(sub, SubscriptionStatus.PAST_DUE)
    _move_subscription(sub, outcome)
    if outcome == SubscriptionStatus.CANCELLED:
        sub.cancelled_at = now
    events.emit(
        session, at=now, entity="subscription", entity_id=sub.id or 0, type=str(outcome)
    )


def unknown(store: Store, job: ChargeJob, *, now: datetime, reason: str) -> None:
    """Outcome unknown (or still PROCESSING): read back later on the backoff schedule; after a
    day of read-backs the charge needs a human (``billing attention``)."""
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        if attempt.status == AttemptStatus.UNKNOWN:
            attempt.check_count += 1
        else:
            _move_attempt(attempt, AttemptStatus.UNKNOWN, now)
            events.emit(
                session, at=now, entity="attempt", entity_id=job.attempt_id,
                type="outcome_unknown", reason=reason[:200],
            )  # fmt: skip
        attempt.error = reason[:500]
        delay = recovery.next_check_delay(attempt.check_count)
        attempt.next_check_at = None if delay is None else now + delay
        if delay is None:
            charge = _get(session, Charge, job.charge_id)
            _needs_attention(session, charge, now, f"outcome unknown: {reason}")


def abandoned(store: Store, job: ChargeJob, *, now: datetime, reason: str) -> None:
    """The intent was never confirmed: settle the attempt and make the charge due again now."""
    _settle_and_retry(store, job, AttemptStatus.ABANDONED, now=now, reason=reason)


def voided(store: Store, job: ChargeJob, *, now: datetime) -> None:
    _settle_and_retry(store, job, AttemptStatus.VOIDED, now=now, reason="authorization voided")


def _settle_and_retry(
    store: Store, job: ChargeJob, target: AttemptStatus, *, now: datetime, reason: str
) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.error = reason[:500]
        _move_attempt(attempt, target, now)
        charge = _get(session, Charge, job.charge_id)
        back = ChargeStatus.RETRY_SCHEDULED if charge.decline_count else ChargeStatus.SCHEDULED
        _move_charge(charge, back)
        charge.next_attempt_at = now + RETRY_DELAY
        _clear_lease(charge)
        events.emit(
            session, at=now, entity="attempt", entity_id=job.attempt_id, type=str(target),
            reason=reason[:200],
        )  # fmt: skip


def failed(store: Store, job: ChargeJob, *, now: datetime, error: str) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.error = error[:500]
        _move_attempt(attempt, AttemptStatus.FAILED, now)
        charge = _get(session, Charge, job.charge_id)
        _needs_attention(session, charge, now, error)


def _needs_attention(session: Session, charge: Charge, now: datetime, why: str) -> None:
    _move_charge(charge, ChargeStatus.NEEDS_ATTENTION)
    _clear_lease(charge)
    events.emit(
        session, at=now, entity="charge", entity_id=_id(charge), type="needs_attention",
        reason=why[:200],
    )  # fmt: skip


def _clear_lease(charge: Charge) -> None:
    charge.lease_owner = None
    charge.lease_expires_at = None
