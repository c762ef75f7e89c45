"""The enrollment API in-process (ASGI) over a migrated SQLite store, against the sandbox on
loopback, with business time on a FakeClock that moves the sandbox clock too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from billing import wiring
from billing.clock import FakeClock
from billing.enroll import api, service
from billing.manage import plans
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings
from billing.store.db import Store
from tests.databases import migrated_database_url

LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
API_KEY = "test-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
APPROVE = "4111111111111111"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=(LOCATION,), start=START, token_ttl_s=86_400 * 400)
    with running_sandbox(config) as handle:
        yield handle


def settings_for(sandbox: SandboxHandle, database_url: str, **extra: Any) -> BillingSettings:
    return BillingSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        api_key=API_KEY,
        toast={"base_url": sandbox.base_url, "location_guid": LOCATION,
               "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05},
        **extra,
    )  # fmt: skip


@dataclass
class Harness:
    http: httpx.AsyncClient
    store: Store
    clock: FakeClock
    control: SandboxControl
    sandbox: SandboxHandle
    settings: BillingSettings

    def plan(self, **spec: Any) -> None:
        spec.setdefault("location_guid", LOCATION)
        with self.store.transaction() as session:
            plans.create(session, plans.PlanCreate(**spec), now=self.clock.now())

    async def enroll(self, key: str = "k-1", **body: Any) -> httpx.Response:
        body.setdefault("customer", {"email": "ann@example.com", "name": "Ann"})
        if "fee_purpose" not in body:
            body.setdefault("plan", "wine-club")
        return await self.http.post("/v1/enrollments", json=body,
                                    headers={**AUTH, "Idempotency-Key": key})  # fmt: skip

    async def checkout(self, secret: str, card: str = APPROVE, **extra: Any) -> httpx.Response:
        """What the customer does in the iframe (the sandbox's checkout stand-in)."""
        body = {
            "sessionSecret": secret,
            "authorize": True,
            "card": {"number": card, "cvv": "123", "expiry": {"month": "12", "year": "30"}},
            **extra,
        }
        async with httpx.AsyncClient(base_url=self.sandbox.base_url) as browser:
            return await browser.post("/__sandbox__/checkout/confirm", json=body)

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.control.set_clock(self.clock.now())

    def context(self, toast: Any) -> service.Context:
        return service.Context(self.store, toast, self.clock, LOCATION)


@pytest.fixture
async def harness(sandbox: SandboxHandle, tmp_path: Path) -> AsyncIterator[Harness]:
    url = migrated_database_url("sqlite", tmp_path)
    settings = settings_for(sandbox, url)
    store = Store.from_url(url)
    clock = FakeClock(START)
    app = api.create_app(settings, store, lambda: wiring.toast_client(settings, store), clock)
    control = SandboxControl.at(sandbox.base_url)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as http:
            h = Harness(http, store, clock, control, sandbox, settings)
            h.plan(code="wine-club", name="Wine club", kind="RECURRING", amount_cents=4500)
            yield h
    finally:
        await control.aclose()
        store.dispose()
