"""Crash: `billing run` killed with SIGKILL at random points, restarted, never charges twice."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from billing.clock import SystemClock
from billing.domain.states import ChargeStatus
from billing.sandbox import (
    FaultRule,
    FaultSettings,
    Latency,
    SandboxConfig,
    SandboxHandle,
    running_sandbox,
)
from billing.store.tables import Attempt
from tests.engine.conftest import LOC_A, LOC_B
from tests.engine.workers import kill, start_worker, stop, worker_env
from tests.engine.world import world

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FEES = 40
KILLS = 25


@pytest.fixture
def live_sandbox() -> Iterator[SandboxHandle]:
    """A sandbox in its own process, on real time, with some latency so kills land mid-call."""
    slow = FaultRule(
        path=r"^/(v1|orders)/", latency_ms=Latency(distribution="uniform", min=20, max=120)
    )
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), rate_per_second=10_000, rate_per_15min=10_000_000,
        faults=FaultSettings(seed=3, rules=(slow,)),
    )  # fmt: skip
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def test_sigkill_at_random_points_never_duplicates(
    live_sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path
) -> None:
    # Given 40 fees due now
    async with world(live_sandbox, sqlite_url, SystemClock().now()) as w:
        fees = [await w.fee(amount=1000 + n) for n in range(FEES)]
    env = worker_env(
        live_sandbox, sqlite_url, tick_interval_s=0.2, reconcile_interval_s=0.2, lease_s=2,
        concurrency=2, claim_batch_size=2,
    )  # fmt: skip
    log = tmp_path / "workers.log"
    rng = random.Random(20271)
    # When a worker is killed with SIGKILL at a random instant, 25 times over
    for _ in range(KILLS):
        proc = start_worker(env, tmp_path, log)
        time.sleep(rng.uniform(0.6, 2.0))
        kill(proc)
    # And a last worker runs until everything settles, then stops on SIGTERM
    proc = start_worker(env, tmp_path, log)
    async with world(live_sandbox, sqlite_url, SystemClock().now()) as w:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = {c.id: c.status for c in w.charges()}
            if all(statuses[f] == ChargeStatus.PAID for f in fees):
                break
            time.sleep(0.5)
        assert stop(proc) == 0, log.read_text()[-2000:]
        # Then every fee is paid exactly once, and every attempt settled
        assert {c.status for c in w.charges()} == {ChargeStatus.PAID}
        ledger = await w.control.items("order-payments")
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert len(captured) == FEES
        assert sorted(e["amount"] for e in captured) == [1000 + n for n in range(FEES)]
        with w.store.transaction() as session:
            attempts = session.exec(select(Attempt)).all()
        assert all(a.settled_at is not None for a in attempts)
        assert len(attempts) > FEES  # some attempts were cut short by the kills
