"""Customer messages over SMTP to a real server on loopback: what each kind says, and that each
goes out once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.manage import subscriptions
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox, Received

pytestmark = pytest.mark.anyio
NEVER_RECOVERS = "4000000000000275"
CARD_NUMBERS = ("4111111111111111", NEVER_RECOVERS)


def assert_names_everything(mail: Received, amount: str, card: str) -> None:
    """Every message names the merchant, the amount, the card, what it is for, and the links;
    no card number anywhere."""
    for body in (mail.text, mail.html):
        for needle in (club.MERCHANT, amount, card, "Wine club", club.MANAGE, club.CANCEL):
            assert needle in body, (needle, body)
    raw = mail.message.as_string()
    assert not any(number in raw for number in CARD_NUMBERS)


async def test_a_paid_charge_sends_one_receipt(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a member of a monthly $45.00 club billed on Jan 5 at 10:00 Los Angeles time
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder"])
        club.wine_plan(w)
        await club.member(w, "ann@example.com", start=date(2027, 1, 5), name="Ann")
        # When the charge is paid and the dispatcher runs twice
        await w.run_until(datetime(2027, 1, 6, 5, tzinfo=UTC))
        assert await club.dispatch(w, config) == 1
        assert await club.dispatch(w, config) == 0
        # Then exactly one receipt went to the member
        [mail] = mailbox.messages()
        assert mail.rcpt_tos == ["ann@example.com"]
        assert mail.message["Subject"] == f"Receipt from {club.MERCHANT}: $45.00 paid"
        assert mail.message["Reply-To"] == "hello@hillside.example"
        assert club.MERCHANT in mail.message["From"]
        card = f"{w.mandate(1).card_brand} ending in 1111"
        assert_names_everything(mail, "$45.00", card)
        assert "Hello Ann" in mail.text
        assert "on January 5, 2027" in mail.text  # paid 18:00 UTC: the 5th in Los Angeles
        [row] = outbox(w)
        assert (row.kind, row.status, row.attempts) == ("receipt", Status.SENT, 1)
        assert row.provider_id == mail.message["Message-ID"]


async def test_declines_send_a_notice_each_then_a_final_failure(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a member whose card never recovers (dunning retries 1, 3, 7, 14 days after)
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder"])
        club.wine_plan(w)
        await club.member(w, "bob@example.com", card=NEVER_RECOVERS, start=date(2027, 1, 5))
        # When dunning runs its course with the dispatch lane alongside
        await run(w, config, datetime(2027, 1, 25, tzinfo=UTC))
        # Then four decline notices (each naming the next try) and one final failure
        kinds = [m.message["Subject"] for m in mailbox.messages()]
        declined = f"Your payment to {club.MERCHANT} was declined"
        assert kinds == [declined] * 4 + [f"We could not collect your payment to {club.MERCHANT}"]
        card = f"{w.mandate(1).card_brand} ending in 0275"
        for mail in mailbox.messages():
            assert_names_everything(mail, "$45.00", card)
        first = mailbox.messages()[0].text
        assert "the card issuer declined the payment" in first
        assert "We will try again on January 6, 2027" in first
        assert "every retry of the payment was declined" in mailbox.messages()[-1].text
        assert {m.status for m in outbox(w)} == {Status.SENT}


async def test_cancellation_is_confirmed(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder"])
        club.wine_plan(w)
        sub_id = await club.member(w, "cy@example.com", start=date(2027, 1, 5))
        with w.store.transaction() as session:
            subscriptions.cancel(session, sub_id, now=w.clock.now())
        assert await club.dispatch(w, config) == 1
        [mail] = mailbox.messages()
        subject = f"Your Wine club subscription with {club.MERCHANT} is cancelled"
        assert mail.message["Subject"] == subject
        assert_names_everything(mail, "$45.00", f"{w.mandate(1).card_brand} ending in 1111")
        assert "will not be charged for it again" in mail.text


async def test_reminder_three_days_before_each_charge_once(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a member billed on the 20th of each month
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        club.wine_plan(w)
        await club.member(w, "di@example.com", start=date(2027, 1, 20))
        # When two months pass with the dispatch lane running
        await run(w, config, datetime(2027, 2, 21, tzinfo=UTC))
        # Then a reminder precedes each receipt, each once
        subjects = [m.message["Subject"] for m in mailbox.messages()]
        reminder = f"Upcoming payment to {club.MERCHANT}: $45.00 on "
        receipt = f"Receipt from {club.MERCHANT}: $45.00 paid"
        assert subjects == [reminder + "January 20, 2027", receipt,
                            reminder + "February 20, 2027", receipt]  # fmt: skip
        first = mailbox.messages()[0]
        assert_names_everything(first, "$45.00", f"{w.mandate(1).card_brand} ending in 1111")
        assert "cancel online before then" in first.text
        sent = [m for m in outbox(w) if m.kind == "reminder"]
        # sent 3 days before (the dispatch pass after due - 3 days), never after the charge
        due = datetime(2027, 1, 20, 18, tzinfo=UTC)
        assert due - timedelta(days=3) <= sent[0].sent_at < due  # type: ignore[operator]


async def test_kinds_switched_off_send_nothing(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder", "receipt"])
        club.wine_plan(w)
        await club.member(w, "ed@example.com", start=date(2027, 1, 5))
        await run(w, config, datetime(2027, 1, 6, 5, tzinfo=UTC))
        assert mailbox.messages() == []
        assert outbox(w) == []
