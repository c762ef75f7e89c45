"""Fault injection: 5xx before processing, lost responses after it, 429s, latency, stalls."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.helpers import PROCESSING_OK, Api, assert_error

CONFIRM = "/v1/payment-intents/[^/]+/confirm$"


def test_5xx_fault_is_not_processed(api: Api) -> None:
    api.faults(
        rules=[
            {"method": "POST", "path": "^/v1/payment-intents$", "errorRate": 1, "errorStatus": 503}
        ]
    )
    body = assert_error(api.create_pi(), 503)
    assert body["canRetry"] is True
    assert api.items("/payment-intents") == []
    assert api.items("/requests")[-1]["fault"] == "error"


def test_lost_confirm_response_changes_state_exactly_like_an_answered_one(api: Api) -> None:
    cof = api.card_on_file()
    answered = api.mit(cof["mandateId"])
    api.faults(rules=[{"path": CONFIRM, "lostResponseRate": 1, "maxHits": 1}])
    intent = api.new_pi(offSession=True, mandateId=cof["mandateId"])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.confirm_pi(intent)
    lost = api.get(f"/v1/payment-intents/{intent['id']}").json()
    comparable = ("status", "paymentMethodId", "latestPayment", "mandateId", "lastPaymentError")
    assert {k: lost[k] for k in comparable} == {k: answered[k] for k in comparable}
    ledger = {e["paymentIntentId"]: e["status"] for e in api.items("/order-payments")}
    assert ledger == {answered["id"]: "AUTHORIZED", intent["id"]: "AUTHORIZED"}
    assert api.control("/stats")["authorizations"] == 2
    assert api.confirm_pi(intent).status_code == 409  # a blind retry cannot double-charge


def test_lost_create_response_still_creates_the_intent(api: Api) -> None:
    api.faults(
        rules=[
            {"method": "POST", "path": "^/v1/payment-intents$", "lostResponseRate": 1, "maxHits": 1}
        ]
    )
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.create_pi()
    assert len(api.items("/payment-intents")) == 1
    assert api.create_pi().status_code == 200  # maxHits: only one response lost


def test_lost_empty_response_on_revoke(api: Api) -> None:
    cof = api.card_on_file()
    api.faults(rules=[{"method": "DELETE", "lostResponseRate": 1}])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.delete(f"/v1/mandates/{cof['mandateId']}", None)
    assert api.items("/mandates")[0]["status"] == "INACTIVE"


def test_throttle_fault_and_storm_are_429_with_retry_after(api: Api) -> None:
    api.faults(rules=[{"throttleRate": 1, "method": "GET"}])
    assert_error(api.get("/v1/payment-intents/x"), 429)
    assert api.create_pi().status_code == 200
    api.faults(rateLimitStormSeconds=5)
    refused = api.create_pi()
    assert_error(refused, 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 5
    assert api.items("/payment-intents") != []
    api.faults()
    assert api.create_pi().status_code == 200


def test_latency_fault(api: Api) -> None:
    api.faults(
        rules=[
            {"path": "^/v1/payment-intents$", "latencyMs": {"distribution": "fixed", "value": 120}}
        ]
    )
    started = time.monotonic()
    api.create_pi()
    assert time.monotonic() - started >= 0.12
    assert api.items("/requests")[-1]["fault"] == "latency"


def test_seeded_faults_are_deterministic(api: Api) -> None:
    def run() -> list[int]:
        api.faults(seed=42, rules=[{"path": "^/v1/payment-intents/", "errorRate": 0.5}])
        return [api.get("/v1/payment-intents/x").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert {404, 503} == set(first)


def test_processing_stall_holds_confirms_in_processing(api: Api) -> None:
    cof = api.card_on_file()
    api.faults(processingStallSeconds=120)
    stalled = api.mit(cof["mandateId"])
    assert stalled["status"] == "PROCESSING"
    api.advance(119)
    assert api.get(f"/v1/payment-intents/{stalled['id']}").json()["status"] == "PROCESSING"
    api.advance(1)
    assert api.get(f"/v1/payment-intents/{stalled['id']}").json()["status"] == ("REQUIRES_CAPTURE")


def test_processing_card_resolution_starts_the_void_clock(api: Api) -> None:
    # The PROCESSING cards stall payments only: saving the card answers at once.
    cof = api.card_on_file(PROCESSING_OK)
    assert cof["status"] == "SUCCEEDED"
    assert cof["mandateId"] is not None
    intent = api.mit(cof["mandateId"])
    assert intent["status"] == "PROCESSING"
    api.advance(30 + 299)
    assert api.get(f"/v1/payment-intents/{intent['id']}").json()["status"] == "REQUIRES_CAPTURE"
    api.advance(1)
    assert api.get(f"/v1/payment-intents/{intent['id']}").json()["status"] == "CANCELLED"


def test_invalid_fault_settings_are_400(api: Api) -> None:
    response = api.client.post("/__sandbox__/faults", json={"rules": [{"errorRate": 2}]})
    assert_error(response, 400)
    response = api.client.post("/__sandbox__/faults", json={"bogus": 1})
    assert_error(response, 400)
