"""What a webhook says: ``{type, timestamp, data}`` gathered from the store when its event is
dispatched (a snapshot). Ids are the store's own, for the merchant's systems to match records;
amounts in cents; the card is its brand and last four. Never a secret, a Toast token, a card
expiry or an email address."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from billing.notify import rules
from billing.store.tables import Charge, Customer, Event, Mandate, Plan, Subscription


def body(session: Session, event: Event, webhook_type: str) -> dict[str, Any] | None:
    """The webhook body for ``event``, or None when its row is gone."""
    gather = {"charge": _charge, "subscription": _subscription, "mandate": _mandate}
    data = gather[event.entity](session, event) if event.entity in gather else None
    if data is None:
        return None
    return {"type": webhook_type, "timestamp": event.at.isoformat(), "data": data}


def _card(mandate: Mandate | None) -> dict[str, Any] | None:
    if mandate is None:
        return None
    return {"brand": mandate.card_brand, "last4": mandate.card_last4}


def _customer(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {"id": customer.id, "external_ref": customer.external_ref}


def _plan(session: Session, sub: Subscription | None) -> str | None:
    plan = session.get(Plan, sub.plan_id) if sub else None
    return plan.code if plan else None


def _charge(session: Session, event: Event) -> dict[str, Any] | None:
    charge = session.get(Charge, event.entity_id)
    if charge is None:
        return None
    mandate = session.get(Mandate, charge.mandate_id)
    customer = session.get(Customer, mandate.customer_id) if mandate else None
    sub = session.get(Subscription, charge.subscription_id) if charge.subscription_id else None
    data: dict[str, Any] = {
        "charge": {
            "id": charge.id, "kind": charge.kind, "amount_cents": charge.amount_cents,
            "currency": charge.currency, "cycle": charge.cycle,
            "due_at": charge.due_at.isoformat(), "attempts": charge.attempt_count,
            "declines": charge.decline_count,
            # what the charge is for when a business package made it: ("reservation",
            # "reservation:12"), ("event", ...), ("club", ...); null for subscriptions and fees
            "source": charge.source, "source_key": charge.source_key,
        },
        "subscription_id": charge.subscription_id, "plan": _plan(session, sub),
        "customer": _customer(customer), "card": _card(mandate),
    }  # fmt: skip
    if event.type == "retry_scheduled":
        data["decline_code"] = event.data.get("decline_code")
        data["retry_at"] = event.data.get("retry_at")
    elif event.type == "charge_failed":
        data["reason"] = rules.failure_words(event.data.get("reason"))
    elif event.type == "needs_attention":
        data["reason"] = "held for a person: see `billing attention`"
    return data


def _subscription(session: Session, event: Event) -> dict[str, Any] | None:
    sub = session.get(Subscription, event.entity_id)
    if sub is None:
        return None
    mandate = session.get(Mandate, sub.mandate_id) if sub.mandate_id else None
    return {
        "subscription": {
            "id": sub.id, "plan": _plan(session, sub), "status": sub.status,
            "cancelled_at": sub.cancelled_at.isoformat() if sub.cancelled_at else None,
            "at_period_end": bool(event.data.get("at_period_end")),
        },
        "customer": _customer(session.get(Customer, sub.customer_id)), "card": _card(mandate),
    }  # fmt: skip


def _mandate(session: Session, event: Event) -> dict[str, Any] | None:
    mandate = session.get(Mandate, event.entity_id)
    if mandate is None:
        return None
    data: dict[str, Any] = {
        "mandate": {"id": mandate.id, "status": mandate.status,
                    "standing_instruction": mandate.standing_instruction},
        "customer": _customer(session.get(Customer, mandate.customer_id)),
        "card": _card(mandate),
    }  # fmt: skip
    if event.type == "card_expiring":
        data["days_left"] = event.data.get("days")
        data["subscription_id"] = event.data.get("subscription_id")
    return data
