"""Marks a mandate whose purpose may have ended, wherever a subscription ends.

The engine revokes mandates whose purpose has ended (``hot.ENDED_MANDATES``). Finding them by
scanning every live mandate for "all its subscriptions ended" grew with the store (1.6 s at 1M
members); instead the mandate carries ``purpose_ended_at``, and the scan reads only marked rows
through a partial index. A subscription ends on many paths (staff cancel, the API, dunning, the
last installment, a defaulted plan, a checkout never completed), so the mark is set in one
place: before any ORM flush that moves a subscription to a final state. The engine's one-off
fees and the business packages (``door.end_purpose``) mark theirs explicitly.

A mark only says "look again": the scan still revokes nothing while a live subscription or an
open charge uses the mandate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from billing.domain.states import SubscriptionStatus
from billing.store.tables import Event, Mandate, Subscription

FINAL = frozenset({SubscriptionStatus.CANCELLED, SubscriptionStatus.COMPLETED,
                   SubscriptionStatus.DEFAULTED})  # fmt: skip


def mark(session: Session, mandate_id: int | None, at: datetime) -> None:
    mandate = session.get(Mandate, mandate_id) if mandate_id is not None else None
    if mandate is not None and mandate.purpose_ended_at is None:
        mandate.purpose_ended_at = at


@event.listens_for(Session, "before_flush")
def _subscriptions_ended(session: Session, _context: Any, _instances: Any) -> None:
    for row in [*session.new, *session.dirty]:
        if not isinstance(row, Subscription) or row.status not in FINAL:
            continue
        if row in session.new or inspect(row).attrs.status.history.has_changes():
            mark(session, row.mandate_id, _instant(session, row))


def _instant(session: Session, sub: Subscription) -> datetime:
    """When it ended, on the caller's clock: the instant of the event recorded with the change
    (every use case writes one in the same transaction), else any event of the transaction,
    else ``cancelled_at``; ``created_at`` when nothing better is known (the mark's time is
    informative only: the wall clock is never read here)."""
    pending = [e for e in session.new if isinstance(e, Event)]
    own = [e.at for e in pending if e.entity == "subscription" and e.entity_id == sub.id]
    return max(own or [e.at for e in pending], default=None) or sub.cancelled_at or sub.created_at
