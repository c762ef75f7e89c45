"""Acceptance: a catering guest is told the exact amount of each milestone charge before it is
charged, and told again when the amount changes after that notice; the engine and the dispatch
lane run together on simulated time, on SQLite and PostgreSQL, with a real SMTP server on
loopback. No notice is ever sent twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from billing.events import amend, booking, rules
from billing.manage import members
from billing.sandbox import SandboxHandle
from billing.store.tables import Notice
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.events import helpers
from tests.notify import club
from tests.notify.helpers import run
from tests.notify.mailbox import Mailbox, Received

pytestmark = pytest.mark.anyio
EVENT_DAY = date(2027, 3, 15)  # 18:00 New York: second 2027-02-13 09:00, balance 2027-03-12 09:00
GUEST = "guest@example.com"


async def _booked_event(w: World) -> int:
    """$83.33 x 100 guests + $500.01 = $8,833.01 on the standard schedule, the guest's card a
    real card-on-file in the sandbox (brand and last four from it)."""
    helpers.template(w)
    cof = await w.card("4111111111111111", "INSTALLMENT")
    now = w.clock.now()
    with w.store.transaction() as session:
        customer = members.create_customer(session, email=GUEST, name="Ann", now=now)
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=w.location,
            standing_instruction="INSTALLMENT", toast_mandate_id=cof["mandateId"],
            payment_method_id=cof["paymentMethodId"], card_brand=cof["card"]["brand"],
            card_last4=cof["card"]["lastFour"], now=now,
        )  # fmt: skip
        spec = booking.EventCreate(
            title="Wedding", location=w.location, timezone=helpers.ZONE, local_date=EVENT_DAY,
            local_time=time(18, 0), guests=100, schedule="standard", customer=str(customer.id),
            per_guest_cents=8_333, fixed_cents=50_001, mandate_id=mandate.id,
        )  # fmt: skip
        return booking.create(session, spec, now=now).id or 0


def _notices(box: Mailbox) -> list[Received]:
    return [m for m in box.messages() if "Wedding, " in str(m.message["Subject"])]


async def test_the_guest_is_told_each_amount_once_and_again_when_it_changes(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        event_id = await _booked_event(w)
        # When the schedule runs to three days before the balance is due
        await run(w, config, datetime(2027, 3, 10, tzinfo=UTC))
        # Then the second milestone was told once, before it was charged, and the balance once
        first = _notices(mailbox)
        assert [str(m.message["Subject"]) for m in first] == [
            "Wedding, second: $4,416.51 on February 13, 2027",
            "Wedding, balance: $2,208.25 on March 12, 2027",
        ]
        balance = first[1]
        assert balance.rcpt_tos == [GUEST]
        assert ("For Wedding on March 15, 2027: on March 12, 2027 we will charge the balance "
                "payment of $2,208.25 to your VISA ending in 1111") in balance.text  # fmt: skip
        assert "has changed" not in balance.text
        # the footer speaks of the event, not of a subscription the guest does not have
        for body in (balance.text, balance.html):
            assert "Manage your subscription" not in body
            assert "Questions about your event or its payment schedule?" in body
        # When 20 more guests are confirmed after that notice (the balance rises to $3,874.85)
        with w.store.transaction() as session:
            booking.guests(session, event_id, 120, now=w.clock.now())
        await club.dispatch(w, config)
        await club.dispatch(w, config)  # a second pass tells nothing new
        # Then a second balance notice gives the new amount, and says what was told before
        [changed] = _notices(mailbox)[2:]
        assert str(changed.message["Subject"]) == (
            "New amount: Wedding, balance: $3,874.85 on March 12, 2027"
        )
        assert "has changed: it is now $3,874.85 (we told you $2,208.25 before)" in changed.text
        assert "<strong>$3,874.85</strong>" in changed.html
        # When the balance is charged and the event runs its course
        await run(w, config, datetime(2027, 3, 20, tzinfo=UTC))
        charged = helpers.charges(w, event_id)["balance"]
        with w.store.transaction() as session:
            keys = sorted(n.key for n in session.exec(select(Notice)).all()
                          if n.kind == "milestone_notice")  # fmt: skip
    # Then the balance charged is the amount last told, and no notice was ever sent twice
    assert (charged.status, charged.amount_cents) == ("paid", 387_485)
    assert len(_notices(mailbox)) == 3
    assert len({m.message["Message-ID"] for m in mailbox.messages()}) == len(mailbox.messages())
    assert keys == [f"event:{event_id}:milestone:balance:notice:1",
                    f"event:{event_id}:milestone:balance:notice:2",
                    f"event:{event_id}:milestone:second:notice:1"]  # fmt: skip


async def test_an_extra_milestone_is_told_before_it_is_charged(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        event_id = await _booked_event(w)
        await run(w, config, START + timedelta(hours=1))  # the deposit is paid at signing
        # When staff write the balance off, then 10 more guests are confirmed: what the
        # schedule cannot place ($416.65, see tests/events/test_amend.py) is an extra milestone
        with w.store.transaction() as session:
            amend.waive(session, event_id, "balance", reason="house pays the rest",
                        now=w.clock.now())  # fmt: skip
            booking.guests(session, event_id, 110, now=w.clock.now())
        told_at = w.clock.now()
        extra = helpers.milestones(w, event_id)["extra-1"]
        # Then it is not due at once but after the notice lead
        assert extra.due_at == rules.extra_due(now=told_at, start=extra_start(w, event_id))
        assert extra.due_at is not None
        assert extra.due_at - told_at == timedelta(days=3)
        await run(w, config, datetime(2027, 1, 10, tzinfo=UTC))
        charge = helpers.charges(w, event_id)["extra-1"]
        with w.store.transaction() as session:
            [notice] = [n for n in session.exec(select(Notice)).all()
                        if n.key.startswith(f"event:{event_id}:milestone:extra-1:")]  # fmt: skip
    # And the guest was told the exact amount, before the engine charged it, once
    subjects = [str(m.message["Subject"]) for m in _notices(mailbox)]
    assert [s for s in subjects if "extra-1" in s] == [
        "Wedding, extra-1: $416.65 on January 3, 2027"], subjects  # 20:00 in New York
    assert (charge.status, charge.amount_cents) == ("paid", 41_665)
    assert notice.created_at < charge.due_at


def extra_start(w: World, event_id: int) -> datetime:
    return helpers.the_event(w, event_id).start_at
