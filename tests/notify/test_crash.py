"""Crash: `billing messages dispatch` killed with SIGKILL at random points, restarted; no message
is sent twice, and every message ends sent (received once) or unknown (the body was on the wire
when the process died: received at most once, never re-sent)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import col, select

from billing.clock import SystemClock
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.store.tables import Message
from tests.engine.world import world
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FEES = 40
KILLS = 20


def _env(sandbox: SandboxHandle, db_url: str, box: Mailbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    return env | {
        "BILLING_DATABASE_URL": db_url, "BILLING_TOAST__BASE_URL": sandbox.base_url,
        "BILLING_MAIL__HOST": box.host, "BILLING_MAIL__PORT": str(box.port),
        "BILLING_MAIL__FROM_ADDRESS": "club@hillside.example",
        "BILLING_NOTIFY__CLAIM_LEASE_S": "1", "BILLING_NOTIFY__BATCH_SIZE": "3",
        "BILLING_NOTIFY__RETRY_BASE_S": "0.2", "BILLING_LOG_LEVEL": "WARNING",
    }  # fmt: skip


def _start(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "messages", "dispatch", "--drain"],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _open(db_url: str) -> list[Message]:
    from billing.store.db import Store

    store = Store.from_url(db_url)
    try:
        with store.transaction() as session:
            query = select(Message).where(col(Message.status).in_(("pending", "claimed")))
            return list(session.exec(query).all())
    finally:
        store.dispose()


async def test_sigkill_at_random_points_never_sends_twice(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    # Given 40 paid fees, so 40 receipts to send
    async with world(sandbox, sqlite_url, SystemClock().now()) as w:
        for n in range(FEES):
            await w.fee(amount=1000 + n)
        await w.engine.tick()
    env, log = _env(sandbox, sqlite_url, mailbox), tmp_path / "dispatch.log"
    mailbox.delay_s = 0.3  # the relay takes its time to answer DATA: kills land mid-send
    rng = random.Random(15)
    # When the dispatcher is killed with SIGKILL at a random instant, 20 times over
    for _ in range(KILLS):
        proc = _start(env, tmp_path, log)
        time.sleep(rng.uniform(0.8, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # And dispatchers then run to the end (claims of the dead expire after their 1 s lease)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-m", "billing.cli", "messages", "dispatch",
                               "--drain"], env=env, cwd=tmp_path, capture_output=True)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        if not _open(sqlite_url):
            break
        time.sleep(0.5)
    # Then nothing was received twice, every sent message was received, and nothing is lost:
    async with world(sandbox, sqlite_url, SystemClock().now()) as w:
        rows = outbox(w)
    received = Counter(mailbox.ids())
    assert received
    assert max(received.values()) == 1, received.most_common(3)
    assert len(rows) == FEES
    by_status = Counter(r.status for r in rows)
    assert set(by_status) <= {Status.SENT, Status.UNKNOWN}, by_status
    sent_ids = {r.provider_id for r in rows if r.status == Status.SENT}
    assert sent_ids <= set(received)
    assert set(received) <= {r.provider_id for r in rows}
    unknown = [r for r in rows if r.status == Status.UNKNOWN]
    print(f"kills={KILLS} sent={by_status[Status.SENT]} unknown={len(unknown)} "
          f"unknown_received={sum(1 for r in unknown if r.provider_id in received)} "
          f"attempts={sum(r.attempts for r in rows)}")  # fmt: skip
