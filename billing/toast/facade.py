"""``ToastClient``: one object holding the requester and every resource.

    async with ToastClient.from_settings(settings.toast, clock=SystemClock()) as toast:
        intent = await toast.payment_intents.create(location=..., amount=1000, ...)

or, with an injected ``httpx.AsyncClient`` (tests, benchmarks), ``ToastClient(http=..., ...)``;
the caller then owns and closes that client.
"""

from __future__ import annotations

import asyncio
import random
from types import TracebackType

import httpx

from billing.clock import Clock
from billing.settings import ToastSettings
from billing.toast import auth
from billing.toast.client import Requester
from billing.toast.customers import Customers
from billing.toast.mandates import Mandates
from billing.toast.orders import Orders
from billing.toast.payment_intents import PaymentIntents
from billing.toast.payment_methods import PaymentMethods
from billing.toast.ratelimit import RateLimiter, Sleep
from billing.toast.setup_intents import SetupIntents
from billing.toast.transport import ToastHTTPClient


class ToastClient:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: ToastSettings,
        clock: Clock,
        limiter: RateLimiter | None = None,
        token_cache: auth.TokenCache | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        owns_http: bool = False,
    ) -> None:
        self.requester = Requester(
            http=http,
            settings=settings,
            clock=clock,
            limiter=limiter,
            token_cache=token_cache,
            rng=rng,
            sleep=sleep,
        )
        self._http = http
        self._owns_http = owns_http
        self.customers = Customers(self.requester)
        self.setup_intents = SetupIntents(self.requester)
        self.payment_methods = PaymentMethods(self.requester)
        self.payment_intents = PaymentIntents(self.requester)
        self.mandates = Mandates(self.requester)
        self.orders = Orders(self.requester)

    @classmethod
    def from_settings(
        cls,
        settings: ToastSettings,
        *,
        clock: Clock,
        limiter: RateLimiter | None = None,
        token_cache: auth.TokenCache | None = None,
        max_connections: int = 100,
    ) -> ToastClient:
        """Build with its own HTTP client (closed by ``aclose``): httpx's API on aiohttp's
        connection pool, with no cookie jar (``billing.toast.transport``: why)."""
        http = ToastHTTPClient(max_connections=max_connections)
        return cls(
            http=http,
            settings=settings,
            clock=clock,
            limiter=limiter,
            token_cache=token_cache,
            owns_http=True,
        )

    def __repr__(self) -> str:
        return f"ToastClient({self.requester!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ToastClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
