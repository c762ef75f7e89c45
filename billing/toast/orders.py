"""The Orders API subset: apply an authorized intent to a check, read the payment back.

Toast voids an authorization that is not applied to a check within 5 minutes. Neither call is
re-sent on an unknown outcome (no idempotency key in the Orders API); read back with
``get_payment(guid=<externalReferenceId>)``: found means applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from billing.toast import resource
from billing.toast.client import Call
from billing.toast.models.orders import CheckPayment, CreateOrder, NewCheck, Order, OrderPayment

Id = str | uuid.UUID


class Orders(resource.Resource):
    async def create_order(
        self, *, location: str, payments: Sequence[OrderPayment], **order_fields: Any
    ) -> Order:
        """Create an order with one check carrying ``payments`` (``OrderPayment.for_intent``)."""
        body = resource.build(
            CreateOrder, checks=[NewCheck(payments=list(payments))], **order_fields
        )
        call = Call(
            action="order_create",
            method="POST",
            path="/orders/v2/orders",
            location=location,
            json=body.to_json(),
            orders_api=True,
        )
        return resource.parse(Order, await self._send(call))

    async def add_payments(
        self, *, location: str, order_guid: Id, check_guid: Id, payments: Sequence[OrderPayment]
    ) -> Order:
        order = resource.path_id(order_guid, "order_guid")
        check = resource.path_id(check_guid, "check_guid")
        call = Call(
            action="order_add_payments",
            method="POST",
            path=f"/orders/v2/orders/{order}/checks/{check}/payments",
            location=location,
            json=[p.to_json() for p in payments],
            orders_api=True,
        )
        return resource.parse(Order, await self._send(call))

    async def get_payment(self, guid: Id, *, location: str) -> CheckPayment:
        call = Call(
            action="order_payment_get",
            method="GET",
            path=f"/orders/v2/payments/{resource.path_id(guid, 'guid')}",
            location=location,
            safe=True,
            orders_api=True,
        )
        return resource.parse(CheckPayment, await self._send(call))
