"""Location-affine workers: one worker at a time sends to a location, so Toast's per-location
limits hold across any number of workers with no tuning.

Why this design: Toast counts requests per location, and the only exact count is one kept by
a single sender (``billing.toast.ratelimit`` counts at send time, in process). A limiter kept
in PostgreSQL would cost a round trip (and a row lock on a hot row) per request, which is the
very CPU and latency budget the engine lives on, and it still could not see when a request
reaches the wire. Leases cost a few statements per worker per second, whatever the traffic.

How:
- every worker beats in ``engine_worker``; the locations with work (``location_lease`` rows,
  ``billing.store.location_leases``) are split among the live ones: each holds between
  ``floor`` and ``ceil`` of ``locations / live`` (a worker at ``ceil`` gives one up while
  another is below ``floor``);
- a worker claims due charges, read-backs, revocations and pending enrollments only at the
  locations it owns, and its limiter runs *coordinated*: a request on any other location is
  refused before it is sent (``ToastLocationNotOwned``), nor is one sent once the lease is
  about to lapse (``STOP_EARLY_S``, at most a quarter lease, before it);
- a new owner sends nothing before the previous owner's lease ended plus one sliding window
  (plus ``HANDOVER_MARGIN_S``), and it loads the previous owner's 15-minute send log (10 s
  buckets, written on every renewal; after a crash, the worst the previous owner may have sent
  since its last write is assumed: up to ``rate_per_second`` x (lease + 1 s), 620 requests at
  the defaults, counted for 15 minutes, so a crash loop can stall a location until they age
  out). So the limits hold right after a restart or a crash too;
- a location is given up only once nothing of this worker is in flight there: a surplus
  location first stops taking new work (``leaving``), and is released when its attempts have
  settled, so the rescue lane of an in-flight charge (urgent applies and read-backs) always
  finishes on the worker that started it. If a lease lapses anyway (a stalled worker), its
  requests are refused unsent and the attempts go to the new owner's rescue lane.

Renewal runs on the heartbeat lane (and while a stopping worker drains), and at most every
``REFRESH_S`` from the lanes that claim.
Lease instants are wall-clock UTC (hosts must keep their clocks in sync: NTP); the limiter
works in monotonic seconds, converted at each refresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from billing.clock import Clock, SystemClock
from billing.store import location_leases as ll
from billing.store.db import Store
from billing.toast.ratelimit import RateLimiter

log = logging.getLogger("billing.engine")

BUCKET_S = 10  # the send log's resolution (seconds)
REFRESH_S = 1.0
STOP_EARLY_S = 2.0
HANDOVER_MARGIN_S = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What one refresh did in the store."""

    live: int
    total: int
    renewed: list[str]
    lost: list[str]
    released: list[str]
    leaving: set[str]
    taken: list[ll.Lease] = field(default_factory=list)


def shares(total: int, live: int) -> tuple[int, int]:
    """The fewest and most locations one of ``live`` workers should hold."""
    live = max(1, live)
    return total // live, math.ceil(total / live)


def surplus(mine: int, others: list[int], idle_workers: int, total: int, live: int) -> int:
    """How many of its ``mine`` locations a worker should give up."""
    low, high = shares(total, live)
    if mine > high:
        return mine - high
    poorest = 0 if idle_workers > 0 else min(others, default=high)
    return 1 if mine == high > low and poorest < low else 0


def wanted(mine: int, total: int, live: int) -> int:
    """How many more locations to take (if free): up to ``floor``, then one more up to ``ceil``."""
    low, high = shares(total, live)
    if mine < low:
        return low - mine
    return 1 if mine < high else 0


def to_buckets(instants: list[float], *, mono_now: float, wall_now: datetime) -> list[list[int]]:
    """Monotonic completion instants as ``[[epoch second a bucket ends, count], ...]``."""
    base = wall_now.timestamp() - mono_now
    counts = Counter(math.ceil((base + t) / BUCKET_S) * BUCKET_S for t in instants)
    return [[at, n] for at, n in sorted(counts.items())]


def from_lease(
    lease: ll.Lease, *, mono_now: float, wall_now: datetime, per_second: float, window_s: float,
    most: int,
) -> tuple[list[float], float]:
    """The previous owner's sends as monotonic instants, and when this worker may start.

    ``most`` is the largest count any of the limits allows: assumed sends all fall at one
    instant, so more than that many cannot tighten any window (a long gap, as a simulated
    clock gives, would otherwise make a list of millions)."""
    base = mono_now - wall_now.timestamp()
    instants = [base + at for at, n in lease.sends for _ in range(n)]
    gap = (lease.expires_at - lease.logged_at).total_seconds()
    if gap > 0:  # not a clean release: assume it sent flat out after its last write
        worst = min(math.ceil(per_second * (gap + window_s)), most)
        instants += [base + lease.expires_at.timestamp()] * worst
    start = base + lease.expires_at.timestamp() + window_s + HANDOVER_MARGIN_S
    return instants, start


def _spread(owner: str, location: str) -> str:
    """A per-worker order of locations, so workers do not all reach for the same free one."""
    return hashlib.blake2b(f"{owner}/{location}".encode(), digest_size=8).hexdigest()


class Ownership:
    def __init__(
        self, *, store: Store, limiter: RateLimiter, owner: str, lease_s: float,
        wall: Clock | None = None, on_taken: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.store = store
        self.limiter = limiter
        self.owner = owner
        self.lease = timedelta(seconds=lease_s)
        self.stop_early_s = min(STOP_EARLY_S, lease_s / 4)
        self.wall = wall or SystemClock()
        self.on_taken = on_taken
        self.owned: set[str] = set()
        self.leaving: set[str] = set()
        self.live = 0
        self.total = 0
        self._lock = asyncio.Lock()
        self._last = -math.inf
        self.started = False

    def claimable(self) -> list[str]:
        """Locations where this worker may start new work."""
        return sorted(self.owned - self.leaving)

    async def refresh(
        self, busy: set[str], *, business_now: datetime, force: bool = False, take: bool = True
    ) -> None:
        """Beat, renew, give up surplus locations that are idle, take free ones (unless not
        ``take``: a stopping worker) in one short transaction (in a thread on PostgreSQL).
        ``business_now``: the engine's clock, which says what work is due."""
        async with self._lock:
            mono = self.limiter.monotonic()
            if not force and mono - self._last < REFRESH_S:
                return
            self._last = mono
            self.limiter.coordinated = self.started = True
            wall = self.wall.now()
            logs = {loc: self._log(loc, mono, wall) for loc in self.owned}
            busy = busy | {loc for loc in self.owned if self.limiter.in_flight(loc)}
            step = await self._run(
                self._step, now=wall, logs=logs, busy=busy, leaving=set(self.leaving), take=take,
                due=business_now,
            )
            self._apply(step, mono=mono, wall=wall)

    async def _run(self, fn: Callable[..., Step], **kwargs: object) -> Step:
        if self.store.dialect == "sqlite":
            return fn(**kwargs)
        return await asyncio.to_thread(fn, **kwargs)

    def _log(self, location: str, mono: float, wall: datetime) -> list[list[int]]:
        instants, _ = self.limiter.export(location)
        return to_buckets(instants, mono_now=mono, wall_now=wall)

    def _step(
        self, *, now: datetime, logs: dict[str, list[list[int]]], busy: set[str],
        leaving: set[str], due: datetime, take: bool = True,
    ) -> Step:  # fmt: skip
        me, until = self.owner, now + self.lease
        with self.store.connection() as conn:
            live = max(1, ll.beat(conn, owner=me, now=now, until=until))
            ll.register_seen(conn, due=due)
            leases = ll.all_leases(conn)
            renewed: list[str] = []
            lost: list[str] = []
            for loc, sends in sorted(logs.items()):
                ok = ll.renew(conn, location=loc, owner=me, now=now, until=until, sends=sends)
                (renewed if ok else lost).append(loc)
            total = len(leases)
            held = Counter(x.owner for x in leases if x.held_by_other(now, me))
            idle = live - 1 - len(held)
            give = surplus(len(renewed), list(held.values()), idle, total, live)
            order = sorted(renewed, key=lambda loc: (loc not in leaving, loc in busy, loc))
            leaving_now = set(order[:give])
            released = []
            for loc in sorted(leaving_now - busy):
                ll.renew(conn, location=loc, owner=me, now=now, until=now, sends=logs[loc])
                released.append(loc)
            mine = len(renewed) - len(released)
            want = 0 if give or not take else wanted(mine, total, live)
            free = sorted(
                (x for x in leases if x.location not in logs and x.free(now, me)),
                key=lambda x: _spread(me, x.location),
            )
            taken: list[ll.Lease] = []
            for lease in free:
                if len(taken) >= want:
                    break
                before = ll.take(conn, location=lease.location, owner=me, now=now, until=until)
                if before is not None:
                    taken.append(before)
        return Step(
            live=live, total=total, renewed=[r for r in renewed if r not in released],
            lost=lost, released=released, leaving=leaving_now - set(released), taken=taken,
        )  # fmt: skip

    def _apply(self, step: Step, *, mono: float, wall: datetime) -> None:
        self.live, self.total = step.live, step.total
        until = mono + self.lease.total_seconds() - self.stop_early_s
        for loc in [*step.lost, *step.released]:
            self.limiter.disown(loc)
            self.owned.discard(loc)
        if step.lost:
            log.warning("location_lease_lost", extra={
                "action": "location_lease_lost", "locations": step.lost})  # fmt: skip
        self.leaving = set(step.leaving)
        for loc in step.renewed:
            self.limiter.own(loc, send_from=mono, until=until)
        for before in step.taken:
            start = mono
            if before.owner != self.owner:
                instants, start = from_lease(
                    before, mono_now=mono, wall_now=wall, per_second=self.limiter.per_second,
                    window_s=self.limiter.window_s, most=self.limiter.most,
                )  # fmt: skip
                self.limiter.preload(before.location, instants)
            self.limiter.own(before.location, send_from=start, until=until)
            self.owned.add(before.location)
        if step.taken and self.on_taken is not None:
            self.on_taken()

    async def release_all(self, busy: set[str]) -> list[str]:
        """On stop: give back every location where nothing is in flight (a clean release: the
        next owner waits one window, not a lease), and leave the live workers."""
        if not self.started:
            return []
        async with self._lock:
            mono, wall = self.limiter.monotonic(), self.wall.now()
            busy = busy | {loc for loc in self.owned if self.limiter.in_flight(loc)}
            logs = {loc: self._log(loc, mono, wall) for loc in self.owned - busy}

            def release() -> Step:
                with self.store.connection() as conn:
                    for loc, sends in logs.items():
                        ll.renew(conn, location=loc, owner=self.owner, now=wall, until=wall,
                                 sends=sends)  # fmt: skip
                    ll.leave(conn, owner=self.owner)
                return Step(live=0, total=0, renewed=[], lost=[], released=sorted(logs),
                            leaving=set())  # fmt: skip

            step = await self._run(release)
            self._apply(step, mono=mono, wall=wall)
            return step.released
