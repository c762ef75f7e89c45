"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it received.

Faults are the server's own answers: ``refuse`` makes the next DATA (or RCPT) commands answer
with an SMTP error code, ``delay_s`` holds every DATA answer (so a kill can land mid-send), and
``hold_at`` holds the answer to the N-th message received (kept, not yet answered) until
``release`` (so a test can kill the sender at that exact point).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse_data: list[str] = field(default_factory=list)  # answers for the next DATA commands
    refuse_rcpt: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    hold_at: int = 0  # hold the answer to this message (1-based count of those received)
    released: int = 0  # answers held up to this count go out
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        with self.lock:
            if self.refuse_rcpt:
                return self.refuse_rcpt.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.lock:
            if self.refuse_data:
                return self.refuse_data.pop(0)
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
            count = len(self.received)
        while count == self.hold_at and self.released < count:
            await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    def holding(self) -> bool:
        """The ``hold_at``-th message has been received and its answer is held."""
        with self.lock:
            return 0 < self.hold_at <= len(self.received) and self.released < self.hold_at

    def release(self) -> None:
        self.released = self.hold_at

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.messages()]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages())}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
