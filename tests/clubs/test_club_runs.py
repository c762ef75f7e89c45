"""A release run end to end against the sandbox over HTTP, on SQLite and PostgreSQL: the
preview is what is charged, to the cent, once per member, at the winery's local midnight."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.clubs import preview, process
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus
from billing.sandbox import SandboxHandle
from tests.clubs.club_world import make_club
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio
LINES = [("Pinot Noir 2024", 2, 4200), ("Chardonnay 2025", 1, 3150)]


async def test_preview_equals_what_is_charged_to_the_cent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        a = await cw.member(tier="Six", region="CA")
        b = await cw.member(tier="Three", region="NY")
        c = await cw.member(tier="Three", pickup=True)
        rid = cw.release("Spring 2027", date(2027, 3, 20), LINES)
        with w.store.transaction() as session:
            shown = preview.build(session, clubs_store.release(session, rid))
        amounts = {r["membership_id"]: r["amount_cents"] for r in shown.rows}
        # Six (15 %): 2*4200*0.85=7140, 3150*0.85=2677.5->2678; goods 9818; CA ship 1500;
        # tax 7.25 % of 9818 = 711.805 -> 712: 12030.
        assert amounts[a] == 9818 + 1500 + 712
        # Three (10 %): 7560 + 2835 = 10395; ship 2500; NY 8.88 %: 923.076 -> 923.
        assert amounts[b] == 10395 + 2500 + 923
        # Pickup: no shipping, tax of the club's region (CA): 753.6375 -> 754.
        assert amounts[c] == 10395 + 754
        await w.run_until(START + timedelta(days=90), step=timedelta(days=1))
        charges = cw.club_charges()
        assert sorted(ch.amount_cents for ch in charges) == sorted(amounts.values())
        assert all(ch.status == ChargeStatus.PAID for ch in charges)
        assert {ch.check_item for ch in charges} == {"Spring 2027"}
        payments = await w.control.items("order-payments")
        assert sorted(p["amount"] for p in payments) == sorted(amounts.values())
        # Due at 00:00 in Los Angeles on the release date (PDT by 20 March: 07:00 UTC).
        assert {ch.due_at.isoformat() for ch in charges} == {"2027-03-20T07:00:00+00:00"}
        assert cw.get(rid).status == "processed"
        with w.store.transaction() as session:
            again = process.process(session, clubs_store.release(session, rid), now=w.clock.now())
        assert not again.processed
        assert len(cw.club_charges()) == 3
