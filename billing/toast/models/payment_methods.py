"""Payment methods, mandates and customer records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator

from billing.toast.models.base import (
    AnyStandingInstruction,
    AnyUsage,
    CardSummary,
    Guid,
    Secret,
    ToastRequest,
    ToastResponse,
    Usage,
    _known,
)


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number]
    for i in range(len(digits) - 2, -1, -2):
        digits[i] = digits[i] * 2 - 9 if digits[i] > 4 else digits[i] * 2
    return sum(digits) % 10 == 0


class CardExpiry(ToastRequest):
    month: Annotated[str, Field(pattern=r"^(0?[1-9]|1[0-2])$")]
    year: Annotated[str, Field(pattern=r"^\d{2}(\d{2})?$")]


class CardInput(ToastRequest):
    """A card typed in by the caller (PCI scope: used by tests and the sandbox flow only)."""

    number: Secret
    cvv: Secret
    expiry: CardExpiry

    @field_validator("number")
    @classmethod
    def _luhn(cls, value: Secret) -> Secret:
        digits = value.get_secret_value()
        if not (digits.isdigit() and 12 <= len(digits) <= 19 and luhn_ok(digits)):
            raise ValueError("card number is not a valid card number")
        return value


class BillingDetails(ToastRequest):
    postal_code: str | None = None


class CreatePaymentMethod(ToastRequest):
    type: Literal["CARD"] = "CARD"
    card: CardInput
    billing_details: BillingDetails | None = None
    usage: Usage | None = None


class DetachPaymentMethod(ToastRequest):
    customer_id: Guid | None = None


class PaymentMethod(ToastResponse):
    id: str
    type: str | None = None
    usage: AnyUsage | None = None
    card: CardSummary | None = None


class MandateStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class Mandate(ToastResponse):
    id: str
    customer_id: str | None = None
    payment_method_id: str | None = None
    original_transaction_id: str | None = None
    standing_instruction_type: AnyStandingInstruction | None = None
    status: Annotated[MandateStatus | str, _known(MandateStatus)]
    created_at: datetime | None = None
    external_reference_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status == MandateStatus.ACTIVE


class CreateCustomer(ToastRequest):
    external_reference_id: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(min_length=1, max_length=255)]


class Customer(ToastResponse):
    id: str
    external_reference_id: str | None = None
    description: str | None = None


class SavedPaymentMethod(ToastResponse):
    id: str
    type: str | None = None
    card_type: str | None = None
    last_four: str | None = None
    month: int | str | None = None
    year: int | str | None = None
    card: CardSummary | None = None


class SavedPaymentMethods(ToastResponse):
    results: int | None = None
    payment_methods: list[SavedPaymentMethod] = Field(default_factory=list)
