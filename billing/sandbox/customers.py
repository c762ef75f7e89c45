"""Customers API: create a customer record; list its saved payment methods."""

from __future__ import annotations

from billing.sandbox.call import Call, Reply
from billing.sandbox.errors import NotFound
from billing.sandbox.models import Customer
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import canonical_uuid, str_field


def create(state: SandboxState, call: Call) -> Reply:
    body = call.json()
    external = str_field(body, "externalReferenceId", required=True)
    description = str_field(body, "description", required=True)
    # ASSUMPTION: a second customer with the same externalReferenceId is a new record.
    customer = Customer(
        id=state.new_id(),
        external_reference_id=str(external),
        description=str(description),
        location=str(call.location),
    )
    state.t.customers[customer.id] = customer
    return 200, customer.to_json()


def list_payment_methods(state: SandboxState, call: Call) -> Reply:
    customer_id = canonical_uuid(call.param("id"))
    if customer_id is None or state.customer(customer_id) is None:
        raise NotFound("customer record does not exist")
    # ASSUMPTION: only cards saved to the profile (ON_SESSION / ON_AND_OFF_SESSION after a
    # successful confirm) are listed; a card-on-file without a customer never appears.
    methods = [
        method.list_item()
        for method in state.t.payment_methods.values()
        if method.saved and method.customer_id == customer_id and not method.detached
    ]
    return 200, {"results": len(methods), "paymentMethods": methods}
