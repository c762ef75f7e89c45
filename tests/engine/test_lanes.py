"""Lanes that keep time: a stop drains, leases move on heartbeats, a spent login never freezes."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from billing import wiring
from billing.clock import SystemClock
from billing.domain.states import AttemptStatus, ChargeStatus
from billing.engine import phases, recovery, runner
from billing.engine.sweeper import StopReport
from billing.manage import alerts
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import lose_response
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Attempt, Charge
from tests.engine.conftest import LOC_A, LOC_B, START
from tests.engine.world import World, engine_settings, wait_for, world

pytestmark = pytest.mark.anyio
LOGIN = ("POST", r"/authentication/v1/authentication/login$")


def attempts(store: Store) -> list[Attempt]:
    with store.transaction() as session:
        return list(session.exec(select(Attempt).order_by(Attempt.id)).all())  # type: ignore[arg-type]


async def serve_until(
    settings: BillingSettings, store: Store, status: AttemptStatus, count: int, *, what: str
) -> StopReport:
    """Run the engine until ``count`` attempts have ``status``, then stop it; its stop report."""
    stop = asyncio.Event()
    async with wiring.engine(settings, clock=SystemClock(), store=store) as engine:
        serving = asyncio.create_task(runner.serve(engine, stop=stop))
        await wait_for(lambda: sum(a.status == status for a in attempts(store)) == count,
                       what=what)  # fmt: skip
        stop.set()
        return await asyncio.wait_for(serving, 60)


@pytest.fixture
def live_sandbox() -> Iterator[SandboxHandle]:
    """A sandbox on real time (an authorization is voided 300 s after it is granted)."""
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), rate_per_second=10_000, rate_per_15min=10_000_000
    )
    with running_sandbox(config) as handle:
        yield handle


async def test_stop_releases_unsent_claims_and_finishes_in_flight_charges(
    live_sandbox: SandboxHandle, sqlite_url: str
) -> None:
    # Given 6 fees due, a worker with 2 slots that claims 4 at a time, and Toast holding the
    # answer of every confirm for 5 s after it authorized
    async with world(live_sandbox, sqlite_url, SystemClock().now()) as w:
        for n in range(6):
            await w.fee(amount=1000 + n)
        await w.control.faults(
            {"method": "POST", "path": r"/payment-intents/[^/]+/confirm$",
             "holdResponseMs": {"value": 5000}}
        )  # fmt: skip
    settings = engine_settings(
        live_sandbox, sqlite_url, concurrency=2, claim_batch_size=4, tick_interval_s=0.2,
        reconcile_interval_s=0.2, lease_s=4,
    )  # fmt: skip
    settings.toast.confirm_timeout_s = 60  # the held answers arrive, later
    store = Store.from_url(sqlite_url)
    try:
        # When the stop comes while two confirms are held (two claimed charges wait for a
        # slot, which they cannot get for 5 s)
        report = await serve_until(
            settings, store, AttemptStatus.CONFIRM_SENT, 2, what="two confirms in flight"
        )
        # Then the two in flight finished their sequence and were paid, the two waiting were
        # released unsent, and the stop is clean
        assert report.clean, report.line()
        assert (report.finished, report.released, report.left_in_flight) == (2, 2, 0)
        rows = attempts(store)
        released = [a for a in rows if a.status == AttemptStatus.ABANDONED]
        outcome = [(a.status, a.error) for a in rows]
        assert sum(a.status == AttemptStatus.SUCCEEDED for a in rows) == 2, outcome
        assert [a.error for a in released] == ["worker stopping", "worker stopping"]
        assert all(a.settled_at is not None for a in rows)
        # and the released charges are due again at once, for any worker
        async with world(live_sandbox, sqlite_url, SystemClock().now()) as w2:
            by_id = {c.id: c for c in w2.charges()}
            for attempt in released:
                charge = by_id[attempt.charge_id]
                assert charge.status == ChargeStatus.SCHEDULED
                assert charge.next_attempt_at <= SystemClock().now()
                assert charge.lease_owner is None
            assert (await w2.control.stats())["voids"] == 0
    finally:
        store.dispose()


async def test_a_live_workers_attempt_is_not_taken_a_dead_ones_is_within_its_lease(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START, lease_s=30) as w:
        await w.fee(amount=1200)
        owner = w.engine.owner
        [job] = await w.engine.charger.db(
            phases.begin_due, owner=owner, now=w.clock.now(), lease_s=30, limit=10
        )
        # While the owner beats, its attempt is never due for another worker's rescue
        for _ in range(4):
            w.clock.advance(timedelta(seconds=20))
            phases.renew(w.store, owner=owner, attempt_ids=[job.attempt_id],
                         until=w.clock.now() + timedelta(seconds=30))  # fmt: skip
            assert recovery.claim_stale(
                w.store, now=w.clock.now(), lease_s=30, limit=10, owner="other"
            ) == []
        # Once it stops beating, another worker takes the attempt over within the lease
        w.clock.advance(timedelta(seconds=30))
        [taken] = recovery.claim_stale(w.store, now=w.clock.now(), lease_s=30, limit=10,
                                       owner="other")  # fmt: skip
        assert taken.attempt_id == job.attempt_id
        # and the first owner's late heartbeat no longer renews it
        assert phases.renew(w.store, owner=owner, attempt_ids=[job.attempt_id],
                            until=w.clock.now() + timedelta(hours=1)) == 0  # fmt: skip
        # The taken-over attempt never reached Toast: the charge is due again at once
        await w.engine.reconciler.settle(taken)
        [charge] = w.charges()
        assert charge.status == ChargeStatus.SCHEDULED
        assert charge.next_attempt_at == w.clock.now()


async def paid_count(w: World) -> int:
    return sum(c.status == ChargeStatus.PAID for c in w.charges())


async def test_two_lost_login_answers_do_not_stop_charging(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        await w.fee(amount=1500)
        await w.engine.tick()
        assert await paid_count(w) == 1
        # Given the tokens were invalidated and the next two login answers are lost
        await w.control.invalidate_tokens()
        await w.control.faults(lose_response(*LOGIN, hits=2))
        await w.fee(amount=1600)
        # When the engine ticks
        await w.engine.tick()
        # Then the login is retried at once and the charge is collected in that same pass
        assert await paid_count(w) == 2
        logins = await w.control.requests(path="/authentication/v1/authentication/login")
        assert [r["fault"] for r in logins][-3:] == ["lost_response", "lost_response", None]
        stats = await w.control.stats()
        assert stats["voids"] == 0
        # and no location's limiter was blocked
        assert w.engine.client.requester.limiter._key(w.location).blocked_until == 0.0


async def test_a_spent_login_budget_stops_new_charges_and_resumes_when_allowed(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        # Given both logins of this hour were spent (tokens invalidated twice)
        await w.fee(amount=1000)
        await w.engine.tick()
        await w.control.invalidate_tokens()
        await w.fee(amount=1100)
        await w.engine.tick()
        assert await paid_count(w) == 2
        await w.control.invalidate_tokens()
        # When charges fall due and the token is refused again
        await w.fee(amount=1200)
        await w.fee(amount=1300)
        await w.engine.tick()
        await w.engine.tick()
        # Then nothing was sent that could authorize, nothing is stuck, and the engine says so
        assert await paid_count(w) == 2
        rows = attempts(w.store)
        open_rows = [a for a in rows if a.settled_at is None]
        assert open_rows == []
        assert {a.status for a in rows} <= {AttemptStatus.SUCCEEDED, AttemptStatus.ABANDONED}
        with w.store.transaction() as session:
            found = alerts.engine_alerts(session, now=w.clock.now())
        assert [a.kind for a in found] == ["toast login not allowed"]
        assert w.engine.health.problems
        # And as soon as the budget allows a login (an hour on), charging resumes by itself
        w.clock.advance(timedelta(hours=1, seconds=1))
        await w.run_until(w.clock.now() + timedelta(minutes=5), step=timedelta(minutes=1))
        assert await paid_count(w) == 4
        with w.store.transaction() as session:
            assert alerts.engine_alerts(session, now=w.clock.now()) == []
        assert w.engine.health.problems == []
        issued = (await w.control.stats())["loginsIssued"]
        assert issued == 3  # two in the first hour, one after it


SIX = tuple(str(uuid.UUID(int=0x5B1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(6))


@pytest.fixture
def six_locations() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=SIX, rate_per_second=10_000, rate_per_15min=10_000_000)
    with running_sandbox(config) as handle:
        yield handle


async def test_a_sweep_reaches_every_location_early_when_batches_are_smaller(
    six_locations: SandboxHandle, sqlite_url: str
) -> None:
    # Given 5 fees due at each of 6 locations, and a worker with 2 slots that claims at most 4
    # charges at a time (fewer than its locations)
    async with world(six_locations, sqlite_url, SystemClock().now()) as w:
        for location in SIX:
            w.location = location
            for n in range(5):
                await w.fee(amount=1000 + n)
    settings = engine_settings(
        six_locations, sqlite_url, concurrency=2, claim_batch_size=4, tick_interval_s=0.2
    )
    store = Store.from_url(sqlite_url)
    try:
        # When it sweeps them all
        await serve_until(settings, store, AttemptStatus.SUCCEEDED, 30, what="every fee paid")
        # Then its first 12 attempts already reached all six locations: a batch too small for
        # every location gives its shortfall to different locations each time, never leaving
        # the same ones for the end (a fixed order served 4 locations until they ran dry)
        with store.transaction() as session:
            where = dict(session.exec(select(Charge.id, Charge.location_guid)).all())
        first = [where[a.charge_id] for a in attempts(store)[:12]]
        assert set(first) == set(SIX), Counter(first)
    finally:
        store.dispose()
