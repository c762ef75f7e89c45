"""The aiohttp transport tells "not sent" from "outcome unknown" the way the client needs.

Real sockets on 127.0.0.1: a port nobody listens on, a server that never answers, a server
that reads the request and hangs up. The sandbox tests (``test_faults``) run over this
transport too.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest

from billing.toast import errors
from billing.toast.transport import AiohttpTransport, transport_error

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """Reads one request head per connection, then answers or not as told."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.got_one = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._release = asyncio.Event()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                await reader.readexactly(length)
                self.requests += 1
                self.got_one.set()
                if self.behaviour == "hang up":
                    break
                if self.behaviour == "never answer":
                    await self._release.wait()
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             b"Content-Type: application/json\r\n\r\n{}")  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=1)) as http:
        yield http


def _translated(exc: BaseException, method: str = "POST") -> type[errors.ToastError]:
    try:
        with errors.translate_transport_errors(method, "/x"):
            raise exc
    except errors.ToastError as error:
        return type(error)
    raise AssertionError("not translated")


async def test_a_refused_connection_is_not_sent(client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ConnectError) as info:
        await client.post(f"http://127.0.0.1:{_free_port()}/v1/payment-intents", json={})
    assert _translated(info.value) is errors.ToastNotSent


async def test_no_answer_in_the_read_timeout_is_outcome_unknown(client: httpx.AsyncClient) -> None:
    server = Server("never answer")
    base = await server.start()
    try:
        with pytest.raises(httpx.ReadTimeout) as info:
            await client.post(base + "/v1/payment-intents", json={"a": 1},
                              timeout=httpx.Timeout(0.3, connect=30))  # fmt: skip
        assert server.requests == 1
        assert _translated(info.value) is errors.ToastOutcomeUnknown
    finally:
        await server.stop()


async def test_waiting_for_a_pooled_connection_past_the_pool_timeout_is_not_sent(
    client: httpx.AsyncClient,
) -> None:
    # Given the pool's one connection busy with a request the server never answers
    server = Server("never answer")
    base = await server.start()
    try:
        first = asyncio.create_task(client.post(base + "/a", json={}, timeout=60))
        await asyncio.wait_for(server.got_one.wait(), 30)
        # When a second request cannot get a connection within its pool timeout
        with pytest.raises(httpx.ConnectTimeout) as info:
            await client.post(base + "/b", json={}, timeout=httpx.Timeout(60, pool=0.2))
        # Then it never reached the server, and reads as not sent
        assert server.requests == 1
        assert _translated(info.value) is errors.ToastNotSent
        first.cancel()
    finally:
        await server.stop()


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
async def test_a_hang_up_after_the_request_is_unknown_and_never_re_sent(
    client: httpx.AsyncClient, method: str
) -> None:
    # Given a kept-alive connection (one answered request), then a server that hangs up
    server = Server("answer")
    base = await server.start()
    try:
        assert (await client.get(base + "/warm")).status_code == 200
        server.behaviour = "hang up"
        # When the next request's answer is lost
        with pytest.raises(httpx.TransportError) as info:
            await client.request(method, base + "/v1/mandates/m", json={})
        # Then it reads as outcome unknown, and aiohttp did not re-send it (even a DELETE)
        assert _translated(info.value, method) is errors.ToastOutcomeUnknown
        assert server.requests == 2
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ClientPayloadError("short"), httpx.ReadError),
        (TimeoutError(), httpx.ReadTimeout),
    ],
)
async def test_every_failure_after_a_possible_send_maps_to_a_sent_class(
    failure: BaseException, expected: type[httpx.TransportError]
) -> None:
    mapped = transport_error(failure, httpx.Request("POST", "http://t/x"))
    assert type(mapped) is expected
