"""Toast's per-location limits hold across three `billing run` workers on PostgreSQL, with the
default rate settings, through a rebalance and a worker replaced mid-way: judged from the
sandbox's own request log (what the server saw), not from the workers' clocks."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from billing.clock import SystemClock
from billing.domain.states import ChargeStatus
from billing.manage import members
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl, busiest_window
from billing.store.db import Store
from billing.store.tables import Attempt, Charge
from tests.engine.workers import start_worker, stop, wait_running, worker_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]
LOCATIONS = tuple(str(uuid.UUID(int=0x7A1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(4))
CHARGES = 400
CARDS_PER_LOCATION = 3


@pytest.fixture
def toast_limits() -> Iterator[SandboxHandle]:
    """The sandbox at Toast's documented limits: 20 requests/s and 10,000/15 min a location."""
    config = SandboxConfig(locations=LOCATIONS, rate_per_second=20, rate_per_15min=10_000)
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def _seed(store: Store, control: SandboxControl) -> None:
    now = SystemClock().now()
    mandate_ids = []
    for location in LOCATIONS:
        for _ in range(CARDS_PER_LOCATION):
            cof = await control.card_on_file(location, "4111111111111111", "RECURRING")
            with store.transaction() as session:
                customer = members.create_customer(
                    session, email=f"l{uuid.uuid4().hex[:8]}@example.com", now=now
                )
                mandate = members.add_active_mandate(
                    session, customer=customer, location_guid=location,
                    standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                    payment_method_id=cof["paymentMethodId"], now=now,
                )  # fmt: skip
                mandate_ids.append(mandate.id or 0)
    with store.transaction() as session:
        for n in range(CHARGES):
            mandate = members.get_mandate(session, mandate_ids[n % len(mandate_ids)])
            session.add(Charge(
                mandate_id=mandate.id or 0, kind="RECURRING", amount_cents=100 + n,
                location_guid=mandate.location_guid, check_item="Bulk", reason="bulk",
                due_at=now, next_attempt_at=now, created_at=now,
            ))  # fmt: skip


def _paid(store: Store) -> int:
    with store.transaction() as session:
        return len(session.exec(select(Charge.id).where(Charge.status == "paid")).all())


def _wait(condition: object, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


async def test_three_workers_never_exceed_a_locations_limit(
    toast_limits: SandboxHandle, tmp_path: Path
) -> None:
    from tests.databases import migrated_database_url

    url = migrated_database_url("postgresql", tmp_path)
    store = Store.from_url(url)
    control = SandboxControl.at(toast_limits.base_url)
    try:
        await _seed(store, control)
        env = worker_env(toast_limits, url, tick_interval_s=0.5, reconcile_interval_s=1)
        for name in ("BILLING_TOAST__RATE_PER_SECOND", "BILLING_TOAST__RATE_PER_15MIN"):
            env.pop(name)  # Toast's limits: the defaults
        workers = [
            start_worker(env, tmp_path, tmp_path / f"w{i}.log", tmp_path / f"w{i}.json")
            for i in range(3)
        ]
        # Half-way, one worker stops (its locations are handed over) and a new one starts.
        _wait(lambda: _paid(store) >= CHARGES // 2, "half the charges paid")
        assert stop(workers[0], timeout=90) == 0
        workers[0] = start_worker(env, tmp_path, tmp_path / "w3.log", tmp_path / "w3.json")
        wait_running(workers[0], tmp_path / "w3.json")
        _wait(lambda: _paid(store) == CHARGES, "every charge paid")
        assert [stop(w, timeout=90) for w in workers] == [0, 0, 0]

        requests = await control.requests()
        statuses = Counter(r["status"] for r in requests)
        assert statuses[429] == 0, statuses
        worst = busiest_window(requests, 1.0)
        assert set(worst) == set(LOCATIONS)
        assert max(worst.values()) <= 20, worst
        assert max(busiest_window(requests, 900.0).values()) <= 10_000

        with store.transaction() as session:
            charges = session.exec(select(Charge)).all()
            attempts = session.exec(select(Attempt)).all()
        assert Counter(c.status for c in charges) == Counter({ChargeStatus.PAID: CHARGES})
        captured = [e for e in await control.items("order-payments") if e["status"] == "CAPTURED"]
        assert len(captured) == CHARGES
        assert len({e["guid"] for e in captured}) == CHARGES
        assert sorted(e["amount"] for e in captured) == [100 + n for n in range(CHARGES)]
        succeeded = Counter(a.charge_id for a in attempts if a.status == "succeeded")
        assert set(succeeded.values()) == {1}
        assert len({a.worker for a in attempts}) >= 3  # the work was shared
        print(f"\nlocation limits: worst second per location {sorted(worst.values())}, "
              f"{len(requests)} requests, statuses {dict(statuses)}")  # fmt: skip
    finally:
        await control.aclose()
        store.dispose()
