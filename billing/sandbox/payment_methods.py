"""Payment methods (create with a session secret + idempotency key; detach) and mandates."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from billing.sandbox import cards
from billing.sandbox.call import JSON, Call, Reply
from billing.sandbox.errors import (
    IdempotencyKeyReused,
    IntentExpired,
    IntentNotModifiable,
    InvalidRequest,
    NotFound,
    PaymentMethodNotScoped,
)
from billing.sandbox.models import PaymentIntent, PaymentMethod, SetupIntent
from billing.sandbox.state import IdempotentReply, SandboxState
from billing.sandbox.validate import PM_USAGES, canonical_uuid, enum_field, object_field


def create(state: SandboxState, call: Call) -> Reply:
    secret = call.headers.get("toast-session-secret")
    if not secret:
        raise InvalidRequest(
            "Toast-Session-Secret header is required", field="Toast-Session-Secret"
        )
    key = canonical_uuid(call.headers.get("toast-idempotency-key"))
    if key is None:
        raise InvalidRequest(
            "Toast-Idempotency-Key header is required (a UUID)", field="Toast-Idempotency-Key"
        )
    body = call.json()
    digest = _request_hash(secret, body)
    now = state.clock.now()
    cached = state.t.idempotency.get(key)
    if cached is not None and cached.expires_at > now:
        if cached.request_hash != digest:
            raise IdempotencyKeyReused()
        return cached.reply  # ASSUMPTION: a replay returns the first response unchanged.
    reply = _create(state, secret, body)
    ttl = timedelta(seconds=state.config.assumptions.idempotency_ttl_s)
    state.t.idempotency[key] = IdempotentReply(digest, now + ttl, reply)
    return reply


def _request_hash(secret: str, body: JSON) -> str:
    return hashlib.sha256((secret + json.dumps(body, sort_keys=True)).encode()).hexdigest()


def _scoped_intent(state: SandboxState, secret: str) -> PaymentIntent | SetupIntent:
    intent_id = state.t.secrets.get(secret)
    if intent_id is None:
        raise PaymentMethodNotScoped(
            "payment method not found or hasn't been scoped to payment or setup intent"
        )
    payment = state.t.payment_intents.get(intent_id)
    if payment is None:
        return state.setup_intent(intent_id)
    if state.pi_expired(payment):
        raise IntentExpired("payment intent expired")
    return payment


def _create(state: SandboxState, secret: str, body: JSON) -> Reply:
    intent = _scoped_intent(state, secret)
    if intent.status != "REQUIRES_PAYMENT_METHOD":
        raise IntentNotModifiable(f"intent cannot take a payment method in {intent.status}")
    kind = enum_field(body, "type", {"CARD", "CARD_PRESENT"}, required=True)
    if kind != "CARD":
        raise InvalidRequest("type CARD_PRESENT is reserved", field="type")
    usage = enum_field(body, "usage", PM_USAGES)
    if usage in ("ON_SESSION", "ON_AND_OFF_SESSION") and intent.customer_id is None:
        raise InvalidRequest("saving a card needs an intent created with customerId", field="usage")
    method = _new_method(state, object_field(body, "card") or {}, usage, intent)
    state.t.payment_methods[method.id] = method
    intent.payment_method_id = method.id
    return 200, method.to_json()


def _new_method(
    state: SandboxState, card: JSON, usage: str | None, intent: PaymentIntent | SetupIntent
) -> PaymentMethod:
    number = _card_number(card.get("number"))
    _check_cvv(card.get("cvv"))
    month, year = _expiry(card.get("expiry"))
    profile = cards.lookup(number)
    if profile.behaviour == "expires_next_month":
        month, year = _next_month(state.clock.now())
    return PaymentMethod(
        id=state.new_id(),
        usage=usage,
        first_six=number[:6],
        last_four=number[-4:],
        exp_month=month,
        exp_year=year,
        brand=cards.brand(number),
        fingerprint=cards.fingerprint(number),
        behaviour=profile.behaviour,
        decline_type=profile.decline_type,
        decline_code=profile.decline_code,
        scope_intent_id=intent.id,
        customer_id=intent.customer_id,
        created_at=state.clock.now(),
    )


def _card_number(value: Any) -> str:
    number = value.replace(" ", "") if isinstance(value, str) else ""
    if not cards.luhn_valid(number):
        # ASSUMPTION: a failed Luhn check is a 400 (the reference lists no code for it).
        raise InvalidRequest("card number is invalid", field="card.number")
    return number


def _check_cvv(value: Any) -> None:
    if not (isinstance(value, str) and value.isdigit() and len(value) in (3, 4)):
        raise InvalidRequest("card cvv must be 3 or 4 digits", field="card.cvv")


def _expiry(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise InvalidRequest("card expiry {month, year} is required", field="card.expiry")
    month, year = str(value.get("month", "")), str(value.get("year", ""))
    if not (month.isdigit() and 1 <= int(month) <= 12 and year.isdigit() and len(year) in (2, 4)):
        raise InvalidRequest(
            "card expiry must be a month 1-12 and a 2 or 4 digit year", field="card.expiry"
        )
    return f"{int(month):02d}", year[-2:]


def _next_month(now: datetime) -> tuple[str, str]:
    month, year = (1, now.year + 1) if now.month == 12 else (now.month + 1, now.year)
    return f"{month:02d}", f"{year % 100:02d}"


def detach(state: SandboxState, call: Call) -> Reply:
    method = state.payment_method(call.param("id"))
    customer_id = canonical_uuid(call.json().get("customerId"))
    # ASSUMPTION: customerId is optional (a card-on-file may have none); a mismatch is a 404.
    if customer_id is not None and method.customer_id not in (None, customer_id):
        raise NotFound("payment method not found")
    if state.active_mandates(method.id):
        method.usage, method.saved = "OFF_SESSION", False
    else:
        method.detached = True
    return 200, method.detach_json()


def list_mandates(state: SandboxState, call: Call) -> Reply:
    method_id = canonical_uuid(call.param("id"))
    if method_id is None:
        raise InvalidRequest("invalid payment method id format", field="paymentMethodId")
    state.payment_method(method_id)
    ids = state.t.mandates_by_pm.get(method_id, [])
    return 200, [state.t.mandates[i].to_json() for i in ids]


def get_mandate(state: SandboxState, call: Call) -> Reply:
    return 200, state.mandate(_mandate_id(call)).to_json()


def revoke_mandate(state: SandboxState, call: Call) -> Reply:
    mandate = state.mandate(_mandate_id(call))
    again = state.config.assumptions.revoke_inactive_mandate_status
    if mandate.status == "INACTIVE" and again == 404:
        # ASSUMPTION: revoking an INACTIVE mandate again is a no-op 204 (configurable: 404).
        raise NotFound("mandate is already inactive")
    mandate.status = "INACTIVE"
    return 204, None


def _mandate_id(call: Call) -> str:
    mandate_id = canonical_uuid(call.param("id"))
    if mandate_id is None:
        raise InvalidRequest("invalid mandate id format", field="mandateId")
    return mandate_id
