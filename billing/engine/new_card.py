"""A charge that was in flight on the old card when the member gave a new one, then declined.

The replace-card use case (``billing.manage.cards``) leaves a charge in flight on the old
mandate: the reconciler settles it there first. If it then declines, the decline is of a card
no longer in force: the charge is not put through dunning on the old card (whose decline code,
a lost card say, may be the very reason the member replaced it) but moves to the mandate now in
force and is tried again on it at once (within the card networks' 30-day cap). Its
``retry_scheduled`` event says ``on_new_card``: a webhook still tells the merchant of the
decline, but the member, who has just given the new card, gets no decline notice for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from billing.domain import dunning, lifecycle, purpose
from billing.domain.states import ChargeStatus, MandateStatus, SubscriptionStatus
from billing.store import events
from billing.store.tables import Attempt, Charge, Mandate, Subscription

MAX_HOPS = 20  # replaced_by chains are short; a loop is never followed forever


def in_force(session: Session, charge: Charge) -> Mandate | None:
    """The active mandate that replaced the charge's own (through any number of updates) and
    may carry it, or None when the charge's mandate was not replaced."""
    mandate = session.get(Mandate, charge.mandate_id)
    hops = 0
    while mandate is not None and mandate.replaced_by_id and hops < MAX_HOPS:
        mandate, hops = session.get(Mandate, mandate.replaced_by_id), hops + 1
    if mandate is None or mandate.id == charge.mandate_id:
        return None
    if mandate.status != MandateStatus.ACTIVE or not mandate.toast_mandate_id:
        return None
    if purpose.mismatch(mandate.standing_instruction, charge.kind, mandate_id=mandate.id):
        return None
    return mandate


def retry_on(
    session: Session, charge: Charge, new: Mandate, *, sub: Subscription | None, now: datetime,
    cap: int,
) -> None:  # fmt: skip
    """Move the declined charge to ``new`` and make it due now (or once the cap allows)."""
    old = charge.mandate_id
    charge.status = lifecycle.transition(
        "charge", ChargeStatus(charge.status), ChargeStatus.RETRY_SCHEDULED
    )
    charge.mandate_id = new.id or 0
    tried = list(session.exec(select(Attempt.created_at).where(Attempt.charge_id == charge.id)))
    charge.next_attempt_at = dunning.reattempt_at(now=now, attempts=tried, cap=cap)
    if sub is not None and sub.status == SubscriptionStatus.ACTIVE:
        sub.status = lifecycle.transition(
            "subscription", SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE
        )
    events.emit(
        session, at=now, entity="charge", entity_id=charge.id or 0, type="retry_scheduled",
        retry_at=charge.next_attempt_at.isoformat(), decline_code=charge.last_decline_code,
        on_new_card=True, old_mandate_id=old, new_mandate_id=new.id,
    )  # fmt: skip
