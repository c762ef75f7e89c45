"""Decline recovery for releases against the sandbox over HTTP: the club's rebilling policy
(daily for 10 days, then the shipment is skipped and listed in the failed-billing report),
the card networks' cap of 15 attempts counted across retries and card updates, and archived
releases never charged again, not even after a card update."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.clubs import reports, service
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus
from billing.notify import outbox
from billing.sandbox import SandboxHandle
from billing.settings import NotifySettings
from billing.store.tables import Message
from tests.clubs.club_world import make_club
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
LINES = [("Syrah 2023", 3, 3800)]
ALWAYS_DECLINES = "4000000000000275"
DECLINES_TWICE = "4000000000000341"


async def test_daily_rebilling_then_the_shipment_is_skipped_and_reported(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        lost = await cw.member(card=ALWAYS_DECLINES)
        late = await cw.member(card=DECLINES_TWICE)
        rid = cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(START + timedelta(days=30), step=timedelta(hours=6))
        by_key = {c.source_key: c for c in cw.club_charges()}
        failed = by_key[clubs_store.charge_key(rid, lost)]
        paid = by_key[clubs_store.charge_key(rid, late)]
        assert (failed.status, failed.attempt_count) == (ChargeStatus.FAILED, 11)  # 1 + 10
        attempts = sorted(a.created_at for a in cw.attempts(failed.id or 0))
        gaps = {later - earlier for earlier, later in itertools.pairwise(attempts)}
        assert gaps == {timedelta(days=1)}  # daily
        assert (paid.status, paid.attempt_count) == (ChargeStatus.PAID, 3)
        ship = cw.shipment(rid, lost)
        assert ship.status == "skipped"
        assert ship.failed_at is not None
        assert cw.shipment(rid, late).status == "paid"
        with w.store.transaction() as session:
            [row] = reports.failed_billing(session)
            run = reports.club_run(session, rid)
        assert (row["membership_id"], row["attempts"]) == (lost, 11)
        assert run["counts"]["charged"] == 1
        assert run["counts"]["recovered"] == 1
        assert run["counts"]["billing_failed"] == 1
        assert run["revenue_cents"] == paid.amount_cents
        assert run["revenue_by_location"] == {"Winery": paid.amount_cents}
        assert run["status"] == "processed"


async def test_card_updates_count_against_the_cap_of_15_attempts(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        # A policy of 20 daily retries: only the card networks' cap stops it.
        cw = make_club(w, now=START, retry_days=tuple(range(1, 21)))
        member = await cw.member(card=ALWAYS_DECLINES)
        rid = cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(START + timedelta(days=11), step=timedelta(hours=6))
        for _ in range(6):  # six card updates, each re-attempted at once
            await cw.new_card(member, ALWAYS_DECLINES)
            await w.run_until(w.clock.now() + timedelta(days=1), step=timedelta(hours=6))
        await w.run_until(START + timedelta(days=45), step=timedelta(hours=6))
        [charge] = cw.club_charges()
        assert charge.status == ChargeStatus.FAILED
        assert charge.attempt_count == len(cw.attempts(charge.id or 0)) == 15
        assert cw.shipment(rid, member).status == "skipped"


async def test_archived_release_is_never_charged_after_a_card_update(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        member = await cw.member(card=ALWAYS_DECLINES)
        old = cw.release("Winter", date(2027, 1, 10), LINES)
        new = cw.release("Spring", date(2027, 1, 20), LINES)
        await w.run_until(START + timedelta(days=11), step=timedelta(hours=6))
        [declined] = cw.club_charges()
        assert declined.status == ChargeStatus.RETRY_SCHEDULED
        with w.store.transaction() as session:
            service.archive(session, clubs_store.release(session, old), now=w.clock.now())
        await cw.new_card(member)  # a good card now
        await w.run_until(START + timedelta(days=25), step=timedelta(hours=6))
        by_key = {c.source_key: c for c in cw.club_charges()}
        archived = by_key[clubs_store.charge_key(old, member)]
        assert (archived.status, archived.attempt_count) == (
            ChargeStatus.CANCELLED, declined.attempt_count
        )
        assert by_key[clubs_store.charge_key(new, member)].status == ChargeStatus.PAID
        payments = await w.control.items("order-payments")
        assert [p["amount"] for p in payments] == [by_key[clubs_store.charge_key(new, member)]
                                                   .amount_cents]  # fmt: skip
        assert cw.shipment(old, member).status == "cancelled"


async def test_a_card_update_re_attempts_the_open_shipment_at_once(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        member = await cw.member(card=ALWAYS_DECLINES)
        rid = cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(START + timedelta(days=10, hours=6), step=timedelta(hours=6))
        [charge] = cw.club_charges()
        assert charge.status == ChargeStatus.RETRY_SCHEDULED
        await cw.new_card(member)
        await w.run_until(w.clock.now() + timedelta(hours=1), step=timedelta(hours=1))
        [charge] = cw.club_charges()
        assert (charge.status, charge.attempt_count) == (ChargeStatus.PAID, 2)
        assert cw.shipment(rid, member).status == "paid"


async def test_a_card_replaced_elsewhere_re_attempts_the_shipment_once(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        member = await cw.member(card=ALWAYS_DECLINES)
        rid = cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(START + timedelta(days=10, hours=6), step=timedelta(hours=6))
        [charge] = cw.club_charges()
        assert (charge.status, charge.attempt_count) == (ChargeStatus.RETRY_SCHEDULED, 1)
        new = await cw.new_card(member, charges_too=False)  # only the mandate knows
        await w.run_until(w.clock.now() + timedelta(hours=1), step=timedelta(hours=1))
        [charge] = cw.club_charges()
        assert (charge.status, charge.attempt_count, charge.mandate_id) == (
            ChargeStatus.PAID, 2, new)
        assert cw.shipment(rid, member).status == "paid"


async def test_members_get_receipts_and_decline_notices_naming_the_release(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        await cw.member()
        await cw.member(card=DECLINES_TWICE)
        cw.release("Winter", date(2027, 1, 10), LINES)
        await w.run_until(START + timedelta(days=15), step=timedelta(hours=6))
        while outbox.enqueue(w.store, now=w.clock.now(), notify=NotifySettings()):
            pass
        with w.store.transaction() as session:
            messages = list(session.exec(select(Message)).all())
        kinds = Counter(m.kind for m in messages)
        assert (kinds["receipt"], kinds["decline"]) == (2, 2)
        assert all("wine club release: Winter" in str(m.context) for m in messages)
