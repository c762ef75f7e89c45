from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from billing.toast import errors, resource
from billing.toast.models.base import Usage
from billing.toast.models.orders import CheckPayment, OrderPayment, PaymentStatus
from billing.toast.models.payment_intents import (
    ConfirmPaymentIntent,
    CreatePaymentIntent,
    PaymentIntent,
    PaymentIntentStatus,
    UpdatePaymentIntent,
)
from billing.toast.models.payment_methods import CardInput, Mandate, luhn_ok

ERID = uuid.uuid4()


def _create(**kw: Any) -> CreatePaymentIntent:
    return CreatePaymentIntent(**{"amount": 1000, "external_reference_id": ERID, **kw})


@pytest.mark.parametrize("amount", [1, 99_999_999])
def test_amount_bounds_accept(amount: int) -> None:
    assert _create(amount=amount).to_json()["amount"] == amount


@pytest.mark.parametrize("amount", [0, -5, 100_000_000, 10.5, "100"])
def test_amount_bounds_refuse(amount: object) -> None:
    with pytest.raises(ValidationError):
        _create(amount=amount)


def test_only_usd() -> None:
    with pytest.raises(ValidationError):
        _create(currency="CAD")


@pytest.mark.parametrize("email", ["a b@c.d", "a<b>@c.d", "ü@c.d", "a,b@c.d"])
def test_email_charset_is_enforced(email: str) -> None:
    with pytest.raises(ValidationError):
        _create(email=email)


def test_allowed_email_characters() -> None:
    assert _create(email="a.b-c_d+e=f:g&h^i%j!k$@x.io").email


def test_ids_must_be_uuids() -> None:
    with pytest.raises(ValidationError):
        CreatePaymentIntent(amount=1, external_reference_id="not-a-uuid")  # type: ignore[arg-type]


def test_merchant_initiated_intent_needs_a_mandate() -> None:
    with pytest.raises(ValidationError, match="mandate"):
        _create(off_session=True)


def test_camel_case_body_without_nones() -> None:
    body = _create(off_session=True, mandate_id=uuid.UUID(int=1)).to_json()
    assert body == {
        "amount": 1000,
        "currency": "USD",
        "externalReferenceId": str(ERID),
        "captureMethod": "MANUAL",
        "offSession": True,
        "mandateId": "00000000-0000-0000-0000-000000000001",
    }


def test_amount_change_needs_tip() -> None:
    with pytest.raises(ValidationError):
        UpdatePaymentIntent(amount=500)


def test_session_secret_is_sent_but_never_shown() -> None:
    request = ConfirmPaymentIntent(session_secret="PI_x_SECRET_abc")  # type: ignore[arg-type]
    assert request.to_json() == {"sessionSecret": "PI_x_SECRET_abc"}
    assert "abc" not in repr(request)
    assert "abc" not in str(request)


def test_card_numbers_are_luhn_checked_and_hidden() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    with pytest.raises(ValidationError):
        CardInput(number="4111111111111112", cvv="123", expiry={"month": "12", "year": "30"})  # type: ignore[arg-type]
    card = CardInput(number="4111111111111111", cvv="123", expiry={"month": "12", "year": "30"})  # type: ignore[arg-type]
    assert "4111" not in repr(card)


def test_build_turns_validation_errors_into_invalid_request_with_field() -> None:
    with pytest.raises(errors.ToastInvalidRequest) as info:
        resource.build(CreatePaymentIntent, amount=0, external_reference_id=ERID)
    assert info.value.field == "amount"
    assert info.value.status is None


def _intent(**kw: Any) -> PaymentIntent:
    data = {
        "id": str(uuid.uuid4()),
        "externalReferenceId": str(ERID),
        "sessionSecret": "PI_x_SECRET_s3cr3t",
        "amount": 1250,
        "currency": "USD",
        "status": "REQUIRES_CAPTURE",
        "creationDate": "2025-11-20T22:06:15.165038025Z",
        "amountDetails": {"tip": 250, "surcharge": None, "tax": None},
        **kw,
    }
    return PaymentIntent.model_validate(data)


def test_response_keeps_unknown_fields_and_enum_values() -> None:
    intent = _intent(status="PARTIALLY_AUTHORIZED", brandNewField={"x": 1})
    assert intent.status == "PARTIALLY_AUTHORIZED"
    assert intent.model_extra == {"brandNewField": {"x": 1}}
    assert _intent().status is PaymentIntentStatus.REQUIRES_CAPTURE


def test_nanosecond_creation_dates_parse() -> None:
    assert _intent().creation_date is not None


@pytest.mark.parametrize("name", ["usage", "setupFutureUsage"])
def test_both_usage_spellings(name: str) -> None:
    assert _intent(**{name: "ON_SESSION"}).future_usage is Usage.ON_SESSION


def test_response_secret_is_masked() -> None:
    intent = _intent()
    assert "s3cr3t" not in repr(intent)
    assert intent.session_secret is not None
    assert intent.session_secret.get_secret_value().endswith("s3cr3t")


def test_decline_is_recognised() -> None:
    intent = _intent(
        status="REQUIRES_PAYMENT_METHOD",
        lastPaymentError={"type": "CARD_DECLINED", "code": "insufficient_funds"},
    )
    assert intent.declined
    assert not intent.authorized


def test_order_payment_for_intent_is_in_dollars_without_tip() -> None:
    body = OrderPayment.for_intent(_intent()).to_json()
    assert body == {"guid": str(ERID), "type": "CREDIT", "amount": 10.0, "tipAmount": 2.5}


def test_mandate_and_check_payment_parse_tolerantly() -> None:
    mandate = Mandate.model_validate({"id": "m", "status": "SUSPENDED", "createdAt": None})
    assert mandate.status == "SUSPENDED"
    assert not mandate.active
    payment = CheckPayment.model_validate({"guid": "g", "paymentStatus": "CAPTURED", "new": 1})
    assert payment.payment_status is PaymentStatus.CAPTURED
    assert payment.successful
