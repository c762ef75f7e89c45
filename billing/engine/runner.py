"""``billing run``: APScheduler 3.x as a metronome over the engine's lanes.

APScheduler holds one interval job per lane (charge, rescue, materialize, maintain,
dispatch, heartbeat) and one completing pending enrollments, in a memory job store (never pickled
per-charge jobs: its FAQ warns that a shared persistent job store duplicates or misses runs).
All truth lives in the schedule store, so charges missed while the process was down are found
on the first tick. Each lane is its own job, so a long sweep never delays a rescue.

Stopping (SIGTERM/SIGINT): the scheduler is paused (no lane starts again), the engine stops
claiming, releases claimed-but-unsent charges at once, and waits up to
``scheduler.drain_s`` for in-flight charges to finish their sequence (create, confirm, apply).
Then the scheduler is shut down (APScheduler's executor would cancel running jobs, which is why
it waits for the drain first). A second signal forces the stop without waiting. ``serve``
returns the ``StopReport``: ``billing run`` prints its line and exits 0 only when it is clean.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from billing.engine.sweeper import Engine, StopReport
from billing.enroll import completer

log = logging.getLogger("billing.engine")


def build_scheduler(engine: Engine) -> AsyncIOScheduler:
    sched = engine.settings.scheduler
    scheduler = AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={
            "coalesce": True,
            # a lane still running when its next trigger comes returns at once (Engine._lane),
            # so an overlap is normal, not worth APScheduler's "skipped" warning
            "max_instances": 2,
            "misfire_grace_time": sched.misfire_grace_s,
        },
        timezone=UTC,
    )
    start = engine.clock.now()
    lanes = (
        (engine.run_heartbeat, sched.lease_s / 4, "heartbeat", 0.0),
        (engine.run_materialize, sched.tick_interval_s, "materialize", 0.0),
        (engine.run_sweep, sched.tick_interval_s, "sweep", 0.0),
        (engine.run_reconcile, sched.reconcile_interval_s, "reconcile", 0.5),
        (engine.run_maintain, sched.maintain_interval_s, "maintain", 1.0),
        (engine.run_dispatch, sched.dispatch_interval_s, "dispatch", 1.5),
    )
    for job, every, name, delay in lanes:
        scheduler.add_job(
            job, "interval", seconds=every, id=name,
            next_run_time=start + timedelta(seconds=delay),
        )  # fmt: skip
    scheduler.add_job(
        completer.run, "interval", args=[engine], seconds=completer.INTERVAL_S,
        id="enrollments", next_run_time=start + timedelta(seconds=2),
    )  # fmt: skip
    scheduler.add_listener(_report_failure, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _report_failure(event: JobExecutionEvent) -> None:
    action = "tick_failed" if event.code == EVENT_JOB_ERROR else "tick_missed"
    log.error(
        action,
        exc_info=event.exception if event.exception else None,
        extra={"action": action, "job": event.job_id},
    )


async def serve(engine: Engine, *, stop: asyncio.Event | None = None) -> StopReport:
    """Run until SIGTERM/SIGINT (or ``stop`` is set), then drain in-flight work; a second
    signal cuts the drain short."""
    stop = stop or asyncio.Event()
    force = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (force if stop.is_set() else stop).set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    scheduler = build_scheduler(engine)
    scheduler.start()
    engine.live = True
    engine.health.state = "running"
    log.info("worker_started", extra={"action": "worker_started", "owner": engine.owner})
    try:
        await stop.wait()
        scheduler.pause()
        report = await _stop(engine, force)
    finally:
        scheduler.shutdown(wait=False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    (log.info if report.clean else log.error)(
        report.line(),
        extra={"action": "worker_stopped", "owner": engine.owner, "clean": report.clean,
               "finished": report.finished, "released": report.released,
               "left_in_flight": report.left_in_flight},
    )  # fmt: skip
    return report


async def _stop(engine: Engine, force: asyncio.Event) -> StopReport:
    stopping = asyncio.create_task(engine.stop())
    forced = asyncio.create_task(force.wait())
    done, _ = await asyncio.wait({stopping, forced}, return_when=asyncio.FIRST_COMPLETED)
    if stopping in done:
        forced.cancel()
        return stopping.result()
    # A second signal: give the drain no more time (what is in flight is left to read back).
    stopping.cancel()
    return await engine.stop(drain_s=0)
