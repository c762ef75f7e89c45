"""Use-case results -> response models (the only place that shapes what the API returns)."""

from __future__ import annotations

from billing.enroll import accounts, service
from billing.enroll.models import (
    CardPublic,
    ChargePublic,
    CustomerPublic,
    CustomerSubscriptions,
    EnrollmentPublic,
    EnrollmentStatus,
    Purpose,
    SubscriptionPublic,
)
from billing.store.tables import Mandate


def card(mandate: Mandate | None) -> CardPublic | None:
    if mandate is None or mandate.card_last4 is None:
        return None
    return CardPublic(brand=mandate.card_brand, last_four=mandate.card_last4,
                      exp_month=mandate.card_exp_month, exp_year=mandate.card_exp_year)  # fmt: skip


def enrollment(view: service.View) -> EnrollmentPublic:
    row = view.enrollment
    status = EnrollmentStatus(row.status)
    return EnrollmentPublic(
        id=row.id, status=status, purpose=Purpose(row.purpose), plan=view.plan_code,
        fee_purpose=row.fee_purpose, customer_id=row.customer_id,
        subscription_id=row.subscription_id, mandate_id=row.mandate_id,
        intent_type="payment_intent" if view.first_payment_cents is not None else "setup_intent",
        first_payment_cents=view.first_payment_cents, intent_id=row.intent_id,
        session_secret=view.session_secret if status == EnrollmentStatus.PENDING else None,
        expires_at=row.expires_at, card=card(view.mandate), message=view.message,
        created_at=row.created_at, completed_at=row.completed_at,
    )  # fmt: skip


def subscription(item: accounts.SubscriptionRow) -> SubscriptionPublic:
    sub = item.subscription
    return SubscriptionPublic(
        id=sub.id or 0, plan=item.plan_code, status=sub.status, anchor_date=sub.anchor_date,
        next_charge_at=sub.next_charge_at, card=card(item.mandate),
        cancelled_at=sub.cancelled_at,
    )  # fmt: skip


def account(item: accounts.Account) -> CustomerSubscriptions:
    customer = item.customer
    return CustomerSubscriptions(
        customer=CustomerPublic(
            id=customer.id or 0,
            email=customer.email,
            name=customer.name,
            reference=customer.external_ref,
        ),
        subscriptions=[subscription(s) for s in item.subscriptions],
        upcoming_charges=[
            ChargePublic(
                subscription_id=u.subscription_id,
                cycle=u.cycle,
                due_at=u.due_at,
                amount_cents=u.amount_cents,
                status=u.status,
            )
            for u in item.upcoming
        ],
    )
