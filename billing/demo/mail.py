"""The demo's mail: a real SMTP server on loopback (aiosmtpd) for the length of the demo, the
dispatcher's passes as simulated time goes by, and what arrived written to ``demo/mail/``.

Every message the relay accepted becomes ``demo/mail/NNNN-KIND.eml`` (open one in any mail
client); the summary counts them per kind. The kind is read back from the store by the
``Message-ID`` the dispatcher gave the email (``billing.notify.compose``).
"""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlmodel import col, select

from billing.clock import Clock
from billing.engine import simulation
from billing.notify import dispatcher
from billing.settings import BillingSettings, MailSettings
from billing.store.db import Store
from billing.store.tables import Message

MERCHANT = "The Sandbox Bistro"
MESSAGE_ID = re.compile(r"<billing\.message\.(\d+)\.")


@dataclass
class Relay:
    """What the demo's SMTP server accepted, in order (raw RFC 5322 bytes)."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(bytes(envelope.content))
        return "250 Message accepted for delivery"

    def settings(self, base: BillingSettings) -> BillingSettings:
        mail = MailSettings(host=self.host, port=self.port, from_address="billing@bistro.example",
                            reply_to="hello@bistro.example", timeout_s=10)  # fmt: skip
        notify = base.notify.model_copy(update={
            "merchant_name": MERCHANT, "manage_url": "https://bistro.example/account",
            "cancel_url": "https://bistro.example/account/cancel"})  # fmt: skip
        return base.model_copy(update={"mail": mail, "notify": notify})


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def relay() -> Iterator[Relay]:
    box = Relay()
    box.port = _free_port(box.host)
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def dispatching(store: Store, clock: Clock, settings: BillingSettings) -> simulation.Dispatch:
    async def dispatch() -> int:
        return await dispatcher.dispatch_once(store, clock, settings)

    return dispatch


def write(box: Relay, store: Store, directory: Path) -> Counter[str]:
    """``directory/NNNN-KIND.eml`` for each message received (the folder is recreated);
    returns how many of each kind."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eml"):
        old.unlink()
    with store.transaction() as session:
        kinds = dict(session.exec(select(Message.id, Message.kind).where(
            col(Message.status) == "sent")).all())  # fmt: skip
    counts: Counter[str] = Counter()
    parser = BytesHeaderParser()
    with box.lock:
        received = list(box.received)
    for n, raw in enumerate(received, start=1):
        found = MESSAGE_ID.search(str(parser.parsebytes(raw)["Message-ID"] or ""))
        kind = kinds.get(int(found.group(1)), "other") if found else "other"
        counts[kind] += 1
        (directory / f"{n:04d}-{kind}.eml").write_bytes(raw)
    return counts
