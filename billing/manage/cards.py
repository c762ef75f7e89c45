"""Replacing a customer's card: the new mandate takes over, and dunning retries at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.domain import lifecycle
from billing.domain.states import ChargeStatus, MandateStatus
from billing.errors import DomainError
from billing.store import events
from billing.store.tables import Attempt, Charge, Mandate, Subscription

# Charges that move to the new card; those in dunning (or held) become due now.
_MOVABLE = (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)
_RETRY_NOW = (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)


def replace_mandate(session: Session, *, old: Mandate, new: Mandate, now: datetime) -> int:
    """Point the old mandate's subscriptions and open charges at ``new``; charges in dunning
    are retried at once with the new card. Returns how many charges moved. The caller then
    revokes the old mandate at Toast (``billing mandates revoke`` does both steps)."""
    if new.status != MandateStatus.ACTIVE:
        raise DomainError(f"the new mandate is {new.status}, not active", field="mandate")
    session.execute(
        update(Subscription).where(col(Subscription.mandate_id) == old.id).values(mandate_id=new.id)
    )
    moved = 0
    for charge in session.exec(
        select(Charge).where(Charge.mandate_id == old.id, col(Charge.status).in_(_MOVABLE))
    ):
        if _has_open_attempt(session, charge):
            continue  # the reconciler settles it on the old card first
        charge.mandate_id = new.id  # type: ignore[assignment]
        if charge.status in _RETRY_NOW:
            charge.status = (
                lifecycle.transition(
                    "charge", ChargeStatus(charge.status), ChargeStatus.RETRY_SCHEDULED
                )
                if charge.status != ChargeStatus.RETRY_SCHEDULED
                else charge.status
            )
            charge.next_attempt_at = now
        moved += 1
    old.replaced_by_id = new.id
    events.emit(session, at=now, entity="mandate", entity_id=old.id or 0, type="replaced",
                new_mandate_id=new.id, charges_moved=moved)  # fmt: skip
    return moved


def _has_open_attempt(session: Session, charge: Charge) -> bool:
    query = select(Attempt.id).where(
        Attempt.charge_id == charge.id, col(Attempt.settled_at).is_(None)
    )
    return session.exec(query).first() is not None
