"""Payment methods: create (scoped to an intent by its session secret) and detach."""

from __future__ import annotations

import uuid

from pydantic import SecretStr

from billing.toast import resource
from billing.toast.client import IDEMPOTENCY_HEADER, SESSION_SECRET_HEADER, Call
from billing.toast.models.base import Usage
from billing.toast.models.payment_methods import (
    BillingDetails,
    CardInput,
    CreatePaymentMethod,
    DetachPaymentMethod,
    PaymentMethod,
)

Id = str | uuid.UUID
BASE = "/v1/payment-methods"


class PaymentMethods(resource.Resource):
    async def create(
        self,
        *,
        location: str,
        session_secret: SecretStr | str,
        idempotency_key: Id,
        card: CardInput,
        usage: Usage | None = None,
        postal_code: str | None = None,
    ) -> PaymentMethod:
        """Create a card payment method scoped to the intent owning ``session_secret``.
        Carries ``Toast-Idempotency-Key``, so an unknown outcome is retried with the same key."""
        key = resource.path_id(idempotency_key, "idempotency_key")
        details = BillingDetails(postal_code=postal_code) if postal_code else None
        body = resource.build(CreatePaymentMethod, card=card, usage=usage, billing_details=details)
        call = Call(
            action="payment_method_create",
            method="POST",
            path=BASE,
            location=location,
            json=body.to_json(),
            headers={
                SESSION_SECRET_HEADER: resource.reveal(session_secret),
                IDEMPOTENCY_HEADER: key,
            },
            safe=True,
        )
        return resource.parse(PaymentMethod, await self._send(call))

    async def detach(
        self, payment_method_id: Id, *, location: str, customer_id: Id | None = None
    ) -> PaymentMethod:
        """Delete it, or (if it has an ACTIVE mandate) keep it for OFF_SESSION use only.
        Toast's answer is the same in both cases; revoke the mandate first to delete."""
        body = resource.build(DetachPaymentMethod, customer_id=customer_id)
        pm = resource.path_id(payment_method_id, "payment_method_id")
        call = Call(
            action="payment_method_detach",
            method="POST",
            path=f"{BASE}/{pm}/detach",
            location=location,
            json=body.to_json(),
        )
        return resource.parse(PaymentMethod, await self._send(call))
