"""A real HTTP webhook receiver on 127.0.0.1 (http.server in a thread) that verifies every
request with ``standardwebhooks.Webhook`` and keeps what it received.

Faults are the receiver's own answers: ``answers`` holds the status codes of the next requests
(then 204); ``hold`` makes the next requests wait until released (so a test can stop the
dispatcher while a POST is in flight).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Hit:
    webhook_id: str
    headers: dict[str, str]
    body: dict[str, Any] | None  # None: the signature did not verify
    raw: str
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0  # hold every answer this long (so a kill can land mid-request)
    hold_at: int = 0  # hold the answer to this request (1-based count of those received)
    released: int = 0  # answers held up to this count go out
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def handle(self, headers: dict[str, str], raw: str) -> int:
        try:
            body = Webhook(self.secret).verify(raw, headers) if self.secret else None
        except WebhookVerificationError:
            body = None
        with self.lock:
            status = self.answers.pop(0) if self.answers else 204
            if body is None:
                status = 400
            self.hits.append(Hit(headers.get("webhook-id", ""), headers, body, raw, status))
            count = len(self.hits)
        while count == self.hold_at and self.released < count:
            time.sleep(0.02)
        return status

    def holding(self) -> bool:
        """The ``hold_at``-th request has been received and its answer is held."""
        with self.lock:
            return 0 < self.hold_at <= len(self.hits) and self.released < self.hold_at

    def release(self) -> None:
        self.released = self.hold_at

    def delivered(self) -> list[Hit]:
        """The requests answered 2xx."""
        with self.lock:
            return [h for h in self.hits if 200 <= h.answered < 300]

    def all(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.all()) >= count:
                return self.all()
            time.sleep(0.05)
        raise AssertionError(f"expected {count} requests, got {len(self.all())}")


@contextmanager
def running_receiver(secret: str = "") -> Iterator[Receiver]:
    receiver = Receiver(secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length).decode()
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, raw)
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def decoded(hit: Hit) -> dict[str, Any]:
    assert hit.body is not None, "the signature did not verify"
    return hit.body if isinstance(hit.body, dict) else json.loads(hit.raw)
