"""Leases: workers claim disjoint batches; an expired lease is claimable again."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from billing.engine.holdings import Holdings
from billing.store import leases
from billing.store.db import Store
from billing.store.tables import Charge
from tests import factories

NOW = factories.T0


def _seed(store: Store, count: int) -> None:
    with store.transaction() as session:
        sub = factories.subscription(session)
        for cycle in range(count):
            factories.charge(session, sub, cycle, due=NOW - timedelta(minutes=cycle))


def test_claim_leases_due_charges_and_not_twice(store: Store) -> None:
    _seed(store, 5)
    with store.transaction() as session:
        first = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=3)
    with store.transaction() as session:
        second = leases.claim_due(session, owner="w2", now=NOW, lease_s=60, limit=10)
    assert len(first) == 3
    assert len(second) == 2
    assert set(first).isdisjoint(second)


def test_expired_lease_is_claimable_again(store: Store) -> None:
    _seed(store, 1)
    with store.transaction() as session:
        [claimed] = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=1)
    later = NOW + timedelta(seconds=61)
    with store.transaction() as session:
        again = leases.claim_due(session, owner="w2", now=later, lease_s=60, limit=1)
    assert again == [claimed]
    with store.transaction() as session:
        assert leases.leased_to(session, again) == {claimed: "w2"}


def test_release_returns_only_own_leases(store: Store) -> None:
    _seed(store, 2)
    with store.transaction() as session:
        mine = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=2)
    ids = mine
    with store.transaction() as session:
        assert leases.release(session, charge_ids=ids, owner="someone-else") == 0
        assert leases.release(session, charge_ids=ids, owner="w1") == 2
    with store.transaction() as session:
        assert all(c.lease_owner is None for c in session.exec(select(Charge)).all())


def test_concurrent_workers_claim_disjoint_sets(store: Store) -> None:
    # Given 60 due charges and four workers claiming concurrently in small batches
    _seed(store, 60)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        got: list[int] = []
        while True:
            with store.transaction() as session:
                batch = leases.claim_due(session, owner=name, now=NOW, lease_s=600, limit=7)
                got += batch
            if not batch:
                break
        claimed[name] = got

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every charge is claimed exactly once
    everything = [cid for ids in claimed.values() for cid in ids]
    assert len(everything) == 60
    assert len(set(everything)) == 60


LOCATIONS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(4)]


def _seed_at_locations(store: Store, per_location: dict[str, int]) -> None:
    """Charges all due at one instant, created location after location (ids in that order)."""
    with store.transaction() as session:
        sub = factories.subscription(session)
        cycle = 0
        for location, count in per_location.items():
            for _ in range(count):
                charge = factories.charge(session, sub, cycle, due=NOW)
                charge.location_guid = location
                cycle += 1


def _locations_of(store: Store, ids: list[int]) -> list[str]:
    with store.transaction() as session:
        rows = session.exec(select(Charge).where(Charge.id.in_(ids))).all()  # type: ignore[union-attr]
        return [r.location_guid for r in rows]


def _location_by_id(store: Store, ids: list[int]) -> dict[int, str]:
    with store.transaction() as session:
        rows = session.exec(select(Charge).where(Charge.id.in_(ids))).all()  # type: ignore[union-attr]
        return {r.id or 0: r.location_guid for r in rows}


def test_a_batch_takes_a_fair_share_at_each_owned_location(store: Store) -> None:
    # Given 40 charges due at one instant at each of 4 locations (ids location after location)
    _seed_at_locations(store, dict.fromkeys(LOCATIONS, 40))
    # When a worker owning all four claims a batch of 8
    with store.transaction() as session:
        ids = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=8,
                               only_locations=LOCATIONS)  # fmt: skip
    # Then it holds 2 at each, not 8 of the first location
    assert sorted(_locations_of(store, ids)) == sorted(LOCATIONS * 2)


def test_the_rest_of_a_batch_comes_from_where_the_work_is(store: Store) -> None:
    # Given work at one location only, and a little at another
    _seed_at_locations(store, {LOCATIONS[0]: 20, LOCATIONS[1]: 1})
    with store.transaction() as session:
        ids = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=8,
                               only_locations=LOCATIONS)  # fmt: skip
    # Then the batch is still full, and nothing is claimed twice
    assert len(ids) == len(set(ids)) == 8
    assert sorted(_locations_of(store, ids)) == sorted([LOCATIONS[0]] * 7 + [LOCATIONS[1]])


def test_batches_too_small_for_every_location_leave_none_for_last(store: Store) -> None:
    # Given 6 charges due at each of 4 locations, and a worker whose batches hold 3
    _seed_at_locations(store, dict.fromkeys(LOCATIONS, 6))
    holdings = Holdings()
    drained: list[list[str]] = []
    turn = 0
    for _ in range(8):
        # When it claims, offering its locations least held first and starting where the last
        # claim stopped (as the sweeper does), and finishes each batch before the next claim
        order = holdings.least_held_first(LOCATIONS, turn)
        with store.transaction() as session:
            ids = leases.claim_due(session, owner="w1", now=NOW, lease_s=60, limit=3,
                                   only_locations=order)  # fmt: skip
        at = _location_by_id(store, ids)
        for charge_id in ids:
            holdings.add(charge_id, at[charge_id])
        drained.append([at[charge_id] for charge_id in ids])
        turn += len(set(drained[-1]))
        for charge_id in ids:
            holdings.discard(charge_id)
    # Then the short share turns: after every 4 claims (12 charges) each location has had 3,
    # where a fixed order would leave the last location nothing until the others ran dry
    for end in (4, 8):
        counts = Counter(loc for batch in drained[:end] for loc in batch)
        assert [counts[loc] for loc in LOCATIONS] == [3 * end // 4] * 4
    assert sum(len(batch) for batch in drained) == 24
