"""Customer records: create, list saved payment methods."""

from __future__ import annotations

import uuid

from pydantic import SecretStr

from billing.toast import resource
from billing.toast.client import SESSION_SECRET_HEADER, Call
from billing.toast.models.payment_methods import CreateCustomer, Customer, SavedPaymentMethods

Id = str | uuid.UUID


class Customers(resource.Resource):
    async def create(
        self, *, location: str, external_reference_id: str, description: str
    ) -> Customer:
        body = resource.build(
            CreateCustomer, external_reference_id=external_reference_id, description=description
        )
        call = Call(
            action="customer_create",
            method="POST",
            path="/v1/customers",
            location=location,
            json=body.to_json(),
        )
        return resource.parse(Customer, await self._send(call))

    async def list_payment_methods(
        self, customer_id: Id, *, location: str, session_secret: SecretStr | str | None = None
    ) -> SavedPaymentMethods:
        headers: dict[str, str] = {}
        if session_secret is not None:
            headers[SESSION_SECRET_HEADER] = resource.reveal(session_secret)
        call = Call(
            action="customer_payment_methods",
            method="GET",
            path=f"/v1/customers/{resource.path_id(customer_id, 'customer_id')}/payment-methods",
            location=location,
            headers=headers,
            safe=True,
        )
        return resource.parse(SavedPaymentMethods, await self._send(call))
