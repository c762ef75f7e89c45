"""Members' opt-outs: only reminders can be refused, never receipts, decline or failure
notices, and never a required notice (a reminder the card networks ask for)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from billing.notify.rules import Kind
from billing.store.tables import Event, MessageOptOut

REFUSABLE = frozenset({Kind.REMINDER})


def refusable(kind: str, event: Event) -> bool:
    return kind in REFUSABLE and not event.data.get("required")


def refused(session: Session, customer_id: int | None, kind: str, event: Event) -> bool:
    """Did the member opt out of this message?"""
    if customer_id is None or not refusable(kind, event):
        return False
    query = select(MessageOptOut.id).where(MessageOptOut.customer_id == customer_id,
                                           MessageOptOut.kind == kind)  # fmt: skip
    return session.exec(query).first() is not None


def opt_out(session: Session, customer_id: int, kind: str, *, now: datetime) -> bool:
    """Record an opt-out (True when new; asking twice changes nothing)."""
    if kind not in REFUSABLE:
        raise ValueError(f"{kind} messages cannot be refused")
    query = select(MessageOptOut).where(MessageOptOut.customer_id == customer_id,
                                        MessageOptOut.kind == kind)  # fmt: skip
    if session.exec(query).first() is not None:
        return False
    session.add(MessageOptOut(customer_id=customer_id, kind=kind, created_at=now))
    return True
