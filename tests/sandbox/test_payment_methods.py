"""§8.11-8.12 payment methods: headers, Luhn, idempotency, scoping, detach; no PAN kept."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.sandbox.helpers import APPROVE, EXPIRES_NEXT_MONTH, Api, assert_error, card

pytestmark = pytest.mark.toast_verified


def test_create_returns_card_details_without_the_number(api: Api) -> None:
    intent = api.new_pi()
    response = api.add_card(intent["sessionSecret"], "5555555555554444")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "CARD"
    assert body["usage"] is None
    assert body["card"]["firstSix"] == "555555"
    assert body["card"]["lastFour"] == "4444"
    assert body["card"]["brand"] == "MASTERCARD"
    assert uuid.UUID(body["card"]["fingerprint"])
    assert "5555555555554444" not in response.text


def test_session_secret_and_idempotency_key_are_required(api: Api) -> None:
    intent = api.new_pi()
    no_secret = api.post(
        "/v1/payment-methods", card(), None, **{"Toast-Idempotency-Key": str(uuid.uuid4())}
    )
    assert_error(no_secret, 400)
    no_key = api.post(
        "/v1/payment-methods", card(), None, **{"Toast-Session-Secret": intent["sessionSecret"]}
    )
    assert_error(no_key, 400)
    assert_error(api.add_card(intent["sessionSecret"], key="not-a-uuid"), 400)


def test_unknown_session_secret_is_409_not_scoped(api: Api) -> None:
    assert_error(api.add_card("PI_nothing_SECRET_abc"), 409)


@pytest.mark.parametrize("number", ["4111111111111112", "1234", "41111111111111a1"])
def test_luhn_check(api: Api, number: str) -> None:
    intent = api.new_pi()
    assert assert_error(api.add_card(intent["sessionSecret"], number), 400)["fieldName"] == (
        "card.number"
    )


def test_bad_cvv_and_expiry_are_400(api: Api) -> None:
    intent = api.new_pi()
    headers = {"Toast-Session-Secret": intent["sessionSecret"]}
    body = card()
    body["card"]["cvv"] = "12"
    assert_error(
        api.post(
            "/v1/payment-methods",
            body,
            None,
            **headers,
            **{"Toast-Idempotency-Key": str(uuid.uuid4())},
        ),
        400,
    )
    body = card()
    body["card"]["expiry"] = {"month": "13", "year": "2030"}
    assert_error(
        api.post(
            "/v1/payment-methods",
            body,
            None,
            **headers,
            **{"Toast-Idempotency-Key": str(uuid.uuid4())},
        ),
        400,
    )


def test_idempotent_replay_returns_the_same_method(api: Api) -> None:
    intent = api.new_pi()
    key = str(uuid.uuid4())
    first = api.add_card(intent["sessionSecret"], key=key).json()
    again = api.add_card(intent["sessionSecret"], key=key).json()
    assert first == again
    assert len(api.items("/payment-methods")) == 1
    assert_error(api.add_card(intent["sessionSecret"], "5555555555554444", key=key), 409)


def test_saving_a_card_needs_an_intent_with_a_customer(api: Api) -> None:
    intent = api.new_pi()
    assert_error(api.add_card(intent["sessionSecret"], usage="ON_SESSION"), 400)
    customer = api.customer()
    with_customer = api.new_pi(customerId=customer)
    saved = api.add_card(with_customer["sessionSecret"], usage="ON_AND_OFF_SESSION")
    assert saved.json()["usage"] == "ON_AND_OFF_SESSION"


def test_expires_next_month_card(api: Api) -> None:
    now = api.control("/clock")["now"]
    year, month = int(now[:4]), int(now[5:7])
    month, year = (1, year + 1) if month == 12 else (month + 1, year)
    intent = api.new_pi()
    body = api.add_card(intent["sessionSecret"], EXPIRES_NEXT_MONTH).json()
    assert body["card"]["expiry"] == {"month": f"{month:02d}", "year": f"{year % 100:02d}"}


def test_detach_without_mandate_deletes_for_good(api: Api) -> None:
    intent = api.new_pi()
    method = api.add_card(intent["sessionSecret"]).json()
    detached = api.post(f"/v1/payment-methods/{method['id']}/detach", {})
    assert detached.status_code == 200
    assert detached.json()["id"] == method["id"]
    assert_error(api.post(f"/v1/payment-methods/{method['id']}/detach", {}), 404)
    assert_error(api.get(f"/v1/payment-methods/{method['id']}/mandates"), 404)
    assert_error(api.confirm_pi(intent, paymentMethodId=method["id"]), 409)


def test_detach_with_an_active_mandate_keeps_it_for_mit(api: Api) -> None:
    cof = api.card_on_file()
    response = api.post(f"/v1/payment-methods/{cof['paymentMethodId']}/detach", {})
    assert response.status_code == 200
    methods = {m["id"]: m for m in api.items("/payment-methods")}
    assert methods[cof["paymentMethodId"]]["usage"] == "OFF_SESSION"
    assert api.mit(cof["mandateId"])["status"] == "REQUIRES_CAPTURE"


def test_detach_needs_the_location_header(api: Api) -> None:
    cof = api.card_on_file()
    assert_error(
        api.post(f"/v1/payment-methods/{cof['paymentMethodId']}/detach", {}, location=None), 400
    )


def test_no_card_number_or_cvv_anywhere_in_the_state(api: Api) -> None:
    api.cit(APPROVE)
    api.card_on_file("4000000000000077")
    dump = json.dumps(
        [
            api.control(p)
            for p in (
                "/payment-methods",
                "/payment-intents",
                "/setup-intents",
                "/order-payments",
                "/requests",
                "/mandates",
            )
        ]
    )
    assert APPROVE not in dump
    assert "4000000000000077" not in dump
    assert '"cvv"' not in dump
