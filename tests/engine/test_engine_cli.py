"""`billing tick` and `billing simulate` from the command line, against the sandbox."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from billing.domain.states import ChargeStatus
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.workers import worker_env
from tests.engine.world import world

pytestmark = pytest.mark.anyio


def billing(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "billing.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_tick_charges_what_is_due_at_the_given_instant(
    sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        fee = await w.fee(amount=3300)
        env = worker_env(sandbox, sqlite_url)
        done = billing(env, tmp_path, "tick", "--now", START.isoformat())
        assert done.returncode == 0, done.stderr
        assert "charged 1" in done.stdout
        assert {c.id: c.status for c in w.charges()} == {fee: ChargeStatus.PAID}
        [entry] = await w.control.items("order-payments")
        assert (entry["amount"], entry["status"]) == (3300, "CAPTURED")


async def test_simulate_collects_three_months(
    sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="America/New_York")  # fmt: skip
        await w.member("wine", start=date(2027, 1, 10))
        env = worker_env(sandbox, sqlite_url)
        done = billing(env, tmp_path, "simulate", "--from", START.isoformat(), "--until",
                       "2027-03-31")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "charged 3" in done.stdout
        assert [c.status for c in w.charges() if c.cycle is not None and c.cycle < 3] == [
            ChargeStatus.PAID
        ] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tick", "--now", "yesterday"], "--now: 'yesterday' is not an ISO 8601 instant"),
        (["tick", "--now", "2027-01-01T10:00:00"], "has no time zone"),
        (["simulate", "--until", "2027-01-01", "--from", "2027-02-01T00:00:00Z"], "--until"),
        (["simulate", "--until", "2027-03-01", "--step", "3x"], "--step"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    done = billing(worker_env(sandbox, sqlite_url), tmp_path, *args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
