"""Year-long simulations against the sandbox: every due charge collected once, on its local date,
for exactly its amount."""

from __future__ import annotations

import calendar
import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.domain.states import ChargeStatus, MandateStatus, SubscriptionStatus
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
END_OF_2027 = datetime(2028, 1, 1, 12, tzinfo=UTC)


def month_dates(anchor: int, months: int) -> list[date]:
    """The oracle: the anchor day, or the last day of a shorter month, for 12 months of 2027."""
    days = []
    for k in range(months):
        year, month = 2027 + k // 12, k % 12 + 1
        days.append(date(year, month, min(anchor, calendar.monthrange(year, month)[1])))
    return days


async def _ledger(w: object) -> list[dict[str, object]]:
    return await w.control.items("order-payments")  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("tz", ["America/New_York", "America/Los_Angeles"])
async def test_a_year_of_monthly_wine_club(
    sandbox: SandboxHandle, sqlite_url: str, tz: str
) -> None:
    # Given a monthly wine club billed at 10:00 local, members anchored on the 1st, 15th, 31st
    async with world(sandbox, sqlite_url, START) as w:
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone=tz, local_time="10:00")  # fmt: skip
        subs = {
            a: await w.member("wine", start=date(2027, 1, a), anchor_day=a) for a in (1, 15, 31)
        }
        # When a year passes
        await w.run_until(END_OF_2027)
        # Then each member paid 12 times, on the expected local dates, 45.00 each
        charges = w.charges()
        for anchor, sub_id in subs.items():
            paid = [c for c in charges if c.subscription_id == sub_id and c.status == "paid"]
            assert [c.cycle for c in paid] == list(range(12))
            local = [c.due_at.astimezone(ZoneInfo(tz)) for c in paid]
            assert [d.date() for d in local] == month_dates(anchor, 12)
            assert {(d.hour, d.minute) for d in local} == {(10, 0)}
            assert {c.amount_cents for c in paid} == {4500}
            assert all(c.settled_at == c.due_at for c in paid)  # collected at the due instant
            assert w.subscription(sub_id).cycles_paid == 12
        # And the sandbox captured exactly one payment per paid charge
        ledger = await _ledger(w)
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert len(captured) == 36
        assert len({e["guid"] for e in captured}) == 36
        assert {e["amount"] for e in captured} == {4500}
        assert not [e for e in ledger if e["status"] != "CAPTURED"]


async def test_weekly_installments_split_remainder_cents_and_complete(
    sandbox: SandboxHandle, db_url: str
) -> None:
    # Given a catering deposit of $10.02 in 5 weekly installments (on SQLite and PostgreSQL)
    async with world(sandbox, db_url, START) as w:
        w.plan(code="deposit", name="Catering deposit", kind="INSTALLMENT", total_cents=1002,
               installments=5, interval_unit="week", timezone="America/New_York")  # fmt: skip
        sub_id = await w.member("deposit", start=date(2027, 1, 4))
        await w.run_until(START + timedelta(days=60))
        charges = [c for c in w.charges() if c.subscription_id == sub_id]
        # Then exactly five charges, extra cents first, a week apart, all paid
        assert [c.amount_cents for c in charges] == [201, 201, 200, 200, 200]
        assert sum(c.amount_cents for c in charges) == 1002
        assert all(c.status == ChargeStatus.PAID for c in charges)
        gaps = {(b.due_at - a.due_at) for a, b in itertools.pairwise(charges)}
        assert gaps == {timedelta(weeks=1)}
        # And the plan is complete, its mandate revoked at Toast and here
        sub = w.subscription(sub_id)
        assert sub.status == SubscriptionStatus.COMPLETED
        mandate = w.mandate(sub.mandate_id or 0)
        assert mandate.status == MandateStatus.REVOKED
        at_toast = await w.control.find("mandates", id=mandate.toast_mandate_id)
        assert at_toast[0]["status"] == "INACTIVE"
        # and the card-on-file detached after the revocation (Toast's order)
        [card] = await w.control.find("payment-methods", id=mandate.toast_payment_method_id)
        assert card["detached"] is True
        assert sorted(e["amount"] for e in await _ledger(w)) == [200, 200, 200, 201, 201]


async def test_no_show_fees_are_charged_once_and_release_their_mandates(
    sandbox: SandboxHandle, db_url: str
) -> None:
    # Given three reservations whose guests did not show, each with a fee due now
    async with world(sandbox, db_url, START) as w:
        fees = [await w.fee(amount=amount) for amount in (2500, 5000, 7500)]
        # When the engine ticks, and again later
        await w.engine.tick()
        w.clock.advance(timedelta(hours=1))
        await w.engine.tick()
        # Then each fee was captured exactly once, and each mandate revoked
        charges = {c.id: c for c in w.charges()}
        assert [charges[f].status for f in fees] == [ChargeStatus.PAID] * 3
        ledger = await _ledger(w)
        assert Counter(e["amount"] for e in ledger) == Counter({2500: 1, 5000: 1, 7500: 1})
        for fee in fees:
            assert w.mandate(charges[fee].mandate_id).status == MandateStatus.REVOKED
        assert {m["status"] for m in await w.control.items("mandates")} == {"INACTIVE"}


async def test_a_cancelled_subscription_releases_its_mandate(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    # Given a member whose subscription was cancelled (e.g. at the end of its period)
    async with world(sandbox, sqlite_url, START) as w:
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="UTC")  # fmt: skip
        sub_id = await w.member("wine", start=date(2027, 1, 5))
        await w.run_until(datetime(2027, 1, 6, tzinfo=UTC))
        with w.store.transaction() as session:
            from billing.store.tables import Subscription

            sub = session.get(Subscription, sub_id)
            assert sub is not None
            sub.status = SubscriptionStatus.CANCELLED
        # When the engine ticks
        await w.engine.tick()
        # Then the mandate is revoked at Toast and here, and the card-on-file detached
        mandate = w.mandate(w.subscription(sub_id).mandate_id or 0)
        assert mandate.status == MandateStatus.REVOKED
        [at_toast] = await w.control.find("mandates", id=mandate.toast_mandate_id)
        assert at_toast["status"] == "INACTIVE"
        [card] = await w.control.find("payment-methods", id=mandate.toast_payment_method_id)
        assert card["detached"] is True
