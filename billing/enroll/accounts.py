"""What a customer sees of their account: subscriptions, upcoming charges, cancel, new card."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import lifecycle, purpose
from billing.domain.states import ChargeStatus, MandateStatus, SubscriptionStatus
from billing.engine import materialize
from billing.enroll import service
from billing.enroll.models import Purpose
from billing.errors import DomainError, DuplicateKey, NotFound
from billing.manage import cards, members
from billing.store import events
from billing.store.tables import Charge, Customer, Enrollment, Mandate, Plan, Subscription

LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.PAUSED)
MOVABLE_CHARGES = (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    subscription: Subscription
    plan_code: str
    mandate: Mandate | None


@dataclass(frozen=True, slots=True)
class Upcoming:
    subscription_id: int | None
    cycle: int | None
    due_at: datetime
    amount_cents: int
    status: str


@dataclass(frozen=True, slots=True)
class Account:
    customer: Customer
    subscriptions: list[SubscriptionRow]
    upcoming: list[Upcoming]


def account(ctx: service.Context, ref: str) -> Account:
    """A customer (by id, email or the merchant's reference) with subscriptions and the
    charges still to come: materialized open charges, then each schedule's next due date."""
    with ctx.store.transaction() as session:
        customer = _customer(session, ref)
        subs = session.exec(
            select(Subscription).where(Subscription.customer_id == customer.id)
            .order_by(col(Subscription.id))
        ).all()  # fmt: skip
        rows, upcoming = [], []
        for sub in subs:
            plan = session.get(Plan, sub.plan_id)
            assert plan is not None
            mandate = session.get(Mandate, sub.mandate_id) if sub.mandate_id else None
            rows.append(SubscriptionRow(sub, plan.code, mandate))
            upcoming += _upcoming(session, sub, plan)
    upcoming.sort(key=lambda item: item.due_at)
    return Account(customer, rows, upcoming)


def _upcoming(session: Session, sub: Subscription, plan: Plan) -> list[Upcoming]:
    open_states = [state.value for state in lifecycle.OPEN_CHARGES]
    charges = session.exec(
        select(Charge).where(Charge.subscription_id == sub.id)
        .where(col(Charge.status).in_(open_states)).order_by(col(Charge.due_at))
    ).all()  # fmt: skip
    items = [Upcoming(sub.id, c.cycle, c.due_at, c.amount_cents, c.status) for c in charges]
    if sub.status in LIVE and sub.next_charge_at is not None:
        amount = materialize.amount_for(plan, sub, sub.next_cycle)
        items.append(Upcoming(sub.id, sub.next_cycle, sub.next_charge_at, amount, "projected"))
    return items


async def cancel(ctx: service.Context, subscription_id: int) -> SubscriptionRow:
    """Cancel now: future charges are cancelled and the card-on-file's mandate revoked (its
    purpose ended) unless another live subscription still uses it."""
    now = ctx.clock.now()
    with ctx.store.transaction() as session:
        sub = _subscription(session, subscription_id)
        sub.status = lifecycle.transition("subscription", sub.status, SubscriptionStatus.CANCELLED)
        sub.cancelled_at, sub.next_charge_at = now, None
        for charge in _movable(session, sub):
            charge.status = ChargeStatus.CANCELLED
        events.emit(session, at=now, entity="subscription", entity_id=subscription_id,
                    type="cancelled", by="customer")  # fmt: skip
        shared = _shared(session, sub.mandate_id, sub.id)
        mandate_id = sub.mandate_id if sub.mandate_id and not shared else None
    if mandate_id is not None:
        await service.revoke(ctx, mandate_id)
    return subscription(ctx, subscription_id)


def subscription(ctx: service.Context, subscription_id: int) -> SubscriptionRow:
    with ctx.store.transaction() as session:
        sub = _subscription(session, subscription_id)
        plan = session.get(Plan, sub.plan_id)
        mandate = session.get(Mandate, sub.mandate_id) if sub.mandate_id else None
        assert plan is not None
        return SubscriptionRow(sub, plan.code, mandate)


async def replace_card(ctx: service.Context, subscription_id: int, *, key: str) -> service.View:
    """A new OFF_SESSION setup intent; once it succeeds its mandate replaces the old one on
    the subscription (and on charges not yet in flight), and the old one is revoked."""
    digest = hashlib.sha256(f"replace_card:{subscription_id}".encode()).hexdigest()
    try:
        with ctx.store.transaction() as session:
            existing = session.exec(
                select(Enrollment).where(Enrollment.idempotency_key == key)
            ).first()
            if existing is None:
                existing = _record_replacement(ctx, session, subscription_id, key, digest)
    except DuplicateKey:
        return await replace_card(ctx, subscription_id, key=key)
    if existing.request_hash != digest:
        raise service.IdempotencyConflict(
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    return await service.refresh(ctx, existing.id)


def _record_replacement(
    ctx: service.Context, session: Session, subscription_id: int, key: str, digest: str
) -> Enrollment:
    now = ctx.clock.now()
    sub = _subscription(session, subscription_id)
    if sub.status not in LIVE or sub.mandate_id is None:
        raise DomainError(f"subscription {subscription_id} is {sub.status}: no card to replace",
                          field="subscription")  # fmt: skip
    old = members.get_mandate(session, sub.mandate_id)
    customer = session.get(Customer, sub.customer_id)
    plan = session.get(Plan, sub.plan_id)
    assert customer is not None
    assert plan is not None
    # consent for what the subscription charges (the plan's kind), whatever the old card had
    mandate = members.add_pending_mandate(
        session, customer=customer, location_guid=old.location_guid,
        standing_instruction=purpose.needed(plan.kind), now=now,
    )  # fmt: skip
    row = Enrollment(
        id=str(uuid.uuid4()), idempotency_key=key, request_hash=digest,
        purpose=Purpose.REPLACE_CARD, customer_id=sub.customer_id, plan_id=sub.plan_id,
        subscription_id=sub.id, mandate_id=mandate.id or 0, replaces_mandate_id=old.id,
        location_guid=old.location_guid, save_card=customer.toast_customer_id is not None,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def switch_card(
    session: Session, sub: Subscription, mandate: Mandate, *, now: datetime
) -> int | None:
    """Point the subscription and its charges not yet in flight at ``mandate`` (those in
    dunning or held for an expired card are retried at once); returns the old mandate's id
    when nothing live uses it any more (to revoke, expired or not)."""
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    purpose.require(mandate.standing_instruction, plan.kind, mandate_id=mandate.id)
    old_id = sub.mandate_id
    sub.mandate_id = mandate.id
    charges = session.exec(select(Charge).where(Charge.subscription_id == sub.id)).all()
    moved = cards.move_charges(session, list(charges), mandate, now=now)
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0,
                type="card_replaced", mandate=mandate.id, previous=old_id,
                charges_moved=moved)  # fmt: skip
    if old_id is None:
        return None
    old = session.get(Mandate, old_id)
    if old is None or old.status not in (MandateStatus.ACTIVE, MandateStatus.EXPIRED):
        return None
    old.replaced_by_id = mandate.id
    return None if _shared(session, old_id, sub.id) else old_id


def _shared(session: Session, mandate_id: int | None, except_id: int | None) -> bool:
    """Whether a live subscription other than ``except_id`` uses the mandate."""
    others = session.exec(
        select(Subscription.id).where(Subscription.mandate_id == mandate_id)
        .where(Subscription.id != except_id)
        .where(col(Subscription.status).in_([s.value for s in LIVE]))
    ).first()  # fmt: skip
    return others is not None


def _movable(session: Session, sub: Subscription) -> list[Charge]:
    return list(session.exec(
        select(Charge).where(Charge.subscription_id == sub.id)
        .where(col(Charge.status).in_([s.value for s in MOVABLE_CHARGES]))
    ).all())  # fmt: skip


def _customer(session: Session, ref: str) -> Customer:
    """By local id, email (any case) or the merchant's own reference; never a guess."""
    return members.get_customer(session, ref)


def _subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"unknown subscription {subscription_id}", field="subscription")
    return sub
