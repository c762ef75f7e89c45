"""One small quarter of billing, built once per module against the sandbox, then reported on.

Given (all in UTC, plan billed at 10:00 on the 5th):
- a member who always pays (wine club, $45.00 monthly)
- a member whose card declines twice then approves (4000000000000341): Jan paid on the 8th
- a member whose card never recovers (4000000000000275): Jan fails on the 19th, paused
- a catering deposit of $1,000.00 in 3 monthly installments from Jan 10, at the second
  location ($333.34, $333.33, $333.33)
- a $25.00 no-show fee charged on Jan 1
simulated from 2027-01-01 to 2027-04-04 (the April charges are materialized, not yet due).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from billing.demo import cast
from billing.demo.scenario import Member
from billing.reports import ledger
from billing.sandbox import SandboxConfig, running_sandbox
from billing.store import migrate
from billing.store.db import Store
from tests.conftest import IN_CI
from tests.engine.conftest import (  # noqa: F401
    LOC_A,
    LOC_B,
    START,
    TEN_YEARS_S,
    anyio_backend,
    db_url,
    sandbox,
    sqlite_url,
)
from tests.engine.world import APPROVE, world

RECOVERS = "4000000000000341"
NEVER_RECOVERS = "4000000000000275"
UNTIL = datetime(2027, 4, 4, tzinfo=UTC)
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Quarter:
    url: str
    check: ledger.LedgerCheck


async def _build(url: str) -> ledger.LedgerCheck:
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), start=START, token_ttl_s=TEN_YEARS_S,
        rate_per_second=10_000, rate_per_15min=10_000_000,
    )  # fmt: skip
    with running_sandbox(config) as handle:
        async with world(handle, url, START) as w:
            w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
                   interval_unit="month", timezone="UTC", local_time="10:00")  # fmt: skip
            w.plan(code="deposit", name="Catering deposit", kind="INSTALLMENT",
                   total_cents=100_000, installments=3, interval_unit="month", timezone="UTC",
                   location_guid=LOC_B)  # fmt: skip
            for card in (APPROVE, RECOVERS, NEVER_RECOVERS):
                await w.member("wine", card=card, start=date(2027, 1, 5))
            # enrolled at the plan's own location (LOC_B), as the demo enrolls
            client = Member(name="Client", email="client@example.com", plan="deposit",
                            card=APPROVE, month=0, anchor_day=10)  # fmt: skip
            await cast.subscribe(w.store, w.control, client, start=date(2027, 1, 10),
                                 now=w.clock.now())  # fmt: skip
            await w.fee(amount=2500)
            await w.run_until(UNTIL)
            entries = await w.control.items("order-payments")
            with w.store.transaction() as session:
                return ledger.check(session, entries)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Quarter:
    url = f"sqlite:///{tmp_path_factory.mktemp('quarter') / 'billing.db'}"
    migrate.upgrade(url)
    return Quarter(url, asyncio.run(_build(url)))


@pytest.fixture
def quarter_store(quarter: Quarter) -> Iterator[Store]:
    store = Store.from_url(quarter.url)
    yield store
    store.dispose()


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        reason = "chromium NOT installed: run scripts/ensure-chromium.sh (make test does)"
        if IN_CI:
            pytest.fail(f"CI=true requires chromium; {reason}")
        pytest.skip(reason)
    return path
