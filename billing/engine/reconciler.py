"""The reconciler (Kill Bill's Janitor): settles attempts whose outcome is unknown.

Each unsettled attempt whose ``next_check_at`` has come is leased and, by how far it got:
- STARTED: the create may have produced an orphan intent that was never confirmed; nothing
  can authorize it, so the attempt is abandoned and the charge gets a fresh attempt;
- INTENT_CREATED: the confirm was never sent: send it now, on the same intent;
- CONFIRM_SENT / UNKNOWN / AUTHORIZED: read the intent back and act on its real status
  (apply an authorized payment to a check, record a decline, back off while PROCESSING).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from billing.domain.states import AttemptStatus
from billing.engine import phases, recovery
from billing.engine.charger import Charger
from billing.engine.jobs import ChargeJob


class Reconciler:
    def __init__(self, charger: Charger, *, lease_s: float, batch: int, concurrency: int) -> None:
        self.charger = charger
        self.lease_s = lease_s
        self.batch = batch
        self.limit = asyncio.Semaphore(concurrency)

    async def run_once(self, now: datetime) -> int:
        jobs = await self.charger.db(
            recovery.claim_stale, now=now, lease_s=self.lease_s, limit=self.batch
        )
        await asyncio.gather(*(self._bounded(job) for job in jobs))
        return len(jobs)

    async def _bounded(self, job: ChargeJob) -> None:
        async with self.limit:
            await self.settle(job)

    async def settle(self, job: ChargeJob) -> None:
        status = AttemptStatus(job.attempt_status)
        if status == AttemptStatus.STARTED or job.intent_id is None:
            reason = "no intent recorded before the worker stopped"
            now = self.charger.clock.now()
            await self.charger.db(phases.abandoned, job, now=now, reason=reason)
        elif status == AttemptStatus.INTENT_CREATED:
            await self.charger.confirm(job)
        else:
            await self.charger.read_back(job)
