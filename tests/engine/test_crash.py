"""Crash: `billing run` killed with SIGKILL at random points (some while Toast holds an answer it
already acted on) and stopped with SIGTERM mid-charging, restarted each time, on SQLite and
PostgreSQL: every fee is captured exactly once, no authorization is voided, and every
authorization is on a check within Toast's 5 minutes (checked in the sandbox's ledger)."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
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
from tests.engine.workers import kill, start_worker, stop, wait_running, worker_env
from tests.engine.world import world

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FEES = 60
KILLS = 26
SIGTERM_EVERY = 8  # iterations 7, 15, 23 stop with SIGTERM instead: 3 deploys
HOLD_S = 4.0  # longer than any worker lives in the kill loop (at most 2 s)
HOLDS = 6  # answers held per rule: confirms, and applies to a check
FORCED_IN_HOLD = 3  # the first kills wait for a held answer (a random instant may miss them all)
# The first answers of each kind are held much longer, so a forced kill still lands in a hold
# when a loaded machine lets the test look late (a suspect, not a confirmed cause, of CI's
# "no answer held" failures).
FORCED_HOLD_S = 12.0
FORCED_HOLDS = 4


@pytest.fixture
def live_sandbox() -> Iterator[SandboxHandle]:
    """A sandbox in its own process, on real time, with latency so kills land mid-call, and the
    first answers to confirms and to applies held after Toast acted on them."""
    confirm, apply = r"^/v1/payment-intents/[^/]+/confirm$", r"^/orders/v2/orders$"
    rules = (
        FaultRule(
            path=r"^/(v1|orders)/", latency_ms=Latency(distribution="uniform", min=20, max=120)
        ),
        *(FaultRule(method="POST", path=path, hold_response_ms=Latency(value=hold_s * 1000),
                    max_hits=hits)
          for path in (confirm, apply)
          for hold_s, hits in ((HOLD_S, HOLDS), (FORCED_HOLD_S - HOLD_S, FORCED_HOLDS))),
    )  # fmt: skip
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), rate_per_second=10_000, rate_per_15min=10_000_000,
        faults=FaultSettings(seed=3, rules=rules),
    )  # fmt: skip
    with running_sandbox(config, isolation="process") as handle:
        yield handle


def wait_for_a_hold(
    base_url: str, proc: subprocess.Popen[bytes], *, since: float, log: Path,
    timeout_s: float = 120.0,
) -> None:  # fmt: skip
    """Until the sandbox holds an answer to a request sent after ``since`` (the sandbox logs a
    request before holding its answer; CLOCK_MONOTONIC is shared by the processes) to the
    worker ``proc``, which must not exit meanwhile."""
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the worker exited with {proc.returncode} before a hold; "
                                     f"log: {log.read_text()[-4000:]}")  # fmt: skip
            found = http.get("/__sandbox__/requests").json()["items"]
            now = time.monotonic()
            if any(r["fault"] == "held_response" and since <= r["monotonic"] <= now
                   < r["monotonic"] + r["holdS"] - 0.5 for r in found):  # fmt: skip
                return
            time.sleep(0.05)
    sent = [f"{r['monotonic'] - since:.1f}s {r['method']} {r['path']} {r['fault']}"
            for r in found if r["monotonic"] >= since]  # fmt: skip
    held = sum(r["fault"] == "held_response" for r in found)
    raise AssertionError(
        f"no answer held within {timeout_s} s of a worker's start ({held} held in all); "
        f"sent since: {sent[-40:]}; log: {log.read_text()[-4000:]}"
    )


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


async def test_kills_and_deploys_never_duplicate_nor_void(
    live_sandbox: SandboxHandle, db_url: str, tmp_path: Path
) -> None:
    # Given 60 fees due now
    async with world(live_sandbox, db_url, SystemClock().now()) as w:
        fees = [await w.fee(amount=1000 + n) for n in range(FEES)]
    env = worker_env(
        live_sandbox, db_url, tick_interval_s=0.2, reconcile_interval_s=0.2, lease_s=2,
        concurrency=2, claim_batch_size=2,
    )  # fmt: skip
    env["BILLING_TOAST__CONFIRM_TIMEOUT_S"] = env["BILLING_TOAST__READ_TIMEOUT_S"] = "30"
    log = tmp_path / "workers.log"
    rng = random.Random(20271)
    kills: list[float] = []
    # When a worker is killed with SIGKILL at a random instant, 26 times over, and three times
    # stopped with SIGTERM instead (a deploy), each time restarted
    for n in range(KILLS + 3):
        deploy = n % SIGTERM_EVERY == SIGTERM_EVERY - 1
        status = tmp_path / "worker.json"
        spawned = time.monotonic()
        proc = start_worker(env, tmp_path, log, status if deploy else None)
        try:
            if deploy:  # a deploy stops a worker that runs (SIGTERM before start-up just ends it)
                wait_running(proc, status)
            if not deploy and len(kills) < FORCED_IN_HOLD:
                # Forced, not hoped for: this kill waits until Toast holds an answer to this worker
                wait_for_a_hold(live_sandbox.base_url, proc, since=spawned, log=log)
            else:
                time.sleep(rng.uniform(0.6, 2.0))
        except BaseException:
            kill(proc)
            raise
        if deploy:
            assert stop(proc, timeout=90) == 0, log.read_text()[-3000:]
        else:
            kills.append(time.monotonic())
            kill(proc)
    # And a last worker runs until everything settles, then stops on SIGTERM (once it runs:
    # under load the others may have settled everything before it has even started up)
    status = tmp_path / "worker.json"
    proc = start_worker(env, tmp_path, log, status)
    started = time.monotonic()
    wait_running(proc, status)
    async with world(live_sandbox, db_url, SystemClock().now()) as w:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            statuses = {c.id: c.status for c in w.charges()}
            if all(statuses[f] == ChargeStatus.PAID for f in fees):
                break
            time.sleep(0.2)
        drained_in = time.monotonic() - started
        assert stop(proc, timeout=90) == 0, log.read_text()[-3000:]
        # Then every fee is paid exactly once, and every attempt settled
        assert {c.status for c in w.charges()} == {ChargeStatus.PAID}
        ledger = await w.control.items("order-payments")
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert sorted(e["amount"] for e in captured) == [1000 + n for n in range(FEES)]
        with w.store.transaction() as session:
            attempts = session.exec(select(Attempt)).all()
        assert all(a.settled_at is not None for a in attempts)
        # and no authorization was voided: each was on a check within Toast's 5 minutes
        assert (await w.control.stats())["voids"] == 0
        assert [e for e in ledger if e["status"] != "CAPTURED"] == []
        to_apply = [seconds(e["authorizedAt"], e["appliedAt"]) for e in ledger]
        assert max(to_apply) < 300
        # The kills that landed while Toast held an answer it had already acted on: every held
        # answer of a killed worker (holds outlast the workers), read from the sandbox's log
        held = [r for r in await w.control.requests() if r["fault"] == "held_response"]
        in_hold = sum(any(r["monotonic"] <= k <= r["monotonic"] + r["holdS"] for r in held)
                      for k in kills)  # fmt: skip
        assert in_hold >= 3
    print(
        f"\ncrash[{w.store.dialect}]: {len(kills)} SIGKILLs ({in_hold} during a held answer), "
        f"3 SIGTERMs, {len(attempts)} attempts for {FEES} fees, 0 voids; drained "
        f"{drained_in:.1f} s after the last kill; longest authorization -> check "
        f"{max(to_apply):.1f} s"
    )
