"""§8.3-8.6, §9.1 payment intents: validation, statuses, 409s, declines, 24-hour expiry."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.sandbox.helpers import (
    APPROVE,
    DECLINE,
    DECLINE_FIRST_N,
    EXPIRED,
    FRAUD,
    INSUFFICIENT,
    LOC_B,
    LOST,
    PROCESSING_DECLINE,
    PROCESSING_OK,
    STOLEN,
    UNKNOWN_LOC,
    Api,
    assert_error,
)

pytestmark = pytest.mark.toast_verified


def test_create_returns_requires_payment_method_with_a_fresh_secret(api: Api) -> None:
    first, second = api.new_pi(), api.new_pi()
    assert first["status"] == "REQUIRES_PAYMENT_METHOD"
    assert re.fullmatch(rf"PI_{first['id']}_SECRET_.{{25}}", first["sessionSecret"])
    assert first["sessionSecret"] != second["sessionSecret"]
    assert first["captureMethod"] == "MANUAL"
    assert first["currency"] == "USD"
    assert first["amountDetails"]["tip"] == 0
    assert first["latestPayment"] is None
    assert first["paymentMethodId"] is None
    assert first["offSession"] is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", 100_000_000),
        ("amount", "10"),
        ("currency", "EUR"),
        ("currency", "usd"),
        ("externalReferenceId", "order-1"),
        ("captureMethod", "AUTOMATIC"),
        ("email", "pat<script>@example.com"),
        ("customerId", "nope"),
        ("standingInstructionType", "WEEKLY"),
    ],
)
def test_create_validation_is_400(api: Api, field: str, value: Any) -> None:
    assert assert_error(api.create_pi(**{field: value}), 400)["fieldName"] == field


def test_amount_bounds_are_inclusive(api: Api) -> None:
    assert api.create_pi(amount=1).status_code == 200
    assert api.create_pi(amount=99_999_999).status_code == 200


def test_missing_amount_is_toast_code_10025(api: Api) -> None:
    body = {"currency": "USD", "externalReferenceId": str(uuid.uuid4())}
    error = assert_error(api.post("/v1/payment-intents", body), 400)
    assert error["code"] == 10025


@pytest.mark.parametrize("missing", ["currency", "externalReferenceId"])
def test_create_requires_fields(api: Api, missing: str) -> None:
    body = {"amount": 100, "currency": "USD", "externalReferenceId": str(uuid.uuid4())}
    del body[missing]
    assert_error(api.post("/v1/payment-intents", body), 400)


def test_location_rules(api: Api) -> None:
    assert_error(api.create_pi(location=UNKNOWN_LOC), 403)
    intent = api.new_pi()
    assert_error(api.get(f"/v1/payment-intents/{intent['id']}", location=None), 400)
    assert_error(api.get(f"/v1/payment-intents/{intent['id']}", location=LOC_B), 404)
    assert api.get(f"/v1/payment-intents/{intent['id']}").json()["id"] == intent["id"]


def test_attaching_a_payment_method_leaves_the_status(api: Api) -> None:
    intent = api.new_pi()
    method = api.add_card(intent["sessionSecret"]).json()
    fetched = api.get(f"/v1/payment-intents/{intent['id']}").json()
    assert fetched["paymentMethodId"] == method["id"]
    assert fetched["status"] == "REQUIRES_PAYMENT_METHOD"


def test_confirm_authorizes_to_requires_capture(api: Api) -> None:
    done = api.cit(APPROVE)
    assert done["status"] == "REQUIRES_CAPTURE"
    assert done["latestPayment"]["card"] == {
        "brand": "VISA",
        "lastFour": "1111",
        "expiry": {"month": "12", "year": "31"},
    }
    assert done["mandateId"] is None


def test_confirm_without_a_payment_method_is_409(api: Api) -> None:
    intent = api.new_pi()
    assert_error(api.confirm_pi(intent), 409)
    other = api.new_pi()
    foreign = api.add_card(other["sessionSecret"]).json()
    assert_error(api.confirm_pi(intent, paymentMethodId=foreign["id"]), 409)


def test_confirm_needs_an_email_given_at_least_once(api: Api) -> None:
    intent = api.new_pi(email=None)
    api.add_card(intent["sessionSecret"])
    assert_error(api.confirm_pi(intent), 400)
    assert api.confirm_pi(intent, email="pat@example.com").json()["status"] == "REQUIRES_CAPTURE"


def test_update_amount_requires_tip_and_keeps_status(api: Api) -> None:
    intent = api.new_pi(amount=1000)
    path = f"/v1/payment-intents/{intent['id']}"
    assert_error(api.post(path, {"amount": 1200}), 400)
    updated = api.post(path, {"amount": 1200, "amountDetails": {"tip": 200}}).json()
    assert (updated["amount"], updated["amountDetails"]["tip"]) == (1200, 200)
    assert updated["status"] == "REQUIRES_PAYMENT_METHOD"
    assert api.post(path, {"email": "new@example.com"}).json()["email"] == "new@example.com"


def test_no_modification_once_authorized(api: Api) -> None:
    done = api.cit()
    path = f"/v1/payment-intents/{done['id']}"
    assert_error(api.post(path, {"amount": 5, "amountDetails": {"tip": 0}}), 409)
    assert_error(api.confirm_pi(done), 409)


@pytest.mark.parametrize(
    ("number", "kind", "code"),
    [
        (DECLINE, "CARD_DECLINED", "generic_decline"),
        (INSUFFICIENT, "CARD_DECLINED", "insufficient_funds"),
        (EXPIRED, "CARD_DECLINED", "expired_card"),
        (STOLEN, "FRAUDULENT", "stolen_card"),
        (LOST, "FRAUDULENT", "lost_card"),
        (FRAUD, "FRAUDULENT", "fraudulent"),
    ],
)
def test_decline_returns_to_requires_payment_method(
    api: Api, number: str, kind: str, code: str
) -> None:
    done = api.cit(number)
    assert done["status"] == "REQUIRES_PAYMENT_METHOD"
    assert done["lastPaymentError"] == {"type": kind, "code": code}
    assert done["latestPayment"] is None


def test_declined_intent_can_be_confirmed_again_with_another_card(api: Api) -> None:
    intent = api.new_pi()
    api.add_card(intent["sessionSecret"], DECLINE)
    assert api.confirm_pi(intent).json()["status"] == "REQUIRES_PAYMENT_METHOD"
    api.add_card(intent["sessionSecret"], APPROVE)
    again = api.confirm_pi(intent).json()
    assert again["status"] == "REQUIRES_CAPTURE"
    assert again["lastPaymentError"] is None


def test_card_past_its_expiry_declines(api: Api) -> None:
    intent = api.new_pi()
    response = api.post(
        "/v1/payment-methods",
        {
            "type": "CARD",
            "card": {"number": APPROVE, "cvv": "123", "expiry": {"month": "01", "year": "2020"}},
        },
        None,
        **{
            "Toast-Session-Secret": intent["sessionSecret"],
            "Toast-Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 200
    done = api.confirm_pi(intent).json()
    assert done["lastPaymentError"] == {"type": "CARD_DECLINED", "code": "expired_card"}


@pytest.mark.parametrize(
    ("number", "final"),
    [
        (PROCESSING_OK, "REQUIRES_CAPTURE"),
        (PROCESSING_DECLINE, "REQUIRES_PAYMENT_METHOD"),
    ],
)
def test_processing_blocks_updates_then_resolves(api: Api, number: str, final: str) -> None:
    intent = api.new_pi()
    api.add_card(intent["sessionSecret"], number)
    assert api.confirm_pi(intent).json()["status"] == "PROCESSING"
    path = f"/v1/payment-intents/{intent['id']}"
    assert_error(api.post(path, {"email": "x@example.com"}), 409)
    assert_error(api.confirm_pi(intent), 409)
    api.advance(29)
    assert api.get(path).json()["status"] == "PROCESSING"
    api.advance(1)
    assert api.get(path).json()["status"] == final


def test_declines_first_n_then_approves(api: Api) -> None:
    statuses = [api.cit(DECLINE_FIRST_N)["status"] for _ in range(3)]
    assert statuses == ["REQUIRES_PAYMENT_METHOD", "REQUIRES_PAYMENT_METHOD", "REQUIRES_CAPTURE"]


def test_cit_with_standing_instruction_creates_a_mandate(api: Api) -> None:
    done = api.cit(APPROVE, standingInstructionType="UNSCHEDULED")
    assert done["status"] == "REQUIRES_CAPTURE"
    mandate = api.get(f"/v1/mandates/{done['mandateId']}").json()
    assert mandate["status"] == "ACTIVE"
    assert mandate["originalTransactionId"] == done["id"]
    assert mandate["standingInstructionType"] == "UNSCHEDULED"


def test_declined_cit_creates_no_mandate(api: Api) -> None:
    done = api.cit(DECLINE, standingInstructionType="RECURRING")
    assert done["mandateId"] is None
    assert api.items("/mandates") == []


def test_after_24_hours_update_and_confirm_are_404(api: Api) -> None:
    intent = api.new_pi()
    api.add_card(intent["sessionSecret"])
    api.advance(24 * 3600)
    api.login()  # the token lives 24 h too
    path = f"/v1/payment-intents/{intent['id']}"
    assert_error(api.post(path, {"email": "x@example.com"}), 404)
    assert_error(api.confirm_pi(intent), 404)
    assert api.get(path).status_code == 200  # ASSUMPTION A03: GET still answers


def test_before_24_hours_confirm_works(api: Api) -> None:
    intent = api.new_pi()
    api.add_card(intent["sessionSecret"])
    api.advance(24 * 3600 - 5)
    api.login()
    assert api.confirm_pi(intent).json()["status"] == "REQUIRES_CAPTURE"


def test_saved_card_confirm_needs_the_customer(api: Api) -> None:
    customer = api.customer()
    setup = api.setup_intent(usage="ON_SESSION", customerId=customer)
    method = api.add_card(setup["sessionSecret"], usage="ON_SESSION").json()
    api.post(
        f"/v1/setup-intents/{setup['id']}/confirm",
        {"sessionSecret": setup["sessionSecret"], "paymentMethodId": method["id"]},
        None,
    )
    intent = api.new_pi(customerId=customer)
    assert_error(api.confirm_pi(intent, paymentMethodId=method["id"]), 400)
    done = api.confirm_pi(intent, paymentMethodId=method["id"], customerId=customer).json()
    assert done["status"] == "REQUIRES_CAPTURE"
