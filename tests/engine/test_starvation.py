"""Starvation: 2,000 due charges at one location at its rate limit, and the location's checks
refuse every payment for a while in the middle. No authorization is voided: the location starts
no fresh charge while its checks refuse, and the held authorizations are applied first (urgent)
as soon as the checks answer again, inside the apply window.

Toast's numbers (20 requests/s, a 300 s window, an 80 s outage) would make this a 6-minute test;
it runs at 5x speed (100 requests/s, a 60 s window, a 16 s outage), with the engine told the
window (``toast.apply_window_s``) as it would be told Toast's. Not yet run at Toast's own numbers
(a 6-minute run): that belongs in a bench.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlmodel import func, select

from billing import wiring
from billing.clock import SystemClock
from billing.domain.states import ChargeStatus
from billing.engine import runner
from billing.manage import members, one_off
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl, server_error
from billing.store.db import Store
from billing.store.tables import Charge
from tests.engine.conftest import LOC_A
from tests.engine.world import engine_settings, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CHARGES = 2000
RATE = 100  # requests/second at the location (Toast: 20)
WINDOW_S = 60  # Toast: 300
OUTAGE_S = 16  # Toast-scale: 80


@pytest.fixture
def fast_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(
        locations=(LOC_A,), rate_per_second=RATE, rate_per_15min=10_000_000,
        void_after_s=WINDOW_S,
    )  # fmt: skip
    with running_sandbox(config, isolation="process") as handle:
        yield handle


async def due_fees(store: Store, control: SandboxControl, count: int) -> None:
    now = SystemClock().now()
    cards = [await control.card_on_file(LOC_A, "4111111111111111", "UNSCHEDULED")
             for _ in range(count)]  # fmt: skip
    with store.transaction() as session:
        for n, cof in enumerate(cards):
            customer = members.create_customer(
                session, email=f"s{uuid.uuid4().hex[:10]}@example.com", now=now
            )
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=LOC_A,
                standing_instruction="UNSCHEDULED", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=now,
            )  # fmt: skip
            one_off.create(session, mandate_id=mandate.id or 0, amount_cents=1000 + n,
                           reason="no-show", due_at=now, now=now)  # fmt: skip


def leftovers(store: Store) -> object:
    from billing.store.tables import Attempt

    with store.transaction() as session:
        charges = session.exec(
            select(Charge.status, func.count()).group_by(Charge.status)  # type: ignore[arg-type]
        ).all()
        attempts = session.exec(
            select(Attempt.status, func.count()).group_by(Attempt.status)  # type: ignore[arg-type]
        ).all()
        open_ = session.exec(select(Attempt).where(Attempt.settled_at == None).limit(5)).all()  # noqa: E711
    return charges, attempts, [(a.status, a.next_check_at, a.held_by, a.error) for a in open_]


def paid(store: Store) -> int:
    with store.transaction() as session:
        query = select(func.count()).select_from(Charge).where(Charge.status == ChargeStatus.PAID)
        return int(session.exec(query).one())


async def test_checks_refusing_payments_for_a_while_void_nothing(
    fast_sandbox: SandboxHandle, sqlite_url: str
) -> None:
    store = Store.from_url(sqlite_url)
    control = SandboxControl.at(fast_sandbox.base_url)
    settings = engine_settings(fast_sandbox, sqlite_url, reconcile_interval_s=1.0,
                               apply_hold_s=WINDOW_S / 10, tick_interval_s=1.0)  # fmt: skip
    settings.toast.rate_per_second = RATE * 0.9
    # A paid fee costs 5 requests here (create, confirm, apply, revoke, detach): Toast's 10,000
    # per 15 minutes scaled by the same 5x, so the 15-minute budget does not bind first.
    settings.toast.rate_per_15min = 50_000
    settings.toast.apply_window_s = WINDOW_S
    settings.toast.retry_deadline_s = 10
    stop = asyncio.Event()
    try:
        # Given 2,000 fees due now at one location
        await due_fees(store, control, CHARGES)
        async with wiring.engine(settings, clock=SystemClock(), store=store) as engine:
            serving = asyncio.create_task(runner.serve(engine, stop=stop))
            # When the location's checks refuse every payment for a while, a fifth of the way in
            await wait_for(lambda: paid(store) >= CHARGES // 5, 300, "a fifth paid")
            await control.faults(server_error("POST", r"^/orders/v2/orders$", hits=1_000_000))
            await asyncio.sleep(OUTAGE_S)  # the outage itself (a fault's duration)
            await control.clear_faults()
            try:
                await wait_for(lambda: paid(store) == CHARGES, 600, "every charge paid")
            except AssertionError:
                raise AssertionError(f"not all paid: {leftovers(store)}") from None
            stop.set()
            report = await asyncio.wait_for(serving, 120)
        assert report.clean, report.line()
        # Then every charge was captured once, and no authorization was voided
        stats = await control.stats()
        ledger = await control.items("order-payments")
        assert stats["voids"] == 0
        assert len(ledger) == stats["authorizations"]
        assert sorted(e["amount"] for e in ledger if e["status"] == "CAPTURED") == [
            1000 + n for n in range(CHARGES)
        ]
        refused = await control.requests(path="/orders/v2/orders", status="503")
        assert refused  # the outage really refused applies
        waits = [
            (datetime.fromisoformat(e["appliedAt"]) - datetime.fromisoformat(e["authorizedAt"]))
            .total_seconds()
            for e in ledger
        ]
        assert max(waits) < WINDOW_S
        print(
            f"\nstarvation: {CHARGES} charges at {RATE} r/s, checks refusing for {OUTAGE_S} s "
            f"({len(refused)} applies refused): 0 voids, longest authorization -> check "
            f"{max(waits):.1f} s of a {WINDOW_S} s window"
        )
    finally:
        await control.aclose()
        store.dispose()
