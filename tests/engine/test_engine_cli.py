"""`billing tick` and `billing simulate` from the command line, against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from billing.domain.states import ChargeStatus
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from tests.engine.conftest import LOC_A, LOC_B, START
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


@pytest.fixture
def default_sandbox() -> Iterator[SandboxHandle]:
    """Toast's own defaults: tokens live a day, 20 requests a second per location."""
    with running_sandbox(SandboxConfig(locations=(LOC_A, LOC_B), start=START)) as handle:
        yield handle


async def test_simulate_thirteen_months_on_default_settings_collects_every_cycle(
    default_sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path
) -> None:
    # Given one plan and three members, and nothing tuned: the sandbox's tokens expire daily on
    # the simulated clock, and the login budget is Toast's two an hour
    async with world(default_sandbox, sqlite_url, START) as w:
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="America/New_York")  # fmt: skip
        for day in (5, 10, 28):
            await w.member("wine", start=date(2027, 1, day))
        env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
        env |= {
            "BILLING_DATABASE_URL": sqlite_url,
            "BILLING_TOAST__BASE_URL": default_sandbox.base_url,
            "BILLING_TOAST__LOCATION_GUID": LOC_A,
        }
        # When thirteen months are simulated
        done = billing(env, tmp_path, "simulate", "--from", START.isoformat(), "--until",
                       "2028-01-31")  # fmt: skip
        # Then it finishes and every cycle due in the period was collected
        assert done.returncode == 0, done.stderr[-2000:]
        due = [c for c in w.charges() if c.due_at <= datetime(2028, 1, 31, tzinfo=UTC)]
        assert len(due) == 3 * 13
        assert {c.status for c in due} == {ChargeStatus.PAID}
        assert "charged 39" in done.stdout
        # tokens really expired on the simulated clock and were renewed along the way
        assert (await w.control.stats())["loginsIssued"] >= 13
