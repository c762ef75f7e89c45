"""§8.17, §10 orders subset: apply within 5 minutes or void; capture at once or at cutoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from billing.sandbox import SandboxConfig, running_sandbox
from tests.sandbox.helpers import LOC_A, LOC_B, Api, assert_error

pytestmark = pytest.mark.toast_verified


def _ledger(api: Api) -> dict[str, dict[str, object]]:
    return {e["paymentIntentId"]: e for e in api.items("/order-payments")}


def test_applied_payment_is_captured_and_readable(api: Api) -> None:
    done = api.cit(amount=1500)
    order = api.pay_check(done)
    assert order.status_code == 200, order.text
    payment = order.json()["checks"][0]["payments"][0]
    assert payment["guid"] == done["externalReferenceId"]
    assert (payment["type"], payment["amount"], payment["tipAmount"]) == ("CREDIT", 15.0, 0.0)
    read = api.get(f"/orders/v2/payments/{done['externalReferenceId']}").json()
    assert read["paymentStatus"] == "CAPTURED"
    assert api.get(f"/v1/payment-intents/{done['id']}").json()["status"] == "SUCCEEDED"
    entry = _ledger(api)[done["id"]]
    assert (entry["status"], entry["amount"]) == ("CAPTURED", 1500)


def test_tip_is_split_out_of_the_check_amount(api: Api) -> None:
    intent = api.new_pi(amount=1000)
    api.post(f"/v1/payment-intents/{intent['id']}", {"amount": 1200, "amountDetails": {"tip": 200}})
    api.add_card(intent["sessionSecret"])
    done = api.confirm_pi(intent).json()
    bad = {"guid": done["externalReferenceId"], "type": "CREDIT", "amount": 12.0, "tipAmount": 0.0}
    assert_error(api.post("/orders/v2/orders", {"checks": [{"payments": [bad]}]}), 400)
    order = api.pay_check(done).json()
    assert order["checks"][0]["payments"][0]["tipAmount"] == 2.0


def test_not_applied_within_five_minutes_is_voided(api: Api) -> None:
    done = api.cit()
    api.advance(299)
    assert api.get(f"/v1/payment-intents/{done['id']}").json()["status"] == "REQUIRES_CAPTURE"
    api.advance(1)
    assert api.get(f"/v1/payment-intents/{done['id']}").json()["status"] == "CANCELLED"
    assert _ledger(api)[done["id"]]["status"] == "VOIDED"
    assert_error(api.pay_check(done), 400)
    assert api.control("/stats")["voids"] == 1


def test_applied_in_time_is_not_voided(api: Api) -> None:
    done = api.cit()
    api.advance(290)
    assert api.pay_check(done).status_code == 200
    api.advance(600)
    assert _ledger(api)[done["id"]]["status"] == "CAPTURED"


def test_unknown_wrong_location_or_double_application_is_400(api: Api) -> None:
    done = api.cit()
    assert_error(api.pay_check(done, location=LOC_B), 400)
    assert api.pay_check(done).status_code == 200
    assert_error(api.pay_check(done), 400)
    assert_error(api.post("/orders/v2/orders", {"checks": []}), 400)
    assert_error(api.get("/orders/v2/payments/9b0c7f0e-0000-4000-8000-000000000000"), 404)


def test_unapplied_authorization_is_not_an_orders_payment(api: Api) -> None:
    done = api.cit()
    assert_error(api.get(f"/orders/v2/payments/{done['externalReferenceId']}"), 404)


def test_add_payments_to_an_existing_check(api: Api) -> None:
    other = {"type": "OTHER", "amount": 1.0, "tipAmount": 0}
    order = api.post("/orders/v2/orders", {"checks": [{"payments": [other]}]}).json()
    check = order["checks"][0]["guid"]
    done = api.cit()
    tip = done["amountDetails"]["tip"]
    payment = {
        "guid": done["externalReferenceId"],
        "type": "CREDIT",
        "amount": (done["amount"] - tip) / 100,
        "tipAmount": tip / 100,
    }
    response = api.client.post(
        f"/orders/v2/orders/{order['guid']}/checks/{check}/payments",
        json=[payment],
        headers=api.headers(),
    )
    assert response.status_code == 200
    assert len(response.json()["checks"][0]["payments"]) == 2
    assert _ledger(api)[done["id"]]["status"] == "CAPTURED"


@pytest.fixture
def cutoff_api() -> Iterator[Api]:
    start = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York
    config = SandboxConfig(locations=(LOC_A,), capture="cutoff", start=start)
    with running_sandbox(config) as sandbox, httpx.Client(base_url=sandbox.base_url) as client:
        yield Api(client).login()


def test_cutoff_capture_waits_for_the_business_day_end(cutoff_api: Api) -> None:
    api = cutoff_api
    done = api.cit()
    api.pay_check(done).raise_for_status()
    assert (
        api.get(f"/orders/v2/payments/{done['externalReferenceId']}").json()["paymentStatus"]
        == "AUTHORIZED"
    )
    api.control("/clock", {"set": "2026-03-11T07:59:00Z"})  # 03:59 EDT
    assert _ledger(api)[done["id"]]["status"] == "AUTHORIZED"
    api.advance(60)  # 04:00 local: cutoff
    entry = _ledger(api)[done["id"]]
    assert entry["status"] == "CAPTURED"
    assert entry["capturedAt"] == "2026-03-11T08:00:00.000000Z"
    api.login()
    assert api.get(f"/v1/payment-intents/{done['id']}").json()["status"] == "SUCCEEDED"
