"""Sandbox throughput: create + confirm payment-intent pairs over HTTP, report requests/s.

The sandbox runs in its own process (one uvicorn worker, so one core; faults and latency
off; rate limits raised out of the way). A client process drives merchant-initiated
create+confirm pairs against a card-on-file over keep-alive HTTP/1.1 connections for a fixed
duration. The client is a minimal asyncio HTTP/1.1 client rather than httpx, because httpx's
own per-request cost (~0.5 ms) would make the client, not the sandbox, the bottleneck; use
``--httpx`` to measure with httpx instead.

    .venv/bin/python bench/sandbox_throughput.py [--seconds 5] [--connections 16] [--httpx]

Prints a human line and a final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

from billing.sandbox import SandboxConfig, running_sandbox
from billing.settings import DEFAULT_LOCATION, PLACEHOLDER_SECRET

LOGIN = {"clientId": "sandbox-client", "clientSecret": PLACEHOLDER_SECRET,
         "userAccessType": "TOAST_MACHINE_CLIENT"}


def _setup(base_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base_url) as client:
        token = client.post("/authentication/v1/authentication/login", json=LOGIN)
        cof = client.post("/__sandbox__/cards-on-file", json={
            "location": DEFAULT_LOCATION, "cardNumber": "4111111111111111",
            "standingInstructionType": "RECURRING"})
        return token.json()["token"]["accessToken"], cof.json()["mandateId"]


def _create_body(mandate: str) -> dict[str, Any]:
    return {"amount": 1999, "currency": "USD", "externalReferenceId": str(uuid.uuid4()),
            "captureMethod": "MANUAL", "email": "bench@example.com", "offSession": True,
            "mandateId": mandate}


class RawConnection:
    """Just enough HTTP/1.1 for JSON POSTs over one keep-alive connection."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                     f"Toast-Restaurant-External-ID: {DEFAULT_LOCATION}\r\n"
                     "Content-Type: application/json\r\n")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert self.reader is not None
        assert self.writer is not None
        data = json.dumps(body).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(data)}"
                          f"\r\n\r\n".encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines
                      if line.lower().startswith("content-length:"))
        payload = await self.reader.readexactly(length)
        return int(lines[0].split()[1]), json.loads(payload)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def _raw_pairs(base_url: str, token: str, mandate: str, deadline: float) -> int:
    url = urlsplit(base_url)
    conn = RawConnection(str(url.hostname), int(url.port or 80), token)
    await conn.open()
    pairs = 0
    try:
        while time.monotonic() < deadline:
            _, intent = await conn.post("/v1/payment-intents", _create_body(mandate))
            _, done = await conn.post(f"/v1/payment-intents/{intent['id']}/confirm",
                                      {"sessionSecret": intent["sessionSecret"]})
            if done["status"] != "REQUIRES_CAPTURE":
                raise RuntimeError(f"unexpected confirm result {done}")
            pairs += 1
    finally:
        await conn.close()
    return pairs


async def _httpx_pairs(client: httpx.AsyncClient, mandate: str, deadline: float) -> int:
    pairs = 0
    while time.monotonic() < deadline:
        intent = (await client.post("/v1/payment-intents", json=_create_body(mandate))).json()
        done = await client.post(f"/v1/payment-intents/{intent['id']}/confirm",
                                 json={"sessionSecret": intent["sessionSecret"]})
        if done.json()["status"] != "REQUIRES_CAPTURE":
            raise RuntimeError(f"unexpected confirm result {done.text}")
        pairs += 1
    return pairs


async def _drive(base_url: str, token: str, mandate: str, seconds: float, connections: int,
                 use_httpx: bool) -> int:
    deadline = time.monotonic() + seconds
    if not use_httpx:
        counts = await asyncio.gather(*(_raw_pairs(base_url, token, mandate, deadline)
                                        for _ in range(connections)))
        return sum(counts)
    headers = {"Authorization": f"Bearer {token}", "Toast-Restaurant-External-ID": DEFAULT_LOCATION}
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=connections),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport) as c:
        counts = await asyncio.gather(*(_httpx_pairs(c, mandate, deadline)
                                        for _ in range(connections)))
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--httpx", action="store_true", help="drive with httpx.AsyncClient")
    opts = parser.parse_args()
    config = SandboxConfig(rate_per_second=1e9, rate_per_15min=10**12, request_log_limit=1000)
    with running_sandbox(config, isolation="process") as sandbox:
        token, mandate = _setup(sandbox.base_url)
        started = time.monotonic()
        pairs = asyncio.run(_drive(sandbox.base_url, token, mandate, opts.seconds,
                                   opts.connections, opts.httpx))
        elapsed = time.monotonic() - started
    result: dict[str, Any] = {
        "benchmark": "sandbox_throughput", "pairs": pairs, "requests": 2 * pairs,
        "seconds": round(elapsed, 3), "requests_per_s": round(2 * pairs / elapsed, 1),
        "connections": opts.connections, "client": "httpx" if opts.httpx else "raw-asyncio",
        "sandbox_processes": 1, "faults": "off",
    }
    print(f"{result['requests']} requests in {result['seconds']} s: "
          f"{result['requests_per_s']} requests/s "
          f"(create+confirm pairs, {result['client']} client, faults off)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
