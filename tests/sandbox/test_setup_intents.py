"""§8.7-8.10, §9.2 setup intents: 201, SI_ secret, 30-minute expiry, OFF_SESSION mandate."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import APPROVE, DECLINE, INSUFFICIENT, Api, assert_error

pytestmark = pytest.mark.toast_verified


def _confirm(api: Api, intent: dict[str, Any], **body: Any) -> httpx.Response:
    return api.post(
        f"/v1/setup-intents/{intent['id']}/confirm",
        {"sessionSecret": intent["sessionSecret"], **body},
        None,
    )


def test_create_is_201_with_initial_state(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    assert intent["status"] == "REQUIRES_PAYMENT_METHOD"
    assert intent["paymentMethodId"] is None
    assert intent["mandateId"] is None
    assert intent["sessionSecret"].startswith(f"SI_{intent['id']}_SECRET_")
    assert intent["usage"] == "OFF_SESSION"
    assert intent["creationDate"].endswith("Z")


def test_on_session_needs_a_customer_and_off_session_an_instruction(api: Api) -> None:
    assert_error(api.post("/v1/setup-intents", {"usage": "ON_SESSION"}, None), 400)
    assert_error(api.post("/v1/setup-intents", {"usage": "OFF_SESSION"}, None), 400)
    unknown = {"usage": "ON_SESSION", "customerId": str(uuid.uuid4())}
    assert_error(api.post("/v1/setup-intents", unknown, None), 400)
    assert_error(api.post("/v1/setup-intents", {"usage": "SOMETIMES"}, None), 400)


def test_off_session_confirm_succeeds_with_an_active_mandate(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="INSTALLMENT")
    method = api.add_card(intent["sessionSecret"], APPROVE, usage="OFF_SESSION").json()
    done = _confirm(api, intent, paymentMethodId=method["id"]).json()
    assert done["status"] == "SUCCEEDED"
    assert done["paymentMethodId"] == method["id"]
    assert done["standingInstructionType"] == "INSTALLMENT"
    mandate = api.get(f"/v1/mandates/{done['mandateId']}", None).json()
    assert mandate["status"] == "ACTIVE"
    assert mandate["paymentMethodId"] == method["id"]
    assert mandate["originalTransactionId"] == intent["id"]
    assert mandate["standingInstructionType"] == "INSTALLMENT"


def test_get_and_update(api: Api) -> None:
    customer = api.customer()
    intent = api.setup_intent(usage="ON_SESSION", customerId=customer)
    assert api.get(f"/v1/setup-intents/{intent['id']}", None).json()["id"] == intent["id"]
    body = {
        "usage": "OFF_SESSION",
        "standingInstructionType": "UNSCHEDULED",
        "sessionSecret": intent["sessionSecret"],
    }
    updated = api.post(f"/v1/setup-intents/{intent['id']}", body, None)
    assert updated.status_code == 200
    assert updated.json()["usage"] == "OFF_SESSION"


def test_confirm_requires_the_session_secret(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    api.add_card(intent["sessionSecret"])
    assert_error(api.post(f"/v1/setup-intents/{intent['id']}/confirm", {}, None), 400)
    wrong = {"sessionSecret": "SI_x_SECRET_y"}
    assert_error(api.post(f"/v1/setup-intents/{intent['id']}/confirm", wrong, None), 400)


def test_confirm_without_a_scoped_payment_method_is_409(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    assert_error(_confirm(api, intent), 409)
    other = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    foreign = api.add_card(other["sessionSecret"]).json()
    assert_error(_confirm(api, intent, paymentMethodId=foreign["id"]), 409)


@pytest.mark.parametrize("path", ["", "/confirm"])
def test_expired_after_30_minutes_is_404(api: Api, path: str) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    api.add_card(intent["sessionSecret"])
    api.advance(30 * 60)
    assert_error(api.get(f"/v1/setup-intents/{intent['id']}", None), 404)
    body = {"sessionSecret": intent["sessionSecret"]}
    assert_error(api.post(f"/v1/setup-intents/{intent['id']}{path}", body, None), 404)


def test_within_30_minutes_confirm_works(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    api.add_card(intent["sessionSecret"])
    api.advance(29 * 60)
    assert _confirm(api, intent).json()["status"] == "SUCCEEDED"


def test_declined_verification_returns_to_requires_payment_method(api: Api) -> None:
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    api.add_card(intent["sessionSecret"], DECLINE)
    done = _confirm(api, intent).json()
    assert done["status"] == "REQUIRES_PAYMENT_METHOD"
    assert done["mandateId"] is None
    assert done["lastSetupError"] == {"type": "CARD_DECLINED", "code": "generic_decline"}
    api.add_card(intent["sessionSecret"], APPROVE)
    assert _confirm(api, intent).json()["status"] == "SUCCEEDED"


def test_zero_dollar_verification_passes_an_insufficient_funds_card(api: Api) -> None:
    assert api.card_on_file(INSUFFICIENT)["status"] == "SUCCEEDED"


def test_processing_then_succeeded_and_no_updates_meanwhile(api: Api) -> None:
    # A processor outage stalls setup verifications (the PROCESSING cards stall payments only).
    api.faults(processingStallSeconds=30)
    intent = api.setup_intent(usage="OFF_SESSION", standingInstructionType="RECURRING")
    api.add_card(intent["sessionSecret"], APPROVE)
    assert _confirm(api, intent).json()["status"] == "PROCESSING"
    update = api.post(f"/v1/setup-intents/{intent['id']}", {"usage": "OFF_SESSION"}, None)
    assert_error(update, 409)
    api.advance(30)
    done = api.get(f"/v1/setup-intents/{intent['id']}", None).json()
    assert done["status"] == "SUCCEEDED"
    assert done["mandateId"] is not None


def test_succeeded_setup_intent_cannot_be_updated(api: Api) -> None:
    done = api.card_on_file()
    body = {"usage": "OFF_SESSION"}
    assert_error(api.post(f"/v1/setup-intents/{done['setupIntentId']}", body, None), 409)
