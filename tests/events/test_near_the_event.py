"""Declines near the event, the event's start, guest counts and cancellation, against the
sandbox over HTTP: nothing is charged on or after the start without staff confirmation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.domain.states import ChargeStatus, MandateStatus
from billing.errors import DomainError
from billing.events import booking, rules
from billing.manage import alerts
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.events import helpers

pytestmark = pytest.mark.anyio
ALWAYS_DECLINES = "4000000000000275"  # saves fine, then every payment declines (retryable)
ONLY_BALANCE = [rules.Milestone(name="balance", kind="remainder", days_before=3)]


def _alerts(w: World) -> list[alerts.Alert]:
    with w.store.transaction() as session:
        return [a for a in alerts.engine_alerts(session, now=w.clock.now())
                if a.kind == "event milestone declined"]  # fmt: skip


async def _attempt_times(w: World) -> list[datetime]:
    intents = await w.control.items("payment-intents")
    return sorted(datetime.fromisoformat(i["creationDate"].replace("Z", "+00:00"))
                  for i in intents if i.get("offSession"))  # fmt: skip


async def test_a_retry_that_would_fall_after_the_start_is_held_and_staff_alerted(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w, "tight", ONLY_BALANCE, retry_days=(1, 2, 4), alert_days=7)
        day = date(2027, 1, 20)  # balance due 2027-01-17 09:00 New York; start 01-20 18:00
        event_id, mandate_id = await helpers.event(w, day, schedule="tight", card=ALWAYS_DECLINES)
        await w.run_until(datetime(2027, 1, 24, tzinfo=UTC), step=timedelta(hours=12))
        balance = helpers.charges(w, event_id)["balance"]
        ev = helpers.the_event(w, event_id)
        # declined on the 17th, retried on the 18th and 19th; the 3rd retry (the 21st) would
        # fall after the start: held for staff, never sent.
        assert (balance.status, balance.decline_count) == (ChargeStatus.NEEDS_ATTENTION, 3)
        tries = await _attempt_times(w)
        assert len(tries) == 3
        assert all(t < ev.start_at for t in tries)
        assert ev.status == "balance_due"
        raised = _alerts(w)
        assert len(raised) == 3  # at once, on each decline inside the 7-day window
        assert "retry held for staff" in raised[-1].detail
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE


async def test_a_charge_claimed_after_the_start_is_held_until_staff_confirm(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w, "tight", ONLY_BALANCE)
        event_id, mandate_id = await helpers.event(w, date(2027, 1, 10), schedule="tight")
        w.clock.set(datetime(2027, 1, 11, tzinfo=UTC))  # the engine was down past the start
        await w.run_until(datetime(2027, 1, 12, tzinfo=UTC), step=timedelta(hours=6))
        assert helpers.charges(w, event_id)["balance"].status == ChargeStatus.NEEDS_ATTENTION
        assert await _attempt_times(w) == []
        assert helpers.the_event(w, event_id).status == "balance_due"
        assert "staff confirmation" in _alerts(w)[-1].detail
        with w.store.transaction() as session:
            booking.confirm(session, event_id, "balance", now=w.clock.now())
        await w.run_until(datetime(2027, 1, 13, tzinfo=UTC), step=timedelta(hours=6))
        assert helpers.charges(w, event_id)["balance"].status == ChargeStatus.PAID
        assert helpers.the_event(w, event_id).status == "closed"
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED


async def test_guest_changes_recompute_unpaid_milestones_under_the_guarantee_rule(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w)
        event_id, _ = await helpers.event(w, date(2027, 3, 15), per_guest=10_000, fixed=0)
        await w.run_until(datetime(2027, 2, 14, tzinfo=UTC), step=timedelta(days=2))
        paid = {n: c.amount_cents for n, c in helpers.charges(w, event_id).items()
                if c.status == ChargeStatus.PAID}  # fmt: skip
        assert paid == {"deposit": 250_000, "second": 500_000}
        with w.store.transaction() as session:  # before the guarantee date (03-11): may fall
            booking.guests(session, event_id, 90, now=w.clock.now())
        assert helpers.charges(w, event_id)["balance"].amount_cents == 900_000 - 750_000
        w.clock.set(datetime(2027, 3, 12, 5, tzinfo=UTC))  # 03-12 00:00 New York: guaranteed
        with pytest.raises(DomainError) as info, w.store.transaction() as session:
            booking.guests(session, event_id, 80, now=w.clock.now())
        assert info.value.field == "guests"
        assert helpers.the_event(w, event_id).guests == 90  # nothing written
        with w.store.transaction() as session:
            booking.guests(session, event_id, 120, now=w.clock.now())
        assert helpers.charges(w, event_id)["balance"].amount_cents == 1_200_000 - 750_000
        with w.store.transaction() as session:
            booking.price(session, event_id, fixed_cents=12_345, now=w.clock.now())
        await w.run_until(datetime(2027, 3, 20, tzinfo=UTC), step=timedelta(days=1))
        charged = helpers.charges(w, event_id)
        assert charged["balance"].amount_cents == 1_200_000 + 12_345 - 750_000
        assert charged["deposit"].amount_cents == 250_000  # a paid milestone never changes
        payments = await w.control.items("order-payments")
        assert sum(p["amount"] for p in payments) == 1_212_345


TIERED = [
    rules.Milestone(name="deposit", kind="percent", value=2500),
    rules.Milestone(name="second", kind="percent", value=5000, days_before=40),
    rules.Milestone(name="balance", kind="remainder", days_before=3),
]


async def test_cancellation_tiers_record_retained_and_refund_owed(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        helpers.template(w, "tiered", TIERED)  # tiers: >= 30 days keep the deposit, else all
        far, far_mandate = await helpers.event(w, date(2027, 3, 15), schedule="tiered",
                                               per_guest=10_000, fixed=0)  # fmt: skip
        near, _ = await helpers.event(w, date(2027, 2, 20), schedule="tiered", per_guest=10_000,
                                      fixed=0)  # fmt: skip
        await w.run_until(datetime(2027, 2, 8, tzinfo=UTC), step=timedelta(days=1))
        with w.store.transaction() as session:  # 35 days before: the deposit is kept
            done = booking.cancel(session, far, now=w.clock.now())
            assert (done.settlement.paid, done.settlement.retained,
                    done.settlement.refund_owed) == (750_000, 250_000, 500_000)  # fmt: skip
        with w.store.transaction() as session:  # 12 days before: everything paid is kept
            done = booking.cancel(session, near, now=w.clock.now())
            assert (done.settlement.retained, done.settlement.refund_owed) == (750_000, 0)
        await w.run_until(datetime(2027, 3, 20, tzinfo=UTC), step=timedelta(days=2))
        for event_id in (far, near):
            charged = helpers.charges(w, event_id)
            assert charged["balance"].status == ChargeStatus.CANCELLED
            assert helpers.the_event(w, event_id).status == "cancelled"
        assert w.mandate(far_mandate).status == MandateStatus.REVOKED
        payments = await w.control.items("order-payments")
        assert len(payments) == 4  # two deposits, two second milestones; no balance
        with w.store.transaction() as session:
            owed = booking.refunds_owed(session)
        assert [(o.event_id, o.refund_owed_cents) for o in owed] == [(far, 500_000)]
