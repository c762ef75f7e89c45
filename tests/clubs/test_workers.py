"""Three `billing run` processes on one PostgreSQL database process one release of 150
members: every member charged exactly once (0 duplicates), whoever's materialize lane wins."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from billing.clubs import service
from billing.manage import locations, members
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Attempt, Charge, Release
from tests.engine.workers import start_worker, stop, worker_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]
LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
MEMBERS = 150


@pytest.fixture
def big_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=(LOCATION,), rate_per_second=10_000, rate_per_15min=10**8)
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def _seed(store: Store, control: SandboxControl) -> int:
    now = datetime.now(UTC)
    with store.transaction() as session:
        locations.add(session, LOCATION, name="Winery", timezone="America/Los_Angeles", now=now)
        club = service.create_club(session, name="Cellar", location="Winery",
                                   shipping={"*": 1500}, tax_rates={"*": 72_500},
                                   notice_days=0, now=now)
        tier = service.add_tier(session, club, name="Six", bottles=6, discount_pct=15)
        club_id, tier_id = club.id, tier.id
    for n in range(MEMBERS):
        cof = await control.card_on_file(LOCATION, "4111111111111111", "RECURRING")
        with store.transaction() as session:
            customer = members.create_customer(
                session, email=f"w{n}-{uuid.uuid4().hex[:6]}@example.com", now=now
            )
            members.add_active_mandate(
                session, customer=customer, location_guid=LOCATION,
                standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=now - timedelta(days=1),
            )  # fmt: skip
            club = service.clubs_store.club(session, str(club_id))
            service.join(session, club, customer=customer,
                         tier=service.clubs_store.tier(session, club_id or 0, str(tier_id)),
                         delivery="ship", region="CA", address="1 Vine St",
                         now=now - timedelta(days=1))  # fmt: skip
    with store.transaction() as session:
        club = service.clubs_store.club(session, str(club_id))
        release = service.create_release(session, club, title="Spring",
                                         process_on=date.today() + timedelta(days=3), now=now)
        service.set_line(session, release, item="Pinot", qty=1, retail_cents=4200, now=now)
        service.open_release(session, release, now=now)
        service.approve(session, release, now=now)
        release_id = release.id or 0
    with store.transaction() as session:  # the clock reaches the process instant
        session.execute(update(Release).where(Release.id == release_id).values(  # type: ignore[arg-type]
            cutoff_at=now - timedelta(seconds=1), process_at=now))  # fmt: skip
    return release_id


async def test_three_workers_process_one_release_with_zero_duplicates(
    big_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from tests.databases import migrated_database_url

    url = migrated_database_url("postgresql", tmp_path)
    store = Store.from_url(url)
    control = SandboxControl.at(big_sandbox.base_url)
    try:
        release_id = await _seed(store, control)
        env = worker_env(big_sandbox, url, tick_interval_s=0.2, reconcile_interval_s=1,
                         concurrency=8, claim_batch_size=25)  # fmt: skip
        workers = [start_worker(env, tmp_path, tmp_path / f"w{i}.log") for i in range(3)]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with store.transaction() as session:
                paid = session.exec(select(Charge).where(Charge.status == "paid")).all()
            if len(paid) == MEMBERS:
                break
            time.sleep(0.5)
        assert [stop(w) for w in workers] == [0, 0, 0]
        with store.transaction() as session:
            charges = session.exec(select(Charge).where(Charge.source == "club")).all()
            attempts = session.exec(select(Attempt)).all()
        assert Counter(c.status for c in charges) == Counter({"paid": MEMBERS})
        assert len({c.source_key for c in charges}) == MEMBERS
        assert {c.source_key.split(":")[1] for c in charges if c.source_key} == {str(release_id)}
        succeeded = Counter(a.charge_id for a in attempts if a.status == "succeeded")
        assert set(succeeded.values()) == {1}
        ledger = await control.items("order-payments")
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert len(captured) == MEMBERS  # 0 duplicates at Toast
        # Who sent is not asserted: one location's sends go through one lease holder at a
        # time (location leases), so one worker may well do them all.
    finally:
        await control.aclose()
        store.dispose()
