"""One pass of the engine: materialize, claim and charge what is due, reconcile the unknown."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.clock import Clock
from billing.domain import dunning
from billing.engine import materialize, phases
from billing.engine.charger import Charger
from billing.engine.jobs import ChargeJob
from billing.engine.reconciler import Reconciler
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.toast.facade import ToastClient

log = logging.getLogger("billing.engine")


@dataclass(frozen=True, slots=True, kw_only=True)
class TickReport:
    at: datetime
    materialized: int
    charged: int
    reconciled: int


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def policy_from(settings: BillingSettings) -> dunning.DunningPolicy:
    return dunning.DunningPolicy(
        retry_days=tuple(settings.dunning.retry_days),
        final_action=settings.dunning.final_action,
        max_attempts_30d=settings.dunning.max_attempts_30d,
    )


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        client: ToastClient,
        clock: Clock,
        settings: BillingSettings,
        owner: str | None = None,
    ) -> None:
        sched = settings.scheduler
        self.store = store
        self.clock = clock
        self.settings = settings
        self.owner = owner or worker_name()
        self.charger = Charger(
            store=store, client=client, clock=clock, policy=policy_from(settings),
            lease_s=sched.lease_s,
        )  # fmt: skip
        self.reconciler = Reconciler(
            self.charger, lease_s=sched.lease_s, batch=sched.claim_batch_size,
            concurrency=sched.concurrency,
        )  # fmt: skip
        self.slots = asyncio.Semaphore(sched.concurrency)
        self.stopping = False
        self._busy = asyncio.Lock()  # one pass at a time in this process; drain() waits on it

    async def run_sweep(self) -> None:
        """The scheduler's sweep job: materialize, then claim and charge what is due."""
        if self.stopping:
            return
        async with self._busy:
            await self.materialize(self.clock.now())
            await self.sweep()

    async def run_reconcile(self) -> None:
        if self.stopping:
            return
        async with self._busy:
            await self.reconcile()

    async def drain(self) -> None:
        """Wait for the pass in flight (if any) to finish its phases."""
        async with self._busy:
            return

    async def tick(self) -> TickReport:
        """One full pass at the clock's current instant."""
        now = self.clock.now()
        made = await self.materialize(now)
        charged = await self.sweep()
        reconciled = await self.reconcile()
        return TickReport(at=now, materialized=made, charged=charged, reconciled=reconciled)

    async def materialize(self, now: datetime) -> int:
        horizon = timedelta(days=self.settings.scheduler.horizon_days)
        return await asyncio.to_thread(materialize.run, self.store, now=now, horizon=horizon)

    async def reconcile(self) -> int:
        """Settle unknown outcomes, then revoke mandates whose purpose has ended (which also
        retries a revocation that failed when the last charge was paid)."""
        if self.stopping:
            return 0
        settled = await self.reconciler.run_once(self.clock.now())
        ended = await self.charger.db(
            phases.ended_mandates, limit=self.settings.scheduler.claim_batch_size
        )
        for mandate in ended:
            await self.charger.revoke_mandate(mandate)
        return settled

    async def sweep(self) -> int:
        """Claim due charges and collect them, ``concurrency`` at a time, as a pipeline: a new
        batch is claimed as soon as half the slots are free, so no slot idles at a batch's
        tail, and no claimed charge waits long holding its lease."""
        sched = self.settings.scheduler
        total, running, exhausted = 0, set[asyncio.Task[None]](), False
        while running or not exhausted:
            if not exhausted and not self.stopping and len(running) <= sched.concurrency // 2:
                jobs = await self.charger.db(
                    phases.begin_due, owner=self.owner, now=self.clock.now(),
                    lease_s=sched.lease_s,
                    limit=min(sched.claim_batch_size, sched.concurrency * 2 - len(running)),
                )  # fmt: skip
                exhausted = not jobs
                running |= {asyncio.create_task(self._collect(job)) for job in jobs}
                total += len(jobs)
                continue
            exhausted = exhausted or self.stopping
            if running:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        return total

    async def _collect(self, job: ChargeJob) -> None:
        async with self.slots:
            if self.stopping:  # shutting down: settle the unsent attempt instead of sending
                await self.charger.db(
                    phases.abandoned, job, now=self.clock.now(), reason="worker stopped first"
                )
                return
            try:
                await self.charger.collect(job)
            except Exception:
                log.exception(
                    "charge_crashed",
                    extra={"action": "charge_crashed", "charge_id": job.charge_id},
                )
