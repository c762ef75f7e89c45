"""Fixtures: a sandbox on 127.0.0.1, its control API, and a ToastClient pointed at it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from billing.clock import SystemClock
from billing.sandbox import SandboxConfig, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.settings import ToastSettings
from billing.toast import InMemoryTokenCache, ToastClient
from billing.toast.transport import AiohttpTransport

LOC_A = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
LOC_B = "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
VISA = "4111111111111111"


class ShiftedClock(SystemClock):
    """Real monotonic time (limits, timeouts), but a wall clock the test can move forward
    together with the sandbox's clock (token expiry)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Override in a module to configure the sandbox."""
    return {}


@pytest.fixture
def sandbox(sandbox_options: dict[str, Any]) -> Iterator[Any]:
    config = SandboxConfig(locations=(LOC_A, LOC_B), **sandbox_options)
    with running_sandbox(config) as handle:
        yield handle


@pytest.fixture
async def control(sandbox: Any) -> AsyncIterator[SandboxControl]:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http:
        yield SandboxControl(http)


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def settings_for(sandbox: Any) -> Callable[..., ToastSettings]:
    def make(**overrides: Any) -> ToastSettings:
        values: dict[str, Any] = {
            "base_url": sandbox.base_url,
            "location_guid": LOC_A,
            "retry_base_delay_s": 0.02,
            "retry_max_delay_s": 0.2,
            "retry_deadline_s": 10.0,
            "read_timeout_s": 5.0,
            "confirm_timeout_s": 5.0,
            **overrides,
        }
        return ToastSettings(**values)

    return make


@pytest.fixture
async def make_client(
    settings_for: Callable[..., ToastSettings], clock: ShiftedClock
) -> AsyncIterator[Callable[..., ToastClient]]:
    """Build clients, each on its own AsyncClient over the production transport (unless
    ``http_kw`` names another); all are closed at teardown."""
    opened: list[httpx.AsyncClient] = []

    def make(
        *, settings: ToastSettings | None = None, http_kw: dict[str, Any] | None = None, **kw: Any
    ) -> ToastClient:
        options = {"transport": AiohttpTransport(), **(http_kw or {})}
        http = httpx.AsyncClient(**options)
        opened.append(http)
        kw.setdefault("token_cache", InMemoryTokenCache())
        kw.setdefault("rng", random.Random(1))
        return ToastClient(http=http, settings=settings or settings_for(), clock=clock, **kw)

    yield make
    for http in opened:
        await http.aclose()


@pytest.fixture
def toast(make_client: Callable[..., ToastClient]) -> ToastClient:
    return make_client()
