"""Payment intents: create, update, confirm requests and the PaymentIntentResponse."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SecretStr, model_validator

from billing.toast.models.base import (
    Amount,
    AnyStandingInstruction,
    AnyUsage,
    CardSummary,
    Email,
    Guid,
    Secret,
    StandingInstructionType,
    ToastRequest,
    ToastResponse,
    _known,
)


class PaymentIntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "REQUIRES_PAYMENT_METHOD"
    REQUIRES_CONFIRMATION = "REQUIRES_CONFIRMATION"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    PROCESSING = "PROCESSING"
    REQUIRES_CAPTURE = "REQUIRES_CAPTURE"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


AUTHORIZED_STATUSES = frozenset(
    {PaymentIntentStatus.REQUIRES_CAPTURE, PaymentIntentStatus.SUCCEEDED}
)


class AmountDetails(ToastRequest):
    """Used both ways; in responses Toast may add fields (e.g. ``tax``), so extras are kept."""

    model_config = ConfigDict(extra="allow", frozen=False)

    tip: int = Field(0, ge=0)
    surcharge: int | None = None
    line_item_modifiers: dict[str, Any] | None = None


class CreatePaymentIntent(ToastRequest):
    amount: Amount
    currency: Literal["USD"] = "USD"
    external_reference_id: Guid
    capture_method: Literal["MANUAL"] = "MANUAL"
    customer_id: Guid | None = None
    email: Email | None = None
    payment_method_configuration_id: Guid | None = None
    payment_method_id: Guid | None = None
    off_session: bool | None = None
    standing_instruction_type: StandingInstructionType | None = None
    mandate_id: Guid | None = None

    @model_validator(mode="after")
    def _mit_needs_mandate(self) -> CreatePaymentIntent:
        if self.off_session and self.mandate_id is None:
            raise ValueError("an offSession (merchant-initiated) intent needs mandate_id")
        return self


class UpdatePaymentIntent(ToastRequest):
    amount: Amount | None = None
    email: Email | None = None
    customer_id: Guid | None = None
    amount_details: AmountDetails | None = None
    external_reference_id: Guid | None = None

    @model_validator(mode="after")
    def _amount_needs_tip(self) -> UpdatePaymentIntent:
        if self.amount is not None and self.amount_details is None:
            raise ValueError("changing amount requires amount_details (with tip)")
        return self


class ConfirmPaymentIntent(ToastRequest):
    payment_method_id: Guid | None = None
    session_secret: Secret | None = None
    email: Email | None = None
    customer_id: Guid | None = None


class LastPaymentError(ToastResponse):
    type: str | None = None  # CARD_DECLINED | FRAUDULENT (unknown values kept)
    code: str | None = None


class LatestPayment(ToastResponse):
    card: CardSummary | None = None


AnyPaymentIntentStatus = Annotated[PaymentIntentStatus | str, _known(PaymentIntentStatus)]


class PaymentIntent(ToastResponse):
    id: str
    external_reference_id: str | None = None
    session_secret: SecretStr | None = None
    amount: int | None = None
    currency: str | None = None
    capture_method: str | None = None
    status: AnyPaymentIntentStatus
    payment_method_id: str | None = None
    creation_date: datetime | None = None
    setup_future_usage: AnyUsage | None = None
    usage: AnyUsage | None = None
    customer_id: str | None = None
    amount_details: AmountDetails | None = None
    email: str | None = None
    latest_payment: LatestPayment | None = None
    off_session: bool | None = None
    standing_instruction_type: AnyStandingInstruction | None = None
    mandate_id: str | None = None
    last_payment_error: LastPaymentError | None = None

    @property
    def future_usage(self) -> str | None:
        """``usage`` (newer docs) or ``setupFutureUsage`` (older docs), whichever is set."""
        return self.usage or self.setup_future_usage

    @property
    def authorized(self) -> bool:
        return self.status in AUTHORIZED_STATUSES

    @property
    def declined(self) -> bool:
        """Back in REQUIRES_PAYMENT_METHOD with an error: the last authorization was refused."""
        return (
            self.status == PaymentIntentStatus.REQUIRES_PAYMENT_METHOD
            and self.last_payment_error is not None
        )

    @property
    def tip(self) -> int:
        return self.amount_details.tip if self.amount_details else 0
