"""Setup intents: save a card (ON_SESSION) or create a card-on-file with a mandate
(OFF_SESSION) through a $0 authorization. 30-minute life, then 404."""

from __future__ import annotations

from billing.sandbox.authorize import verify_setup
from billing.sandbox.call import JSON, Call, Reply
from billing.sandbox.errors import Conflict, InvalidRequest, PaymentMethodNotScoped
from billing.sandbox.models import SetupIntent
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import (
    SI_USAGES,
    STANDING_INSTRUCTIONS,
    enum_field,
    str_field,
    uuid_field,
)


def create(state: SandboxState, call: Call) -> Reply:
    body = call.json()
    customer_id = _customer(state, body)
    usage = enum_field(body, "usage", SI_USAGES, default="ON_SESSION")
    instruction = enum_field(body, "standingInstructionType", STANDING_INSTRUCTIONS)
    assert usage is not None
    _check_usage(usage, instruction, customer_id)
    intent_id = state.new_id()
    intent = SetupIntent(
        id=intent_id,
        session_secret=state.new_secret("SI", intent_id),
        customer_id=customer_id,
        usage=usage,
        standing_instruction_type=instruction,
        external_reference_id=str_field(body, "externalReferenceId"),
        created_at=state.clock.now(),
        location=call.location,
    )
    state.t.setup_intents[intent_id] = intent
    return 201, intent.to_json()


def get(state: SandboxState, call: Call) -> Reply:
    # ASSUMPTION: setup intents are not scoped to a location (the reference shows no header).
    return 200, state.setup_intent(call.param("id")).to_json()


def update(state: SandboxState, call: Call) -> Reply:
    intent = state.setup_intent(call.param("id"))
    body = call.json()
    _check_secret(intent, body, required=False)
    if intent.status != "REQUIRES_PAYMENT_METHOD":
        # ASSUMPTION: the documented 409 covers PROCESSING and SUCCEEDED.
        raise Conflict(f"setup intent cannot be updated in status {intent.status}")
    customer_id = _customer(state, body) or intent.customer_id
    usage = enum_field(body, "usage", SI_USAGES, default=intent.usage)
    instruction = enum_field(body, "standingInstructionType", STANDING_INSTRUCTIONS)
    assert usage is not None
    instruction = instruction or intent.standing_instruction_type
    _check_usage(usage, instruction, customer_id)
    intent.customer_id, intent.usage = customer_id, usage
    intent.standing_instruction_type = instruction
    return 200, intent.to_json()


def confirm(state: SandboxState, call: Call) -> Reply:
    intent = state.setup_intent(call.param("id"))
    body = call.json()
    _check_secret(intent, body, required=True)
    if intent.status != "REQUIRES_PAYMENT_METHOD":
        raise Conflict(f"setup intent cannot be confirmed in status {intent.status}")
    method_id = uuid_field(body, "paymentMethodId") or intent.payment_method_id
    method = state.t.payment_methods.get(method_id or "")
    if method is None or method.detached or method.scope_intent_id != intent.id:
        raise PaymentMethodNotScoped(
            "payment method not found or hasn't been scoped to the setup intent"
        )
    verify_setup(state, intent, method)
    return 200, intent.to_json()


def _customer(state: SandboxState, body: JSON) -> str | None:
    customer_id = uuid_field(body, "customerId")
    if customer_id is not None and state.customer(customer_id) is None:
        # ASSUMPTION: "an error response" for an unknown customer is a 400.
        raise InvalidRequest("customer record does not exist", field="customerId")
    return customer_id


def _check_usage(usage: str, instruction: str | None, customer_id: str | None) -> None:
    if usage == "ON_SESSION" and customer_id is None:
        raise InvalidRequest("customerId is required for ON_SESSION", field="customerId")
    if usage == "OFF_SESSION" and instruction is None:
        # ASSUMPTION: a card-on-file needs its standing instruction type up front.
        raise InvalidRequest(
            "standingInstructionType is required for OFF_SESSION", field="standingInstructionType"
        )


def _check_secret(intent: SetupIntent, body: JSON, *, required: bool) -> None:
    secret = str_field(body, "sessionSecret", required=required)
    if secret is not None and secret != intent.session_secret:
        # ASSUMPTION: a wrong session secret is a 400.
        raise InvalidRequest("sessionSecret does not match the setup intent", field="sessionSecret")
