"""One connection pool per location: what the profile of a charge asked for.

httpcore's pool looks at every pooled connection (``has_expired`` polls each socket,
``is_idle``) several times per request, so its CPU per request grows with the connections in
the pool; a worker spreading ``concurrency`` requests over many locations kept one large pool.
Requests to one location are rate-limited together anyway, so a pool per location
(``Toast-Restaurant-External-ID``; calls without one, such as login, share their own) keeps
each pool to the few connections that location has in flight, with the same total.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from billing.toast.auth import LOCATION_HEADER


class PerLocationTransport(httpx.AsyncBaseTransport):
    def __init__(self, **transport_options: Any) -> None:
        self._options = transport_options
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        self._ssl: ssl.SSLContext | None = None  # built once: loading the CA store costs ~80 ms

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get(LOCATION_HEADER, "")
        pool = self._pools.get(key)
        if pool is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            options = {"verify": self._ssl, **self._options}
            pool = self._pools[key] = httpx.AsyncHTTPTransport(**options)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
