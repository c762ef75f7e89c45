"""Trials: a plan's trial moves the first charge to enrollment + the trial; the first charge
after a trial longer than 7 days needs the required notice (reminded 8 days before, even to a
member who unsubscribed from reminders), and is held in `billing attention` when the notice
was not sent (reminders switched off for its plan). A shorter trial gets the plan's ordinary
reminder (Visa asks a notice only after a trial longer than 7 days)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from billing.domain.states import ChargeStatus
from billing.manage import charges
from billing.notify import optouts, plan_messages
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
JAN_19 = datetime(2027, 1, 19, 18, tzinfo=UTC)  # 10:00 in Los Angeles, 14 days after Jan 5


async def test_the_first_charge_after_a_trial_is_announced_eight_days_before(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        # Given a monthly plan with a 14-day trial, and a member enrolled on January 5 who
        # unsubscribed from reminders at once
        club.wine_plan(w, trial_days=14)
        sub = await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        with w.store.transaction() as session:
            optouts.opt_out(session, 1, "reminder", now=w.clock.now())
        assert w.subscription(sub).next_charge_at == JAN_19
        # When the club runs to February 20
        await run(w, config, datetime(2027, 2, 20, tzinfo=UTC))
        # Then nothing was charged during the trial; the first charge (January 19) was told 8
        # days before as the required notice, then collected; February's (not required) was
        # not reminded, since she unsubscribed
        paid = [c for c in w.charges() if c.status == ChargeStatus.PAID]
        assert [c.due_at for c in paid] == [JAN_19, JAN_19 + timedelta(days=31)]
        [reminder] = [m for m in outbox(w) if m.kind == "reminder"]
        assert reminder.context["required_why"] == "the first charge after a trial"
        assert reminder.sent_at is not None
        assert JAN_19 - timedelta(days=8) <= reminder.sent_at <= JAN_19 - timedelta(days=7)
        assert Counter(m.kind for m in outbox(w)) == Counter({"receipt": 2, "reminder": 1})


async def test_a_trial_whose_notice_is_switched_off_holds_the_first_charge(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given reminders switched off for a plan with a 14-day trial
        config = club.settings(sandbox, db_url, mailbox,
                               plans={"wine": {"kinds_off": ["reminder"]}})  # fmt: skip
        club.wine_plan(w, trial_days=14)
        await club.member(w, "bo@example.com", start=date(2027, 1, 5))
        # When the first charge falls due
        await run(w, config, datetime(2027, 1, 21, tzinfo=UTC))
        # Then it is held, never sent, and listed in `billing attention` with the reason
        [first] = [c for c in w.charges() if c.cycle == 0]
        assert (first.status, first.attempt_count, first.due_at) == (
            ChargeStatus.NEEDS_ATTENTION, 0, JAN_19)
        with w.store.transaction() as session:
            [item] = charges.attention(session)
        assert item.charge.id == first.id
        assert "(the first charge after a trial)" in (item.reason or "")
        assert [m.kind for m in outbox(w)] == []


async def test_a_trial_of_a_week_or_less_gets_the_ordinary_reminder(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        # Given a 5-day trial from January 5, and the default reminder of 3 days
        club.wine_plan(w, trial_days=5)
        await club.member(w, "cy@example.com", start=date(2027, 1, 5))
        await run(w, config, datetime(2027, 1, 11, tzinfo=UTC))
        # Then the first charge fell on January 10, reminded 3 days before (not required)
        [first] = w.charges()
        assert (first.status, first.due_at) == (ChargeStatus.PAID,
                                                datetime(2027, 1, 10, 18, tzinfo=UTC))
        [reminder] = [m for m in outbox(w) if m.kind == "reminder"]
        assert reminder.context.get("required_why") is None
        assert reminder.sent_at is not None
        assert reminder.sent_at >= first.due_at - timedelta(days=3)


async def test_the_plans_stored_settings_override_the_configuration(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given the configuration switches reminders off for the wine plan, and staff switch
        # them back on for it in the store (`billing plans messages wine --reminder on
        # --reminder-days 10 --receipt off`)
        config = club.settings(sandbox, db_url, mailbox,
                               plans={"wine": {"kinds_off": ["reminder"]}})  # fmt: skip
        club.wine_plan(w, trial_days=14)
        with w.store.transaction() as session:
            plan_messages.set_for_plan(session, "wine", kinds={"reminder": True, "receipt": False},
                                       reminder_days=10, now=w.clock.now())  # fmt: skip
        await club.member(w, "di@example.com", start=date(2027, 1, 5))
        # When the first charge after the trial falls due
        await run(w, config, datetime(2027, 1, 21, tzinfo=UTC))
        # Then the store won: the required notice went out 10 days before, the charge was
        # collected (not held), and no receipt was sent (switched off for the plan)
        [first] = w.charges()
        assert first.status == ChargeStatus.PAID
        [reminder] = outbox(w)
        assert reminder.kind == "reminder"
        assert reminder.sent_at is not None
        assert JAN_19 - timedelta(days=10) <= reminder.sent_at <= JAN_19 - timedelta(days=9)
        # And "default" hands the kind back to the configuration: reminders off again
        with w.store.transaction() as session:
            plan_messages.set_for_plan(session, "wine", kinds={"reminder": None},
                                       reminder_days=None, now=w.clock.now())  # fmt: skip
            found = plan_messages.effective(session, "wine", config.notify)
        assert "reminder" in found.kinds_off
        assert "receipt" in found.kinds_off
        assert found.reminder_days == 10
