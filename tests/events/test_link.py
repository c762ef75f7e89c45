"""A staff payment link as the signing path, end to end in-process: staff create a link for a
tentative event, the guest opens it (the app of `billing serve`, over ASGI) and pays the
deposit in the sandbox's stand-in checkout as a customer-initiated INSTALLMENT payment; the
deposit is recorded paid, the mandate attached, the later milestones charged off-session by the
engine; a link works once; unknown, expired and settled links say so and open nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import Session, col, select

from billing import wiring
from billing.domain.states import MandateStatus
from billing.enroll import api
from billing.errors import DomainError
from billing.events import booking, links
from billing.manage import members
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings
from billing.store.tables import Event, EventLink
from tests.engine.conftest import START
from tests.engine.world import World, engine_settings, world
from tests.events import helpers
from tests.links import member

pytestmark = pytest.mark.anyio
PUBLIC = "https://events.hillside.example"
DAY = date(2027, 3, 15)


def settings(sandbox: SandboxHandle, db_url: str, **serve: Any) -> BillingSettings:
    base = engine_settings(sandbox, db_url)
    spec = {**base.serve.model_dump(), "public_url": PUBLIC, **serve}
    return base.model_copy(update={"serve": type(base.serve)(**spec),
                                   "api_key": SecretStr("k" * 32)})  # fmt: skip


@asynccontextmanager
async def browser(w: World, config: BillingSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = api.create_app(config, w.store, lambda: wiring.toast_client(config, w.store), w.clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=PUBLIC) as client:  # fmt: skip
        yield client


def tentative(w: World, customer_id: int | None = None) -> int:
    """The Smith wedding, booked by staff without a card yet: $8,833.01 on 2027-03-15."""
    with w.store.transaction() as session:
        if customer_id is None:
            email = f"ana{uuid.uuid4().hex[:6]}@example.com"
            customer_id = members.create_customer(session, email=email, now=w.clock.now()).id
        spec = booking.EventCreate(
            title="Smith wedding", location=w.location, timezone=helpers.ZONE, local_date=DAY,
            local_time=time(18, 0), guests=100, schedule="standard",
            customer=str(customer_id), per_guest_cents=8_333, fixed_cents=50_001,
        )  # fmt: skip
        return booking.create(session, spec, now=w.clock.now()).id or 0


def alert_rows(session: Session) -> list[Event]:
    return list(session.exec(select(Event).where(Event.type == "attention")
                             .order_by(col(Event.id))).all())  # fmt: skip


def issue(w: World, config: BillingSettings, event_id: int) -> str:
    with w.store.transaction() as session:
        return links.issue(session, event_id, now=w.clock.now(), serve=config.serve).url


async def test_a_guest_pays_the_deposit_through_a_staff_link_and_the_engine_charges_the_rest(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = settings(sandbox, db_url)
        helpers.template(w)
        event_id = tentative(w)
        # Given a payment link staff made for the tentative event
        url = issue(w, config, event_id)
        token = url.rsplit("/", 1)[1]
        with w.store.transaction() as session:
            [row] = session.exec(select(EventLink)).all()
        assert (row.event_id, row.purpose, row.token_hash != token) == (event_id, "deposit", True)
        async with browser(w, config) as http:
            # When the guest opens it: the deposit, the schedule they consent to, the checkout
            page = await http.get(url.removeprefix(PUBLIC))
            assert page.status_code == 200, page.text
            assert "<strong id='amount'>$2,208.25</strong>" in page.text
            assert "deposit: 25% at signing; second: 50% 30 days before at 09:00; balance: " \
                   "the rest 3 days before at 09:00" in page.text
            assert page.headers["cache-control"] == "no-store"
            again = await http.get(url.removeprefix(PUBLIC))  # a reload reuses the checkout
            assert member.secret_in(again.text) == member.secret_in(page.text)
            [intent] = await w.control.items("payment-intents")
            assert (intent["amount"], intent["standingInstructionType"]) == (
                220_825, "INSTALLMENT")
            assert intent.get("offSession") in (False, None)
            # And pays in the hosted checkout, whose success the page posts back
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text))
            done = await http.post(url.removeprefix(PUBLIC) + "/done",
                                   data=member.done_form(result))  # fmt: skip
            assert done.status_code == 200, done.text
            assert "data-state='paid'" in done.text
            assert "deposit of $2,208.25 for Smith wedding is paid" in done.text
            # Then the deposit is paid, the mandate attached, the later milestones put
            ev = helpers.the_event(w, event_id)
            assert ev.status == "booked"
            mandate = w.mandate(ev.mandate_id or 0)
            assert (mandate.status, mandate.standing_instruction) == (
                MandateStatus.ACTIVE, "INSTALLMENT")
            ms = helpers.milestones(w, event_id)
            assert [(n, m.state, m.amount_cents) for n, m in ms.items()] == [
                ("deposit", "paid", 220_825), ("second", "open", 441_651),
                ("balance", "open", 220_825),
            ]
            charges = helpers.charges(w, event_id)
            assert {n: c.status for n, c in charges.items()} == {
                "deposit": "paid", "second": "scheduled", "balance": "scheduled"}
            assert {c.mandate_id for c in charges.values()} == {mandate.id}
            # And the link cannot be used twice: the page says so and opens nothing
            for reply in (await http.get(url.removeprefix(PUBLIC)),
                          await http.post(url.removeprefix(PUBLIC) + "/done", data={})):
                assert reply.status_code == 410
                assert "data-state='used'" in reply.text
                assert "$2,208.25" in reply.text
                assert "<iframe" not in reply.text
            assert len(await w.control.items("payment-intents")) == 1
        # When the engine runs past the event: the rest is charged off-session, once each
        await w.run_until(START + timedelta(days=80))
        charges = helpers.charges(w, event_id)
        assert {n: (c.status, c.amount_cents) for n, c in charges.items()} == {
            "deposit": ("paid", 220_825), "second": ("paid", 441_651),
            "balance": ("paid", 220_825)}
        ledger = await w.control.items("order-payments")
        assert sorted((bool(e.get("offSession")), e["amount"]) for e in ledger
                      if e["status"] == "CAPTURED") == [
            (False, 220_825), (True, 220_825), (True, 441_651)]  # fmt: skip
        assert helpers.the_event(w, event_id).mandate_id == mandate.id


async def test_unknown_expired_and_settled_links_say_so_and_open_nothing(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = settings(sandbox, sqlite_url, card_link_days=7)
        helpers.template(w)
        customer, mandate = await helpers.guest_mandate(w)
        first, second = tentative(w), tentative(w, customer)
        late, settled = issue(w, config, first), issue(w, config, second)
        # the second event is booked by staff with a card on file: its link has nothing to do
        with w.store.transaction() as session:
            booking.book(session, second, mandate, now=w.clock.now())
        async with browser(w, config) as http:
            for bad in ("/pay/nope", "/pay/" + "A" * 43, late.removeprefix(PUBLIC)[:-1] + "!"):
                reply = await http.get(bad)
                assert reply.status_code == 404
                assert "This link is not valid" in reply.text
            reply = await http.get(settled.removeprefix(PUBLIC))
            assert (reply.status_code, "data-state='settled'" in reply.text) == (410, True)
            w.clock.advance(timedelta(days=7))
            reply = await http.get(late.removeprefix(PUBLIC))
            assert (reply.status_code, "data-state='expired'" in reply.text) == (410, True)
            assert "<iframe" not in reply.text
        assert await w.control.items("payment-intents") == []
        # And staff cannot make a link for a booked event (its milestones are the engine's)
        with w.store.transaction() as session, pytest.raises(DomainError) as refused:
            links.issue(session, second, now=w.clock.now(), serve=config.serve)
        assert refused.value.field == "event"
        assert "is booked" in refused.value.message


async def test_guests_rising_after_paid_in_full_are_owed_through_a_balance_link(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = settings(sandbox, db_url)
        helpers.template(w)
        event_id, first_mandate = await helpers.event(w, DAY)  # $8,833.01, booked with a card
        # Given every milestone collected by the engine (the balance on 2027-03-12 09:00 EDT)
        await w.run_until(datetime(2027, 3, 12, 18, 0, tzinfo=UTC))
        ev = helpers.the_event(w, event_id)
        assert (ev.status, ev.closed_at) == ("paid_in_full", None)  # closes once it starts
        assert w.mandate(first_mandate).status == MandateStatus.REVOKED  # Toast asks for it
        # When the guest count rises from 100 to 110 the day before the event
        with w.store.transaction() as session:
            booking.guests(session, event_id, 110, now=w.clock.now())
        # Then the event owes 10 x $83.33 = $833.30 again, staff are alerted, nothing is
        # charged off-session on the revoked card
        ev = helpers.the_event(w, event_id)
        ms = helpers.milestones(w, event_id)
        assert ev.status == "balance_due"
        assert (ms["extra-1"].state, ms["extra-1"].amount_cents) == ("open", 83_330)
        assert "extra-1" not in helpers.charges(w, event_id)
        with w.store.transaction() as session:
            alerts = [a for a in alert_rows(session) if a.entity_id == event_id]
        assert "billing events link" in alerts[-1].data["detail"]
        assert "$833.30 owed" in alerts[-1].data["detail"]
        for count, says in [(105, "may rise, not fall")]:
            with w.store.transaction() as session, pytest.raises(DomainError) as refused:
                booking.guests(session, event_id, count, now=w.clock.now())
            assert says in refused.value.message
        # When staff send a balance link and the guest pays it in the hosted checkout
        with w.store.transaction() as session:
            issued = links.issue(session, event_id, now=w.clock.now(), serve=config.serve)
        assert (issued.purpose, issued.amount_cents) == ("balance", 83_330)
        async with browser(w, config) as http:
            page = await http.get(issued.url.removeprefix(PUBLIC))
            assert "<strong id='amount'>$833.30</strong>" in page.text, page.text
            assert "charge this card $833.30 now: the balance of this event" in page.text
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text))
            done = await http.post(issued.url.removeprefix(PUBLIC) + "/done",
                                   data=member.done_form(result))  # fmt: skip
            assert "balance of $833.30 for Wedding is paid" in done.text, done.text
        # Then the event is paid in full again; the new card's consent ends at once
        ev = helpers.the_event(w, event_id)
        assert (ev.status, ev.mandate_id != first_mandate) == ("paid_in_full", True)
        assert helpers.milestones(w, event_id)["extra-1"].state == "paid"
        assert w.mandate(ev.mandate_id or 0).purpose_ended_at == w.clock.now()
        intents = await w.control.items("payment-intents")
        assert [(i["amount"], i["standingInstructionType"]) for i in intents
                if not i.get("offSession")] == [(83_330, "INSTALLMENT")]  # fmt: skip
        # When the event has started: closed by the engine, and nothing changes any more
        await w.run_until(datetime(2027, 3, 16, tzinfo=UTC))
        assert helpers.the_event(w, event_id).status == "closed"
        assert w.mandate(ev.mandate_id or 0).status == MandateStatus.REVOKED
        captured = [e["amount"] for e in await w.control.items("order-payments")
                    if e["status"] == "CAPTURED"]  # fmt: skip
        assert sorted(captured) == [83_330, 220_825, 220_825, 441_651]
        with w.store.transaction() as session, pytest.raises(DomainError) as refused:
            booking.guests(session, event_id, 120, now=w.clock.now())
        assert "closed" in refused.value.message
