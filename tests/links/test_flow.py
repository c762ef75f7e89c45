"""The card-update link end to end in-process: the decline email received over SMTP carries
it, the page (the app of `billing serve`, over ASGI) opens a same-instruction checkout in the
sandbox, the new card takes over and the declined charge is collected once; a used, expired or
unknown link says so and opens nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from billing import wiring
from billing.domain.states import ChargeStatus, MandateStatus
from billing.enroll import api
from billing.links import rules
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings
from billing.store.tables import Enrollment
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.links import member
from tests.notify import club, helpers
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def browser(w: World, config: BillingSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = api.create_app(config, w.store, lambda: wiring.toast_client(config, w.store), w.clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=member.PUBLIC) as client:
        yield client


async def test_a_declined_member_updates_the_card_and_the_charge_is_collected_once(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = member.settings(w, sandbox, db_url, mailbox)
        # Given Bob's declined charge and the decline email he received
        mail = await member.declined_member(w, config, mailbox)
        url = member.link_in(mail)
        token = url.rsplit("/", 1)[1]
        [old], [charge], _, [link] = member.rows(w)
        assert charge.status == ChargeStatus.RETRY_SCHEDULED
        # Then the store keeps the token's hash only, and no message holds the link
        assert link.token_hash == rules.token_hash(token) != token
        assert all(token not in str(m.context) for m in member.messages(w))
        assert (link.mandate_id, link.created_by) == (old.id, "decline")
        # When he opens the link: a checkout for the same standing instruction
        async with browser(w, config) as http:
            page = await http.get(member.path_of(url))
            assert page.status_code == 200, page.text
            assert "ending 0275" in page.text
            assert page.headers["cache-control"] == "no-store"
            again = await http.get(member.path_of(url))  # a reload reuses the open checkout
            assert member.secret_in(again.text) == member.secret_in(page.text)
            intents = await w.control.items("setup-intents")
            assert intents[-1]["usage"] == "OFF_SESSION"
            assert intents[-1]["standingInstructionType"] == old.standing_instruction
            # And enters a new card in the hosted checkout, whose success the page posts back
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text))
            done = await http.post(member.path_of(url) + "/done", data=member.done_form(result))
            assert done.status_code == 200, done.text
            assert "data-state='updated'" in done.text
            assert "ending 1111 is now on file" in done.text
            assert "try the declined payment again within minutes" in done.text
            # Then the old mandate is revoked (here and at Toast), the new one bills the club
            mandates, [charge], _, [link] = member.rows(w)
            old, new = mandates[0], mandates[-1]
            assert (old.status, old.replaced_by_id) == (MandateStatus.REVOKED, new.id)
            assert (new.status, new.standing_instruction) == ("active", old.standing_instruction)
            toast = {m["id"]: m["status"] for m in await w.control.items("mandates")}
            assert toast[old.toast_mandate_id] == "INACTIVE"  # Toast's word for revoked
            assert toast[new.toast_mandate_id] == "ACTIVE"
            assert w.subscription(1).mandate_id == new.id
            # And the declined charge is due now on the new card
            assert (charge.mandate_id, charge.next_attempt_at) == (new.id, w.clock.now())
            assert link.used_at == w.clock.now()
            # When the engine runs a minute later: collected, once
            await w.run_until(w.clock.now() + timedelta(minutes=1), step=timedelta(minutes=1))
            [charge] = member.rows(w)[1]
            assert charge.status == ChargeStatus.PAID
            assert [a.status for a in member.rows(w)[2]] == ["declined", "succeeded"]
            captured = [e for e in await w.control.items("order-payments")
                        if e["status"] == "CAPTURED"]  # fmt: skip
            assert [(e["amount"], e["mandateId"]) for e in captured] == [
                (4500, new.toast_mandate_id)
            ]
            # And the link cannot be used twice: the page says so, and opens no checkout
            for reply in (await http.get(member.path_of(url)),
                          await http.post(member.path_of(url) + "/done", data={})):
                assert reply.status_code == 410
                assert "data-state='used'" in reply.text
                assert "<iframe" not in reply.text
            assert len(await w.control.items("setup-intents")) == len(intents)


async def test_unknown_and_expired_links_say_so_and_leak_nothing(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = member.settings(w, sandbox, sqlite_url, mailbox, card_link_days=7)
        url = member.link_in(await member.declined_member(w, config, mailbox))
        intents = len(await w.control.items("setup-intents"))
        async with browser(w, config) as http:
            for bad in ("/card/nope", "/card/" + "A" * 43, member.path_of(url)[:-1] + "!"):
                reply = await http.get(bad)
                assert reply.status_code == 404
                assert "This link is not valid" in reply.text
            w.clock.advance(timedelta(days=7))
            reply = await http.get(member.path_of(url))
            assert reply.status_code == 410
            assert "data-state='expired'" in reply.text
            assert "<iframe" not in reply.text
        assert len(await w.control.items("setup-intents")) == intents  # no checkout opened


async def test_a_declined_checkout_card_keeps_the_link_open(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = member.settings(w, sandbox, sqlite_url, mailbox)
        url = member.link_in(await member.declined_member(w, config, mailbox))
        async with browser(w, config) as http:
            page = await http.get(member.path_of(url))
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text),
                                           card="4000000000000002")  # declines at setup
            assert result["error"] is not None
            reply = await http.post(member.path_of(url) + "/done", data={})
            assert reply.status_code == 200
            assert "data-state='open'" in reply.text
            mandates, [charge], _, [link] = member.rows(w)
            assert link.used_at is None
            assert mandates[0].status == MandateStatus.ACTIVE
            assert charge.mandate_id == mandates[0].id


async def test_two_tabs_opening_the_link_at_once_share_one_checkout(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = member.settings(w, sandbox, db_url, mailbox)
        url = member.link_in(await member.declined_member(w, config, mailbox))
        before = len(await w.control.items("setup-intents"))
        async with browser(w, config) as http:
            pages = await asyncio.gather(*(http.get(member.path_of(url)) for _ in range(3)))
        # Whatever the interleaving: one checkout (one enrollment, one secret) for all. Tabs
        # that raced to open its intent leave orphans that expire unused (as enrollment does)
        assert {member.secret_in(p.text) for p in pages} == {member.secret_in(pages[0].text)}
        assert before < len(await w.control.items("setup-intents")) <= before + 3
        with w.store.transaction() as session:
            query = select(Enrollment).where(Enrollment.purpose == "card_link")
            opened = session.exec(query.where(Enrollment.status == "pending")).all()
        assert len(opened) == 1


async def test_each_expiring_card_notice_carries_its_own_link_for_that_card(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    # Given a member whose card ends Feb 28 while the club bills on the 10th
    async with world(sandbox, sqlite_url, START) as w:
        config = member.settings(w, sandbox, sqlite_url, mailbox)
        config = config.model_copy(update={"notify": config.notify.model_copy(
            update={"kinds_off": ["reminder", "receipt"]})})  # fmt: skip
        club.wine_plan(w)
        await club.member(w, "fay@example.com", card="4000000000000416", start=date(2027, 1, 10))
        # When the club runs into March
        await helpers.run(w, config, datetime(2027, 3, 2, tzinfo=UTC))
        # Then the 30-, 15- and 3-day notices each link a card update of that card
        mails = mailbox.messages()
        assert len(mails) == 3
        urls = [member.link_in(mail) for mail in mails]
        assert len(set(urls)) == 3
        [mandate], _, _, links = member.rows(w)
        assert [(k.mandate_id, k.created_by) for k in links] == [(mandate.id, "expiring_card")] * 3
        async with browser(w, config) as http:
            page = await http.get(member.path_of(urls[-1]))
        assert "data-state='open'" in page.text
        assert f"ending {mandate.card_last4}" in page.text
