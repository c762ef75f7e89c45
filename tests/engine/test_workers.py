"""Three `billing run` processes on one PostgreSQL database share 2,000 due charges."""

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
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Attempt, Charge
from tests.engine.workers import start_worker, stop, worker_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]
LOCATIONS = tuple(str(uuid.UUID(int=0x6F1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(4))
CHARGES = 2000
MANDATES_PER_LOCATION = 5


@pytest.fixture
def big_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=LOCATIONS, rate_per_second=10_000, rate_per_15min=10**8)
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def _seed(store: Store, control: SandboxControl) -> None:
    """2,000 charges due now, spread over 4 locations and 20 cards-on-file."""
    now = SystemClock().now()
    mandate_ids = []
    for location in LOCATIONS:
        for _ in range(MANDATES_PER_LOCATION):
            cof = await control.card_on_file(location, "4111111111111111", "RECURRING")
            with store.transaction() as session:
                customer = members.create_customer(
                    session, email=f"w{uuid.uuid4().hex[:8]}@example.com", now=now
                )
                mandate = members.add_active_mandate(
                    session, customer=customer, location_guid=location,
                    standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                    payment_method_id=cof["paymentMethodId"], now=now,
                )  # fmt: skip
                mandate_ids.append(mandate.id or 0)
    # Charges of the mandates' own type (RECURRING): a one-off fee would be outside their
    # consent (billing.domain.purpose) and is held instead of sent.
    with store.transaction() as session:
        for n in range(CHARGES):
            mandate = members.get_mandate(session, mandate_ids[n % len(mandate_ids)])
            session.add(Charge(
                mandate_id=mandate.id or 0, kind="RECURRING", amount_cents=100 + n,
                location_guid=mandate.location_guid, check_item="Bulk", reason="bulk",
                due_at=now, next_attempt_at=now, created_at=now,
            ))  # fmt: skip


async def test_three_workers_share_the_work_with_zero_duplicates(
    big_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from tests.databases import migrated_database_url

    url = migrated_database_url("postgresql", tmp_path)
    store = Store.from_url(url)
    control = SandboxControl.at(big_sandbox.base_url)
    try:
        await _seed(store, control)
        env = worker_env(
            big_sandbox, url, tick_interval_s=0.2, reconcile_interval_s=1, concurrency=8,
            claim_batch_size=25,
        )  # fmt: skip
        workers = [start_worker(env, tmp_path, tmp_path / f"w{i}.log") for i in range(3)]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with store.transaction() as session:
                paid = session.exec(select(Charge).where(Charge.status == "paid")).all()
            if len(paid) == CHARGES:
                break
            time.sleep(1)
        assert [stop(w) for w in workers] == [0, 0, 0]
        with store.transaction() as session:
            charges = session.exec(select(Charge)).all()
            attempts = session.exec(select(Attempt)).all()
        assert Counter(c.status for c in charges) == Counter({ChargeStatus.PAID: CHARGES})
        ledger = await control.items("order-payments")
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert len(captured) == CHARGES
        assert len({e["guid"] for e in captured}) == CHARGES
        assert sorted(e["amount"] for e in captured) == [100 + n for n in range(CHARGES)]
        succeeded = Counter(a.charge_id for a in attempts if a.status == "succeeded")
        assert set(succeeded.values()) == {1}
        by_worker = Counter(a.worker for a in attempts)
        assert len(by_worker) == 3, by_worker  # every worker took a share
        assert {e["location"] for e in captured} == set(LOCATIONS)
    finally:
        await control.aclose()
        store.dispose()
