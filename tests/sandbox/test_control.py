"""The /__sandbox__/ control API: clock, reset, listings, card-on-file helper, test mode."""

from __future__ import annotations

from datetime import datetime

import httpx

from billing.sandbox import SandboxConfig, running_sandbox
from tests.sandbox.helpers import DECLINE, LOC_A, Api, assert_error


def test_clock_read_set_advance(api: Api) -> None:
    before = datetime.fromisoformat(api.control("/clock")["now"])
    moved = api.control("/clock", {"advanceSeconds": 3600})
    assert (datetime.fromisoformat(moved["now"]) - before).total_seconds() >= 3600
    target = "2031-01-01T00:00:00+00:00"
    set_to = datetime.fromisoformat(api.control("/clock", {"set": target})["now"])
    assert 0 <= (set_to - datetime.fromisoformat(target)).total_seconds() < 5
    backwards = api.client.post("/__sandbox__/clock", json={"set": "2020-01-01T00:00:00Z"})
    assert_error(backwards, 400)
    assert_error(api.client.post("/__sandbox__/clock", json={}), 400)


def test_reset_clears_state_clock_and_tokens(api: Api) -> None:
    api.card_on_file()
    api.advance(5000)
    api.control("/reset")
    assert api.items("/mandates") == []
    assert api.items("/requests") == []
    assert abs(api.control("/clock")["offsetSeconds"]) < 1
    assert_error(api.get("/v1/payment-intents/x"), 401)


def test_card_on_file_helper_runs_the_real_flow(api: Api) -> None:
    cof = api.card_on_file()
    assert cof["status"] == "SUCCEEDED"
    (intent,) = api.items("/setup-intents")
    assert intent["id"] == cof["setupIntentId"]
    assert intent["paymentMethodId"] == cof["paymentMethodId"]
    assert intent["mandateId"] == cof["mandateId"]
    declined = api.card_on_file(DECLINE)
    assert (declined["status"], declined["mandateId"]) == ("REQUIRES_PAYMENT_METHOD", None)
    assert declined["lastSetupError"]["code"] == "generic_decline"


def test_listings_and_stats_count_real_authorizations(api: Api) -> None:
    cof = api.card_on_file()
    for _ in range(3):
        api.mit(cof["mandateId"])
    stats = api.control("/stats")
    assert stats["authorizations"] == 3
    assert stats["captures"] == 0
    intents = api.items("/payment-intents")
    assert [i["authorizationAttempts"] for i in intents] == [1, 1, 1]
    assert {i["location"] for i in intents} == {LOC_A}
    assert len(api.items("/customers")) == 0
    assert len(api.items("/order-payments")) == 3


def test_assumptions_are_served(api: Api) -> None:
    items = api.items("/assumptions")
    assert len(items) >= 20
    assert all(item["choice"] for item in items)


def test_control_api_is_404_outside_test_mode() -> None:
    config = SandboxConfig(test_mode=False)
    with running_sandbox(config) as sandbox, httpx.Client(base_url=sandbox.base_url) as client:
        assert_error(client.get("/__sandbox__/clock"), 404)
        assert_error(client.post("/__sandbox__/reset", json={}), 404)
        assert Api(client).login().token
