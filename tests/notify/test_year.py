"""Acceptance: a year of a small wine club, the engine and the dispatch lane together on
simulated time, mail to a real SMTP server and webhooks to a real receiver on 127.0.0.1 that
verifies every signature: exactly the expected messages per member and kind, none twice.

Besides the six-month club (tests/notify/test_club.py) it has a member who unsubscribes from
reminders and whose price then changes: the required notice reaches her anyway, 8 days before.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from billing.manage import subscriptions
from billing.notify import dispatcher, endpoints, optouts
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.notify import club
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox
from tests.notify.receiver import decoded, running_receiver
from tests.notify.test_club import DECLINES_TWICE, NEVER_RECOVERS, _kind

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
EVENTS = "charge.paid,charge.declined,charge.failed,charge.held,subscription.cancelled"


async def _run(w: World, config: BillingSettings, until: datetime) -> None:
    from billing.engine import simulation

    async def advance(now: datetime) -> None:
        await w.control.set_clock(now)
        await dispatcher.dispatch_once(w.store, w.clock, config)

    await simulation.run_until(w.engine, w.clock, until, step=timedelta(days=1),
                               on_advance=advance)  # fmt: skip
    await dispatcher.dispatch_once(w.store, w.clock, config)


async def test_a_year_of_a_wine_club_with_webhooks(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    with running_receiver() as receiver:
        async with world(sandbox, sqlite_url, START) as w:
            config = club.settings(sandbox, sqlite_url, mailbox)
            club.wine_plan(w)
            with w.store.transaction() as session:
                _, receiver.secret = endpoints.add(session, receiver.url, events=EVENTS,
                                                   now=w.clock.now(), production=False)
            # Given five members of a $45.00 monthly club from January
            await club.member(w, "ann@example.com", start=date(2027, 1, 10))  # always pays
            await club.member(w, "bob@example.com", card=DECLINES_TWICE, start=date(2027, 1, 12))
            await club.member(w, "cy@example.com", card=NEVER_RECOVERS, start=date(2027, 1, 14))
            di = await club.member(w, "di@example.com", start=date(2027, 1, 20))
            ed = await club.member(w, "ed@example.com", start=date(2027, 1, 8))
            # When Ed unsubscribes from reminders after January's charge, Di cancels on April
            # 15, Ed's price goes up to $50.00 on May 20, and the club runs to the year's end
            await _run(w, config, datetime(2027, 1, 9, tzinfo=UTC))
            with w.store.transaction() as session:
                optouts.opt_out(session, 5, "reminder", now=w.clock.now())
            await _run(w, config, datetime(2027, 4, 15, tzinfo=UTC))
            with w.store.transaction() as session:
                subscriptions.cancel(session, di, now=w.clock.now())
            await _run(w, config, datetime(2027, 5, 20, tzinfo=UTC))
            with w.store.transaction() as session:
                subscriptions.change_amount(session, ed, 5000, now=w.clock.now())
            await _run(w, config, datetime(2027, 12, 31, tzinfo=UTC))
            rows = outbox(w)
        hits = receiver.all()
    # Then each member got exactly these emails, each once:
    got = Counter((m.rcpt_tos[0], _kind(m.message["Subject"])) for m in mailbox.messages())
    assert got == Counter({
        # a reminder 3 days before each of 12 charges, and 12 receipts
        ("ann@example.com", "reminder"): 12, ("ann@example.com", "receipt"): 12,
        # January declined twice (a notice each), paid on the second retry; 11 more months
        ("bob@example.com", "reminder"): 12, ("bob@example.com", "decline"): 2,
        ("bob@example.com", "receipt"): 12,
        # January: 4 notices, then the final failure; the subscription is paused (no more)
        ("cy@example.com", "reminder"): 1, ("cy@example.com", "decline"): 4,
        ("cy@example.com", "final_failure"): 1,
        # January to March paid, cancelled on April 15 (before April's reminder)
        ("di@example.com", "reminder"): 3, ("di@example.com", "receipt"): 3,
        ("di@example.com", "cancellation"): 1,
        # January's reminder before unsubscribing, then only June's (the required notice of
        # the new price); 12 receipts
        ("ed@example.com", "reminder"): 2, ("ed@example.com", "receipt"): 12,
    })  # fmt: skip
    assert len(set(mailbox.ids())) == len(mailbox.messages())  # no copy twice
    [june] = [m for m in rows if m.recipient == "ed@example.com" and m.kind == "reminder"
              and m.context.get("required_why")]  # fmt: skip
    june_due = datetime(2027, 6, 8, 17, tzinfo=UTC)  # 10:00 in Los Angeles (PDT)
    assert june.sent_at is not None
    assert june.sent_at <= june_due - timedelta(days=7)
    assert june.context["amount_cents"] == 5000
    # And the receiver verified every webhook, each delivered once, as many per member and type
    assert all(h.body is not None and h.answered == 204 for h in hits)
    assert len({h.webhook_id for h in hits}) == len(hits)
    emails = {1: "ann@example.com", 2: "bob@example.com", 3: "cy@example.com",
              4: "di@example.com", 5: "ed@example.com"}  # fmt: skip
    hooks = Counter((emails[decoded(h)["data"]["customer"]["id"]], decoded(h)["type"])
                    for h in hits)  # fmt: skip
    assert hooks == Counter({
        ("ann@example.com", "charge.paid"): 12,
        ("bob@example.com", "charge.declined"): 2, ("bob@example.com", "charge.paid"): 12,
        ("cy@example.com", "charge.declined"): 4, ("cy@example.com", "charge.failed"): 1,
        ("di@example.com", "charge.paid"): 3, ("di@example.com", "subscription.cancelled"): 1,
        ("ed@example.com", "charge.paid"): 12,
    })  # fmt: skip
    ed_paid = [decoded(h)["data"]["charge"]["amount_cents"] for h in hits
               if decoded(h)["data"]["customer"]["id"] == 5]  # fmt: skip
    assert ed_paid == [4500] * 5 + [5000] * 7
    assert {r.status for r in rows} == {Status.SENT}
    assert len(rows) == len(mailbox.messages()) + len(hits)
