"""Staff actions on charges: list, retry now, cancel; and what needs a human (attention)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import dunning, lifecycle
from billing.domain.states import ChargeStatus, SubscriptionStatus
from billing.errors import DomainError, NotFound
from billing.store import events
from billing.store.tables import Attempt, Charge, Event, Subscription

C = ChargeStatus
RETRYABLE = (C.FAILED, C.NEEDS_ATTENTION, C.RETRY_SCHEDULED)
# NEEDS_ATTENTION too, once no attempt is unsettled: a human wrote it off.
CANCELLABLE = (C.SCHEDULED, C.RETRY_SCHEDULED, C.NEEDS_ATTENTION)


def get(session: Session, charge_id: int) -> Charge:
    charge = session.get(Charge, charge_id)
    if charge is None:
        raise NotFound(f"unknown charge {charge_id}", field="charge")
    return charge


def list_all(
    session: Session,
    *,
    status: str | None = None,
    due_before: datetime | None = None,
    subscription_id: int | None = None,
) -> list[Charge]:
    query = select(Charge).order_by(col(Charge.due_at), col(Charge.id))
    if status is not None:
        query = query.where(Charge.status == ChargeStatus(status))
    if due_before is not None:
        query = query.where(col(Charge.due_at) < due_before)
    if subscription_id is not None:
        query = query.where(Charge.subscription_id == subscription_id)
    return list(session.exec(query).all())


def attempts_of(session: Session, charge_id: int) -> list[Attempt]:
    query = select(Attempt).where(Attempt.charge_id == charge_id).order_by(col(Attempt.number))
    return list(session.exec(query).all())


def unsettled(session: Session, charge_id: int) -> Attempt | None:
    return next((a for a in attempts_of(session, charge_id) if a.settled_at is None), None)


def _refuse_unsettled(session: Session, charge_id: int) -> None:
    """Money may still move while an attempt is unsettled: nothing may be done over it."""
    open_attempt = unsettled(session, charge_id)
    if open_attempt is not None:
        raise DomainError(
            f"charge {charge_id}: attempt {open_attempt.number} is unsettled (Toast intent "
            f"{open_attempt.toast_intent_id or 'not created'}); money may have moved: check it "
            "in Toast and let the reconciler settle it first",
            field="charge",
        )


def retry(session: Session, charge_id: int, *, now: datetime) -> Charge:
    """Make the charge due now (the next tick collects it with a new attempt)."""
    charge = get(session, charge_id)
    if charge.status not in RETRYABLE:
        raise DomainError(
            f"charge {charge_id} is {charge.status}; only failed, needs_attention or "
            "retry_scheduled charges can be retried",
            field="charge",
        )
    if charge.status == C.FAILED:  # terminal in billing.domain.lifecycle: no way back
        raise DomainError(
            f"charge {charge_id} failed for good (dunning gave up or the card must not be "
            "retried); for a fee, create a new one: billing charges create",
            field="charge",
        )
    _refuse_unsettled(session, charge_id)
    if charge.status != C.RETRY_SCHEDULED:
        target = C.RETRY_SCHEDULED if charge.decline_count else C.SCHEDULED
        charge.status = lifecycle.transition("charge", charge.status, target)
    charge.next_attempt_at = now
    charge.lease_owner, charge.lease_expires_at, charge.settled_at = None, None, None
    events.emit(session, at=now, entity="charge", entity_id=charge_id, type="retry_requested")
    session.flush()
    return charge


def cancel(session: Session, charge_id: int, *, now: datetime) -> Charge:
    charge = get(session, charge_id)
    if charge.status not in CANCELLABLE:
        raise DomainError(
            f"charge {charge_id} is {charge.status}; only scheduled, retry_scheduled or "
            "needs_attention charges can be cancelled",
            field="charge",
        )
    _refuse_unsettled(session, charge_id)
    charge.status = lifecycle.transition("charge", charge.status, C.CANCELLED)
    charge.settled_at = now
    events.emit(session, at=now, entity="charge", entity_id=charge_id, type="cancelled",
                reason="staff")  # fmt: skip
    _recover_subscription(session, charge, now)
    session.flush()
    return charge


def _recover_subscription(session: Session, charge: Charge, now: datetime) -> None:
    """A past-due subscription whose last charge in dunning was cancelled is current again."""
    if charge.subscription_id is None:
        return
    sub = session.get(Subscription, charge.subscription_id)
    if sub is None or sub.status != SubscriptionStatus.PAST_DUE:
        return
    others = select(Charge.id).where(Charge.subscription_id == sub.id)
    others = others.where(col(Charge.status).in_((C.RETRY_SCHEDULED, C.NEEDS_ATTENTION)))
    if session.exec(others.where(Charge.id != charge.id)).first() is None:
        sub.status = lifecycle.transition("subscription", sub.status, SubscriptionStatus.ACTIVE)
        events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0, type="active")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttentionItem:
    charge: Charge
    attempt: Attempt | None
    advice: str
    reason: str | None = None  # why the engine held it (the needs_attention event)


def advice_for(attempt: Attempt | None, reason: str | None = None) -> str:
    if (attempt is not None and dunning.is_expired_card(attempt.decline_code)) or (
        reason or ""
    ).startswith(("card expired", "mandate is expired")):
        return (
            "the card on file has expired: ask the customer for a new card (replace card); "
            "the charge is then collected at once, or write it off: billing charges cancel ID"
        )
    if reason is not None and reason.startswith("required notice not sent"):
        return f"{reason} (a retry sends it without the notice)"
    if reason is not None and "standing instruction type" in reason:
        return (
            f"{reason}: the charge is outside the mandate's consent; cancel it (billing "
            "charges cancel ID) and charge a mandate of the right type"
        )
    if attempt is None or attempt.toast_intent_id is None:
        return "no payment intent was created: billing charges retry ID (or cancel ID)"
    if attempt.settled_at is None:
        return (
            f"look up payment intent {attempt.toast_intent_id} in Toast; if it authorized, "
            "apply it to a check there; the reconciler settles the attempt (then retry or cancel)"
        )
    return (
        f"Toast refused or voided intent {attempt.toast_intent_id} "
        f"({attempt.error or 'no detail'}): fix the cause, then billing charges retry ID, "
        "or write it off: billing charges cancel ID"
    )


def held_reason(session: Session, charge_id: int) -> str | None:
    """The reason of the charge's latest ``needs_attention`` event."""
    query = (
        select(Event)
        .where(Event.entity == "charge", Event.entity_id == charge_id)
        .where(Event.type == "needs_attention")
        .order_by(col(Event.id).desc())
    )
    event = session.exec(query).first()
    reason = (event.data or {}).get("reason") if event is not None else None
    return str(reason) if reason else None


def attention(session: Session) -> list[AttentionItem]:
    """Every charge the engine could not settle, with its last attempt and what to do."""
    items = []
    for charge in list_all(session, status=C.NEEDS_ATTENTION):
        tries = attempts_of(session, charge.id or 0)
        last = tries[-1] if tries else None
        reason = held_reason(session, charge.id or 0)
        items.append(AttentionItem(charge=charge, attempt=last, advice=advice_for(last, reason),
                                   reason=reason))  # fmt: skip
    return items
