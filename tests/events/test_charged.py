"""Milestones charged by the engine against the sandbox over HTTP, on SQLite and PostgreSQL:
percentages and the remainder to the cent, exactly once across a restart, the event closed and
its mandate revoked once paid in full."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from billing.domain.states import ChargeStatus, MandateStatus
from billing.events import booking
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.events import helpers

pytestmark = pytest.mark.anyio
EVENT_DAY = date(2027, 3, 15)  # 18:00 New York; 30 days before = 2027-02-13, 3 = 2027-03-12


async def test_a_schedule_is_collected_to_the_cent_once_across_a_restart_then_closed(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        helpers.template(w)
        event_id, mandate_id = await helpers.event(w, EVENT_DAY)
        # 100 x $83.33 + $500.01 = $8,833.01: 25% = 220825.25 -> 220825, 50% = 441650.5 ->
        # 441651 (half up), the remainder 220825 takes what is left.
        planned = {n: c.amount_cents for n, c in helpers.charges(w, event_id).items()}
        assert planned == {"deposit": 220_825, "second": 441_651, "balance": 220_825}
        await w.run_until(datetime(2027, 2, 20, tzinfo=UTC), step=timedelta(days=2))
        assert helpers.the_event(w, event_id).status == "booked"
    # a restart: a new engine on the same store picks up where the last one stopped
    async with world(sandbox, db_url, datetime(2027, 2, 20, tzinfo=UTC)) as w:
        await w.run_until(datetime(2027, 3, 20, tzinfo=UTC), step=timedelta(days=2))
        paid = helpers.charges(w, event_id)
        assert {n: c.status for n, c in paid.items()} == dict.fromkeys(paid, ChargeStatus.PAID)
        second = helpers.local(paid["second"].due_at)
        assert (second.date(), second.time()) == (date(2027, 2, 13), time(9, 0))
        balance = helpers.local(paid["balance"].due_at)
        assert (balance.date(), balance.time()) == (date(2027, 3, 12), time(9, 0))
        payments = await w.control.items("order-payments")
        assert sorted(p["amount"] for p in payments) == [220_825, 220_825, 441_651]
        ev = helpers.the_event(w, event_id)
        assert (ev.status, ev.closed_at is not None) == ("closed", True)
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED


async def test_a_move_shifts_only_unpaid_milestones(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w)
        event_id, _ = await helpers.event(w, EVENT_DAY)
        await w.run_until(START + timedelta(days=1), step=timedelta(hours=12))
        deposit = helpers.charges(w, event_id)["deposit"]
        assert deposit.status == ChargeStatus.PAID
        with w.store.transaction() as session:
            booking.move(session, event_id, local_date=date(2027, 4, 5), local_time=None,
                         now=w.clock.now())  # fmt: skip
        after = helpers.charges(w, event_id)
        assert (after["deposit"].due_at, after["deposit"].amount_cents) == (
            deposit.due_at, deposit.amount_cents)  # fmt: skip
        second, balance = helpers.local(after["second"].due_at), helpers.local(
            after["balance"].due_at
        )
        # 21 local days later at the same local time (DST began in between: 09:00 stays 09:00)
        assert (second.date(), second.time()) == (date(2027, 3, 6), time(9, 0))
        assert (balance.date(), balance.time()) == (date(2027, 4, 2), time(9, 0))
        ev = helpers.the_event(w, event_id)
        assert ev.guarantee_date == date(2027, 3, 11) + timedelta(days=21)
        await w.run_until(datetime(2027, 4, 10, tzinfo=UTC), step=timedelta(days=3))
        payments = await w.control.items("order-payments")
        assert sorted(p["amount"] for p in payments) == [220_825, 220_825, 441_651]
