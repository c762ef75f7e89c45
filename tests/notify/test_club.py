"""Acceptance: half a year of a small wine club, the engine and the dispatch lane running
together on simulated time, sends exactly the expected messages per member and kind."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from billing.manage import subscriptions
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
DECLINES_TWICE = "4000000000000341"
NEVER_RECOVERS = "4000000000000275"


async def test_six_months_of_a_wine_club(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a $45.00 monthly club (10:00 Los Angeles) and four members from January:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        club.wine_plan(w)
        await club.member(w, "ann@example.com", start=date(2027, 1, 10))  # always pays
        await club.member(w, "bob@example.com", card=DECLINES_TWICE, start=date(2027, 1, 12))
        await club.member(w, "cy@example.com", card=NEVER_RECOVERS, start=date(2027, 1, 14))
        di = await club.member(w, "di@example.com", start=date(2027, 1, 20))
        # When the club runs to mid-April, Di cancels, and it runs to the end of June
        await run(w, config, datetime(2027, 4, 15, tzinfo=UTC))
        with w.store.transaction() as session:
            subscriptions.cancel(session, di, now=w.clock.now())
        await run(w, config, datetime(2027, 6, 30, tzinfo=UTC))
        rows = outbox(w)
    # Then each member got exactly these messages, each once:
    got = Counter((m.rcpt_tos[0], _kind(m.message["Subject"])) for m in mailbox.messages())
    assert got == Counter({
        # a reminder 3 days before each of 6 charges, and 6 receipts
        ("ann@example.com", "reminder"): 6, ("ann@example.com", "receipt"): 6,
        # January declined twice (a notice each), paid on the second retry; then 5 more months
        ("bob@example.com", "reminder"): 6, ("bob@example.com", "decline"): 2,
        ("bob@example.com", "receipt"): 6,
        # January: 4 notices, then the final failure; the subscription is paused (no more)
        ("cy@example.com", "reminder"): 1, ("cy@example.com", "decline"): 4,
        ("cy@example.com", "final_failure"): 1,
        # January to March paid, cancelled on April 15 (before April's reminder)
        ("di@example.com", "reminder"): 3, ("di@example.com", "receipt"): 3,
        ("di@example.com", "cancellation"): 1,
    })  # fmt: skip
    assert len(set(mailbox.ids())) == len(mailbox.messages())  # no copy twice
    assert {r.status for r in rows} == {Status.SENT}
    assert len(rows) == len(mailbox.messages())


def _kind(subject: str) -> str:
    for prefix, kind in (("Receipt", "receipt"), ("Upcoming", "reminder"),
                         ("Your payment", "decline"), ("We could not", "final_failure"),
                         ("Your Wine club", "cancellation")):  # fmt: skip
        if subject.startswith(prefix):
            return kind
    raise AssertionError(subject)
