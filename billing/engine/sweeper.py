"""The engine: lanes that never wait on each other, because time is the resource.

An authorization is worth most in the 5 minutes after Toast grants it (toast-api.md §9.1), so
the engine runs its work in separate lanes (shared/design.md "Engine lanes"):

- *rescue*: apply authorized payments and read back attempts whose outcome is unknown,
  earliest apply deadline first, its requests marked urgent for the rate limiter (they go
  before fresh charges at the same location); it also takes over a dead worker's attempts
  once their short lease lapses;
- *charge*: claim due charges and collect them (create, confirm, apply), ``concurrency`` at a
  time, skipping locations whose checks just refused a payment (``gate``) and claiming
  nothing while a Toast login is not allowed;
- *materialize*: create the charge rows that fall due (set-based, in a worker thread);
- *maintain*: revoke mandates whose purpose has ended;
- *heartbeat*: renew the lease (``next_check_at``) of every attempt this worker is working
  on, so a live worker keeps them and a dead one's are taken over within ``lease_s``, and the
  leases of the locations it sends to (``ownership``: every lane that sends works only at
  the locations this worker owns, so Toast's per-location limits hold across workers).

No lane holds a lock another lane needs: a sweep of 10,000 charges, or a long materialize
pass, never delays a rescue. ``stop`` drains them: no new claims, claimed-but-unsent charges
released at once, in-flight charges finish their sequence until the drain deadline.

``tick`` runs materialize, charge and rescue one after the other (the simulator and
``billing tick``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from billing.clock import Clock
from billing.domain import dunning
from billing.engine import materialize, phases
from billing.engine.charger import Charger
from billing.engine.gate import LocationGate
from billing.engine.health import Health
from billing.engine.jobs import ChargeJob
from billing.engine.ownership import Ownership
from billing.engine.reconciler import Reconciler
from billing.settings import BillingSettings
from billing.store import events
from billing.store.db import Store
from billing.toast.facade import ToastClient

log = logging.getLogger("billing.engine")


@dataclass(frozen=True, slots=True, kw_only=True)
class TickReport:
    at: datetime
    materialized: int
    charged: int
    reconciled: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StopReport:
    """What a stop left behind: ``clean`` when nothing this worker held is left unsettled."""

    finished: int
    released: int
    left_in_flight: int
    drained: bool

    @property
    def clean(self) -> bool:
        return self.drained and self.left_in_flight == 0

    def line(self) -> str:
        verdict = "clean" if self.clean else "NOT clean"
        return (
            f"worker stopped ({verdict}): {self.finished} in-flight charges finished, "
            f"{self.released} claimed charges released unsent, {self.left_in_flight} left in "
            "flight for another worker to read back"
        )


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def policy_from(settings: BillingSettings) -> dunning.DunningPolicy:
    return dunning.DunningPolicy(
        retry_days=tuple(settings.dunning.retry_days),
        final_action=settings.dunning.final_action,
        max_attempts_30d=settings.dunning.max_attempts_30d,
        on_default=settings.dunning.on_default,
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
        status_file: Path | None = None,
    ) -> None:
        sched = settings.scheduler
        self.store = store
        self.client = client
        self.clock = clock
        self.settings = settings
        self.owner = owner or worker_name()
        self.gate = LocationGate(hold_s=sched.apply_hold_s)
        self.charger = Charger(
            store=store, client=client, clock=clock, policy=policy_from(settings),
            lease_s=sched.lease_s, gate=self.gate,
            window=timedelta(seconds=settings.toast.apply_window_s),
        )  # fmt: skip
        self.reconciler = Reconciler(
            self.charger, lease_s=sched.lease_s, batch=sched.claim_batch_size,
            concurrency=sched.concurrency, owner=self.owner,
        )  # fmt: skip
        self.ownership = Ownership(
            store=store, limiter=client.requester.limiter, owner=self.owner,
            lease_s=sched.lease_s, on_taken=self._kick_sweep,
        )  # fmt: skip
        self.health = Health(owner=self.owner, path=status_file or sched.status_file)
        self.slots = asyncio.Semaphore(sched.concurrency)
        self.stopping = False
        self._lanes: dict[str, asyncio.Lock] = {}
        self._waiting: dict[int, ChargeJob] = {}  # claimed, waiting for a slot: not sent yet
        self._turn = 0  # locations served by claims so far: where the next claim starts
        self._finished_while_stopping = 0
        self._released = 0
        self._login_alerted = False
        self.live = False  # set by ``runner.serve``: lanes may start each other
        self._kicked: set[asyncio.Task[None]] = set()

    # lanes: each is one APScheduler job; a lane already running skips the trigger ------------
    async def _lane(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        lock = self._lanes.setdefault(name, asyncio.Lock())
        if self.stopping or lock.locked():
            return
        async with lock:
            await work()

    async def run_sweep(self) -> None:
        """The charge lane: claim and collect what is due."""
        await self._lane("charge", self.sweep)

    async def run_reconcile(self) -> None:
        """The rescue lane: applies and read-backs, deadline first."""
        await self._lane("rescue", self.rescue)

    async def run_materialize(self) -> None:
        """The materialize lane: once per interval across all workers (the first to take the
        turn in ``engine_state`` does it; the others skip)."""
        sched = self.settings.scheduler
        every = timedelta(seconds=sched.tick_interval_s * 0.8)
        horizon = timedelta(days=sched.horizon_days)

        async def once() -> None:
            await asyncio.to_thread(
                materialize.run_if_due, self.store, now=self.clock.now(), horizon=horizon,
                every=every, owner=self.owner,
            )  # fmt: skip

        await self._lane("materialize", once)

    async def run_maintain(self) -> None:
        await self._lane("maintain", self.revoke_ended)

    async def run_dispatch(self) -> None:
        """The dispatch lane: customer messages from the outbox (``billing.notify``)."""
        from billing.notify import dispatcher  # the mail stack loads only where messages go

        await self._lane("dispatch", lambda: dispatcher.dispatch_once(
            self.store, self.clock, self.settings, owner=self.owner
        ))  # fmt: skip

    async def run_heartbeat(self) -> None:
        await self._lane("heartbeat", self.heartbeat)

    # one pass of everything, in order (the simulator, ``billing tick``) -----------------------
    async def tick(self) -> TickReport:
        now = self.clock.now()
        made = await self.materialize(now)
        await self.own(force=True)  # business time may have jumped: see what is due now
        charged = await self.sweep()
        reconciled = await self.reconcile()
        return TickReport(at=now, materialized=made, charged=charged, reconciled=reconciled)

    async def materialize(self, now: datetime) -> int:
        horizon = timedelta(days=self.settings.scheduler.horizon_days)
        return await asyncio.to_thread(materialize.run, self.store, now=now, horizon=horizon)

    async def reconcile(self) -> int:
        """Rescue, then revoke mandates whose purpose has ended."""
        settled = await self.rescue()
        await self.revoke_ended()
        return settled

    async def own(self, *, force: bool = False) -> list[str]:
        """Refresh this worker's locations (at most every ``ownership.REFRESH_S`` unless
        ``force``); return those where it may start work."""
        await self.ownership.refresh(
            self.charger.holdings.locations(), business_now=self.clock.now(), force=force
        )
        return self.ownership.claimable()

    async def rescue(self) -> int:
        if self.stopping:
            return 0
        mine = await self.own()
        settled = await self.reconciler.run_once(self.clock.now(), locations=mine)
        if settled:
            self._kick_sweep()  # charges it made due again (a dead worker's) or a location reopened
        return settled

    def _kick_sweep(self) -> None:
        """Start the charge lane now rather than at its next tick (live workers only)."""
        lock = self._lanes.get("charge")
        if not self.live or self.stopping or (lock is not None and lock.locked()):
            return
        task = asyncio.get_running_loop().create_task(self.run_sweep())
        self._kicked.add(task)
        task.add_done_callback(self._kicked.discard)

    async def revoke_ended(self) -> None:
        """Revoke mandates whose purpose has ended (this also retries a revocation that failed
        when the last charge was paid)."""
        if self.stopping:
            return
        mine = await self.own()
        ended = await self.charger.db(
            phases.ended_mandates, limit=self.settings.scheduler.claim_batch_size, locations=mine
        )
        for mandate in ended:
            await self.charger.revoke_mandate(mandate)

    async def heartbeat(self) -> None:
        """Renew the leases of the locations it owns and of the attempts it holds; write the
        status file."""
        if not self.stopping:
            await self.own(force=True)
        now = self.clock.now()
        held = self.charger.holdings.ids()
        if held:
            until = now + timedelta(seconds=self.settings.scheduler.lease_s)
            await asyncio.to_thread(
                phases.renew, self.store, owner=self.owner, attempt_ids=held, until=until
            )
        self._check_login(now)
        self.health.write(now, in_flight=len(held))

    # the charge lane ------------------------------------------------------------------------
    async def _claimable(self) -> list[str]:
        """The locations to claim at now: owned, and not held by the gate (none while a
        login is not allowed)."""
        mine = await self.own()
        if self._check_login(self.clock.now()):
            return []
        held = set(self.gate.held(self.clock.monotonic()))
        free = [loc for loc in mine if loc not in held]
        return self.charger.holdings.least_held_first(free, self._turn)

    def _check_login(self, now: datetime) -> bool:
        """True while the Toast login is not allowed (no token, budget spent): one ERROR line,
        an event for ``billing attention`` and the status file say so, once."""
        wait = self.client.requester.auth.unavailable_s()
        if wait <= 0:
            if self._login_alerted:
                self._login_alerted = False
                self.health.login_unavailable_until = None
                log.warning("toast_login_restored", extra={"action": "toast_login_restored"})
                self._engine_event(now, "login_restored")
            return False
        until = now + timedelta(seconds=wait)
        self.health.login_unavailable_until = until
        if not self._login_alerted:
            self._login_alerted = True
            log.error(
                "toast login not allowed until %s (login budget spent): no new charges until "
                "then; applies and read-backs go on with any valid token", until.isoformat(),
                extra={"action": "toast_login_unavailable", "until": until.isoformat()},
            )  # fmt: skip
            self._engine_event(now, "login_unavailable", until=until.isoformat())
        return True

    def _engine_event(self, now: datetime, kind: str, **data: str) -> None:
        with self.store.transaction() as session:
            events.emit(
                session, at=now, entity="engine", entity_id=0, type=kind, worker=self.owner, **data
            )

    async def sweep(self) -> int:
        """Claim due charges and collect them, ``concurrency`` at a time, as a pipeline: a new
        batch is claimed as soon as half the slots are free, so no slot idles at a batch's
        tail, and no claimed charge waits long before it is sent."""
        sched = self.settings.scheduler
        total, running, exhausted = 0, set[asyncio.Task[None]](), False
        while running or not exhausted:
            if not exhausted and not self.stopping and len(running) <= sched.concurrency // 2:
                at = await self._claimable()
                jobs = [] if not at else await self.charger.db(
                    phases.begin_due, owner=self.owner, now=self.clock.now(),
                    lease_s=sched.lease_s, only_locations=at,
                    limit=min(sched.claim_batch_size, sched.concurrency * 2 - len(running)),
                )  # fmt: skip
                exhausted = not jobs
                for job in jobs:
                    self._waiting[job.attempt_id] = job
                    self.charger.holdings.add(job.attempt_id, job.location_guid)
                running |= {asyncio.create_task(self._collect(job)) for job in jobs}
                total += len(jobs)
                self._turn += len({job.location_guid for job in jobs})
                continue
            exhausted = exhausted or self.stopping
            if running:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        return total

    async def _collect(self, job: ChargeJob) -> None:
        async with self.slots:
            if self._waiting.pop(job.attempt_id, None) is None:
                return  # released by ``stop`` while it waited for a slot
            if self.gate.is_held(job.location_guid, self.clock.monotonic()):
                await self._release([job], "location's checks are refusing payments")
                return
            try:
                await self.charger.collect(job)
            except Exception:
                log.exception(
                    "charge_crashed",
                    extra={"action": "charge_crashed", "charge_id": job.charge_id},
                )
            finally:
                self.charger.holdings.discard(job.attempt_id)
                if self.stopping:
                    self._finished_while_stopping += 1

    async def _release(self, jobs: list[ChargeJob], reason: str) -> int:
        count = await self.charger.db(phases.released, jobs, now=self.clock.now(), reason=reason)
        for job in jobs:
            self.charger.holdings.discard(job.attempt_id)
        return count

    # stopping -------------------------------------------------------------------------------
    async def stop(self, *, drain_s: float | None = -1.0) -> StopReport:
        """Stop claiming, release what was claimed but not sent, and wait (up to ``drain_s``,
        by default ``scheduler.drain_s``; None: no limit) for in-flight charges and read-backs
        to finish their sequence."""
        self.stopping = True
        self.health.state = "stopping"
        waiting = list(self._waiting.values())
        self._waiting.clear()
        if waiting:
            self._released += await self._release(waiting, "worker stopping")
        drain = self.settings.scheduler.drain_s if drain_s == -1.0 else drain_s
        keep_alive = asyncio.create_task(self._renew_while_draining())
        try:
            drained = await self._wait_lanes(drain)
        finally:
            keep_alive.cancel()
        await self.ownership.release_all(self.charger.holdings.locations())
        left = len(self.charger.holdings.ids())
        self.health.state = "stopped"
        self.health.write(self.clock.now(), in_flight=left)
        return StopReport(
            finished=self._finished_while_stopping, released=self._released,
            left_in_flight=left, drained=drained,
        )  # fmt: skip

    async def _renew_while_draining(self) -> None:
        """The scheduler is paused while a stop drains: keep the leases of the locations and
        attempts still in flight (taking no new locations) until the drain ends."""
        every = self.settings.scheduler.lease_s / 4
        while True:
            await asyncio.sleep(every)
            if not self.ownership.started:
                continue
            try:
                await self.ownership.refresh(
                    self.charger.holdings.locations(), business_now=self.clock.now(),
                    force=True, take=False,
                )  # fmt: skip
                held = self.charger.holdings.ids()
                if held:
                    until = self.clock.now() + timedelta(seconds=self.settings.scheduler.lease_s)
                    await asyncio.to_thread(
                        phases.renew, self.store, owner=self.owner, attempt_ids=held, until=until
                    )
            except Exception:
                log.exception("drain_renew_failed", extra={"action": "drain_renew_failed"})

    async def _wait_lanes(self, timeout_s: float | None) -> bool:
        """Wait for every running lane to return; False if the deadline came first."""
        async def all_idle() -> None:
            for lock in list(self._lanes.values()):
                async with lock:
                    pass

        try:
            await asyncio.wait_for(all_idle(), timeout_s)
        except TimeoutError:
            return False
        return True
