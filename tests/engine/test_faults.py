"""Each injected fault, one at a time: the charge is still collected exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from billing.domain.states import AttemptStatus, ChargeStatus
from billing.sandbox import SandboxHandle
from billing.sandbox.remote import lose_response, server_error
from billing.store.tables import Attempt
from tests.engine.conftest import START
from tests.engine.world import World, world

pytestmark = pytest.mark.anyio
CREATE = ("POST", r"/v1/payment-intents$")
CONFIRM = ("POST", r"/v1/payment-intents/[^/]+/confirm$")
ORDER = ("POST", r"/orders/v2/orders$")
PROCESSING_CARD = "4000000000000507"


def attempts(w: World) -> list[Attempt]:
    from sqlmodel import select

    with w.store.transaction() as session:
        return list(session.exec(select(Attempt).order_by(Attempt.id)).all())  # type: ignore[arg-type]


async def settle(w: World, hours: float = 2) -> None:
    """Tick now, then follow the reconciler's schedule for a while."""
    await w.run_until(w.clock.now() + timedelta(hours=hours), step=timedelta(minutes=5))


async def one_capture(w: World, charge_id: int) -> dict[str, Any]:
    [charge] = [c for c in w.charges() if c.id == charge_id]
    assert charge.status == ChargeStatus.PAID
    ledger = await w.control.items("order-payments")
    captured = [e for e in ledger if e["status"] == "CAPTURED"]
    assert len(captured) == 1, ledger
    assert all(a.settled_at is not None for a in attempts(w))
    return captured[0]


async def test_lost_create_response_orphans_the_intent_and_retries(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        await w.control.faults(lose_response(*CREATE))
        fee = await w.fee(amount=2500)
        await settle(w)
        entry = await one_capture(w, fee)
        first, second = attempts(w)
        assert first.status == AttemptStatus.ABANDONED
        assert second.status == AttemptStatus.SUCCEEDED
        assert entry["guid"] == second.external_reference_id
        intents = await w.control.items("payment-intents")
        assert sorted(i["status"] for i in intents) == ["REQUIRES_PAYMENT_METHOD", "SUCCEEDED"]


@pytest.mark.parametrize(
    "rule", [lose_response(*CONFIRM), server_error(*CONFIRM)], ids=["lost", "5xx"]
)
async def test_unknown_confirm_is_settled_by_reading_the_same_intent(
    sandbox: SandboxHandle, sqlite_url: str, rule: dict[str, Any]
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        await w.control.faults(rule)
        fee = await w.fee(amount=2500)
        await w.engine.tick()
        [attempt] = attempts(w)
        assert attempt.status == AttemptStatus.UNKNOWN
        await settle(w)
        await one_capture(w, fee)
        [attempt] = attempts(w)  # no second intent was ever created
        assert attempt.status == AttemptStatus.SUCCEEDED
        assert len(await w.control.items("payment-intents")) == 1


async def test_lost_order_response_is_found_on_the_check(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        await w.control.faults(lose_response(*ORDER))
        fee = await w.fee(amount=2500)
        await w.engine.tick()
        [attempt] = attempts(w)
        assert attempt.status == AttemptStatus.AUTHORIZED
        await settle(w)
        await one_capture(w, fee)


async def test_check_not_applied_in_time_is_voided_then_collected_anew(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        await w.control.faults(server_error(*ORDER, hits=50))
        fee = await w.fee(amount=2500)
        await w.engine.tick()
        w.clock.advance(timedelta(minutes=6))  # past the 5-minute void window
        await w.control.set_clock(w.clock.now())
        await w.control.clear_faults()
        await settle(w)
        await one_capture(w, fee)
        statuses = sorted(e["status"] for e in await w.control.items("order-payments"))
        assert statuses == ["CAPTURED", "VOIDED"]
        assert [a.status for a in attempts(w)] == [AttemptStatus.VOIDED, AttemptStatus.SUCCEEDED]


async def test_processing_is_left_to_the_reconciler(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        fee = await w.fee(amount=2500, card=PROCESSING_CARD)
        await w.engine.tick()
        [attempt] = attempts(w)
        assert attempt.status == AttemptStatus.UNKNOWN
        await settle(w)
        await one_capture(w, fee)
        [attempt] = attempts(w)
        assert attempt.check_count >= 1


async def test_processor_outage_stalls_then_settles(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        fee = await w.fee(amount=2500)
        await w.control.faults(processingStallSeconds=200)
        await settle(w)
        await one_capture(w, fee)


async def test_token_invalidated_mid_run(sandbox: SandboxHandle, sqlite_url: str) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        first = await w.fee(amount=1000)
        await w.engine.tick()
        await w.control.invalidate_tokens()
        second = await w.fee(amount=2000)
        await settle(w)
        charges = {c.id: c.status for c in w.charges()}
        assert charges == {first: ChargeStatus.PAID, second: ChargeStatus.PAID}
