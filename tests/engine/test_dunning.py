"""Declines go through dunning: retried on schedule, never when the card is lost or stolen."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from billing.domain.states import ChargeStatus, SubscriptionStatus
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import World, world

pytestmark = pytest.mark.anyio
DECLINES_TWICE = "4000000000000341"  # declines its first 2 payments, then approves
NEVER_RECOVERS = "4000000000000275"
STOLEN = "4000000000000259"


async def _club(w: World, card: str) -> int:
    w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
           interval_unit="month", timezone="UTC", local_time="10:00")  # fmt: skip
    return await w.member("wine", card=card, start=date(2027, 1, 5))


async def _authorizations(w: World) -> list[dict[str, object]]:
    return await w.control.items("payment-intents")


async def test_decline_recovers_on_the_second_retry(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        sub_id = await _club(w, DECLINES_TWICE)
        first_due = datetime.fromisoformat("2027-01-05T10:00:00+00:00")
        await w.run_until(first_due + timedelta(days=1, hours=1))
        assert w.subscription(sub_id).status == SubscriptionStatus.PAST_DUE
        await w.run_until(first_due + timedelta(days=20))
        [charge] = [c for c in w.charges() if c.cycle == 0]
        # declined at +0 and +1 day, paid on the +3 days retry (from the first decline)
        assert charge.status == ChargeStatus.PAID
        assert charge.decline_count == 2
        assert charge.settled_at == first_due + timedelta(days=3)
        assert w.subscription(sub_id).status == SubscriptionStatus.ACTIVE
        captured = [e for e in await w.control.items("order-payments") if e["status"] == "CAPTURED"]
        assert len(captured) == 1


async def test_dunning_gives_up_and_pauses(sandbox: SandboxHandle, sqlite_url: str) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        sub_id = await _club(w, NEVER_RECOVERS)
        await w.run_until(datetime.fromisoformat("2027-01-25T00:00:00+00:00"))
        [charge] = [c for c in w.charges() if c.cycle == 0]
        assert charge.status == ChargeStatus.FAILED
        assert charge.attempt_count == 5  # the first try and 4 retries (1, 3, 7, 14 days)
        assert w.subscription(sub_id).status == SubscriptionStatus.PAUSED
        # paused: the next cycles are not charged
        await w.run_until(datetime.fromisoformat("2027-04-01T00:00:00+00:00"))
        assert [c.cycle for c in w.charges()] == [0]
        assert await w.control.items("order-payments") == []


async def test_stolen_card_is_never_retried(sandbox: SandboxHandle, sqlite_url: str) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        sub_id = await _club(w, STOLEN)
        await w.run_until(datetime.fromisoformat("2027-02-01T00:00:00+00:00"))
        [charge] = [c for c in w.charges() if c.cycle == 0]
        assert (charge.status, charge.attempt_count) == (ChargeStatus.FAILED, 1)
        assert charge.last_decline_code == "stolen_card"
        assert len(await _authorizations(w)) == 1
        assert w.subscription(sub_id).status == SubscriptionStatus.PAUSED


async def test_installment_plan_defaults_when_dunning_ends(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        w.plan(code="deposit", name="Deposit", kind="INSTALLMENT", total_cents=90000,
               installments=3, interval_unit="month", timezone="UTC")  # fmt: skip
        sub_id = await w.member("deposit", card=NEVER_RECOVERS, start=date(2027, 1, 5))
        await w.run_until(datetime.fromisoformat("2027-02-01T00:00:00+00:00"))
        assert w.subscription(sub_id).status == SubscriptionStatus.DEFAULTED


async def test_expired_card_stops_collection_with_a_clear_status(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    # Given a member whose card on file expires at the end of February 2027
    async with world(sandbox, sqlite_url, START) as w:
        sub_id = await _club(w, "4111111111111111")
        mandate_id = w.subscription(sub_id).mandate_id
        with w.store.transaction() as session:
            from billing.store.tables import Mandate

            mandate = session.get(Mandate, mandate_id)
            assert mandate is not None
            mandate.card_exp_month, mandate.card_exp_year = 2, 2027
        # When three months pass
        await w.run_until(datetime.fromisoformat("2027-04-01T00:00:00+00:00"))
        # Then January and February were paid, March was not sent but held for a human
        by_cycle = {c.cycle: c.status for c in w.charges()}
        assert by_cycle[0] == by_cycle[1] == ChargeStatus.PAID
        assert by_cycle[2] == ChargeStatus.NEEDS_ATTENTION
        assert w.mandate(mandate_id or 0).status == "expired"
        assert len(await _authorizations(w)) == 2  # no doomed request reached Toast


async def test_a_new_card_is_retried_at_once(sandbox: SandboxHandle, sqlite_url: str) -> None:
    # Given a member in dunning on a card that never recovers
    async with world(sandbox, sqlite_url, START) as w:
        from billing.manage import cards, members

        sub_id = await _club(w, NEVER_RECOVERS)
        first_due = datetime.fromisoformat("2027-01-05T10:00:00+00:00")
        await w.run_until(first_due + timedelta(hours=2))
        [charge] = [c for c in w.charges() if c.cycle == 0]
        assert charge.status == ChargeStatus.RETRY_SCHEDULED
        # When the customer gives a new card
        cof = await w.card("4111111111111111")
        with w.store.transaction() as session:
            sub = w.subscription(sub_id)
            old = members.get_mandate(session, sub.mandate_id or 0)
            customer = members.get_customer(session, str(old.customer_id))
            new = members.add_active_mandate(
                session, customer=customer, location_guid=w.location,
                standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=w.clock.now(),
            )  # fmt: skip
            assert cards.replace_mandate(session, old=old, new=new, now=w.clock.now()) == 1
        # Then the charge is retried right away (not on day 1 of the schedule) and paid
        await w.engine.tick()
        [charge] = [c for c in w.charges() if c.cycle == 0]
        assert charge.status == ChargeStatus.PAID
        assert charge.settled_at == w.clock.now()
        assert w.subscription(sub_id).mandate_id == new.id


async def test_a_plan_can_override_the_retry_schedule(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="UTC", dunning_retry_days=[2])  # fmt: skip
        await w.member("wine", card=NEVER_RECOVERS, start=date(2027, 1, 5))
        await w.run_until(datetime.fromisoformat("2027-01-20T00:00:00+00:00"))
        [charge] = [c for c in w.charges() if c.cycle == 0]
        assert (charge.status, charge.attempt_count) == (ChargeStatus.FAILED, 2)
        assert charge.settled_at == datetime.fromisoformat("2027-01-07T10:00:00+00:00")
