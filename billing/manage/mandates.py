"""Mandates (cards-on-file): listing, and revoking through Toast when their purpose ends."""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import lifecycle
from billing.domain.states import MandateStatus, SubscriptionStatus
from billing.engine.phases import MandateToRevoke
from billing.errors import DomainError
from billing.manage import members
from billing.store import door, events
from billing.store.tables import Charge, Mandate, Subscription
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient

# Subscriptions that still need their mandate.
LIVE_SUBSCRIPTIONS = (
    SubscriptionStatus.PENDING_MANDATE,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.PAUSED,
)
OPEN_CHARGES = tuple(lifecycle.OPEN_CHARGES)


def list_all(session: Session, *, status: str | None = None) -> list[Mandate]:
    query = select(Mandate).order_by(col(Mandate.id))
    if status is not None:
        query = query.where(Mandate.status == MandateStatus(status))
    return list(session.exec(query).all())


# A checkout that is open or never completed: no card to show, nothing to revoke.
UNSTARTED = (MandateStatus.PENDING_SETUP, MandateStatus.SETUP_FAILED)


def users(session: Session, mandate_id: int, *, except_sub: int | None = None) -> list[int]:
    """Ids of live subscriptions billing this mandate (other than ``except_sub``)."""
    query = select(Subscription.id).where(Subscription.mandate_id == mandate_id)
    query = query.where(col(Subscription.status).in_(LIVE_SUBSCRIPTIONS))
    return [i for i in session.exec(query).all() if i is not None and i != except_sub]


def open_charges(session: Session, mandate_id: int) -> list[int]:
    query = select(Charge.id).where(Charge.mandate_id == mandate_id)
    query = query.where(col(Charge.status).in_(OPEN_CHARGES))
    return [i for i in session.exec(query).all() if i is not None]


def revocation(mandate: Mandate) -> MandateToRevoke | None:
    """What to revoke at Toast (None for a mandate that has nothing to revoke there)."""
    if mandate.status not in (MandateStatus.ACTIVE, MandateStatus.EXPIRED):
        return None
    if mandate.toast_mandate_id is None:
        return None
    return MandateToRevoke(
        mandate_id=mandate.id or 0,
        toast_mandate_id=mandate.toast_mandate_id,
        location_guid=mandate.location_guid,
    )


def prepare_revoke(session: Session, mandate_id: int) -> MandateToRevoke:
    """Check that ``mandate_id`` may be revoked now (nothing still needs it)."""
    mandate = members.get_mandate(session, mandate_id)
    lifecycle.transition("mandate", mandate.status, MandateStatus.REVOKED)
    subs = users(session, mandate_id)
    if subs:
        listed = ", ".join(map(str, subs))
        raise DomainError(
            f"mandate {mandate_id} still bills subscription(s) {listed}: "
            "cancel them first (billing subscriptions cancel ID)",
            field="mandate",
        )
    charges = open_charges(session, mandate_id)
    if charges:
        raise DomainError(
            f"mandate {mandate_id} has open charge(s) {', '.join(map(str, charges))}: "
            "cancel or settle them first",
            field="mandate",
        )
    if door.in_use(session, {mandate_id}):
        raise DomainError(
            f"mandate {mandate_id} still pays a live club membership: cancel it first "
            "(billing members cancel)", field="mandate",
        )  # fmt: skip
    target = revocation(mandate)
    if target is None:
        raise DomainError(f"mandate {mandate_id} has no Toast mandate id", field="mandate")
    return target


def mark_revoked(session: Session, mandate_id: int, *, now: datetime) -> Mandate:
    mandate = members.get_mandate(session, mandate_id)
    mandate.status = lifecycle.transition("mandate", mandate.status, MandateStatus.REVOKED)
    mandate.revoked_at = now
    events.emit(session, at=now, entity="mandate", entity_id=mandate_id, type="revoked")
    session.flush()
    return mandate


async def revoke_at_toast(client: ToastClient, target: MandateToRevoke) -> None:
    """DELETE the mandate at Toast; one already gone there counts as revoked."""
    with contextlib.suppress(toast_errors.ToastNotFound):
        await client.mandates.revoke(target.toast_mandate_id, location=target.location_guid)
