"""Orders API subset: apply an authorized hosted-checkout payment to a check; read a payment.

[inference, toast-api.md §8.17] The check payment is ``{guid: <externalReferenceId>, type:
"CREDIT", amount: <dollars excl. tip>, tipAmount: <dollars>}``.
"""

from __future__ import annotations

from typing import Any

from billing.sandbox.call import JSON, Call, Reply
from billing.sandbox.errors import InvalidRequest, NotFound
from billing.sandbox.models import Check, LedgerEntry, Order, iso
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import canonical_uuid


def create_order(state: SandboxState, call: Call) -> Reply:
    body = call.json()
    checks = body.get("checks")
    if not isinstance(checks, list) or not checks:
        raise InvalidRequest("an order needs at least one check", field="checks")
    planned = [_plan_payments(state, call, check) for check in checks]
    now = state.clock.now()
    order = Order(
        guid=state.new_id(),
        location=str(call.location),
        created_at=now,
        business_date=state.business_date(now),
        checks=[],
    )
    for check_body, (entries, others) in zip(checks, planned, strict=True):
        guid = canonical_uuid(check_body.get("guid")) or state.new_id()
        check = Check(guid=guid)
        order.checks.append(check)
        _apply(state, order, check, entries, others)
    state.t.orders[order.guid] = order
    return 200, order_json(state, order)


def add_payments(state: SandboxState, call: Call) -> Reply:
    order = state.t.orders.get(call.param("order"))
    if order is None or order.location != call.location:
        raise NotFound("order not found")
    check = next((c for c in order.checks if c.guid == call.param("check")), None)
    if check is None:
        raise NotFound("check not found")
    if not isinstance(call.body, list):
        raise InvalidRequest("body must be an array of Payment objects")
    entries, others = _plan_payments(state, call, {"payments": call.body})
    _apply(state, order, check, entries, others)
    return 200, order_json(state, order)


def get_payment(state: SandboxState, call: Call) -> Reply:
    guid = canonical_uuid(call.param("guid")) or ""
    for entry in state.t.ledger_by_guid.get(guid, []):
        if entry.location == call.location and entry.location == call.location and entry.order_guid:
            return 200, payment_json(entry)
    other = state.t.other_payments.get(guid)
    if other is not None and other["_location"] == call.location:
        return 200, {k: v for k, v in other.items() if not k.startswith("_")}
    # ASSUMPTION: an authorization not yet applied to a check is not an Orders payment.
    raise NotFound("payment not found")


def _plan_payments(
    state: SandboxState, call: Call, check: Any
) -> tuple[list[LedgerEntry], list[JSON]]:
    """Validate every payment of a check before anything is applied (all or nothing)."""
    if not isinstance(check, dict):
        raise InvalidRequest("a check must be an object", field="checks")
    entries: list[LedgerEntry] = []
    others: list[JSON] = []
    for payment in check.get("payments") or []:
        if not isinstance(payment, dict):
            raise InvalidRequest("a payment must be an object", field="payments")
        kind = payment.get("type")
        if kind == "CREDIT":
            entries.append(_authorized_entry(state, str(call.location), payment))
        elif kind == "OTHER":
            others.append(payment)
        else:
            raise InvalidRequest("payment type must be CREDIT or OTHER", field="payments.type")
    return entries, others


def _authorized_entry(state: SandboxState, location: str, payment: JSON) -> LedgerEntry:
    guid = canonical_uuid(payment.get("guid"))
    entry = next(
        (
            e
            for e in state.t.ledger_by_guid.get(guid or "", [])
            if e.location == location and e.status == "AUTHORIZED" and e.order_guid is None
        ),
        None,
    )
    if entry is None:
        raise InvalidRequest(
            "no authorized, unapplied hosted-checkout payment with this guid at this location",
            field="payments.guid",
        )
    amount, tip = _cents(payment, "amount"), _cents(payment, "tipAmount")
    if amount != entry.amount - entry.tip or tip != entry.tip:
        # ASSUMPTION: the check payment must match the authorization exactly (no partials).
        raise InvalidRequest(
            "amount and tipAmount must equal the authorized amount and tip", field="payments.amount"
        )
    return entry


def _cents(payment: JSON, name: str) -> int:
    value = payment.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{name} is required (dollars)", field=f"payments.{name}")
    return round(value * 100)


def _apply(
    state: SandboxState,
    order: Order,
    check: Check,
    entries: list[LedgerEntry],
    others: list[JSON],
) -> None:
    for entry in entries:
        check.payment_guids.append(entry.guid)
        state.apply_to_check(entry, order.guid, check.guid)
    for other in others:
        guid = canonical_uuid(other.get("guid")) or state.new_id()
        stored = {
            "guid": guid,
            "entityType": "OrderPayment",
            "type": "OTHER",
            "amount": other.get("amount"),
            "tipAmount": other.get("tipAmount", 0),
            "paymentStatus": "CAPTURED",
            "orderGuid": order.guid,
            "checkGuid": check.guid,
            "_location": order.location,
        }
        state.t.other_payments[guid] = stored
        check.other_payments.append(stored)
        check.payment_guids.append(guid)


def payment_json(entry: LedgerEntry) -> JSON:
    return {
        "guid": entry.guid,
        "entityType": "OrderPayment",
        "type": "CREDIT",
        "amount": (entry.amount - entry.tip) / 100,
        "tipAmount": entry.tip / 100,
        "amountTendered": entry.amount / 100,
        "paymentStatus": entry.status,
        "cardType": entry.card.get("brand"),
        "last4Digits": entry.card.get("lastFour"),
        # ASSUMPTION: merchant-initiated payments show PARTNER_ECOM_COF, others KEYED.
        "cardEntryMode": "PARTNER_ECOM_COF" if entry.off_session else "KEYED",
        "paidDate": iso(entry.applied_at),
        "refundStatus": "NONE",
        "voidInfo": None,
        "orderGuid": entry.order_guid,
        "checkGuid": entry.check_guid,
    }


def order_json(state: SandboxState, order: Order) -> JSON:
    by_guid = {
        e.guid: e
        for c in order.checks
        for g in c.payment_guids
        for e in state.t.ledger_by_guid.get(g, [])
        if e.order_guid == order.guid
    }
    checks = []
    for check in order.checks:
        payments = [payment_json(by_guid[g]) for g in check.payment_guids if g in by_guid]
        payments += [
            {k: v for k, v in p.items() if not k.startswith("_")} for p in check.other_payments
        ]
        checks.append({"guid": check.guid, "entityType": "Check", "payments": payments})
    return {
        "guid": order.guid,
        "entityType": "Order",
        "businessDate": order.business_date,
        "createdDate": iso(order.created_at),
        "checks": checks,
    }
