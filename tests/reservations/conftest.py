"""The reservations API in-process (ASGI) over a real store (SQLite file or PostgreSQL), the
engine of ``tests.engine.world`` on the same FakeClock, and the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from billing import wiring
from billing.enroll import api
from billing.reservations import policies
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.settings import BillingSettings
from billing.store.tables import FeePolicy
from tests.databases import migrated_database_url
from tests.engine.conftest import LOC_A, LOC_B, START, TEN_YEARS_S
from tests.engine.world import World, engine_settings, world

API_KEY = "test-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
APPROVE = "4111111111111111"
# A Friday 19:00 in New York, a week after START (2027-01-01).
SLOT = datetime.fromisoformat("2027-01-08T19:00:00-05:00")


@dataclass
class Harness:
    w: World
    http: httpx.AsyncClient
    sandbox: SandboxHandle

    def policy(self, code: str = "dinner", **over: Any) -> FeePolicy:
        values: dict[str, Any] = {
            "code": code, "name": "Dinner no-show fee", "per": "person", "amount_cents": 2500,
            "cap_cents": 10_000, "free_cancel_hours": 24,
            "consent_text": "A $25 per guest fee (at most $100) applies to no-shows and to "
            "cancellations less than 24 hours before your reservation.",
            "location_guid": LOC_A, "timezone": "America/New_York",
        }  # fmt: skip
        values.update(over)
        with self.w.store.transaction() as session:
            return policies.create(session, policies.PolicySpec(**values), now=self.w.clock.now())

    async def book(self, ref: str, *, party: int = 2, slot: datetime = SLOT,
                   key: str | None = None, card: str | None = APPROVE,
                   **extra: Any) -> dict[str, Any]:  # fmt: skip
        guest = {"email": f"{ref.lower()}@example.com", "name": ref}
        body = {"reference": ref, "slot": slot.isoformat(), "party_size": party,
                "customer": guest, **extra}  # fmt: skip
        headers = {**AUTH, "Idempotency-Key": key or ref}
        response = await self.http.post("/v1/reservations", json=body, headers=headers)
        assert response.status_code == 201, response.text
        booked: dict[str, Any] = response.json()
        if card is not None:
            await self.checkout(booked, card)
        return booked

    async def checkout(self, booked: dict[str, Any], card: str = APPROVE) -> None:
        """What the guest does in the iframe, then the website's completion call."""
        secret = booked["enrollment"]["session_secret"]
        body = {"sessionSecret": secret, "authorize": True, "card": {
            "number": card, "cvv": "123", "expiry": {"month": "12", "year": "30"}}}
        async with httpx.AsyncClient(base_url=self.sandbox.base_url) as browser:
            confirmed = await browser.post("/__sandbox__/checkout/confirm", json=body)
            assert confirmed.status_code == 200, confirmed.text
        enrollment = booked["enrollment"]["id"]
        done = await self.http.post(f"/v1/enrollments/{enrollment}/complete", headers=AUTH)
        assert done.json()["status"] == "completed", done.text

    async def status(self, ref: str, status: str, report_id: str | None = None,
                     **extra: Any) -> httpx.Response:  # fmt: skip
        body = {"report_id": report_id or f"{ref}-{status}", "status": status, **extra}
        return await self.http.post(f"/v1/reservations/{ref}/status", json=body, headers=AUTH)

    async def fee(self, ref: str, key: str = "adj-1", **body: Any) -> httpx.Response:
        return await self.http.post(f"/v1/reservations/{ref}/fee", json=body,
                                    headers={**AUTH, "Idempotency-Key": key})  # fmt: skip

    async def get(self, ref: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/reservations/{ref}", headers=AUTH)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def advance_to(self, when: datetime, step: timedelta = timedelta(minutes=10)) -> None:
        await self.w.run_until(when, step=step)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), start=START, token_ttl_s=TEN_YEARS_S,
        rate_per_second=10_000, rate_per_15min=10_000_000,
    )  # fmt: skip
    with running_sandbox(config) as handle:
        yield handle


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return migrated_database_url("sqlite", tmp_path)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> str:
    return migrated_database_url(backend, tmp_path)


@pytest.fixture
async def harness(sandbox: SandboxHandle, db_url: str) -> AsyncIterator[Harness]:
    async with _harness(sandbox, db_url) as h:
        yield h


@pytest.fixture
async def sqlite_harness(sandbox: SandboxHandle, sqlite_url: str) -> AsyncIterator[Harness]:
    async with _harness(sandbox, sqlite_url) as h:
        yield h


def _settings(sandbox: SandboxHandle, url: str) -> BillingSettings:
    return engine_settings(sandbox, url).model_copy(update={"api_key": SecretStr(API_KEY)})


@asynccontextmanager
async def _harness(sandbox: SandboxHandle, url: str) -> AsyncIterator[Harness]:
    settings = _settings(sandbox, url)
    async with world(sandbox, url, START) as w:
        app = api.create_app(settings, w.store,
                             lambda: wiring.toast_client(settings, w.store, business=w.clock),
                             w.clock)  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as http:
            yield Harness(w, http, sandbox)
