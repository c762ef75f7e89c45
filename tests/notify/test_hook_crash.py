"""Crash: `billing messages dispatch` killed with SIGKILL at random points while webhooks are
in flight, restarted: every delivery ends delivered, under its one webhook-id (a POST cut off
by the kill is delivered again with the same id, which receivers deduplicate), and no event
gets a second delivery row or a second id."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import col, select

from billing.clock import SystemClock
from billing.notify import endpoints
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.store.db import Store
from billing.store.tables import Message
from tests.engine.world import world
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox
from tests.notify.receiver import running_receiver
from tests.notify.test_crash import _env, _start

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FEES = 20
KILLS = 6
UNSETTLED = (Status.PENDING, Status.CLAIMED, Status.SENDING)
DRAIN = [sys.executable, "-m", "billing.cli", "messages", "dispatch", "--drain"]


def _unsettled(db_url: str) -> list[Message]:
    """Deliveries not yet settled, a POST cut off by a kill ("sending") included."""
    store = Store.from_url(db_url)
    try:
        with store.transaction() as session:
            query = select(Message).where(col(Message.status).in_(UNSETTLED))
            return list(session.exec(query).all())
    finally:
        store.dispose()


async def test_sigkill_mid_delivery_loses_nothing_and_keeps_one_id_per_delivery(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    with running_receiver() as receiver:
        # Given 20 paid fees and an endpoint for charge.paid (receipts switched off)
        async with world(sandbox, sqlite_url, SystemClock().now()) as w:
            with w.store.transaction() as session:
                _, receiver.secret = endpoints.add(session, receiver.url, events="charge.paid",
                                                   now=w.clock.now(), production=False)
            for n in range(FEES):
                await w.fee(amount=1000 + n)
            await w.engine.tick()
        env = _env(sandbox, sqlite_url, mailbox) | {"BILLING_NOTIFY__KINDS_OFF": '["receipt"]'}
        log = tmp_path / "dispatch.log"
        receiver.delay_s = 1.0  # every answer takes its time: kills land mid-POST
        rng = random.Random(15)
        # When the dispatcher is killed with SIGKILL at a random instant, 6 times over
        for _ in range(KILLS):
            proc = _start(env, tmp_path, log)
            time.sleep(rng.uniform(1.5, 3.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        # And dispatchers then run to the end (the dead ones' claims lapse after 1 s)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = subprocess.run(DRAIN, env=env, cwd=tmp_path, capture_output=True)
            assert done.returncode == 0, done.stderr[-2000:]
            if not _unsettled(sqlite_url):
                break
            time.sleep(0.5)
        async with world(sandbox, sqlite_url, SystemClock().now()) as w:
            rows = outbox(w)
        hits = receiver.all()
    # Then each of the 20 deliveries is delivered, all under their own one id, each verified
    assert len(rows) == FEES
    assert {r.status for r in rows} == {Status.SENT}, [(r.id, r.status) for r in rows]
    ids = {r.provider_id for r in rows}
    assert len(ids) == FEES
    assert {h.webhook_id for h in hits} == ids
    assert all(h.body is not None for h in hits)
    amounts = sorted({h.body["data"]["charge"]["amount_cents"] for h in hits if h.body})
    assert amounts == [1000 + n for n in range(FEES)]
    print(f"{len(hits)} POSTs for {FEES} deliveries ({len(hits) - FEES} repeated after a kill)")
