"""Staff actions on subscriptions: pause, resume, cancel, change the amount.

Every status change goes through ``lifecycle.transition``; each writes an event. Functions
take the session and the instant; the caller owns the transaction (and any Toast call).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import calendar, lifecycle, money
from billing.domain.states import ChargeStatus, MandateStatus, PlanKind, SubscriptionStatus
from billing.engine import materialize
from billing.engine.phases import MandateToRevoke
from billing.errors import DomainError, NotFound
from billing.manage import mandates, members
from billing.store import door, events
from billing.store.tables import Charge, Mandate, Plan, Subscription

S = SubscriptionStatus
SUB = "subscription"


def get(session: Session, sub_id: int) -> Subscription:
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound(f"unknown subscription {sub_id}", field="subscription")
    return sub


def plan_of(session: Session, sub: Subscription) -> Plan:
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    return plan


def list_all(
    session: Session, *, status: str | None = None, customer_id: int | None = None
) -> list[Subscription]:
    query = select(Subscription).order_by(col(Subscription.id))
    if status is not None:
        query = query.where(Subscription.status == S(status))
    if customer_id is not None:
        query = query.where(Subscription.customer_id == customer_id)
    return list(session.exec(query).all())


def never_started(sub: Subscription, mandate: Mandate | None) -> bool:
    """A checkout still open (pending_mandate) or closed without a card (its mandate's setup
    expired or failed): nothing was ever billed. Lists hide these unless asked (``--all``)."""
    if sub.status == S.PENDING_MANDATE:
        return True
    closed = sub.status == S.CANCELLED and sub.cycles_paid == 0
    return closed and (mandate is None or mandate.status == MandateStatus.SETUP_FAILED)


def charges_of(session: Session, sub_id: int) -> list[Charge]:
    query = select(Charge).where(Charge.subscription_id == sub_id).order_by(col(Charge.id))
    return list(session.exec(query).all())


def _move(session: Session, sub: Subscription, target: S, now: datetime, **data: object) -> None:
    sub.status = lifecycle.transition("subscription", sub.status, target)
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0, type=target, **data)


def _cancel_charges(
    session: Session, sub: Subscription, states: tuple[ChargeStatus, ...], now: datetime
) -> list[int]:
    """Cancel the subscription's charges in ``states`` (never one in flight)."""
    cancelled = []
    for charge in charges_of(session, sub.id or 0):
        if charge.status in states:
            charge.status = lifecycle.transition("charge", charge.status, ChargeStatus.CANCELLED)
            charge.settled_at = now
            events.emit(session, at=now, entity="charge", entity_id=charge.id or 0,
                        type="cancelled", reason=f"subscription {sub.id} {sub.status}")  # fmt: skip
            cancelled.append(charge.id or 0)
    return cancelled


def pause(session: Session, sub_id: int, *, now: datetime) -> Subscription:
    """Stop billing: no new cycles, and charges not yet attempted are cancelled (a retry of
    a past-due charge keeps its schedule)."""
    sub = get(session, sub_id)
    _move(session, sub, S.PAUSED, now, by="staff")
    _cancel_charges(session, sub, (ChargeStatus.SCHEDULED,), now)
    session.flush()
    return sub


def resume(session: Session, sub_id: int, *, now: datetime) -> Subscription:
    """Bill again from the first cycle due after ``now``; cycles missed while paused are not
    charged."""
    sub = get(session, sub_id)
    if sub.status != S.PAUSED:
        raise DomainError(f"subscription {sub_id} is {sub.status}, not paused", field=SUB)
    plan = plan_of(session, sub)
    mandate = members.get_mandate(session, sub.mandate_id) if sub.mandate_id else None
    if mandate is None or mandate.status != MandateStatus.ACTIVE:
        raise DomainError(f"subscription {sub_id} has no active mandate", field="mandate")
    _move(session, sub, S.ACTIVE, now, by="staff")
    rule, limit = materialize.rule_for(plan, sub), materialize.cycle_limit(plan)
    cycle = calendar.first_cycle_after(rule, now, first_cycle=sub.next_cycle)
    sub.next_cycle = cycle
    done = limit is not None and cycle >= limit
    sub.next_charge_at = None if done else calendar.due_at(rule, cycle)
    session.flush()
    return sub


def cancel(
    session: Session, sub_id: int, *, now: datetime, at_period_end: bool = False
) -> MandateToRevoke | None:
    """Cancel now (charges not in flight are cancelled), or at the end of the current period
    (the materializer creates no further charge and ends it when the next cycle falls due).

    Returns the mandate to revoke at Toast when no other subscription needs it."""
    sub = get(session, sub_id)
    if at_period_end:
        lifecycle.transition("subscription", sub.status, S.CANCELLED)  # refuses a finished one
        if sub.cancel_at_period_end:
            raise DomainError(f"subscription {sub_id} already ends at period end", field=SUB)
        sub.cancel_at_period_end = True
        events.emit(session, at=now, entity="subscription", entity_id=sub_id,
                    type="cancel_at_period_end")  # fmt: skip
        _cancel_charges_after(session, sub, now)
        session.flush()
        return None
    _move(session, sub, S.CANCELLED, now, by="staff")
    sub.cancelled_at, sub.next_charge_at = now, None
    _cancel_charges(session, sub, (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED), now)
    session.flush()
    return _mandate_done(session, sub)


def _cancel_charges_after(session: Session, sub: Subscription, now: datetime) -> None:
    """Charges already materialized for periods that start after ``now`` are not collected."""
    for charge in charges_of(session, sub.id or 0):
        if charge.status == ChargeStatus.SCHEDULED and charge.due_at > now:
            charge.status = lifecycle.transition("charge", charge.status, ChargeStatus.CANCELLED)
            charge.settled_at = now
            events.emit(session, at=now, entity="charge", entity_id=charge.id or 0,
                        type="cancelled", reason="subscription ends at period end")  # fmt: skip


def _mandate_done(session: Session, sub: Subscription) -> MandateToRevoke | None:
    if sub.mandate_id is None or mandates.users(session, sub.mandate_id, except_sub=sub.id):
        return None
    if mandates.open_charges(session, sub.mandate_id):
        return None  # a charge is still in flight or needs a human: revoke later
    if door.in_use(session, {sub.mandate_id}):
        return None  # a club membership (say) still charges this card under its own consent
    return mandates.revocation(members.get_mandate(session, sub.mandate_id))


def change_amount(
    session: Session, sub_id: int, amount_cents: int, *, now: datetime
) -> Subscription:
    """A new amount for future cycles (charges not yet attempted included)."""
    money.validate_amount(amount_cents, field="amount")
    sub = get(session, sub_id)
    if lifecycle.is_terminal("subscription", sub.status):
        raise DomainError(f"subscription {sub_id} is {sub.status}", field="subscription")
    if plan_of(session, sub).kind != PlanKind.RECURRING:
        raise DomainError("only a RECURRING subscription has an amount to change", field=SUB)
    previous = sub.amount_cents
    sub.amount_cents = amount_cents
    for charge in charges_of(session, sub_id):
        if charge.status == ChargeStatus.SCHEDULED and charge.attempt_count == 0:
            charge.amount_cents = amount_cents
    events.emit(session, at=now, entity="subscription", entity_id=sub_id, type="amount_changed",
                previous_cents=previous, amount_cents=amount_cents)  # fmt: skip
    session.flush()
    return sub
