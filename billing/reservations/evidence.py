"""Dispute evidence for one reservation: the policy text and version the guest accepted, when,
the status history (who reported what, when), the fee decisions, staff changes, the messages
sent, and the charge with its Toast ids. One JSON document, and a printable HTML page of it.

Never a card number or a secret: the card is its brand and last four, as on the mandate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from sqlmodel import Session, and_, col, or_, select

from billing.domain import money
from billing.reservations import fees, present
from billing.store.tables import (
    Attempt,
    Customer,
    Enrollment,
    Event,
    FeeAdjustment,
    FeeDecision,
    Mandate,
    Message,
    Reservation,
)

TEMPLATE = Path(__file__).with_name("evidence.html")


def collect(session: Session, row: Reservation, *, now: datetime) -> dict[str, Any]:
    """Everything a dispute needs, as plain JSON-ready data."""
    policy = fees.policy_of(session, row)
    customer = session.get(Customer, row.customer_id)
    mandate = session.get(Mandate, row.mandate_id)
    enrollment = session.get(Enrollment, row.enrollment_id)
    charge = fees.charge_of(session, row)
    view = present.reservation(session, row, now=now)
    data: dict[str, Any] = plain({
        "generated_at": now,
        "reservation": {"reference": row.external_ref, "location": row.location_guid,
                        "slot": row.slot_at, "party_size": row.party_size,
                        "service": row.service, "status": row.status, "booked_at": row.created_at,
                        "closed_at": row.closed_at},
        "guest": {"name": customer.name if customer else "", "email":
                  customer.email if customer else ""},
        "policy_accepted": {**present.policy(policy).model_dump(), "accepted_at": row.accepted_at,
                            "card_authorized_at": enrollment.completed_at if enrollment else None},
        "card": _card(mandate),
        "status_history": [r.model_dump() for r in view.reports],
        "fee_decisions": [_decision(d) for d in _decisions(session, row)],
        "staff_adjustments": [_adjustment(a) for a in _adjustments(session, row)],
        "current_decision": view.decision.model_dump(),
        "charge": _charge(session, charge),
        "messages": _messages(session, row, charge.id if charge else None),
    })  # fmt: skip
    return data


def _card(mandate: Mandate | None) -> dict[str, Any]:
    if mandate is None:
        return {}
    return {"mandate_id": mandate.id, "toast_mandate_id": mandate.toast_mandate_id,
            "standing_instruction": mandate.standing_instruction, "status": mandate.status,
            "brand": mandate.card_brand, "last_four": mandate.card_last4,
            "revoked_at": mandate.revoked_at}  # fmt: skip


def _decisions(session: Session, row: Reservation) -> list[FeeDecision]:
    query = select(FeeDecision).where(FeeDecision.reservation_id == row.id)
    return list(session.exec(query.order_by(col(FeeDecision.id))).all())


def _decision(d: FeeDecision) -> dict[str, Any]:
    return {"decided_at": d.decided_at, "trigger": d.trigger, "amount_cents": d.amount_cents,
            "reason": d.reason, "charge_at": d.charge_at,
            "last_moment": d.last_moment_at}  # fmt: skip


def _adjustments(session: Session, row: Reservation) -> list[FeeAdjustment]:
    query = select(FeeAdjustment).where(FeeAdjustment.reservation_id == row.id)
    return list(session.exec(query.order_by(col(FeeAdjustment.id))).all())


def _adjustment(a: FeeAdjustment) -> dict[str, Any]:
    return {"at": a.at, "action": "waive" if a.amount_cents == 0 else "lower",
            "amount_cents": a.amount_cents, "reason": a.reason, "staff": a.staff}  # fmt: skip


def _charge(session: Session, charge: Any) -> dict[str, Any] | None:
    if charge is None:
        return None
    tries = session.exec(select(Attempt).where(Attempt.charge_id == charge.id)
                         .order_by(col(Attempt.number))).all()  # fmt: skip
    return {
        "id": charge.id, "status": charge.status, "amount_cents": charge.amount_cents,
        "currency": charge.currency, "check_item": charge.check_item, "reason": charge.reason,
        "due_at": charge.due_at, "settled_at": charge.settled_at,
        "attempts": [{"number": a.number, "status": a.status,
                      "external_reference_id": a.external_reference_id,
                      "toast_payment_intent_id": a.toast_intent_id,
                      "toast_order_guid": a.order_guid, "decline_code": a.decline_code,
                      "at": a.created_at, "settled_at": a.settled_at} for a in tries],
    }  # fmt: skip


def _messages(session: Session, row: Reservation, charge_id: int | None) -> list[dict[str, Any]]:
    """Messages about the fee's charge, and any sent to the guest since booking."""
    about_charge = select(Event.id).where(Event.entity == "charge", Event.entity_id == charge_id)
    query = select(Message).where(or_(
        col(Message.event_id).in_(about_charge),
        and_(col(Message.customer_id) == row.customer_id,
             col(Message.created_at) >= row.created_at),
    )).order_by(col(Message.id))  # fmt: skip
    return [{"kind": m.kind, "channel": m.channel, "recipient": m.recipient,
             "subject": m.subject, "status": m.status, "sent_at": m.sent_at,
             "provider_id": m.provider_id} for m in session.exec(query).all()]  # fmt: skip


def plain(value: Any) -> Any:
    """JSON-ready: instants as UTC ISO strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def html(data: dict[str, Any]) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["dollars"] = lambda c: "" if c is None else money.format_cents(int(c))
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(e=data)
