"""The required notice: a charge under changed terms (here: a new price) is reminded 8 days
before, at least the 7 the card networks ask for, even to a member who unsubscribed from
reminders; with reminders switched off for its plan the charge is held, not sent, and listed
in `billing attention` until a person releases it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from billing.domain.states import ChargeStatus
from billing.manage import charges, subscriptions
from billing.notify import optouts
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
QUIET_OFF = {"quiet": {"kinds_off": ["reminder"]}}
REMINDERS_OFF = {"wine": {"kinds_off": ["reminder"]}}
FEB_DUE = datetime(2027, 2, 5, 18, tzinfo=UTC)  # 10:00 in Los Angeles


async def test_a_new_price_is_announced_eight_days_before_even_to_an_unsubscribed_member(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        club.wine_plan(w)
        # Given a member paying $45.00 from January 5 who unsubscribed from reminders
        sub = await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        with w.store.transaction() as session:
            optouts.opt_out(session, 1, "reminder", now=w.clock.now())
        await run(w, config, datetime(2027, 1, 10, tzinfo=UTC))
        # When the price goes up to $50.00 for February on, and the club runs to March 6
        with w.store.transaction() as session:
            subscriptions.change_amount(session, sub, 5000, now=w.clock.now())
        await run(w, config, datetime(2027, 3, 6, tzinfo=UTC))
        # Then February's reminder (required) went out 8 days before; March's (not required:
        # the price did not change again) was not sent, since the member unsubscribed
        reminders = [m for m in outbox(w) if m.kind == "reminder"]
        [feb] = reminders
        assert feb.sent_at is not None
        assert FEB_DUE - timedelta(days=8) <= feb.sent_at <= FEB_DUE - timedelta(days=7)
        assert feb.context["amount_cents"] == 5000
        got = Counter(m.kind for m in outbox(w))
        assert got == Counter({"receipt": 3, "reminder": 1})
        assert [c.status for c in w.charges()][:3] == [ChargeStatus.PAID] * 3
        assert [c.amount_cents for c in w.charges()][:3] == [4500, 5000, 5000]
        # and the reminder email offers no unsubscribe link (a required notice)
        [mail] = [m for m in mailbox.messages() if m.message["Subject"].startswith("Upcoming")]
        assert "unsubscribe" not in mail.text.lower()


async def test_notices_off_for_a_plan_whose_price_changed_hold_the_charge(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given reminders switched off for the wine plan only
        config = club.settings(sandbox, db_url, mailbox, plans=REMINDERS_OFF)
        club.wine_plan(w)
        sub = await club.member(w, "bo@example.com", start=date(2027, 1, 5))
        await run(w, config, datetime(2027, 1, 10, tzinfo=UTC))
        with w.store.transaction() as session:
            subscriptions.change_amount(session, sub, 5000, now=w.clock.now())
        # When February's charge falls due
        await run(w, config, datetime(2027, 2, 7, tzinfo=UTC))
        # Then it is held, not sent: no attempt, listed in `billing attention` with the reason
        feb = w.charges()[1]
        assert (feb.status, feb.attempt_count, feb.amount_cents) == (
            ChargeStatus.NEEDS_ATTENTION, 0, 5000)
        with w.store.transaction() as session:
            [item] = charges.attention(session)
        assert item.charge.id == feb.id
        assert item.attempt is None
        assert (item.reason or "").startswith("required notice not sent 7 days before "
                                              "(the price changed)")  # fmt: skip
        assert "billing charges retry ID" in item.advice
        assert Counter(m.kind for m in outbox(w)) == Counter({"receipt": 1})
        # And once a person releases it, it is collected (once)
        with w.store.transaction() as session:
            charges.retry(session, feb.id or 0, now=w.clock.now())
        await run(w, config, datetime(2027, 2, 8, tzinfo=UTC))
        assert w.charges()[1].status == ChargeStatus.PAID
        assert Counter(m.kind for m in outbox(w)) == Counter({"receipt": 2})


async def test_an_unchanged_monthly_charge_needs_no_required_notice(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, plans=REMINDERS_OFF)
        club.wine_plan(w)
        await club.member(w, "cy@example.com", start=date(2027, 1, 5))
        await run(w, config, datetime(2027, 2, 7, tzinfo=UTC))
        assert [c.status for c in w.charges()][:2] == [ChargeStatus.PAID] * 2


async def test_a_six_month_renewal_needs_the_notice_and_is_held_without_it(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given two half-yearly plans, reminders switched off for the second one
        config = club.settings(sandbox, db_url, mailbox, plans=QUIET_OFF)
        for code in ("half", "quiet"):
            w.plan(code=code, name=f"Cellar {code}", kind="RECURRING", amount_cents=24000,
                   interval_unit="month", interval_count=6, timezone="America/Los_Angeles",
                   local_time="10:00")  # fmt: skip
        await club.member(w, "ann@example.com", start=date(2027, 1, 10), plan_code="half")
        await club.member(w, "bo@example.com", start=date(2027, 1, 10), plan_code="quiet")
        # When January's charges are paid, and the clock moves on (nothing is due meanwhile)
        await run(w, config, datetime(2027, 1, 11, tzinfo=UTC))
        w.clock.set(datetime(2027, 6, 25, tzinfo=UTC))
        await w.control.set_clock(w.clock.now())
        await run(w, config, datetime(2027, 7, 11, tzinfo=UTC))
        # Then the renewal on July 10 was announced 8 days before and collected for Ann, and
        # held, never sent, for Bo (no reminder on his plan)
        july = datetime(2027, 7, 10, 17, tzinfo=UTC)
        [ann_july] = [m for m in outbox(w) if m.kind == "reminder"
                      and m.recipient == "ann@example.com" and m.context.get("required_why")]
        assert ann_july.sent_at is not None
        assert july - timedelta(days=8) <= ann_july.sent_at <= july - timedelta(days=7)
        assert ann_july.context["required_why"] == "the interval is 6 months or longer"
        by_sub = {(c.subscription_id, c.cycle): c for c in w.charges()}
        assert by_sub[(1, 1)].status == ChargeStatus.PAID
        held = by_sub[(2, 1)]
        assert (held.status, held.attempt_count) == (ChargeStatus.NEEDS_ATTENTION, 0)
        with w.store.transaction() as session:
            [item] = charges.attention(session)
        assert item.charge.id == held.id
        assert "the interval is 6 months or longer" in (item.reason or "")
