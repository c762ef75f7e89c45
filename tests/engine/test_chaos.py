"""Chaos: a year of 200 subscriptions with lost responses, 5xx, 429 storms and PROCESSING stalls.

The invariant: exactly one captured payment per due charge in the sandbox's ledger, zero
duplicates, zero missed, every attempt settled.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from billing.domain.states import ChargeStatus
from billing.sandbox import SandboxHandle
from billing.store.tables import Attempt
from tests.engine.conftest import START
from tests.engine.world import APPROVE, world

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SUBSCRIPTIONS = int(os.environ.get("CHAOS_SUBSCRIPTIONS", "200"))
PROCESSING_CARD = "4000000000000507"
MID_YEAR = datetime(2027, 7, 1, tzinfo=UTC)
YEAR_END = datetime(2028, 1, 1, tzinfo=UTC)
ANY_API = r"^/(v1|orders)/"


def chaos_rules() -> list[dict[str, object]]:
    return [
        {"method": "POST", "path": ANY_API, "lostResponseRate": 0.10},
        {"method": None, "path": ANY_API, "errorRate": 0.05, "errorStatus": 503},
        {"method": None, "path": ANY_API, "throttleRate": 0.003},
    ]


async def test_a_chaotic_year_collects_every_charge_exactly_once(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START, concurrency=16) as w:
        # Given 200 monthly members on four anchors, one in ten on a card that stays PROCESSING
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=3900,
               interval_unit="month", timezone="America/Los_Angeles")  # fmt: skip
        for n in range(SUBSCRIPTIONS):
            card = PROCESSING_CARD if n % 10 == 0 else APPROVE
            await w.member("wine", card=card, start=date(2027, 1, 1 + n % 28))
        # When a year passes with faults injected (and a 429 storm mid-year)
        await w.control.faults(*chaos_rules(), seed=2027)
        await w.run_until(MID_YEAR)
        await w.control.faults(*chaos_rules(), seed=2028, rateLimitStormSeconds=1)
        await w.run_until(YEAR_END)
        await w.control.clear_faults()
        # Then every due charge is paid exactly once
        due = [c for c in w.charges() if c.due_at < YEAR_END]
        assert len(due) == SUBSCRIPTIONS * 12
        assert Counter(c.status for c in due) == Counter({ChargeStatus.PAID: len(due)})
        ledger = await w.control.items("order-payments")
        captured = [e for e in ledger if e["status"] == "CAPTURED"]
        assert len(captured) == len(due)
        assert len({e["guid"] for e in captured}) == len(captured)
        with w.store.transaction() as session:
            unsettled = session.exec(select(Attempt).where(Attempt.settled_at == None)).all()  # noqa: E711
            succeeded = session.exec(
                select(Attempt.external_reference_id).where(Attempt.status == "succeeded")
            ).all()
        assert [a.id for a in unsettled if a.charge_id in {c.id for c in due}] == []
        assert sorted(succeeded) == sorted(e["guid"] for e in captured)
        # And the faults really happened
        faults = Counter(r["fault"] for r in await w.control.requests())
        assert faults["lost_response"] >= SUBSCRIPTIONS * 2
        assert faults["error"] >= SUBSCRIPTIONS
        assert faults["throttle"] > 0
