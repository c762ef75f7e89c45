"""Replacing a customer's card: the new mandate takes over, and dunning retries at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.domain import dunning, lifecycle, purpose
from billing.domain.states import ChargeStatus, MandateStatus
from billing.errors import DomainError
from billing.store import events
from billing.store.tables import Attempt, Charge, Mandate, Plan, Subscription

# Charges that move to the new card; those in dunning (or held) become due now (within the cap).
_MOVABLE = (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)
_RETRY_NOW = (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)


CAP = dunning.DunningPolicy().max_attempts_30d


def replace_mandate(session: Session, *, old: Mandate, new: Mandate, now: datetime) -> int:
    """Point the old mandate's subscriptions and open charges at ``new``; charges in dunning
    are retried at once with the new card. Returns how many charges moved. The caller then
    revokes the old mandate at Toast (``billing mandates revoke`` does both steps)."""
    if new.status != MandateStatus.ACTIVE:
        raise DomainError(f"the new mandate is {new.status}, not active", field="mandate")
    for kind in _purposes(session, old):
        purpose.require(new.standing_instruction, kind, mandate_id=new.id)
    session.execute(
        update(Subscription)
        .where(col(Subscription.mandate_id) == old.id)
        .values(mandate_id=new.id)
    )
    query = select(Charge).where(Charge.mandate_id == old.id, col(Charge.status).in_(_MOVABLE))
    moved = move_charges(session, list(session.exec(query).all()), new, now=now)
    old.replaced_by_id = new.id
    events.emit(session, at=now, entity="mandate", entity_id=old.id or 0, type="replaced",
                new_mandate_id=new.id, charges_moved=moved)  # fmt: skip
    return moved


def move_charges(session: Session, charges: list[Charge], new: Mandate, *, now: datetime) -> int:
    """Point ``charges`` not in flight at ``new``; those in dunning or held for a human (an
    expired card) become due now. Returns how many moved."""
    moved = 0
    for charge in charges:
        if charge.status not in _MOVABLE or _has_open_attempt(session, charge):
            continue  # in flight: the reconciler settles it on the old card first
        charge.mandate_id = new.id  # type: ignore[assignment]
        if charge.status in _RETRY_NOW:
            if charge.status != ChargeStatus.RETRY_SCHEDULED:
                charge.status = lifecycle.transition(
                    "charge", ChargeStatus(charge.status), ChargeStatus.RETRY_SCHEDULED
                )
            charge.next_attempt_at = dunning.reattempt_at(
                now=now, attempts=_attempt_times(session, charge), cap=CAP
            )
        moved += 1
    return moved


def _purposes(session: Session, old: Mandate) -> set[str]:
    """What the old mandate is used for: its subscriptions' plan kinds and its open charges'
    kinds (the new mandate must be consent for each)."""
    plans = select(Plan.kind).join(Subscription, col(Subscription.plan_id) == Plan.id)
    kinds = set(session.exec(plans.where(Subscription.mandate_id == old.id)).all())
    charges = select(Charge.kind).where(
        Charge.mandate_id == old.id, col(Charge.status).in_(_MOVABLE)
    )
    return kinds | set(session.exec(charges).all())


def _has_open_attempt(session: Session, charge: Charge) -> bool:
    query = select(Attempt.id).where(
        Attempt.charge_id == charge.id, col(Attempt.settled_at).is_(None)
    )
    return session.exec(query).first() is not None


def _attempt_times(session: Session, charge: Charge) -> list[datetime]:
    query = select(Attempt.created_at).where(Attempt.charge_id == charge.id)
    return list(session.exec(query).all())
