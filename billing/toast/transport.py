"""The HTTP transport under the Toast client: httpx's API on aiohttp's connection pool.

Why not httpx's own: by profile (``bench/throughput.py``), httpcore + anyio + h11 cost about
0.8 ms of CPU a request here. httpcore's pool polls every pooled socket (``has_expired``) and
hands one idle connection to several queued requests at once, which then retry
(``ConnectionNotAvailable``); anyio wraps every socket call in cancel scopes. aiohttp parses
with its C parser and tracks closed connections by event, not by polling: a bare loop doing
the same three requests a charge costs 1.5 ms through this transport against 2.4 ms through
httpx's default one (2026-12-02, same run, same sandbox).

Why not the ``httpx-aiohttp`` package: its exception map turns every
``aiohttp.ClientConnectionError`` into ``httpx.ConnectTimeout``, and so a server that drops
the connection after reading a confirm (``ServerDisconnectedError``) would read as "not
sent" here, which the client retries as safe. The map below says "not sent" only for
failures before a byte of the request could have left: everything else is an outcome
unknown (``billing.toast.errors.translate_transport_errors`` decides from the httpx class).

aiohttp's silent re-send of an idempotent method on a dropped connection is switched off:
the Requester alone decides what is re-sent.

The whole body is read here (Toast answers are small JSON), inside the read timeout.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx

#: aiohttp failure -> the httpx class that tells the caller whether the request left.
#: Checked in order; the first match wins. Anything unlisted is a ``ReadError`` (unknown).
_NOT_SENT: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # pool wait or TCP/TLS connect
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, refused, TLS handshake
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
)
_SENT: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),  # no byte of the answer in time
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed answer
)


def transport_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure of ``request`` (pure: for tests and the transport)."""
    for source, target in _NOT_SENT + _SENT:
        if isinstance(exc, source):
            return target(f"{type(exc).__name__}: {exc}", request=request)
    return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One ``aiohttp.ClientSession`` (created on first use, inside the running loop)."""

    def __init__(self, *, max_connections: int = 100, keepalive_s: float = 4.0) -> None:
        # keepalive_s: below the common 5 s server default (uvicorn's), so we close an idle
        # connection before the server does rather than race its FIN with a request.
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None  # built once: loading the CA store costs ~80 ms

    def _open(self) -> aiohttp.ClientSession:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, keepalive_timeout=self._keepalive_s, ssl=self._ssl
        )
        session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        # aiohttp re-sends a PUT or DELETE once, silently, when a kept-alive connection drops
        # (RFC 9112 9.3.1). Whether a call is re-sent is the Requester's decision (``retry``),
        # which must see the lost answer: a DELETE of a mandate that was applied and re-sent
        # answers differently. No public switch; aiohttp's own test client sets this one.
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        body = request.content or None
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as answer:
                content = await answer.read()
                status, headers, reason = answer.status, answer.raw_headers, answer.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return httpx.Response(
            status,
            headers=list(headers),
            stream=httpx.ByteStream(content),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: Toast authenticates by bearer token, and httpx otherwise parses
    every answer's cookies through ``http.cookiejar`` (by profile, 0.07 ms of CPU a request)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ToastHTTPClient(httpx.AsyncClient):
    """The Toast client's ``httpx.AsyncClient``: the aiohttp transport, no redirects, no
    cookie jar."""

    def __init__(self, *, max_connections: int = 100) -> None:
        super().__init__(
            transport=AiohttpTransport(max_connections=max_connections), follow_redirects=False
        )
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: httpx._types.CookieTypes) -> None:
        raise TypeError("the Toast client keeps no cookies")
