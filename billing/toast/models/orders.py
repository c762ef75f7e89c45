"""The subset of the Orders API used to apply an authorized intent to a check.

ASSUMPTION (toast-api.md §8.17, inferred): the check payment of a hosted-checkout intent is
``{"guid": <externalReferenceId>, "type": "CREDIT", "amount": dollars excluding tip,
"tipAmount": dollars}``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainSerializer

from billing.toast.models.base import Guid, ToastRequest, ToastResponse, _known
from billing.toast.models.payment_intents import PaymentIntent

Dollars = Annotated[
    Decimal, Field(ge=0, decimal_places=2), PlainSerializer(float, return_type=float)
]


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class OrderPayment(ToastRequest):
    guid: Guid
    type: Literal["CREDIT", "OTHER"] = "CREDIT"
    amount: Dollars
    tip_amount: Dollars = Decimal("0.00")

    @classmethod
    def for_charge(cls, external_reference_id: str, amount_cents: int) -> OrderPayment:
        """The check payment for a merchant-initiated intent we created (no tip)."""
        return cls(guid=external_reference_id, amount=dollars(amount_cents))

    @classmethod
    def for_intent(cls, intent: PaymentIntent) -> OrderPayment:
        """The check payment for an authorized intent: guid = its externalReferenceId."""
        if intent.external_reference_id is None or intent.amount is None:
            raise ValueError("the intent has no externalReferenceId or amount")
        return cls(
            guid=intent.external_reference_id,
            amount=dollars(intent.amount - intent.tip),
            tip_amount=dollars(intent.tip),
        )


class NewCheck(ToastRequest):
    model_config = ConfigDict(extra="allow")

    payments: list[OrderPayment]


class CreateOrder(ToastRequest):
    """A minimal order: Toast's full Order has many optional fields; extras pass through."""

    model_config = ConfigDict(extra="allow")

    checks: list[NewCheck]


class PaymentStatus(StrEnum):
    OPEN = "OPEN"
    PROCESSING = "PROCESSING"
    AUTHORIZED_AT_RISK = "AUTHORIZED_AT_RISK"
    AUTHORIZED = "AUTHORIZED"
    ERROR = "ERROR"
    ERROR_NETWORK = "ERROR_NETWORK"
    DENIED = "DENIED"
    PROCESSING_VOID = "PROCESSING_VOID"
    VOIDED_AT_RISK = "VOIDED_AT_RISK"
    CANCELLED = "CANCELLED"
    CAPTURE_IN_PROGRESS = "CAPTURE_IN_PROGRESS"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"


SUCCESSFUL_PAYMENT_STATUSES = frozenset(
    {PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURE_IN_PROGRESS, PaymentStatus.CAPTURED}
)


class CheckPayment(ToastResponse):
    guid: str
    type: str | None = None
    amount: float | None = None
    tip_amount: float | None = None
    payment_status: Annotated[PaymentStatus | str, _known(PaymentStatus)] | None = None
    card_type: str | None = None
    last4_digits: str | None = Field(None, alias="last4Digits")
    order_guid: str | None = None  # the order whose check carries the payment

    @property
    def successful(self) -> bool:
        return self.payment_status in SUCCESSFUL_PAYMENT_STATUSES


class Check(ToastResponse):
    guid: str | None = None
    payments: list[CheckPayment] = Field(default_factory=list)


class Order(ToastResponse):
    guid: str
    checks: list[Check] = Field(default_factory=list)

    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
