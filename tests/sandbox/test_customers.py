"""§8.1-8.2 customers: create, list saved payment methods; location header rules."""

from __future__ import annotations

import uuid

import pytest

from tests.sandbox.helpers import APPROVE, UNKNOWN_LOC, Api, assert_error

pytestmark = pytest.mark.toast_verified


def test_create_customer_returns_id_and_echoes_fields(api: Api) -> None:
    response = api.post(
        "/v1/customers", {"externalReferenceId": "m-42", "description": "pat@example.com"}
    )
    assert response.status_code == 200
    body = response.json()
    assert uuid.UUID(body["id"])
    assert body["externalReferenceId"] == "m-42"
    assert body["description"] == "pat@example.com"


@pytest.mark.parametrize("missing", ["externalReferenceId", "description"])
def test_create_customer_requires_fields(api: Api, missing: str) -> None:
    body = {"externalReferenceId": "m-1", "description": "d"}
    del body[missing]
    assert assert_error(api.post("/v1/customers", body), 400)["fieldName"] == missing


def test_location_header_is_required_and_must_be_known(api: Api) -> None:
    body = {"externalReferenceId": "m-1", "description": "d"}
    assert_error(api.post("/v1/customers", body, location=None), 400)
    assert_error(api.post("/v1/customers", body, location="not-a-guid"), 400)
    assert_error(api.post("/v1/customers", body, location=UNKNOWN_LOC), 403)


def test_list_payment_methods_of_unknown_customer_is_404(api: Api) -> None:
    assert_error(api.get(f"/v1/customers/{uuid.uuid4()}/payment-methods"), 404)


def test_saved_card_is_listed_after_an_on_session_setup(api: Api) -> None:
    customer = api.customer()
    empty = api.get(f"/v1/customers/{customer}/payment-methods").json()
    assert empty == {"results": 0, "paymentMethods": []}
    intent = api.setup_intent(customerId=customer, usage="ON_SESSION")
    method = api.add_card(intent["sessionSecret"], APPROVE, usage="ON_SESSION").json()
    api.post(
        f"/v1/setup-intents/{intent['id']}/confirm",
        {"sessionSecret": intent["sessionSecret"], "paymentMethodId": method["id"]},
        None,
    )
    listed = api.get(f"/v1/customers/{customer}/payment-methods").json()
    assert listed["results"] == 1
    item = listed["paymentMethods"][0]
    assert item["id"] == method["id"]
    assert (item["cardType"], item["lastFour"]) == ("VISA", "1111")
