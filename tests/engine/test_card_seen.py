"""The engine learns the card from Toast's own replies (issue 14 item 7): a mandate saved
without card details gets brand, last four and expiry from the first authorization, so a card
that later expires is held in `billing attention` before anything is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.domain.states import ChargeStatus, MandateStatus
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
EXPIRES_NEXT_MONTH = "4000000000000416"  # sandbox test card: approves, expires next month


async def test_the_first_authorization_records_the_card_and_its_expiry(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given a monthly member whose mandate was saved with no card details
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="America/New_York")  # fmt: skip
        sub_id = await w.member("wine", start=date(2027, 1, 10))
        mandate_id = w.subscription(sub_id).mandate_id
        assert mandate_id is not None
        assert w.mandate(mandate_id).card_exp_year is None
        # When the first cycle is charged
        await w.run_until(START + timedelta(days=12))
        # Then the mandate holds the card as Toast described it in the authorization
        mandate = w.mandate(mandate_id)
        intents = await w.control.items("payment-intents")
        card = next(i["latestPayment"]["card"] for i in intents if i.get("latestPayment"))
        assert mandate.card_last4 == card["lastFour"]
        assert mandate.card_brand == card["brand"]
        assert (mandate.card_exp_month, mandate.card_exp_year % 100) == (
            int(card["expiry"]["month"]), int(card["expiry"]["year"]) % 100
        )
        assert [c.status for c in w.charges() if c.cycle == 0] == [ChargeStatus.PAID]
        assert mandate.status == MandateStatus.ACTIVE


async def test_a_card_learned_from_toast_is_held_when_it_expires_without_being_sent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given a member whose card (saved without details) expires at the end of February
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="UTC", local_time="10:00")  # fmt: skip
        sub_id = await w.member("wine", card=EXPIRES_NEXT_MONTH, start=date(2027, 1, 5))
        mandate_id = w.subscription(sub_id).mandate_id or 0
        # When the engine runs through March
        await w.run_until(datetime(2027, 3, 10, tzinfo=UTC))
        # Then January and February were paid, and March is held before anything is sent:
        # the expiry came from January's authorization
        by_cycle = {c.cycle: c for c in w.charges()}
        assert by_cycle[0].status == by_cycle[1].status == ChargeStatus.PAID
        assert by_cycle[2].status == ChargeStatus.NEEDS_ATTENTION
        assert by_cycle[2].attempt_count == 0
        assert w.mandate(mandate_id).status == MandateStatus.EXPIRED
        assert len(await w.control.items("payment-intents")) == 2
