"""A release run end to end against the sandbox over HTTP, on SQLite and PostgreSQL: the
preview is what is charged, to the cent, once per member, at the winery's local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.clubs import preview, process, service
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus
from billing.errors import DomainError
from billing.sandbox import SandboxHandle
from tests.clubs.club_world import make_club
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
LINES = [("Pinot Noir 2024", 2, 4200), ("Chardonnay 2025", 1, 3150)]


async def test_preview_equals_what_is_charged_to_the_cent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        a = await cw.member(tier="Six", region="CA")
        b = await cw.member(tier="Three", region="NY")
        c = await cw.member(tier="Three", pickup=True)
        rid = cw.release("Spring 2027", date(2027, 3, 20), LINES)
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid))
        amounts = {r["membership_id"]: r["amount_cents"] for r in shown.rows}
        # Six (15 %): 2*4200*0.85=7140, 3150*0.85=2677.5->2678; goods 9818; CA ship 1500;
        # tax 7.25 % of 9818 = 711.805 -> 712: 12030.
        assert amounts[a] == 9818 + 1500 + 712
        # Three (10 %): 7560 + 2835 = 10395; ship 2500; NY 8.875 %: 922.556 -> 923.
        assert amounts[b] == 10395 + 2500 + 923
        # Pickup: no shipping, tax of the club's region (CA): 753.6375 -> 754.
        assert amounts[c] == 10395 + 754
        await w.run_until(START + timedelta(days=90), step=timedelta(days=1))
        charges = cw.club_charges()
        assert sorted(ch.amount_cents for ch in charges) == sorted(amounts.values())
        assert all(ch.status == ChargeStatus.PAID for ch in charges)
        assert {ch.check_item for ch in charges} == {"Spring 2027"}
        payments = await w.control.items("order-payments")
        assert sorted(p["amount"] for p in payments) == sorted(amounts.values())
        # Due at 00:00 in Los Angeles on the release date (PDT by 20 March: 07:00 UTC).
        assert {ch.due_at.isoformat() for ch in charges} == {"2027-03-20T07:00:00+00:00"}
        assert cw.get(rid).status == "processed"
        again = process.process(w.store, rid, now=w.clock.now())
        assert (again.processed, again.why) == (False, "the release is processed")
        assert len(cw.club_charges()) == 3


async def test_unapproved_release_is_not_processed_until_approved(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        await cw.member()
        rid = cw.release("Winter", date(2027, 1, 10), LINES, approve=False)
        await w.run_until(START + timedelta(days=15), step=timedelta(hours=12))
        release = cw.get(rid)
        assert (release.status, cw.club_charges()) == ("open", [])
        assert release.snapshot is not None  # taken at the cutoff all the same
        with w.store.transaction() as session:
            service.approve(session, clubs_store.release(session, rid), now=w.clock.now())
        await w.run_until(START + timedelta(days=17), step=timedelta(hours=12))
        [charge] = cw.club_charges()
        assert charge.status == ChargeStatus.PAID
        assert cw.get(rid).status == "processed"


async def test_auto_approve_club_processes_at_the_local_midnight(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START, auto_approve=True)
        await cw.member()
        cw.release("Winter", date(2027, 1, 10), LINES, approve=False)
        await w.run_until(datetime(2027, 1, 10, 7, 59, 30, tzinfo=UTC), step=timedelta(hours=8))
        assert [c.status for c in cw.club_charges()] == ["scheduled"]  # put at the cutoff
        await w.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        [charge] = cw.club_charges()
        assert charge.status == ChargeStatus.PAID
        assert charge.due_at == datetime(2027, 1, 10, 8, 0, tzinfo=UTC)  # 00:00 PST


async def test_skips_on_hold_cutoff_and_skip_cap(sandbox: SandboxHandle, db_url: str) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        skipper = await cw.member()
        held = await cw.member()
        back = await cw.member()
        payer = await cw.member()
        rids = [cw.release(f"Run {n}", date(2027, 2, 1 + n), LINES) for n in range(4)]
        now = w.clock.now()
        with w.store.transaction() as session:
            for rid in rids[:3]:
                service.skip(session, clubs_store.release(session, rid),
                             clubs_store.membership(session, skipper), now=now)  # fmt: skip
            member = clubs_store.membership(session, held)
            service.hold(session, member, until=date(2027, 6, 1), now=now)
            service.hold(session, clubs_store.membership(session, back), until=date(2027, 2, 2),
                         now=now)  # fmt: skip
        with pytest.raises(DomainError) as capped, w.store.transaction() as session:
            service.skip(session, clubs_store.release(session, rids[3]),
                         clubs_store.membership(session, skipper), now=now)  # fmt: skip
        assert capped.value.field == "skip"
        assert "3 releases in a row" in str(capped.value)
        await w.run_until(START + timedelta(days=45), step=timedelta(hours=12))
        with pytest.raises(DomainError) as late, w.store.transaction() as session:
            service.skip(session, clubs_store.release(session, rids[3]),
                         clubs_store.membership(session, payer), now=w.clock.now())  # fmt: skip
        assert late.value.field == "release"
        assert "cutoff" in str(late.value)
        by_member: dict[int, int] = {}
        for charge in cw.club_charges():
            member_id = int((charge.source_key or "").rsplit(":", 1)[1])
            by_member[member_id] = by_member.get(member_id, 0) + 1
        # skipper: only the 4th run; held: none; back: runs from 2 Feb (the hold's end); payer: all.
        assert by_member == {skipper: 1, back: 4 - 1, payer: 4}
        assert cw.shipment(rids[0], held).status == "on_hold"
        assert cw.shipment(rids[0], skipper).status == "skipped"
        assert cw.membership(skipper).consecutive_skips == 0  # reset by the paid 4th run


async def test_ship_now_is_charged_at_once_and_never_again(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        member = await cw.member()
        other = await cw.member()
        rid = cw.release("Spring", date(2027, 3, 20), LINES)
        with w.store.transaction() as session:
            release, membership = (clubs_store.release(session, rid),
                                   clubs_store.membership(session, member))  # fmt: skip
            ship = service.ship_now(session, release, membership, now=w.clock.now())
            assert ship.status == "charging"
        await w.run_until(START + timedelta(days=1), step=timedelta(hours=6))
        [early] = cw.club_charges()
        assert (early.status, early.due_at) == (ChargeStatus.PAID, START)
        with pytest.raises(DomainError) as twice, w.store.transaction() as session:
            release, membership = (clubs_store.release(session, rid),
                                   clubs_store.membership(session, member))  # fmt: skip
            service.ship_now(session, release, membership, now=w.clock.now())
        assert twice.value.field == "shipment"
        await w.run_until(START + timedelta(days=90), step=timedelta(days=1))
        charges = cw.club_charges()
        assert len(charges) == 2
        assert sorted(c.source_key or "" for c in charges) == sorted(
            clubs_store.charge_key(rid, m) for m in (member, other)
        )
        payments = await w.control.items("order-payments")
        assert len(payments) == 2
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid))
        assert shown.totals["shipped_now"] == 1
        assert shown.totals["chargeable"] == 1


async def test_a_change_after_the_cutoff_is_refused_and_reported(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        await cw.member()
        later = await cw.member()
        rid = cw.release("Winter", date(2027, 1, 10), LINES, approve=False)
        await w.run_until(datetime(2027, 1, 10, 7, 59, 30, tzinfo=UTC), step=timedelta(hours=8))
        assert cw.get(rid).snapshot is not None
        now = w.clock.now()
        with w.store.transaction() as session:  # staff put a member on hold after the cutoff
            service.hold(session, clubs_store.membership(session, later), until=date(2027, 2, 1),
                         now=now)  # fmt: skip
            service.approve(session, clubs_store.release(session, rid), now=now)
        outcome = process.process(w.store, rid, now=now)
        assert not outcome.processed
        assert outcome.differences == [f"member {later}: chargeable 12030c -> on_hold"]
        assert cw.club_charges() == []
        assert "on_hold" in (cw.get(rid).refused or "")
        with w.store.transaction() as session:  # approving again accepts what the preview shows
            service.approve(session, clubs_store.release(session, rid), now=now)
        await w.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        assert [c.status for c in cw.club_charges()] == [ChargeStatus.PAID]


async def test_re_runs_and_a_restart_create_no_second_charge(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        for _ in range(3):
            await cw.member()
        rid = cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(datetime(2027, 1, 10, 7, 59, 30, tzinfo=UTC), step=timedelta(hours=8))
        assert len(cw.club_charges()) == 3
        for _ in range(2):
            assert process.run(w.store, now=w.clock.now()) == 0
            again = process.process(w.store, rid, now=w.clock.now())  # resumes: nothing left
            assert (again.processed, again.charges, again.done) == (True, 0, True)
    async with world(sandbox, db_url, datetime(2027, 1, 10, 8, 0, tzinfo=UTC)) as again:
        await again.run_until(START + timedelta(days=12), step=timedelta(hours=8))
        charges = [c for c in again.charges() if c.source == "club"]
        assert [c.status for c in charges] == [ChargeStatus.PAID] * 3
        payments = await again.control.items("order-payments")
        assert len(payments) == 3


async def test_blocked_members_are_listed_with_the_reason_and_not_charged(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        good = await cw.member()
        expired = await cw.member(exp=(2, 2027))  # expires before the March release
        nocard = cw.member_without_card()
        nowhere = await cw.member(region="TX")  # shipping "*" applies, but no tax rate for TX
        rid = cw.release("Spring", date(2027, 3, 20), LINES)
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid))
        rows = {r["membership_id"]: r for r in shown.rows}
        assert rows[good]["category"] == "chargeable"
        assert (rows[expired]["category"], rows[expired]["reason"]) == (
            "blocked", "card expired 02/27: ask for a new card")
        assert rows[nocard]["category"] == "blocked"
        assert "no mandate" in rows[nocard]["reason"]
        assert rows[nowhere]["reason"] == "no tax rate for region 'TX'"
        assert (shown.totals["chargeable"], shown.totals["blocked"]) == (1, 3)
        assert shown.totals["chargeable_cents"] == rows[good]["amount_cents"]
        await w.run_until(START + timedelta(days=90), step=timedelta(days=1))
        assert [c.source_key for c in cw.club_charges()] == [clubs_store.charge_key(rid, good)]
        assert cw.shipment(rid, expired).status == "blocked"
