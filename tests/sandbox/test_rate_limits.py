"""§4 rate limits: per location, 20/s and 10,000/15 min (configurable), 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from billing.sandbox import SandboxConfig, running_sandbox
from tests.sandbox.helpers import LOC_A, LOC_B, Api, assert_error

pytestmark = pytest.mark.toast_verified
HEADERS = ("x-toast-ratelimit-by", "x-toast-ratelimit-remaining", "x-toast-ratelimit-reset")


def _api(config: SandboxConfig) -> Iterator[Api]:
    with running_sandbox(config) as sandbox, httpx.Client(base_url=sandbox.base_url) as client:
        yield Api(client).login()


@pytest.fixture
def limited() -> Iterator[Api]:
    yield from _api(SandboxConfig(locations=(LOC_A, LOC_B), rate_per_second=5))


def test_headers_on_every_response(api: Api) -> None:
    for response in (api.create_pi(), api.create_pi(amount=0), api.get("/v1/payment-intents/x")):
        assert all(h in response.headers for h in HEADERS)
        assert int(response.headers["x-toast-ratelimit-reset"]) > 1_600_000_000


def test_default_limits_are_toasts() -> None:
    config = SandboxConfig()
    assert (config.rate_per_second, config.rate_per_15min) == (20.0, 10_000)


def test_burst_over_the_per_second_limit_is_429_per_location(limited: Api) -> None:
    api = limited
    statuses = [api.get("/v1/payment-intents/x").status_code for _ in range(8)]
    assert statuses.count(404) == 5
    assert statuses[5:] == [429, 429, 429]
    refused = api.get("/v1/payment-intents/x")
    assert_error(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert api.get("/v1/payment-intents/x", location=LOC_B).status_code == 404


def test_per_second_limit_recovers(limited: Api) -> None:
    import time

    for _ in range(6):
        limited.get("/v1/payment-intents/x")
    time.sleep(0.45)
    assert limited.get("/v1/payment-intents/x").status_code == 404


def test_fifteen_minute_window() -> None:
    for api in _api(SandboxConfig(rate_per_15min=3)):
        assert [api.get("/v1/payment-intents/x").status_code for _ in range(3)] == [404] * 3
        refused = api.get("/v1/payment-intents/x")
        assert refused.status_code == 429
        assert 890 <= int(refused.headers["retry-after"]) <= 900
        assert refused.headers["x-toast-ratelimit-remaining"] == "0"


def test_requests_are_logged_per_location_with_times(api: Api) -> None:
    api.create_pi()
    api.create_pi(location=LOC_B)
    records = api.items(f"/requests?location={LOC_A}&path=/v1/payment-intents")
    assert len(records) == 1
    record = records[0]
    assert (record["method"], record["status"], record["location"]) == ("POST", 200, LOC_A)
    assert record["epoch"] > 1_600_000_000
    assert record["monotonic"] > 0
