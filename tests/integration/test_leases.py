"""Leases: workers claim disjoint batches; an expired lease is claimable again."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import select

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
