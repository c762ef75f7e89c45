"""Three `billing run` processes on one PostgreSQL database collect the milestones of 30
events at three locations: each milestone exactly once, every event paid in full and its mandate
revoked. (Since location leases, ``billing.engine.ownership``, one worker at a time sends to a
location: which worker ends up with which location depends on timing, so the test does not
assert how the work was shared, only that it was done once.)"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from billing.clock import SystemClock
from billing.domain.states import ChargeStatus, MandateStatus
from billing.events import booking, rules, schedules
from billing.manage import members
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Attempt, CateringEvent, Charge, Mandate
from tests.engine.workers import start_worker, stop, worker_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]
LOCATIONS = ("6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01", "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
             "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a")  # fmt: skip
EVENTS = 30
# All three milestones are due now: the event is 3 days away, so 10 and 5 days before have
# passed (a late booking is charged at once, before the start).
SCHEDULE = [
    rules.Milestone(name="deposit", kind="percent", value=2500),
    rules.Milestone(name="second", kind="percent", value=5000, days_before=10),
    rules.Milestone(name="balance", kind="remainder", days_before=5),
]


@pytest.fixture
def own_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=LOCATIONS, rate_per_second=10_000, rate_per_15min=10**8)
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def _seed(store: Store, control: SandboxControl) -> list[int]:
    now = SystemClock().now()
    with store.transaction() as session:
        schedules.create(session, schedules.TemplateSpec(
            code="late", name="Late booking", milestones=SCHEDULE), now=now)  # fmt: skip
    day = (now + timedelta(days=3)).date()
    ids = []
    for n in range(EVENTS):
        location = LOCATIONS[n % len(LOCATIONS)]
        cof = await control.card_on_file(location, "4111111111111111", "INSTALLMENT")
        with store.transaction() as session:
            customer = members.create_customer(
                session, email=f"w{uuid.uuid4().hex[:8]}@example.com", now=now
            )
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=location,
                standing_instruction="INSTALLMENT", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=now,
            )  # fmt: skip
            spec = booking.EventCreate(
                title=f"Event {n}", location=location, timezone="UTC", local_date=day,
                local_time=clock_time(23, 0), guests=10 + n, per_guest_cents=1_001,
                schedule="late", customer=str(customer.id), mandate_id=mandate.id,
            )  # fmt: skip
            ids.append(booking.create(session, spec, now=now).id or 0)
    return ids


async def test_three_workers_charge_each_milestone_once(
    own_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    from tests.databases import migrated_database_url

    url = migrated_database_url("postgresql", tmp_path)
    store = Store.from_url(url)
    control = SandboxControl.at(own_sandbox.base_url)
    try:
        ids = await _seed(store, control)
        env = worker_env(own_sandbox, url, tick_interval_s=0.2, reconcile_interval_s=1,
                         maintain_interval_s=0.5, concurrency=8, claim_batch_size=5)  # fmt: skip
        workers = [start_worker(env, tmp_path, tmp_path / f"w{i}.log") for i in range(3)]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with store.transaction() as session:
                revoked = session.exec(select(Mandate).where(
                    Mandate.status == MandateStatus.REVOKED)).all()  # fmt: skip
            if len(revoked) == EVENTS:
                break
            time.sleep(0.5)
        assert [stop(w) for w in workers] == [0, 0, 0]
        with store.transaction() as session:
            charges = session.exec(select(Charge)).all()
            attempts = session.exec(select(Attempt)).all()
            events = session.exec(select(CateringEvent)).all()
        assert Counter(c.status for c in charges) == Counter({ChargeStatus.PAID: 3 * EVENTS})
        assert {e.status for e in events} == {"paid_in_full"}  # closed once they start
        succeeded = Counter(a.charge_id for a in attempts if a.status == "succeeded")
        assert set(succeeded.values()) == {1}
        captured = [e for e in await control.items("order-payments")
                    if e["status"] == "CAPTURED"]  # fmt: skip
        assert len(captured) == 3 * EVENTS
        totals = sorted((10 + n) * 1_001 for n in range(EVENTS))
        by_mandate = Counter[str]()
        for e in captured:
            by_mandate[e["mandateId"]] += e["amount"]
        assert sorted(by_mandate.values()) == totals
        assert {c.location_guid for c in charges} == set(LOCATIONS)
        assert len(ids) == EVENTS
    finally:
        await control.aclose()
        store.dispose()
