"""The engine collects a door charge exactly once against the sandbox over HTTP, asks the
charge's package for its dunning policy, tells it what happened in the same transaction, and
revokes the mandate once the package ends its purpose."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.manage import members
from billing.sandbox import SandboxHandle
from billing.store import door
from tests.door import hook
from tests.engine.conftest import START
from tests.engine.world import World, world

pytestmark = pytest.mark.anyio
DECLINES_TWICE = "4000000000000341"


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    door.HOOKS["test"] = "tests.door.hook"
    hook.TOLD.clear()
    yield
    door.HOOKS.pop("test", None)


async def _door_charge(w: World, key: str, card: str) -> tuple[int, int]:
    cof = await w.card(card, "INSTALLMENT")
    now = w.clock.now()
    with w.store.transaction() as session:
        customer = members.create_customer(
            session, email=f"e{uuid.uuid4().hex[:8]}@example.com", now=now
        )
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=w.location,
            standing_instruction="INSTALLMENT", toast_mandate_id=cof["mandateId"],
            payment_method_id=cof["paymentMethodId"], now=now,
        )  # fmt: skip
        spec = door.ChargeSpec(
            source="test", key=key, mandate_id=mandate.id or 0, kind=PlanKind.INSTALLMENT,
            amount_cents=12_345, due_at=now + timedelta(hours=1), check_item="Deposit",
        )  # fmt: skip
        charge = door.put(session, spec, now=now).charge
        return charge.id or 0, mandate.id or 0


async def test_a_door_charge_is_collected_once_and_its_package_ends_the_consent(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        charge_id, mandate_id = await _door_charge(w, "ok", "4111111111111111")
        await w.run_until(START + timedelta(days=2), step=timedelta(hours=6))
        [charge] = [c for c in w.charges() if c.id == charge_id]
        assert charge.status == ChargeStatus.PAID
        payments = await w.control.items("order-payments")
        assert [p["amount"] for p in payments] == [12_345]
        assert hook.TOLD == [("ok", "paid")]
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED


async def test_a_declined_door_charge_follows_its_packages_policy(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        charge_id, mandate_id = await _door_charge(w, "late", DECLINES_TWICE)
        await w.run_until(START + timedelta(days=5), step=timedelta(hours=6))
        [charge] = [c for c in w.charges() if c.id == charge_id]
        # The package allows one retry a day after the first decline: declined twice, failed.
        assert (charge.status, charge.decline_count) == (ChargeStatus.FAILED, 2)
        assert hook.TOLD == [("late", "retry_scheduled"), ("late", "failed")]
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE
