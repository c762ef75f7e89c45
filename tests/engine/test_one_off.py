"""An UNSCHEDULED mandate with two fees on it is revoked only after the last one is settled:
paying the first must not end the consent the second still needs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from billing.domain.states import ChargeStatus, MandateStatus
from billing.manage import members, one_off
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio


async def test_a_second_open_fee_keeps_the_mandate_until_it_is_paid(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cof = await w.card(kind="UNSCHEDULED")
        with w.store.transaction() as session:
            customer = members.create_customer(
                session, email=f"f{uuid.uuid4().hex[:8]}@example.com", now=START
            )
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=w.location,
                standing_instruction="UNSCHEDULED", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=START,
            )  # fmt: skip
            mandate_id = mandate.id or 0
            for days, reason in ((0, "no-show"), (3, "late cancellation")):
                one_off.create(session, mandate_id=mandate_id, amount_cents=2500, reason=reason,
                               due_at=START + timedelta(days=days), now=START)  # fmt: skip
        await w.run_until(START + timedelta(days=1), step=timedelta(hours=6))
        assert [c.status for c in w.charges()] == [ChargeStatus.PAID, ChargeStatus.SCHEDULED]
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE
        await w.run_until(START + timedelta(days=4), step=timedelta(hours=6))
        assert [c.status for c in w.charges()] == [ChargeStatus.PAID, ChargeStatus.PAID]
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED
