"""§8.13-8.15, §9.3, §11 mandates and merchant-initiated transactions."""

from __future__ import annotations

import uuid

import pytest

from billing.sandbox import Assumptions, SandboxConfig, running_sandbox
from tests.sandbox.helpers import (
    DECLINE_FIRST_N,
    LOC_A,
    LOC_B,
    STOLEN,
    Api,
    assert_error,
)

pytestmark = pytest.mark.toast_verified


def test_get_and_list_mandates(api: Api) -> None:
    cof = api.card_on_file(sit="INSTALLMENT")
    mandate = api.get(f"/v1/mandates/{cof['mandateId']}", None).json()
    assert mandate["status"] == "ACTIVE"
    assert mandate["customerId"] is None
    assert mandate["externalReferenceId"] is None
    assert mandate["createdAt"].endswith("Z")
    listed = api.get(f"/v1/payment-methods/{cof['paymentMethodId']}/mandates", None).json()
    assert [m["id"] for m in listed] == [cof["mandateId"]]


def test_bad_ids_are_400_and_unknown_ids_404(api: Api) -> None:
    assert_error(api.get("/v1/mandates/not-a-uuid", None), 400)
    assert_error(api.get(f"/v1/mandates/{uuid.uuid4()}", None), 404)
    assert_error(api.delete(f"/v1/mandates/{uuid.uuid4()}", None), 404)
    assert_error(api.get("/v1/payment-methods/xyz/mandates", None), 400)
    assert_error(api.get(f"/v1/payment-methods/{uuid.uuid4()}/mandates", None), 404)


def test_mit_create_fills_the_mandate_details(api: Api) -> None:
    cof = api.card_on_file(sit="RECURRING")
    intent = api.new_pi(offSession=True, mandateId=cof["mandateId"])
    assert intent["offSession"] is True
    assert intent["mandateId"] == cof["mandateId"]
    assert intent["standingInstructionType"] == "RECURRING"
    assert intent["paymentMethodId"] is None
    done = api.confirm_pi(intent).json()
    assert done["status"] == "REQUIRES_CAPTURE"
    assert done["paymentMethodId"] == cof["paymentMethodId"]


def test_mit_confirm_with_the_mandates_payment_method(api: Api) -> None:
    cof = api.card_on_file()
    intent = api.new_pi(offSession=True, mandateId=cof["mandateId"])
    assert api.confirm_pi(intent, paymentMethodId=cof["paymentMethodId"]).status_code == 200
    other = api.card_on_file()
    intent = api.new_pi(offSession=True, mandateId=cof["mandateId"])
    assert_error(api.confirm_pi(intent, paymentMethodId=other["paymentMethodId"]), 409)


def test_revoke_is_204_and_final(api: Api) -> None:
    cof = api.card_on_file()
    response = api.delete(f"/v1/mandates/{cof['mandateId']}", None)
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/v1/mandates/{cof['mandateId']}", None).json()["status"] == "INACTIVE"
    assert api.delete(f"/v1/mandates/{cof['mandateId']}", None).status_code == 204
    assert api.get(f"/v1/mandates/{cof['mandateId']}", None).json()["status"] == "INACTIVE"


def test_mit_with_an_inactive_mandate_is_refused(api: Api) -> None:
    cof = api.card_on_file()
    api.delete(f"/v1/mandates/{cof['mandateId']}", None)
    assert_error(api.create_pi(offSession=True, mandateId=cof["mandateId"]), 409)


def test_mandate_revoked_between_create_and_confirm_is_refused(api: Api) -> None:
    cof = api.card_on_file()
    intent = api.new_pi(offSession=True, mandateId=cof["mandateId"])
    api.delete(f"/v1/mandates/{cof['mandateId']}", None)
    assert_error(api.confirm_pi(intent), 409)
    assert api.control("/stats")["authorizations"] == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"offSession": True},
        {"offSession": True, "mandateId": str(uuid.uuid4())},
        {"offSession": False, "mandateId": "MANDATE"},
        {"offSession": True, "mandateId": "MANDATE", "standingInstructionType": "INSTALLMENT"},
    ],
)
def test_mit_request_errors_are_400(api: Api, fields: dict[str, object]) -> None:
    cof = api.card_on_file(sit="RECURRING")
    fields = {k: cof["mandateId"] if v == "MANDATE" else v for k, v in fields.items()}
    assert_error(api.create_pi(**fields), 400)


def test_mandate_is_bound_to_its_location(api: Api) -> None:
    cof = api.card_on_file(location=LOC_A)
    assert_error(api.create_pi(LOC_B, offSession=True, mandateId=cof["mandateId"]), 409)


def test_mandate_location_binding_is_configurable() -> None:
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), assumptions=Assumptions(mandates_per_location=False)
    )
    import httpx

    with running_sandbox(config) as sandbox, httpx.Client(base_url=sandbox.base_url) as client:
        api = Api(client).login()
        cof = api.card_on_file(location=LOC_A)
        assert api.mit(cof["mandateId"], LOC_B)["status"] == "REQUIRES_CAPTURE"


def test_declined_mit_reports_the_reason_and_fraud_is_final(api: Api) -> None:
    soft = api.card_on_file(DECLINE_FIRST_N)
    first = api.mit(soft["mandateId"])
    assert first["status"] == "REQUIRES_PAYMENT_METHOD"
    assert first["lastPaymentError"] == {"type": "CARD_DECLINED", "code": "insufficient_funds"}
    api.mit(soft["mandateId"])
    assert api.mit(soft["mandateId"])["status"] == "REQUIRES_CAPTURE"
    intent = api.new_pi()
    api.add_card(intent["sessionSecret"], STOLEN)
    hard = api.confirm_pi(intent).json()
    assert hard["lastPaymentError"]["type"] == "FRAUDULENT"


def test_expiring_card_declines_once_the_clock_passes_its_expiry(api: Api) -> None:
    cof = api.card_on_file("4000000000000416")
    assert api.mit(cof["mandateId"])["status"] == "REQUIRES_CAPTURE"
    api.advance(62 * 86_400)
    api.login()
    late = api.mit(cof["mandateId"])
    assert late["lastPaymentError"] == {"type": "CARD_DECLINED", "code": "expired_card"}
