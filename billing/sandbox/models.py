"""In-memory entities of the sandbox and their Toast JSON shapes. No card number is ever kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


def iso(instant: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` and microseconds, as Toast writes ``creationDate``."""
    return None if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True, kw_only=True)
class Customer:
    id: str
    external_reference_id: str
    description: str
    location: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "externalReferenceId": self.external_reference_id,
            "description": self.description,
        }


@dataclass(slots=True, kw_only=True)
class PaymentMethod:
    id: str
    usage: str | None
    first_six: str
    last_four: str
    exp_month: str
    exp_year: str  # two digits, as Toast shows it
    brand: str
    fingerprint: str
    behaviour: str
    decline_type: str | None
    decline_code: str | None
    scope_intent_id: str
    customer_id: str | None
    created_at: datetime
    detached: bool = False
    saved: bool = False

    def expiry(self) -> JSON:
        return {"month": self.exp_month, "year": self.exp_year}

    def card_json(self) -> JSON:
        return {"brand": self.brand, "lastFour": self.last_four, "expiry": self.expiry()}

    def to_json(self) -> JSON:
        card = {
            "firstSix": self.first_six,
            "lastFour": self.last_four,
            "expiry": self.expiry(),
            "brand": self.brand,
            "type": self.brand,
            "fingerprint": self.fingerprint,
            "funding": "CREDIT",
        }
        return {"id": self.id, "type": "CARD", "usage": self.usage, "card": card}

    def list_item(self) -> JSON:
        return {
            "id": self.id,
            "type": "CARD",
            "cardType": self.brand,
            "lastFour": self.last_four,
            "month": self.exp_month,
            "year": self.exp_year,
            "card": {"lastFour": self.last_four, "expiry": self.expiry(), "type": self.brand},
        }

    def detach_json(self) -> JSON:
        return {
            "id": self.id,
            "type": "CARD",
            "card": {"lastFour": self.last_four, "expiry": self.expiry(), "type": self.brand},
        }


@dataclass(slots=True, kw_only=True)
class Mandate:
    id: str
    customer_id: str | None
    payment_method_id: str
    original_transaction_id: str
    standing_instruction_type: str
    status: str
    created_at: datetime
    location: str | None
    external_reference_id: str | None = None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "customerId": self.customer_id,
            "paymentMethodId": self.payment_method_id,
            "originalTransactionId": self.original_transaction_id,
            "standingInstructionType": self.standing_instruction_type,
            "status": self.status,
            "createdAt": iso(self.created_at),
            "externalReferenceId": self.external_reference_id,
        }


@dataclass(slots=True, kw_only=True)
class SetupIntent:
    id: str
    session_secret: str
    customer_id: str | None
    usage: str
    standing_instruction_type: str | None
    external_reference_id: str | None
    created_at: datetime
    location: str | None
    status: str = "REQUIRES_PAYMENT_METHOD"
    payment_method_id: str | None = None
    mandate_id: str | None = None
    last_setup_error: JSON | None = None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "customerId": self.customer_id,
            "sessionSecret": self.session_secret,
            "paymentMethodId": self.payment_method_id,
            "status": self.status,
            "usage": self.usage,
            "creationDate": iso(self.created_at),
            "standingInstructionType": self.standing_instruction_type,
            "mandateId": self.mandate_id,
            "externalReferenceId": self.external_reference_id,
            "paymentMethodTypes": ["CARD"],
            "lastSetupError": self.last_setup_error,
        }


@dataclass(slots=True, kw_only=True)
class PaymentIntent:
    id: str
    external_reference_id: str
    session_secret: str
    amount: int
    currency: str
    created_at: datetime
    location: str
    configuration_id: str
    customer_id: str | None = None
    email: str | None = None
    payment_method_id: str | None = None
    off_session: bool = False
    standing_instruction_type: str | None = None
    mandate_id: str | None = None
    status: str = "REQUIRES_PAYMENT_METHOD"
    tip: int = 0
    surcharge: int | None = None
    line_item_modifiers: Any = None
    usage: str | None = None
    latest_card: JSON | None = None
    last_payment_error: JSON | None = None
    authorized_at: datetime | None = None
    attempts: int = 0

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "externalReferenceId": self.external_reference_id,
            "sessionSecret": self.session_secret,
            "amount": self.amount,
            "currency": self.currency,
            "captureMethod": "MANUAL",
            "status": self.status,
            "paymentMethodId": self.payment_method_id,
            "creationDate": iso(self.created_at),
            "setupFutureUsage": self.usage,
            "usage": self.usage,
            "customerId": self.customer_id,
            "amountDetails": {
                "tip": self.tip,
                "surcharge": self.surcharge,
                "lineItemModifiers": self.line_item_modifiers,
            },
            "email": self.email,
            "paymentMethodConfigurationDetails": {"id": self.configuration_id},
            "latestPayment": None if self.latest_card is None else {"card": self.latest_card},
            "offSession": self.off_session,
            "standingInstructionType": self.standing_instruction_type,
            "mandateId": self.mandate_id,
            "lastPaymentError": self.last_payment_error,
        }


@dataclass(slots=True, kw_only=True)
class LedgerEntry:
    """One authorization and what became of it (the Orders-side payment)."""

    guid: str
    payment_intent_id: str
    location: str
    amount: int
    tip: int
    authorized_at: datetime
    off_session: bool
    mandate_id: str | None
    card: JSON
    status: str = "AUTHORIZED"
    order_guid: str | None = None
    check_guid: str | None = None
    applied_at: datetime | None = None
    captured_at: datetime | None = None
    voided_at: datetime | None = None

    def to_json(self) -> JSON:
        return {
            "guid": self.guid,
            "paymentIntentId": self.payment_intent_id,
            "location": self.location,
            "amount": self.amount,
            "tipAmount": self.tip,
            "status": self.status,
            "orderGuid": self.order_guid,
            "checkGuid": self.check_guid,
            "authorizedAt": iso(self.authorized_at),
            "appliedAt": iso(self.applied_at),
            "capturedAt": iso(self.captured_at),
            "voidedAt": iso(self.voided_at),
            "offSession": self.off_session,
            "mandateId": self.mandate_id,
        }


@dataclass(slots=True, kw_only=True)
class Check:
    guid: str
    payment_guids: list[str] = field(default_factory=list)
    other_payments: list[JSON] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Order:
    guid: str
    location: str
    created_at: datetime
    business_date: int
    checks: list[Check]
    extra: JSON = field(default_factory=dict)
