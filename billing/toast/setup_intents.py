"""Setup intents: create, get, update, confirm (the card-on-file enrollment flow)."""

from __future__ import annotations

import uuid

from pydantic import SecretStr

from billing.toast import resource
from billing.toast.client import Call
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.setup_intents import (
    ConfirmSetupIntent,
    CreateSetupIntent,
    SetupIntent,
    UpdateSetupIntent,
)

Id = str | uuid.UUID
BASE = "/v1/setup-intents"


class SetupIntents(resource.Resource):
    async def create(
        self,
        *,
        location: str,
        usage: Usage = Usage.OFF_SESSION,
        standing_instruction_type: StandingInstructionType | None = None,
        customer_id: Id | None = None,
        external_reference_id: str | None = None,
    ) -> SetupIntent:
        body = resource.build(
            CreateSetupIntent,
            usage=usage,
            standing_instruction_type=standing_instruction_type,
            customer_id=customer_id,
            external_reference_id=external_reference_id,
        )
        call = Call(
            action="setup_intent_create",
            method="POST",
            path=BASE,
            location=location,
            json=body.to_json(),
        )
        return resource.parse(SetupIntent, await self._send(call))

    async def get(self, intent_id: Id, *, location: str) -> SetupIntent:
        path = f"{BASE}/{resource.path_id(intent_id, 'intent_id')}"
        call = Call(
            action="setup_intent_get", method="GET", path=path, location=location, safe=True
        )
        return resource.parse(SetupIntent, await self._send(call))

    async def update(
        self,
        intent_id: Id,
        *,
        location: str,
        customer_id: Id | None = None,
        usage: Usage | None = None,
        session_secret: SecretStr | str | None = None,
    ) -> SetupIntent:
        body = resource.build(
            UpdateSetupIntent, customer_id=customer_id, usage=usage, session_secret=session_secret
        )
        call = Call(
            action="setup_intent_update",
            method="POST",
            path=f"{BASE}/{resource.path_id(intent_id, 'intent_id')}",
            location=location,
            json=body.to_json(),
        )
        return resource.parse(SetupIntent, await self._send(call))

    async def confirm(
        self,
        intent_id: Id,
        *,
        location: str,
        session_secret: SecretStr | str,
        payment_method_id: Id | None = None,
    ) -> SetupIntent:
        """$0 verification; SUCCEEDED carries ``paymentMethodId`` and (OFF_SESSION) ``mandateId``.
        A refused card comes back REQUIRES_PAYMENT_METHOD with ``last_setup_error``."""
        body = resource.build(
            ConfirmSetupIntent, session_secret=session_secret, payment_method_id=payment_method_id
        )
        call = Call(
            action="setup_intent_confirm",
            method="POST",
            path=f"{BASE}/{resource.path_id(intent_id, 'intent_id')}/confirm",
            location=location,
            json=body.to_json(),
            timeout="confirm",
        )
        return resource.parse(SetupIntent, await self._send(call))
