"""Expiring-card notices: 30, 15 and 3 days before the card's last day, when a charge follows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
EXPIRES_NEXT_MONTH = "4000000000000416"  # the sandbox forces its expiry to next month


async def test_a_card_ending_before_the_next_charge_gets_three_notices(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a member billed on the 10th whose card expires in February 2027 (valid to Feb 28)
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder", "receipt"])
        club.wine_plan(w)
        await club.member(w, "fay@example.com", card=EXPIRES_NEXT_MONTH, start=date(2027, 1, 10))
        assert (w.mandate(1).card_exp_month, w.mandate(1).card_exp_year) in ((2, 27), (2, 2027))
        # When the club runs into March
        await run(w, config, datetime(2027, 3, 2, tzinfo=UTC))
        # Then three notices, 30, 15 and 3 days before March 1 in Los Angeles, each once
        notices = [m for m in outbox(w) if m.kind == "expiring_card"]
        assert [m.context["days"] for m in notices] == [30, 15, 3]
        ends = datetime(2027, 3, 1, 8, tzinfo=UTC)  # midnight in Los Angeles
        for message, days in zip(notices, (30, 15, 3), strict=True):
            assert message.sent_at is not None
            assert (ends - message.sent_at).total_seconds() <= days * 86_400
            assert (ends - message.sent_at).total_seconds() > (days - 1) * 86_400
        mails = mailbox.messages()
        assert len(mails) == 3
        card = f"{w.mandate(1).card_brand} ending in {w.mandate(1).card_last4}"
        assert mails[0].message["Subject"] == (
            f"Your {card} expires soon: please update it for {club.MERCHANT}"
        )
        assert "can be charged until February 28, 2027" in mails[0].text
        assert club.MANAGE in mails[0].text
        assert "$45.00" in mails[0].html


async def test_no_notice_when_no_charge_comes_after_the_card_ends(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a two-payment plan (January and February) on a card valid through February
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox, kinds_off=["reminder", "receipt"])
        club.wine_plan(w, max_cycles=2)
        await club.member(w, "gus@example.com", card=EXPIRES_NEXT_MONTH, start=date(2027, 1, 10))
        await run(w, config, datetime(2027, 3, 2, tzinfo=UTC))
        assert mailbox.messages() == []
