"""``billing run``: APScheduler 3.x as a metronome over the engine.

APScheduler holds three interval jobs (sweep, reconcile, and completing pending enrollments)
in a memory job store (never pickled per-charge jobs: its FAQ warns that a shared persistent
job store duplicates or misses runs). All truth lives in the schedule store, so charges
missed while the process was down are found on the first tick. SIGTERM/SIGINT stop
claiming, let in-flight phases finish, and return.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from billing.engine.sweeper import Engine
from billing.enroll import completer

log = logging.getLogger("billing.engine")


def build_scheduler(engine: Engine) -> AsyncIOScheduler:
    sched = engine.settings.scheduler
    scheduler = AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": sched.misfire_grace_s,
        },
        timezone=UTC,
    )
    start = engine.clock.now()
    scheduler.add_job(
        engine.run_sweep, "interval", seconds=sched.tick_interval_s, id="sweep",
        next_run_time=start,
    )  # fmt: skip
    scheduler.add_job(
        engine.run_reconcile, "interval", seconds=sched.reconcile_interval_s, id="reconcile",
        next_run_time=start + timedelta(seconds=1),
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


async def serve(engine: Engine, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set), then drain in-flight work."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheduler = build_scheduler(engine)
    scheduler.start()
    log.info("worker_started", extra={"action": "worker_started", "owner": engine.owner})
    try:
        await stop.wait()
    finally:
        engine.stopping = True
        scheduler.shutdown(wait=False)
        await engine.drain()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("worker_stopped", extra={"action": "worker_stopped", "owner": engine.owner})
