"""Payment intents: create (CIT or MIT), get, update, confirm. 24-hour life."""

from __future__ import annotations

from billing.sandbox.authorize import authorize_payment
from billing.sandbox.call import JSON, Call, Reply
from billing.sandbox.errors import (
    AmountEmpty,
    IntentExpired,
    IntentNotModifiable,
    InvalidRequest,
    MandateNotUsable,
    PaymentMethodNotScoped,
)
from billing.sandbox.models import Mandate, PaymentIntent, PaymentMethod
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import (
    STANDING_INSTRUCTIONS,
    bool_field,
    email_field,
    enum_field,
    int_field,
    object_field,
    str_field,
    uuid_field,
)

DEFAULT_CONFIGURATION = "00000000-0000-4000-8000-00000000c0f1"


def create(state: SandboxState, call: Call) -> Reply:
    body = call.json()
    assert call.location is not None
    if body.get("amount") is None:
        raise AmountEmpty(field="amount")
    amount = int_field(body, "amount", required=True, lo=1)
    enum_field(body, "currency", {"USD"}, required=True)
    enum_field(body, "captureMethod", {"MANUAL"})
    external = uuid_field(body, "externalReferenceId", required=True)
    intent_id = state.new_id()
    intent = PaymentIntent(
        id=intent_id,
        external_reference_id=str(external),
        session_secret=state.new_secret("PI", intent_id),
        amount=int(amount or 0),
        currency="USD",
        created_at=state.clock.now(),
        location=call.location,
        configuration_id=uuid_field(body, "paymentMethodConfigurationId") or DEFAULT_CONFIGURATION,
        customer_id=_customer(state, body),
        email=email_field(body),
        standing_instruction_type=enum_field(
            body, "standingInstructionType", STANDING_INSTRUCTIONS
        ),
    )
    _attach_initial_method(state, intent, body)
    _apply_mit(state, intent, body)
    state.t.secrets[intent.session_secret] = intent_id
    state.t.payment_intents[intent_id] = intent
    return state.config.assumptions.payment_intent_create_status, intent.to_json()


def _customer(state: SandboxState, body: JSON) -> str | None:
    customer_id = uuid_field(body, "customerId")
    if customer_id is not None and state.customer(customer_id) is None:
        # ASSUMPTION: an unknown customerId is a 400.
        raise InvalidRequest("customer record does not exist", field="customerId")
    return customer_id


def _attach_initial_method(state: SandboxState, intent: PaymentIntent, body: JSON) -> None:
    method_id = uuid_field(body, "paymentMethodId")
    if method_id is not None:
        state.payment_method(method_id)  # 404 when unknown (status stays REQUIRES_PAYMENT_METHOD)
        intent.payment_method_id = method_id


def _apply_mit(state: SandboxState, intent: PaymentIntent, body: JSON) -> None:
    intent.off_session = bool_field(body, "offSession")
    mandate_id = uuid_field(body, "mandateId")
    if not intent.off_session:
        if mandate_id is not None:
            # ASSUMPTION: a mandateId only makes sense on a merchant-initiated intent.
            raise InvalidRequest("mandateId requires offSession: true", field="mandateId")
        return
    if mandate_id is None:
        raise InvalidRequest("mandateId is required when offSession is true", field="mandateId")
    mandate = state.t.mandates.get(mandate_id)
    if mandate is None:
        # ASSUMPTION: an unknown mandate is a 400 (bad reference), an inactive one a 409.
        raise InvalidRequest("mandate not found", field="mandateId")
    _check_mandate_usable(state, mandate, intent.location)
    wanted = intent.standing_instruction_type
    if wanted is not None and wanted != mandate.standing_instruction_type:
        raise InvalidRequest(
            "standingInstructionType does not match the mandate", field="standingInstructionType"
        )
    intent.mandate_id = mandate.id
    intent.standing_instruction_type = mandate.standing_instruction_type


def _check_mandate_usable(state: SandboxState, mandate: Mandate, location: str) -> None:
    if mandate.status != "ACTIVE":
        raise MandateNotUsable("mandate is INACTIVE and cannot be used")
    per_location = state.config.assumptions.mandates_per_location
    if per_location and mandate.location not in (None, location):
        # ASSUMPTION: a mandate can only be charged by the location that obtained it.
        raise MandateNotUsable("mandate belongs to another location")


def get(state: SandboxState, call: Call) -> Reply:
    intent = state.payment_intent(call.location, call.param("id"))
    expired_status = state.config.assumptions.expired_payment_intent_get_status
    if expired_status == 404 and state.pi_expired(intent):
        raise IntentExpired("payment intent expired")
    # ASSUMPTION: by default GET still answers after expiry, so outcomes can be read back.
    return 200, intent.to_json()


def _modifiable(state: SandboxState, call: Call, action: str) -> PaymentIntent:
    intent = state.payment_intent(call.location, call.param("id"))
    if state.pi_expired(intent):
        raise IntentExpired("payment intent expired")
    if intent.status != "REQUIRES_PAYMENT_METHOD":
        # Documented for PROCESSING and REQUIRES_CAPTURE; ASSUMPTION: also for final states.
        raise IntentNotModifiable(f"payment intent cannot be {action} in status {intent.status}")
    return intent


def update(state: SandboxState, call: Call) -> Reply:
    intent = _modifiable(state, call, "updated")
    body = call.json()
    amount = int_field(body, "amount", lo=1)
    details = object_field(body, "amountDetails") or {}
    tip = int_field(details, "tip", lo=0)
    if amount is not None and amount != intent.amount and tip is None:
        raise InvalidRequest(
            "amountDetails.tip is required when amount changes", field="amountDetails.tip"
        )
    new_amount = intent.amount if amount is None else amount
    if tip is not None and tip > new_amount:
        raise InvalidRequest("tip cannot exceed the amount", field="amountDetails.tip")
    intent.amount, intent.tip = new_amount, intent.tip if tip is None else tip
    if "surcharge" in details:
        intent.surcharge = int_field(details, "surcharge", lo=0)
    if "lineItemModifiers" in details:
        intent.line_item_modifiers = details["lineItemModifiers"]
    intent.email = email_field(body) or intent.email
    intent.customer_id = _customer(state, body) or intent.customer_id
    intent.external_reference_id = (
        uuid_field(body, "externalReferenceId") or intent.external_reference_id
    )
    return 200, intent.to_json()


def confirm(state: SandboxState, call: Call) -> Reply:
    intent = _modifiable(state, call, "confirmed")
    body = call.json()
    _check_secret(state, intent, body)
    intent.email = email_field(body) or intent.email
    if intent.email is None:
        raise InvalidRequest("email must be given on create, update or confirm", field="email")
    method = (
        _mandate_method(state, intent, body)
        if intent.off_session
        else (_customer_method(state, intent, body))
    )
    authorize_payment(state, intent, method)
    return 200, intent.to_json()


def _check_secret(state: SandboxState, intent: PaymentIntent, body: JSON) -> None:
    required = state.config.assumptions.require_session_secret_on_pi_confirm
    secret = str_field(body, "sessionSecret", required=required)
    if secret is not None and secret != intent.session_secret:
        # ASSUMPTION: a wrong session secret is a 400.
        raise InvalidRequest(
            "sessionSecret does not match the payment intent", field="sessionSecret"
        )


def _mandate_method(state: SandboxState, intent: PaymentIntent, body: JSON) -> PaymentMethod:
    """MIT: ASSUMPTION: paymentMethodId is optional and resolved from the mandate."""
    mandate = state.t.mandates[str(intent.mandate_id)]
    _check_mandate_usable(state, mandate, intent.location)
    given = uuid_field(body, "paymentMethodId")
    if given is not None and given != mandate.payment_method_id:
        raise PaymentMethodNotScoped("payment method does not belong to the mandate")
    method = state.t.payment_methods.get(mandate.payment_method_id)
    if method is None or method.detached:
        raise PaymentMethodNotScoped("the mandate's payment method was deleted")
    return method


def _customer_method(state: SandboxState, intent: PaymentIntent, body: JSON) -> PaymentMethod:
    method_id = uuid_field(body, "paymentMethodId") or intent.payment_method_id
    method = state.t.payment_methods.get(method_id or "")
    if method is None or method.detached:
        raise PaymentMethodNotScoped()
    if method.scope_intent_id == intent.id:
        return method
    if not method.saved:
        raise PaymentMethodNotScoped()
    customer_id = uuid_field(body, "customerId")
    if customer_id is None:
        raise InvalidRequest("customerId must be sent with a saved card", field="customerId")
    if method.customer_id != customer_id:
        raise PaymentMethodNotScoped()
    intent.customer_id = customer_id
    return method
