"""Wine-club release notices through the outbox: each chargeable member is told once, before
the cutoff, what the release will charge them; a member who was not told is blocked, never
charged (card-network rule: notice before a charge under changed terms)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from billing.clubs import notices, preview, rules, service
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus
from billing.notify import outbox as outbox_store
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.store.tables import Customer, Event
from tests.clubs.club_world import make_club
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
LINES = [("Pinot Noir 2024", 2, 4200), ("Chardonnay 2025", 1, 3150)]
# Processes at 00:00 Los Angeles on 1 February (08:00 UTC); the cutoff is 23:59 PST on 31
# January; the notice window opens 7 days before the cutoff (24 January, 23:59 PST).
PROCESS_ON = date(2027, 2, 1)


def _emails(w: World, ids: list[int]) -> dict[int, str]:
    with w.store.transaction() as session:
        out = {}
        for mid in ids:
            member = clubs_store.membership(session, mid)
            customer = session.get(Customer, member.customer_id)
            assert customer is not None
            out[mid] = customer.email
        return out


async def test_each_member_is_told_once_before_the_cutoff_then_charged(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        a = await cw.member(tier="Six", region="CA")
        b = await cw.member(tier="Three", pickup=True)
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid), now=w.clock.now())
        amounts = {r["membership_id"]: r["amount_cents"] for r in shown.rows}
        # Before the cutoff a member not yet told is still chargeable (the notice may go)
        assert {r["category"] for r in shown.rows} == {"chargeable"}
        emails = _emails(w, [a, b])
        # Before the window: nothing
        await run(w, config, datetime(2027, 1, 24, tzinfo=UTC))
        assert [m for m in outbox(w) if m.kind == "release_notice"] == []
        # Inside it: one notice each, saying club, release, amount, cutoff in the zone
        await run(w, config, datetime(2027, 1, 26, tzinfo=UTC))
        told = {m.rcpt_tos[0]: m for m in mailbox.messages()
                if m.message["Subject"].startswith("Cellar Club:")}
        assert set(told) == set(emails.values())
        notice = told[emails[a]]
        assert notice.message["Subject"] == (
            "Cellar Club: Winter 2027 will be charged $120.30 on February 1, 2027")
        assert amounts[a] == 12030
        for body in (notice.text, notice.html):
            assert "Cellar Club" in body
            assert "Winter 2027" in body
            assert "$120.30" in body
            assert "January 31, 2027, 11:59:00" in body
            assert "PM PST" in body
            assert club.MANAGE in body
            assert "Pinot Noir 2024" in body
        assert "$111.49" in told[emails[b]].text  # 10395 + 754 tax (pickup, CA)
        assert amounts[b] == 11149
        # Scanning again (any worker, any time) creates none
        assert notices.scan(w.store, now=w.clock.now()) == 0
        # Then the release is charged as previewed, each member told exactly once
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        charges = cw.club_charges()
        assert sorted(c.amount_cents for c in charges) == sorted(amounts.values())
        assert {c.status for c in charges} == {ChargeStatus.PAID}
        kinds = [m.kind for m in outbox(w) if m.kind == "release_notice"]
        assert len(kinds) == 2
        assert {m.status for m in outbox(w)} == {Status.SENT}
        with w.store.transaction() as session:
            snapshot = clubs_store.release(session, rid).snapshot or []
        assert {r["category"] for r in snapshot} == {"chargeable"}
        assert all(r["notice_sent_at"] for r in snapshot)


async def test_a_member_not_told_by_the_cutoff_is_blocked_and_not_charged(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        # Notices switched off: nobody can be told
        config = club.settings(sandbox, sqlite_url, mailbox, kinds_off=["release_notice"])
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        a = await cw.member(tier="Six", region="CA")
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        assert mailbox.messages() == []
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid), now=w.clock.now())
        [row] = shown.rows
        assert (row["membership_id"], row["category"]) == (a, "blocked")
        assert row["reason"] == rules.NOTICE_MISSING
        assert shown.totals["blocked"] == 1
        assert shown.totals["chargeable_cents"] == 0
        assert cw.club_charges() == []
        assert cw.get(rid).status == "processed"
        assert cw.shipment(rid, a).status == "blocked"


async def test_mail_refused_until_after_the_cutoff_blocks_the_member(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = club.settings(sandbox, sqlite_url, mailbox)
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        first = await cw.member(tier="Six", region="CA")
        second = await cw.member(tier="Six", region="CA")
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        emails = _emails(w, [first, second])
        # The relay refuses the first address it is given for good (5xx: failed, never sent)
        mailbox.refuse_rcpt = ["550 5.1.1 no such mailbox"]
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        [received] = [m.rcpt_tos[0] for m in mailbox.messages()
                      if m.message["Subject"].startswith("Cellar Club:")]
        told = next(mid for mid, address in emails.items() if address == received)
        refused = next(mid for mid in emails if mid != told)
        assert {m.status for m in outbox(w) if m.kind == "release_notice"} == {
            Status.SENT, Status.FAILED}
        charges = cw.club_charges()
        assert [c.source_key for c in charges] == [clubs_store.charge_key(rid, told)]
        assert cw.shipment(rid, refused).status == "blocked"
        assert cw.shipment(rid, refused).reason == rules.NOTICE_MISSING


async def test_a_skip_withdraws_the_queued_notice_and_taking_it_back_tells_again(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        early = await cw.member()  # skips before their notice is dispatched
        late = await cw.member()  # skips while its email is claimed, then takes the skip back
        stays = await cw.member()
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        emails = _emails(w, [early, late, stays])
        inside = datetime(2027, 1, 26, tzinfo=UTC)
        # Given the notices made (one event each, not dispatched yet)
        assert notices.scan(w.store, now=inside, size=2) == 3  # in batches of 2 members

        def skip(member: int, *, undo: bool = False) -> None:
            with w.store.transaction() as session:
                fn = service.unskip if undo else service.skip
                fn(session, clubs_store.release(session, rid),
                   clubs_store.membership(session, member), now=inside)  # fmt: skip

        # When the first skips: their event yields no email when dispatched
        skip(early)
        assert outbox_store.enqueue(w.store, now=inside, notify=config.notify) > 0
        made = {m.recipient: m for m in outbox(w) if m.kind == "release_notice"}
        assert set(made) == {emails[late], emails[stays]}
        # When a dispatcher has claimed the others and the second member skips
        claimed = outbox_store.claim(w.store, now=inside, owner="d1", notify=config.notify)
        assert len(claimed) == 2
        skip(late)
        # Then that email is withdrawn and the dispatcher cannot send it
        assert not outbox_store.start_sending(w.store, made[emails[late]].id or 0, owner="d1",
                                              now=inside, subject="x", provider_id="p")  # fmt: skip
        withdrawn = {m.recipient: m.status for m in outbox(w) if m.kind == "release_notice"}
        assert withdrawn[emails[late]] == Status.WITHDRAWN
        # When they take the skip back before the cutoff: they are told again
        skip(late, undo=True)
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        sent = [m.rcpt_tos[0] for m in mailbox.messages()
                if m.message["Subject"].startswith("Cellar Club:")]  # fmt: skip
        assert sorted(sent) == sorted([emails[late], emails[stays]])  # once each, none to early
        statuses = sorted((m.recipient == emails[late], m.status) for m in outbox(w)
                          if m.kind == "release_notice")  # fmt: skip
        assert statuses == [(False, Status.SENT), (True, Status.SENT), (True, Status.WITHDRAWN)]
        keys = sorted(c.source_key or "" for c in cw.club_charges())
        assert keys == sorted(clubs_store.charge_key(rid, m) for m in (late, stays))
        assert {c.status for c in cw.club_charges()} == {ChargeStatus.PAID}
        assert cw.shipment(rid, early).status == "skipped"


async def test_a_hold_over_the_release_or_a_cancellation_withdraws_the_queued_notice(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = club.settings(sandbox, sqlite_url, mailbox)
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        held = await cw.member()  # on hold past the release
        back = await cw.member()  # on hold, back before the release is charged
        gone = await cw.member()  # cancels
        stays = await cw.member()
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        emails = _emails(w, [held, back, gone, stays])
        inside = datetime(2027, 1, 26, tzinfo=UTC)
        # Given the four notices made, not dispatched yet
        assert notices.scan(w.store, now=inside) == 4
        # When one member holds past the release, one holds until before it, one cancels
        with w.store.transaction() as session:
            service.hold(session, clubs_store.membership(session, held),
                         until=date(2027, 3, 1), now=inside)  # fmt: skip
            service.hold(session, clubs_store.membership(session, back),
                         until=date(2027, 1, 28), now=inside)  # fmt: skip
            service.cancel(session, clubs_store.membership(session, gone), now=inside)
        # Then only the notices of members still charged go out, once each
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        sent = [m.rcpt_tos[0] for m in mailbox.messages()
                if m.message["Subject"].startswith("Cellar Club:")]  # fmt: skip
        assert sorted(sent) == sorted([emails[back], emails[stays]])
        keys = sorted(c.source_key or "" for c in cw.club_charges())
        assert keys == sorted(clubs_store.charge_key(rid, m) for m in (back, stays))
        assert cw.shipment(rid, held).status == "on_hold"
        with w.store.transaction() as session:
            why = sorted(e.data.get("why", "") for e in session.exec(
                select(Event).where(Event.type == "release_notice_withdrawn")).all())
        assert why == ["the membership is on hold", "the membership was cancelled"]


async def test_a_skip_after_the_notice_was_sent_withdraws_nothing(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = club.settings(sandbox, sqlite_url, mailbox)
        cw = make_club(w, now=START, auto_approve=True, notice_days=7)
        member = await cw.member()
        rid = cw.release("Winter 2027", PROCESS_ON, LINES)
        await run(w, config, datetime(2027, 1, 26, tzinfo=UTC))
        [told] = [m for m in outbox(w) if m.kind == "release_notice"]
        assert told.status == Status.SENT
        with w.store.transaction() as session:
            assert not notices.withdraw(session, rid, member, now=w.clock.now())
            service.skip(session, clubs_store.release(session, rid),
                         clubs_store.membership(session, member), now=w.clock.now())  # fmt: skip
        assert [m.status for m in outbox(w) if m.kind == "release_notice"] == [Status.SENT]
        await run(w, config, datetime(2027, 2, 3, tzinfo=UTC))
        assert cw.club_charges() == []
