"""Location leases between workers (on SQLite files and PostgreSQL): the split, the handover
wait, the 15-minute log carried over, and never two owners at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.clock import FakeClock
from billing.engine import ownership
from billing.engine.ownership import Ownership
from billing.store import location_leases as ll
from billing.store.db import Store
from billing.toast.ratelimit import RateLimiter
from tests.databases import migrated_database_url

LOCS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(5)]
T0 = datetime(2026, 12, 2, tzinfo=UTC)


@given(st.integers(0, 60), st.integers(1, 30))
def test_shares_cover_every_location(total: int, live: int) -> None:
    low, high = ownership.shares(total, live)
    assert low * live <= total <= high * live
    assert high - low <= 1


def test_a_worker_over_its_share_gives_up_the_excess() -> None:
    assert ownership.surplus(10, [], 2, 10, 3) == 6  # it took all before the others came
    assert ownership.surplus(4, [4, 2], 0, 10, 3) == 1  # at ceil while another is below floor
    assert ownership.surplus(4, [3, 3], 0, 10, 3) == 0
    assert ownership.wanted(0, 10, 3) == 3
    assert ownership.wanted(3, 10, 3) == 1
    assert ownership.wanted(4, 10, 3) == 0


def test_the_send_log_round_trips_conservatively() -> None:
    wall = T0
    buckets = ownership.to_buckets([100.0, 100.5, 101.0, 107.0], mono_now=110.0, wall_now=wall)
    assert sum(n for _, n in buckets) == 4
    lease = ll.Lease("x", "w1", wall, buckets, wall)  # released cleanly at ``wall``
    instants, start = ownership.from_lease(
        lease, mono_now=500.0, wall_now=wall, per_second=20, window_s=1.0, most=10_000
    )
    assert len(instants) == 4
    sent = [100, 100.5, 101, 107]  # never counted earlier than they were
    assert all(i >= t + 390.0 for i, t in zip(sorted(instants), sent, strict=True))
    assert start == pytest.approx(500.0 + 1.0 + ownership.HANDOVER_MARGIN_S)
    crashed = ll.Lease("x", "w1", wall + timedelta(seconds=30), [], wall)
    instants, start = ownership.from_lease(
        crashed, mono_now=500.0, wall_now=wall, per_second=20, window_s=1.0, most=10_000
    )
    assert len(instants) == 20 * 31  # the worst it may have sent after its last write
    assert start == pytest.approx(531.0 + ownership.HANDOVER_MARGIN_S)
    # A simulated clock can leave a year between the last write and the expiry: the assumed
    # sends stop at the largest limit (it once made a list of 630 million and ran out of memory).
    asleep = ll.Lease("x", "w1", wall + timedelta(days=365), [], wall)
    instants, _ = ownership.from_lease(
        asleep, mono_now=500.0, wall_now=wall, per_second=20, window_s=1.0, most=10_000
    )
    assert len(instants) == 10_000


def _seed_locations(store: Store) -> None:
    with store.connection() as conn:
        conn.exec_driver_sql("DELETE FROM location_lease")
        for loc in LOCS:
            conn.execute(ll._REGISTER[ll._dialect(conn)], {"location": loc, "epoch": ll.EPOCH})


def _worker(store: Store, name: str, wall: FakeClock) -> Ownership:
    limiter = RateLimiter(per_second=20, per_15min=10_000, clock=wall)
    return Ownership(store=store, limiter=limiter, owner=name, lease_s=30, wall=wall)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Ownership, Ownership, FakeClock]]:
    """Two workers, a and b, on one store with the five locations registered (free)."""
    store = Store.from_url(migrated_database_url(request.param, tmp_path))
    wall = FakeClock(T0)
    try:
        _seed_locations(store)
        yield _worker(store, "a", wall), _worker(store, "b", wall), wall
    finally:
        store.dispose()


def test_workers_split_locations_hand_over_and_never_overlap(
    pair: tuple[Ownership, Ownership, FakeClock],
) -> None:
    a, b, wall = pair

    async def run() -> None:
        await a.refresh(set(), business_now=T0, force=True)
        assert a.claimable() == LOCS  # alone: it takes everything
        await a.limiter.acquire(LOCS[0])
        a.limiter.done(LOCS[0])
        await b.refresh(set(), business_now=T0, force=True)
        assert b.claimable() == []  # all held by a
        # a sees two live workers: 3 is its most; busy locations are not given up yet
        await a.refresh({LOCS[0]}, business_now=T0, force=True)
        assert len(a.claimable()) == 3
        assert LOCS[0] in a.owned
        wall.advance(timedelta(seconds=1))
        await b.refresh(set(), business_now=T0, force=True)
        assert len(b.owned) == 2
        assert not a.owned & b.owned
        # b may send there only one window after a let go (a clean release)
        for loc in b.owned:
            state = b.limiter._key(loc)
            assert state.send_from == pytest.approx(
                wall.monotonic() - 1 + 1 + ownership.HANDOVER_MARGIN_S
            )
        # a is stopped: b takes the rest without waiting a lease (clean releases)
        await a.release_all(set())
        wall.advance(timedelta(seconds=1))
        await b.refresh(set(), business_now=T0, force=True)
        await b.refresh(set(), business_now=T0, force=True)
        assert sorted(b.owned) == LOCS
        # the request a sent at LOCS[0] is in b's 15-minute count
        instants, _ = b.limiter.export(LOCS[0])
        assert len(instants) == 1

    asyncio.run(run())


def test_a_worker_dead_before_its_first_renew_costs_the_next_owner_one_lease_of_sends(
    pair: tuple[Ownership, Ownership, FakeClock],
) -> None:
    a, b, wall = pair

    async def run() -> None:
        # Given a worker that took every location, then died before renewing any lease
        await a.refresh(set(), business_now=T0, force=True)
        assert a.claimable() == LOCS
        wall.advance(timedelta(seconds=31))  # its 30 s leases lapse
        # When another worker takes them over
        await b.refresh(set(), business_now=T0, force=True)
        assert sorted(b.owned) == LOCS
        # Then it assumes the dead one sent flat out for the lease it held (20/s for 30 s,
        # plus a window), not the 15-minute limit's 10,000 (which blocked each location for
        # 15 minutes: the lease's registration epoch was taken for its last write)
        for loc in LOCS:
            instants, _ = b.limiter.export(loc)
            assert len(instants) == 20 * (30 + 1)

    asyncio.run(run())
