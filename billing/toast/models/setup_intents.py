"""Setup intents: create, update, confirm requests and the SetupIntent response."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import SecretStr

from billing.toast.models.base import (
    AnyStandingInstruction,
    AnyUsage,
    Guid,
    Secret,
    StandingInstructionType,
    ToastRequest,
    ToastResponse,
    Usage,
    _known,
)
from billing.toast.models.payment_intents import LastPaymentError


class SetupIntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "REQUIRES_PAYMENT_METHOD"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"


class CreateSetupIntent(ToastRequest):
    customer_id: Guid | None = None
    usage: Usage = Usage.OFF_SESSION
    standing_instruction_type: StandingInstructionType | None = None
    external_reference_id: str | None = None


class UpdateSetupIntent(ToastRequest):
    customer_id: Guid | None = None
    usage: Usage | None = None
    session_secret: Secret | None = None


class ConfirmSetupIntent(ToastRequest):
    payment_method_id: Guid | None = None
    session_secret: Secret


AnySetupIntentStatus = Annotated[SetupIntentStatus | str, _known(SetupIntentStatus)]


class SetupIntent(ToastResponse):
    id: str
    customer_id: str | None = None
    session_secret: SecretStr | None = None
    payment_method_id: str | None = None
    status: AnySetupIntentStatus
    usage: AnyUsage | None = None
    creation_date: datetime | None = None
    standing_instruction_type: AnyStandingInstruction | None = None
    mandate_id: str | None = None
    external_reference_id: str | None = None
    payment_method_types: list[str] | None = None
    last_setup_error: LastPaymentError | None = None
