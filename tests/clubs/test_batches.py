"""A release processed in batches of members (``billing.clubs.batches``), on SQLite and
PostgreSQL, against the sandbox over HTTP: a crash part-way (injected, between and inside
batches) resumes with exactly one charge per chargeable member; a second worker that planned
the same batch charges nothing; a change found in a later batch halts the release with the
difference reported until staff approve again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from billing.clubs import batches, preview, process, service
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus
from billing.sandbox import SandboxHandle
from billing.store.db import Store
from tests.clubs.club_world import ClubWorld, make_club
from tests.databases import migrated_database_url
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
LINES = [("Pinot Noir 2024", 2, 4200)]
CUTOFF = datetime(2027, 1, 10, 7, 59, tzinfo=UTC)  # 00:00 PST on 10 January, less a minute
AFTER = CUTOFF + timedelta(seconds=30)


class Crash(Exception):
    """A worker dies here (its open transaction rolls back, as on a kill)."""


def crash_at(point: str, number: int) -> batches.Fault:
    def fault(at: str, n: int) -> None:
        if (at, n) == (point, number):
            raise Crash(f"{at} {n}")

    return fault


async def _club_of_six(cw: ClubWorld) -> tuple[int, list[int], int]:
    """Six members (the third skips), a release approved: (release, members, the skipper)."""
    ids = [await cw.member() for _ in range(6)]
    rid = cw.release("Winter", date(2027, 1, 10), LINES)
    with cw.w.store.transaction() as session:
        service.skip(session, clubs_store.release(session, rid),
                     clubs_store.membership(session, ids[2]), now=cw.w.clock.now())  # fmt: skip
    return rid, ids, ids[2]


def _keys(cw: ClubWorld) -> Counter[str]:
    return Counter(c.source_key or "" for c in cw.club_charges())


async def test_a_crash_part_way_resumes_with_one_charge_per_member(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        rid, ids, skipper = await _club_of_six(cw)
        # Given batches of 2 members: the worker dies inside the second batch, after its
        # door charges were put but before its commit
        with pytest.raises(Crash):
            process.process(w.store, rid, now=AFTER, size=2, fault=crash_at("charged", 1))
        # Then the first batch stands, the second left nothing behind
        release = cw.get(rid)
        assert (release.status, release.charged_through) == ("processing", ids[1])
        assert set(_keys(cw)) == {clubs_store.charge_key(rid, m) for m in ids[:2]}
        with w.store.transaction() as session:  # its shipments were rolled back too
            assert clubs_store.shipment(session, rid, ids[3]) is None
        # When another worker dies between batches (before it planned the third one)
        with pytest.raises(Crash):
            process.process(w.store, rid, now=AFTER, size=2, fault=crash_at("planned", 1))
        assert cw.get(rid).charged_through == ids[3]  # the second batch charged this time
        # and a third resumes and finishes
        done = process.process(w.store, rid, now=AFTER, size=2)
        assert (done.processed, done.done, done.charges) == (True, True, 2)  # 5th and 6th
        assert cw.get(rid).charged_through == batches.ALL
        # Then one charge per chargeable member (the skipper none), whatever ran again
        again = process.process(w.store, rid, now=AFTER, size=2)
        assert (again.charges, again.done) == (0, True)
        chargeable = [m for m in ids if m != skipper]
        assert _keys(cw) == Counter({clubs_store.charge_key(rid, m): 1 for m in chargeable})
        assert cw.shipment(rid, skipper).status == "skipped"
        assert cw.get(rid).status == "processing"  # not processed before its charges settle
        # And the engine collects them once each; the release is processed
        await w.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        assert [c.status for c in cw.club_charges()] == [ChargeStatus.PAID] * 5
        assert len(await w.control.items("order-payments")) == 5
        assert cw.get(rid).status == "processed"


async def test_a_change_found_in_a_later_batch_halts_until_approved(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        rid, ids, _ = await _club_of_six(cw)
        # Given the first batch charged, then the worker dies
        with pytest.raises(Crash):
            process.process(w.store, rid, now=AFTER, size=2, fault=crash_at("planned", 1))
        # When staff put a member of a later batch on hold after the cutoff
        with w.store.transaction() as session:
            service.hold(session, clubs_store.membership(session, ids[4]),
                         until=date(2027, 3, 1), now=AFTER)  # fmt: skip
        # Then the batch that holds them is refused, the difference reported, nothing of
        # it (or after it) charged
        halted = process.process(w.store, rid, now=AFTER, size=2)
        assert not halted.processed
        assert halted.differences == [f"member {ids[4]}: chargeable 9158c -> on_hold"]
        release = cw.get(rid)
        assert release.status == "processing"
        assert "on_hold" in (release.refused or "")
        charged = {clubs_store.charge_key(rid, m) for m in ids[:2]} | {
            clubs_store.charge_key(rid, ids[3])}  # fmt: skip
        assert set(_keys(cw)) == charged
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid), now=AFTER)
        assert shown.differences == halted.differences
        # When staff approve again: the members not charged yet are taken as they are now
        with w.store.transaction() as session:
            service.approve(session, clubs_store.release(session, rid), now=AFTER)
        await w.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        keys = _keys(cw)
        assert set(keys) == charged | {clubs_store.charge_key(rid, ids[5])}
        assert set(keys.values()) == {1}
        assert cw.shipment(rid, ids[4]).status == "on_hold"
        assert cw.get(rid).status == "processed"


async def test_a_second_worker_on_the_same_batch_charges_nothing(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """PostgreSQL (several workers share it; on SQLite a batch holds the one write lock, so
    two never overlap): worker A plans a batch, worker B charges that batch meanwhile."""
    url = migrated_database_url("postgresql", tmp_path)
    async with world(sandbox, url, START) as w:
        cw = make_club(w, now=START)
        rid, ids, skipper = await _club_of_six(cw)
        other = Store.from_url(url)  # worker B: its own connections
        b_charges: list[int] = []

        def b_runs_first(at: str, n: int) -> None:
            if (at, n) == ("planned", 0):
                b_charges.append(batches.charge_next(other, rid, now=AFTER, size=2).charges)

        try:
            a = process.process(w.store, rid, now=AFTER, size=2, fault=b_runs_first)
        finally:
            other.dispose()
        assert b_charges == [2]
        assert a.charges == 3  # the batches after B's; B's batch was charged once
        chargeable = [m for m in ids if m != skipper]
        assert _keys(cw) == Counter({clubs_store.charge_key(rid, m): 1 for m in chargeable})
        await w.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        assert len(await w.control.items("order-payments")) == 5
        assert cw.get(rid).status == "processed"
