"""A small world for engine tests: a store, the sandbox over loopback, an engine on a FakeClock.

Members are enrolled the real way (an OFF_SESSION setup intent confirmed in the sandbox through
its control API), then subscribed through the same use cases the CLI runs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import select

from billing import wiring
from billing.clock import FakeClock
from billing.engine import simulation
from billing.engine.sweeper import Engine
from billing.manage import members, one_off, plans
from billing.sandbox import SandboxHandle
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Charge, Mandate, Plan, Subscription

APPROVE = "4111111111111111"


async def wait_for(condition: Any, timeout_s: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (a generous deadline, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def engine_settings(
    sandbox: SandboxHandle, database_url: str, *, dunning: dict[str, Any] | None = None,
    **scheduler: Any,
) -> BillingSettings:  # fmt: skip
    return BillingSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        toast={
            "base_url": sandbox.base_url,
            "location_guid": sandbox.config.locations[0],
            "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05,
            "retry_deadline_s": 5.0,
            "read_timeout_s": 5.0,
            "confirm_timeout_s": 5.0,
            "rate_per_second": 1000.0,
        },
        scheduler={"concurrency": 8, "claim_batch_size": 50, **scheduler},
        dunning=dunning or {},
    )


@dataclass
class World:
    store: Store
    clock: FakeClock
    engine: Engine
    control: SandboxControl
    location: str

    async def card(self, number: str = APPROVE, kind: str = "RECURRING") -> dict[str, Any]:
        cof = await self.control.card_on_file(self.location, number, kind)
        assert cof["mandateId"], cof
        return cof

    async def member(
        self, plan_code: str, *, card: str = APPROVE, start: date, anchor_day: int | None = None
    ) -> int:
        with self.store.transaction() as session:
            plan = plans.get(session, plan_code)
        cof = await self.card(card, plan.kind)
        now = self.clock.now()
        with self.store.transaction() as session:
            plan = plans.get(session, plan_code)
            customer = members.create_customer(
                session, email=f"m{uuid.uuid4().hex[:8]}@example.com", now=now
            )
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=self.location,
                standing_instruction=plan.kind, toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=now,
            )  # fmt: skip
            sub = members.subscribe(
                session, customer=customer, plan=plan, mandate=mandate, start=start,
                anchor_day=anchor_day, now=now,
            )  # fmt: skip
            assert sub.id is not None
            return sub.id

    async def fee(self, *, amount: int, card: str = APPROVE) -> int:
        cof = await self.card(card, "UNSCHEDULED")
        now = self.clock.now()
        with self.store.transaction() as session:
            customer = members.create_customer(
                session, email=f"f{uuid.uuid4().hex[:8]}@example.com", now=now
            )
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=self.location,
                standing_instruction="UNSCHEDULED", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], now=now,
            )  # fmt: skip
            charge = one_off.create(
                session, mandate_id=mandate.id or 0, amount_cents=amount, reason="no-show",
                due_at=now, now=now,
            )  # fmt: skip
            assert charge.id is not None
            return charge.id

    def plan(self, **spec: Any) -> None:
        spec.setdefault("location_guid", self.location)
        with self.store.transaction() as session:
            plans.create(session, plans.PlanCreate(**spec), now=self.clock.now())

    async def run_until(self, until: datetime, step: timedelta = timedelta(days=1)) -> None:
        await simulation.run_until(
            self.engine, self.clock, until, step=step, on_advance=self.control.set_clock
        )

    def charges(self) -> list[Charge]:
        with self.store.transaction() as session:
            return list(session.exec(select(Charge).order_by(Charge.id)).all())  # type: ignore[arg-type]

    def subscription(self, sub_id: int) -> Subscription:
        with self.store.transaction() as session:
            sub = session.get(Subscription, sub_id)
            assert sub is not None
            return sub

    def mandate(self, mandate_id: int) -> Mandate:
        with self.store.transaction() as session:
            row = session.get(Mandate, mandate_id)
            assert row is not None
            return row

    def plans(self) -> list[Plan]:
        with self.store.transaction() as session:
            return list(session.exec(select(Plan)).all())


@asynccontextmanager
async def world(
    sandbox: SandboxHandle, database_url: str, start: datetime, *,
    dunning: dict[str, Any] | None = None, **scheduler: Any,
) -> AsyncIterator[World]:  # fmt: skip
    settings = engine_settings(sandbox, database_url, dunning=dunning, **scheduler)
    store = Store.from_url(database_url)
    clock = FakeClock(start)
    control = SandboxControl.at(sandbox.base_url)
    await control.set_clock(start)
    try:
        async with wiring.engine(settings, clock=clock, store=store) as engine:
            yield World(store, clock, engine, control, sandbox.config.locations[0])
    finally:
        await control.aclose()
        store.dispose()
