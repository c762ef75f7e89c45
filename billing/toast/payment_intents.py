"""Payment intents: create, get, update, confirm.

Money semantics for the engine:

- ``create`` is never re-sent on an unknown outcome (no idempotency at Toast): a lost answer
  raises ``ToastOutcomeUnknown``; the engine keeps its ``externalReferenceId`` and must not
  create a second intent for the attempt without human reconciliation.
- ``confirm`` returns the intent when authorized (``REQUIRES_CAPTURE``) or still
  ``PROCESSING`` (unknown: read back later with ``get``); raises ``ToastDeclined`` (with type,
  code and the intent) when the authorization was refused; raises ``ToastOutcomeUnknown`` when
  the answer was lost (read back with ``get``).
"""

from __future__ import annotations

import uuid

from pydantic import SecretStr

from billing.toast import errors, resource
from billing.toast.client import Call
from billing.toast.models.base import StandingInstructionType
from billing.toast.models.payment_intents import (
    AmountDetails,
    ConfirmPaymentIntent,
    CreatePaymentIntent,
    PaymentIntent,
    UpdatePaymentIntent,
)

Id = str | uuid.UUID
BASE = "/v1/payment-intents"


class PaymentIntents(resource.Resource):
    async def create(
        self,
        *,
        location: str,
        amount: int,
        external_reference_id: Id,
        email: str | None = None,
        customer_id: Id | None = None,
        off_session: bool | None = None,
        mandate_id: Id | None = None,
        standing_instruction_type: StandingInstructionType | None = None,
        payment_method_id: Id | None = None,
        payment_method_configuration_id: Id | None = None,
    ) -> PaymentIntent:
        body = resource.build(
            CreatePaymentIntent,
            amount=amount,
            external_reference_id=external_reference_id,
            email=email,
            customer_id=customer_id,
            off_session=off_session,
            mandate_id=mandate_id,
            standing_instruction_type=standing_instruction_type,
            payment_method_id=payment_method_id,
            payment_method_configuration_id=payment_method_configuration_id,
        )
        call = Call(
            action="payment_intent_create",
            method="POST",
            path=BASE,
            location=location,
            json=body.to_json(),
        )
        return resource.parse(PaymentIntent, await self._send(call))

    async def get(self, intent_id: Id, *, location: str) -> PaymentIntent:
        path = f"{BASE}/{resource.path_id(intent_id, 'intent_id')}"
        call = Call(
            action="payment_intent_get", method="GET", path=path, location=location, safe=True
        )
        return resource.parse(PaymentIntent, await self._send(call))

    async def update(
        self,
        intent_id: Id,
        *,
        location: str,
        amount: int | None = None,
        tip: int | None = None,
        email: str | None = None,
        customer_id: Id | None = None,
        external_reference_id: Id | None = None,
    ) -> PaymentIntent:
        details = AmountDetails(tip=tip) if tip is not None else None
        body = resource.build(
            UpdatePaymentIntent,
            amount=amount,
            amount_details=details,
            email=email,
            customer_id=customer_id,
            external_reference_id=external_reference_id,
        )
        path = f"{BASE}/{resource.path_id(intent_id, 'intent_id')}"
        call = Call(
            action="payment_intent_update",
            method="POST",
            path=path,
            location=location,
            json=body.to_json(),
        )
        return resource.parse(PaymentIntent, await self._send(call))

    async def confirm(
        self,
        intent_id: Id,
        *,
        location: str,
        session_secret: SecretStr | str | None,
        payment_method_id: Id | None = None,
        email: str | None = None,
        customer_id: Id | None = None,
    ) -> PaymentIntent:
        """Authorize. Returns the intent (REQUIRES_CAPTURE or PROCESSING) or raises
        ``ToastDeclined``; see the module docstring for unknown outcomes."""
        body = resource.build(
            ConfirmPaymentIntent,
            session_secret=session_secret,
            payment_method_id=payment_method_id,
            email=email,
            customer_id=customer_id,
        )
        call = Call(
            action="payment_intent_confirm",
            method="POST",
            path=f"{BASE}/{resource.path_id(intent_id, 'intent_id')}/confirm",
            location=location,
            json=body.to_json(),
            timeout="confirm",
        )
        intent = resource.parse(PaymentIntent, await self._send(call))
        if intent.declined:
            raise declined(intent)
        return intent


def declined(intent: PaymentIntent) -> errors.ToastDeclined:
    error = intent.last_payment_error
    decline_type = error.type if error else None
    decline_code = error.code if error else None
    return errors.ToastDeclined(
        f"payment intent {intent.id} declined: {decline_type}/{decline_code}",
        decline_type=decline_type,
        decline_code=decline_code,
        intent=intent,
        status=200,
    )
