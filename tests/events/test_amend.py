"""Staff amending a booked event on a real world (store on SQLite and PostgreSQL, the sandbox
over HTTP, the engine on a FakeClock): the schedule edited after the deposit was paid (paid
milestones never change, the charges follow at once, bad edits write nothing), and a milestone
waived: written off, not rolled into the remainder, to the cent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.errors import BillingError
from billing.events import amend, booking, editing, schedules, views
from billing.sandbox import SandboxHandle
from billing.store.tables import Mandate
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.events import helpers

pytestmark = pytest.mark.anyio
DAY = date(2027, 3, 15)  # 100 x $83.33 + $500.01 = $8,833.01; booked 2027-01-01


def _edit(w: World, event_id: int, **ops: list[str]) -> None:
    edit = editing.Edit(
        add=[schedules.parse_milestone(m) for m in ops.get("add", [])],
        change=[schedules.parse_milestone(m) for m in ops.get("change", [])],
        remove=ops.get("remove", []),
    )  # fmt: skip
    with w.store.transaction() as session:
        amend.edit_schedule(session, event_id, edit, now=w.clock.now())


def _state(w: World, event_id: int) -> tuple[object, ...]:
    ms = helpers.milestones(w, event_id)
    charges = helpers.charges(w, event_id)
    return (sorted((m.name, m.kind, m.value, m.days_before, m.amount_cents, m.state)
                   for m in ms.values()),
            sorted((n, c.amount_cents, c.due_at, c.status) for n, c in charges.items()))


async def test_the_schedule_is_edited_after_the_deposit_and_collected_to_the_cent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        helpers.template(w)
        event_id, _ = await helpers.event(w, DAY)
        await w.run_until(START + timedelta(minutes=5), step=timedelta(minutes=5))
        assert helpers.milestones(w, event_id)["deposit"].state == "paid"
        # When staff set the second payment to 40% at 45 days and add a $500 tasting at 60
        _edit(w, event_id, change=["second=40%@45"], add=["tasting=$500@60"])
        ms = helpers.milestones(w, event_id)
        # Then the paid deposit is as it was; 40% of $8,833.01 = $3,533.204 -> $3,533.20; the
        # balance = $8,833.01 - $2,208.25 - $500.00 - $3,533.20 = $2,591.56
        assert [(n, m.amount_cents, m.state) for n, m in ms.items()] == [
            ("deposit", 220_825, "paid"), ("tasting", 50_000, "open"),
            ("second", 353_320, "open"), ("balance", 259_156, "open"),
        ]
        charges = helpers.charges(w, event_id)
        assert charges["second"].amount_cents == 353_320
        assert charges["second"].due_at == datetime(2027, 1, 29, 14, 0, tzinfo=UTC)  # 09:00 EST
        assert charges["tasting"].due_at == datetime(2027, 1, 14, 14, 0, tzinfo=UTC)
        assert charges["balance"].amount_cents == 259_156
        # And bad edits are refused naming the field, writing nothing
        before = _state(w, event_id)
        for ops, field, says in [
            ({"change": ["deposit=10%@signing"]}, "change", "no longer open"),
            ({"add": ["extra=rest@2"]}, "milestones.kind", "exactly one remainder"),
            ({"remove": ["balance"]}, "milestones.kind", "exactly one remainder"),
            ({"change": ["second=80%@45"]}, "milestones.value", "more than 100%"),
            ({"change": ["nope=10%@20"]}, "change", "no milestone 'nope'"),
            ({"add": ["second=10%@20"]}, "add", "already has"),
            ({"change": ["balance=rest@0/19:00"]}, "milestones.days_before", "on or after"),
            ({}, "schedule", "nothing to change"),
        ]:
            with pytest.raises(BillingError) as refused:
                _edit(w, event_id, **ops)
            assert (refused.value.field, says in refused.value.message) == (field, True), ops
            assert _state(w, event_id) == before
        # And a milestone removed then added again is charged under a fresh key
        _edit(w, event_id, remove=["tasting"])
        assert helpers.charges(w, event_id)["tasting"].status == "cancelled"
        assert helpers.milestones(w, event_id)["balance"].amount_cents == 309_156
        _edit(w, event_id, add=["tasting=$250@60"])
        with w.store.transaction() as session:
            keys = sorted(li.name for li in views.view(session, event_id).lines)
        assert keys == ["balance", "deposit", "second", "tasting"]
        # When the engine runs past the event: exactly the total, each milestone once
        await w.run_until(START + timedelta(days=80))
        paid = [c for c in w.charges() if c.status == "paid"]
        assert sorted(c.amount_cents for c in paid) == [25_000, 220_825, 284_156, 353_320]
        assert sum(c.amount_cents for c in paid) == 883_301
        assert helpers.the_event(w, event_id).status == "closed"


async def test_a_waived_milestone_is_written_off_not_rolled_into_the_balance(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        helpers.template(w)
        event_id, mandate_id = await helpers.event(w, DAY)
        await w.run_until(START + timedelta(minutes=5), step=timedelta(minutes=5))
        for name, reason, field in [("deposit", "comp", "milestone"),
                                    ("nope", "comp", "milestone"), ("second", " ", "reason")]:
            with w.store.transaction() as session, pytest.raises(BillingError) as refused:
                amend.waive(session, event_id, name, reason=reason, now=w.clock.now())
            assert refused.value.field == field
        # When staff waive the second payment ($4,416.51)
        with w.store.transaction() as session:
            amend.waive(session, event_id, "second", reason="venue flooded: goodwill",
                        now=w.clock.now())  # fmt: skip
            v = views.view(session, event_id)
        ms = helpers.milestones(w, event_id)
        # Then it is written off; the balance stays $8,833.01 - $2,208.25 - $4,416.51
        assert (ms["second"].state, ms["second"].amount_cents) == ("waived", 441_651)
        assert ms["second"].waived_reason == "venue flooded: goodwill"
        assert ms["balance"].amount_cents == 220_825
        assert (v.written_off_cents, v.balance_cents) == (441_651, 220_825)
        assert helpers.charges(w, event_id)["second"].status == "cancelled"
        # And the guest count rising later raises only the balance: 120 guests = $10,499.61
        with w.store.transaction() as session:
            booking.guests(session, event_id, 120, now=w.clock.now())
        assert helpers.milestones(w, event_id)["balance"].amount_cents == 1_049_961 - 220_825 \
            - 441_651  # fmt: skip
        # When the engine runs past the event: the balance is charged, the event settled
        await w.run_until(START + timedelta(days=80))
        charges = helpers.charges(w, event_id)
        assert {n: (c.status, c.amount_cents) for n, c in charges.items()} == {
            "deposit": ("paid", 220_825), "second": ("cancelled", 441_651),
            "balance": ("paid", 387_485)}
        with w.store.transaction() as session:
            v = views.view(session, event_id)
            mandate = session.get(Mandate, mandate_id)
            assert mandate is not None
        assert (v.paid_cents + v.written_off_cents, v.balance_cents) == (1_049_961, 0)
        assert mandate.status == "revoked"


async def test_a_rise_after_the_remainder_was_waived_is_charged_as_an_extra_milestone(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w)
        event_id, _ = await helpers.event(w, DAY)
        await w.run_until(START + timedelta(minutes=5), step=timedelta(minutes=5))
        with w.store.transaction() as session:
            amend.waive(session, event_id, "balance", reason="house pays the rest",
                        now=w.clock.now())  # fmt: skip
            # 110 guests: $9,666.31; second 50% = $4,833.155 -> $4,833.16; what the schedule
            # cannot place: $9,666.31 - $2,208.25 paid - $2,208.25 waived - $4,833.16 = $416.65
            booking.guests(session, event_id, 110, now=w.clock.now())
        ms = helpers.milestones(w, event_id)
        assert (ms["extra-1"].amount_cents, ms["second"].amount_cents) == (41_665, 483_316)
        await w.run_until(START + timedelta(days=80))
        charges = helpers.charges(w, event_id)
        assert {n: (c.status, c.amount_cents) for n, c in charges.items()} == {
            "deposit": ("paid", 220_825), "extra-1": ("paid", 41_665),
            "second": ("paid", 483_316), "balance": ("cancelled", 220_825)}
        assert helpers.the_event(w, event_id).status == "closed"


async def test_a_paid_in_full_event_may_still_move_or_be_cancelled_before_it_starts(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        helpers.template(w)
        event_id, _ = await helpers.event(w, DAY)
        await w.run_until(datetime(2027, 3, 12, 18, 0, tzinfo=UTC))
        assert helpers.the_event(w, event_id).status == "paid_in_full"
        with w.store.transaction() as session:
            booking.move(session, event_id, local_date=date(2027, 3, 22), local_time=None,
                         now=w.clock.now())  # fmt: skip
        assert helpers.milestones(w, event_id)["balance"].state == "paid"  # never moves
        with w.store.transaction() as session:
            done = booking.cancel(session, event_id, now=w.clock.now())
        # 10 days before: the ">= 0 days: keep all" tier retains everything paid
        assert (done.settlement.retained, done.settlement.refund_owed) == (883_301, 0)
        assert helpers.the_event(w, event_id).status == "cancelled"
