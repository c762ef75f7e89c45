"""Card-on-file rules in the engine, over HTTP against the sandbox, on SQLite and PostgreSQL:
a charge is only sent on a mandate of its own standing instruction type; a defaulted
installment plan stops charging; an expired card is held for a new card, never retried."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from billing.domain.states import ChargeStatus, MandateStatus, SubscriptionStatus
from billing.enroll import accounts, keyed_card, service
from billing.manage import cards, charges, members
from billing.sandbox import SandboxHandle
from billing.store.tables import Charge, Event, Mandate
from tests.engine.conftest import START
from tests.engine.world import World, world

pytestmark = pytest.mark.anyio
NEVER_RECOVERS = "4000000000000275"
EXPIRES_NEXT_MONTH = "4000000000000416"  # approves; its expiry is forced to next month
APPROVE = "4111111111111111"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _events(w: World, entity: str, entity_id: int, type_: str) -> list[Event]:
    with w.store.transaction() as session:
        query = select(Event).where(Event.entity == entity, Event.entity_id == entity_id)
        query = query.where(Event.type == type_).order_by(col(Event.id))
        return list(session.exec(query).all())


async def _intents(w: World) -> list[dict[str, Any]]:
    return await w.control.items("payment-intents")


# --- item 5: a mandate is consent for one standing instruction type -----------------------


async def test_the_engine_holds_a_charge_outside_its_mandates_consent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    # Given a catering client's INSTALLMENT mandate, and a no-show fee already on it (a row
    # written before the rule existed, or by a path that forgot it)
    async with world(sandbox, db_url, START) as w:
        w.plan(code="deposit", name="Deposit", kind="INSTALLMENT", total_cents=90000,
               installments=3, interval_unit="month", timezone="UTC")  # fmt: skip
        sub_id = await w.member("deposit", start=date(2027, 3, 1))
        mandate_id = w.subscription(sub_id).mandate_id or 0
        now = w.clock.now()
        with w.store.transaction() as session:
            fee = Charge(mandate_id=mandate_id, kind="UNSCHEDULED", amount_cents=2500,
                         location_guid=w.location, check_item="Fee", reason="no-show",
                         due_at=now, next_attempt_at=now, created_at=now)  # fmt: skip
            session.add(fee)
            session.flush()
            fee_id = fee.id or 0
        # When the engine runs
        await w.engine.tick()
        # Then the fee is not sent but held for a human, naming both types
        [held] = [c for c in w.charges() if c.id == fee_id]
        assert held.status == ChargeStatus.NEEDS_ATTENTION
        assert await _intents(w) == []
        with w.store.transaction() as session:
            [item] = charges.attention(session)
        assert item.reason is not None
        assert "INSTALLMENT" in item.reason
        assert "UNSCHEDULED" in item.reason
        # and the card itself is fine: the mandate stays active
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE


# --- item 6: a defaulted installment plan stops charging ----------------------------------


async def _defaulting_plan(w: World) -> int:
    # three installments 10 days apart: part 1 on Jan 5 (retries Jan 6, 8, 12, 19: defaults on
    # the 19th), part 2 on Jan 15 (in dunning when part 1 defaults), part 3 on Jan 25
    w.plan(code="deposit", name="Deposit", kind="INSTALLMENT", total_cents=90000,
           installments=3, interval_unit="day", interval_count=10, timezone="UTC",
           local_time="10:00")  # fmt: skip
    return await w.member("deposit", card=NEVER_RECOVERS, start=date(2027, 1, 5))


async def test_a_defaulted_installment_plan_stops_charging_and_revokes_its_mandate(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        sub_id = await _defaulting_plan(w)
        mandate_id = w.subscription(sub_id).mandate_id or 0
        defaulted_at = _at("2027-01-19T10:00:00+00:00")
        # When two months pass
        await w.run_until(_at("2027-03-01T00:00:00+00:00"))
        # Then part 1 failed and the plan defaulted on Jan 19
        assert w.subscription(sub_id).status == SubscriptionStatus.DEFAULTED
        by_cycle = {c.cycle: c for c in w.charges()}
        assert (by_cycle[0].status, by_cycle[0].attempt_count) == (ChargeStatus.FAILED, 5)
        # part 2 (tried Jan 15, 16 and 18) was cancelled when the plan defaulted
        assert by_cycle[1].status == ChargeStatus.CANCELLED
        assert by_cycle[1].attempt_count == 3
        # part 3 was never created for the defaulted plan
        assert 2 not in by_cycle
        # no authorization was asked for after the default
        intents = await _intents(w)
        assert len(intents) == 8
        assert max(_at(i["creationDate"]) for i in intents) < defaulted_at + timedelta(minutes=1)
        # the mandate was revoked, here and at Toast
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED
        toast_id = w.mandate(mandate_id).toast_mandate_id
        [at_toast] = [m for m in await w.control.items("mandates") if m["id"] == toast_id]
        assert at_toast["status"] == "INACTIVE"
        # and the event says so
        [event] = _events(w, "subscription", sub_id, "defaulted")
        assert event.data["on_default"] == "cancel"
        assert event.data["charges_cancelled"] == [by_cycle[1].id]


async def test_a_defaulted_plan_can_hold_its_charges_for_a_human(
    sandbox: SandboxHandle, db_url: str
) -> None:
    # Given dunning.on_default = "hold"
    async with world(sandbox, db_url, START, dunning={"on_default": "hold"}) as w:
        sub_id = await _defaulting_plan(w)
        mandate_id = w.subscription(sub_id).mandate_id or 0
        await w.run_until(_at("2027-03-01T00:00:00+00:00"))
        by_cycle = {c.cycle: c for c in w.charges()}
        # Then part 2 waits in billing attention, nothing more is sent, the mandate is kept
        assert by_cycle[1].status == ChargeStatus.NEEDS_ATTENTION
        assert 2 not in by_cycle
        assert len(await _intents(w)) == 8
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE
        with w.store.transaction() as session:
            held = [i.charge.id for i in charges.attention(session)]
        assert held == [by_cycle[1].id]
        [event] = _events(w, "subscription", sub_id, "defaulted")
        assert event.data["charges_held"] == [by_cycle[1].id]
        # When a human writes it off, the mandate's purpose has ended and it is revoked
        with w.store.transaction() as session:
            charges.cancel(session, by_cycle[1].id or 0, now=w.clock.now())
        await w.engine.tick()
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED


# --- item 7: an expired card is held for a new card, never retried -----------------------


async def _expiring_member(w: World) -> int:
    # a wine club member whose card expires end of February 2027; the mandate records a stale
    # expiry (12/2030: the engine keeps what it knows and does not overwrite it from Toast's
    # replies), so only Toast's decline tells
    w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
           interval_unit="month", timezone="UTC", local_time="10:00")  # fmt: skip
    sub_id = await w.member("wine", card=EXPIRES_NEXT_MONTH, start=date(2027, 1, 5))
    with w.store.transaction() as session:
        mandate = session.get(Mandate, w.subscription(sub_id).mandate_id)
        assert mandate is not None
        assert mandate.card_exp_month is None
        mandate.card_exp_month, mandate.card_exp_year = 12, 2030
    return sub_id


async def test_an_expired_card_decline_holds_the_charge_and_expires_the_mandate(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        sub_id = await _expiring_member(w)
        mandate_id = w.subscription(sub_id).mandate_id or 0
        # When March's charge is declined expired_card, and a month passes
        await w.run_until(_at("2027-04-10T00:00:00+00:00"))
        by_cycle = {c.cycle: c for c in w.charges()}
        assert by_cycle[0].status == by_cycle[1].status == ChargeStatus.PAID
        # Then March waits in billing attention, tried once, never retried
        assert by_cycle[2].status == ChargeStatus.NEEDS_ATTENTION
        assert (by_cycle[2].attempt_count, by_cycle[2].last_decline_code) == (1, "expired_card")
        # the mandate is marked expired, so April is held too without reaching Toast
        assert w.mandate(mandate_id).status == MandateStatus.EXPIRED
        assert by_cycle[3].status == ChargeStatus.NEEDS_ATTENTION
        assert len(await _intents(w)) == 3
        assert w.subscription(sub_id).status == SubscriptionStatus.PAST_DUE
        with w.store.transaction() as session:
            advice = {i.charge.id: i.advice for i in charges.attention(session)}
        assert "new card" in advice[by_cycle[2].id]
        assert "new card" in advice[by_cycle[3].id]
        # When staff put a new card on file, the held charges are collected at once
        cof = await w.card(APPROVE)
        with w.store.transaction() as session:
            old = members.get_mandate(session, mandate_id)
            customer = members.get_customer(session, str(old.customer_id))
            new = members.add_active_mandate(
                session, customer=customer, location_guid=w.location,
                standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=w.clock.now(),
            )  # fmt: skip
            assert cards.replace_mandate(session, old=old, new=new, now=w.clock.now()) == 2
        await w.engine.tick()
        by_cycle = {c.cycle: c for c in w.charges()}
        assert by_cycle[2].status == by_cycle[3].status == ChargeStatus.PAID
        assert w.subscription(sub_id).status == SubscriptionStatus.ACTIVE


async def test_a_card_replaced_by_the_customer_collects_the_held_charge(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        sub_id = await _expiring_member(w)
        old_id = w.subscription(sub_id).mandate_id or 0
        await w.run_until(_at("2027-03-06T00:00:00+00:00"))
        [march] = [c for c in w.charges() if c.cycle == 2]
        assert march.status == ChargeStatus.NEEDS_ATTENTION
        # When the customer replaces the card through the enrollment API's use case
        ctx = service.Context(w.store, w.engine.charger.client, w.clock, w.location)
        view = await accounts.replace_card(ctx, sub_id, key="new-card-1")
        card = keyed_card.card_input(APPROVE, today=w.clock.now().date())
        shown = await keyed_card.confirm(ctx.toast, view, card)
        done = await service.refresh(ctx, view.enrollment.id, card=shown)
        assert done.enrollment.status == "completed"
        # Then the held charge moves to the new card and is collected at once
        await w.engine.tick()
        [march] = [c for c in w.charges() if c.cycle == 2]
        assert march.status == ChargeStatus.PAID
        assert march.mandate_id == done.mandate.id
        # and the expired mandate is revoked (its purpose moved to the new card)
        assert w.mandate(old_id).status == MandateStatus.REVOKED
        assert w.subscription(sub_id).status == SubscriptionStatus.ACTIVE
