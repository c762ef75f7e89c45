"""The reconciler (Kill Bill's Janitor): settles attempts whose outcome is unknown.

Each unsettled attempt whose ``next_check_at`` has come is leased and, by how far it got:
- STARTED: the create may have produced an orphan intent that was never confirmed; nothing
  can authorize it, so the attempt is abandoned and the charge gets a fresh attempt;
- INTENT_CREATED: the confirm was never sent: send it now, on the same intent;
- AUTHORIZED, inside its apply deadline: apply it to a check straight away (no read-back);
- CONFIRM_SENT / UNKNOWN / AUTHORIZED past its deadline: read the intent back and act on its
  real status (apply an authorized payment to a check, record a decline or a void, back off
  while PROCESSING, inside the deadline by ``deadlines``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from billing.domain.states import AttemptStatus
from billing.engine import phases, recovery
from billing.engine.charger import Charger
from billing.engine.jobs import ChargeJob
from billing.toast.ratelimit import urgent


class Reconciler:
    def __init__(
        self, charger: Charger, *, lease_s: float, batch: int, concurrency: int,
        owner: str | None = None,
    ) -> None:  # fmt: skip
        self.charger = charger
        self.lease_s = lease_s
        self.batch = batch
        self.owner = owner
        self.limit = asyncio.Semaphore(concurrency)

    async def run_once(self, now: datetime, *, locations: list[str] | None = None) -> int:
        """Claim what is due (earliest apply deadline first; only at ``locations`` when given)
        and settle it; its requests are urgent for the rate limiter."""
        jobs = await self.charger.db(
            recovery.claim_stale, now=now, lease_s=self.lease_s, limit=self.batch,
            owner=self.owner, locations=locations,
        )  # fmt: skip
        for job in jobs:
            self.charger.holdings.add(job.attempt_id, job.location_guid)
        with urgent():
            await asyncio.gather(*(self._bounded(job) for job in jobs))
        return len(jobs)

    async def _bounded(self, job: ChargeJob) -> None:
        try:
            async with self.limit:
                await self.settle(job)
        finally:
            self.charger.holdings.discard(job.attempt_id)

    async def settle(self, job: ChargeJob) -> None:
        status = AttemptStatus(job.attempt_status)
        if status == AttemptStatus.AUTHORIZED and job.intent_id is not None:
            await self.charger.apply_authorized(job)
        elif status == AttemptStatus.STARTED or job.intent_id is None:
            reason = "no intent recorded before the worker stopped"
            now = self.charger.clock.now()
            await self.charger.db(phases.abandoned, job, now=now, reason=reason, due_now=True)
        elif status == AttemptStatus.INTENT_CREATED:
            await self.charger.confirm(job)
        else:
            await self.charger.read_back(job)
