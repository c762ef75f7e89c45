"""Workers share one Toast token through the store, so N workers log in once, not N times."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from billing.clock import SystemClock
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.settings import ToastSettings
from billing.store.db import Store
from billing.store.token_cache import StoreTokenCache
from billing.toast import ToastClient

pytestmark = pytest.mark.anyio
LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(SandboxConfig(locations=(LOCATION,))) as handle:
        yield handle


async def test_three_workers_on_one_store_log_in_once(sandbox: SandboxHandle, store: Store) -> None:
    settings = ToastSettings(base_url=sandbox.base_url, location_guid=LOCATION)
    clients = [
        ToastClient.from_settings(settings, clock=SystemClock(), token_cache=StoreTokenCache(store))
        for _ in range(3)
    ]
    try:
        for client in clients:  # one after the other, as workers starting up would
            await client.customers.create(
                location=LOCATION, external_reference_id="c1", description="Ann"
            )
    finally:
        for client in clients:
            await client.aclose()
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        log = (await http.get("/__sandbox__/requests", params={"path": "login"})).json()
    assert len(log["items"]) == 1  # one login request for three workers
    assert "token" not in repr(StoreTokenCache(store)).lower().replace("tokencache", "")
