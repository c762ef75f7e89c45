"""Three `billing run` processes on one PostgreSQL database collect reservation fees while the
reservation system reports each no-show three times at once: one payment per reservation."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from billing import wiring
from billing.clock import SystemClock
from billing.enroll import api
from billing.reservations import policies
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Charge, Mandate
from tests.databases import migrated_database_url
from tests.engine.conftest import LOC_A
from tests.engine.workers import start_worker, stop, worker_env
from tests.reservations.conftest import AUTH, _settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]
RESERVATIONS = 20


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def process_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=(LOC_A,), rate_per_second=10_000, rate_per_15min=10**8)
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def _book(http: httpx.AsyncClient, sandbox: SandboxHandle, n: int) -> None:
    slot = SystemClock().now() + timedelta(minutes=5)
    body = {"reference": f"W-{n}", "slot": slot.isoformat(), "party_size": 1 + n % 5,
            "customer": {"email": f"w{n}@example.com"}}  # fmt: skip
    booked = await http.post("/v1/reservations", json=body,
                             headers={**AUTH, "Idempotency-Key": f"w-{n}"})  # fmt: skip
    assert booked.status_code == 201, booked.text
    checkout = booked.json()["enrollment"]
    card = {"sessionSecret": checkout["session_secret"], "authorize": True, "card": {
        "number": "4111111111111111", "cvv": "123", "expiry": {"month": "12", "year": "30"}}}
    async with httpx.AsyncClient(base_url=sandbox.base_url) as browser:
        assert (await browser.post("/__sandbox__/checkout/confirm", json=card)).is_success
    done = await http.post(f"/v1/enrollments/{checkout['id']}/complete", headers=AUTH)
    assert done.json()["status"] == "completed", done.text


async def test_three_workers_and_triple_reports_make_one_payment_per_reservation(
    process_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    url = migrated_database_url("postgresql", tmp_path)
    store = Store.from_url(url)
    settings = _settings(process_sandbox, url)
    with store.transaction() as session:
        policies.create(session, policies.PolicySpec(
            code="w", name="Walk-in", per="person", amount_cents=1000, cap_cents=3000,
            consent_text="$10 per guest, at most $30", location_guid=LOC_A,
            confirm_delay_minutes=0, last_moment_hours=1), now=SystemClock().now())  # fmt: skip
    app = api.create_app(settings, store, lambda: wiring.toast_client(settings, store),
                         SystemClock())  # fmt: skip
    control = SandboxControl.at(process_sandbox.base_url)
    transport = httpx.ASGITransport(app=app)
    workers = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as http:
            for n in range(RESERVATIONS):
                await _book(http, process_sandbox, n)
            env = worker_env(process_sandbox, url, tick_interval_s=0.2, reconcile_interval_s=1,
                             maintain_interval_s=1)  # fmt: skip
            workers = [start_worker(env, tmp_path, tmp_path / f"w{i}.log") for i in range(3)]
            replies = await asyncio.gather(*(
                http.post(f"/v1/reservations/W-{n}/status", headers=AUTH,
                          json={"report_id": f"noshow-{n}", "status": "no_show"})
                for n in range(RESERVATIONS) for _ in range(3)
            ))  # fmt: skip
            assert {r.status_code for r in replies} == {200}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with store.transaction() as session:
                paid = session.exec(select(Charge).where(Charge.status == "paid")).all()
                revoked = session.exec(select(Mandate).where(Mandate.status == "revoked")).all()
            if len(paid) == len(revoked) == RESERVATIONS:  # and every consent ended
                break
            await asyncio.sleep(0.5)
        assert [stop(w) for w in workers] == [0, 0, 0]
        workers = []
        with store.transaction() as session:
            charges = session.exec(select(Charge)).all()
        assert Counter(c.status for c in charges) == Counter({"paid": RESERVATIONS})
        assert len(revoked) == RESERVATIONS
        assert len({c.source_key for c in charges}) == RESERVATIONS
        captured = [e for e in await control.items("order-payments") if e["status"] == "CAPTURED"]
        want = sorted(min(1000 * (1 + n % 5), 3000) for n in range(RESERVATIONS))
        assert sorted(e["amount"] for e in captured) == want
    finally:
        for w in workers:
            stop(w)
        await control.aclose()
        store.dispose()
