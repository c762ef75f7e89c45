"""Mandates (MIT consent): get, list by payment method, revoke."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter, ValidationError

from billing.toast import errors, resource
from billing.toast.client import Call
from billing.toast.models.payment_methods import Mandate

Id = str | uuid.UUID
_MANDATE_LIST = TypeAdapter(list[Mandate])


class Mandates(resource.Resource):
    async def get(self, mandate_id: Id, *, location: str) -> Mandate:
        path = f"/v1/mandates/{resource.path_id(mandate_id, 'mandate_id')}"
        call = Call(action="mandate_get", method="GET", path=path, location=location, safe=True)
        return resource.parse(Mandate, await self._send(call))

    async def list_for_payment_method(
        self, payment_method_id: Id, *, location: str
    ) -> list[Mandate]:
        pm = resource.path_id(payment_method_id, "payment_method_id")
        call = Call(
            action="mandate_list",
            method="GET",
            path=f"/v1/payment-methods/{pm}/mandates",
            location=location,
            safe=True,
        )
        response = await self._send(call)
        try:
            return _MANDATE_LIST.validate_json(response.content)
        except ValidationError:
            raise errors.ToastOutcomeUnknown("unreadable mandate list", status=200) from None

    async def revoke(self, mandate_id: Id, *, location: str) -> None:
        """ACTIVE -> INACTIVE for good (204). Not re-sent on an unknown outcome: read it back
        with ``get`` (an INACTIVE mandate means the revoke took effect)."""
        path = f"/v1/mandates/{resource.path_id(mandate_id, 'mandate_id')}"
        await self._send(
            Call(action="mandate_revoke", method="DELETE", path=path, location=location)
        )
