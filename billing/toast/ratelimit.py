"""Per-location request limiter, counted at send time, so Toast's limits hold as it sees them.

Toast limits each API client to 20 requests/second **and** 10,000 requests/15 minutes per
restaurant location (the ``Toast-Restaurant-External-ID`` header selects the bucket); calls
without a location (login) are limited per IP address.

**Counting at send time.** What matters is when a request *arrives* at Toast, which this
process cannot see: it lies somewhere between the moment the request was let through (the
grant) and the moment its answer came back (completion). Granting by grant times alone lets a
loaded host send 21-25 requests into one server second (a request granted early and delayed
before the wire lands in the same second as the next twenty). So each key keeps, per limit, a
log of *completion* instants plus the number of requests in flight (granted, not completed),
and a request is granted at ``t`` only if

    in_flight + #(completed after t - window) < limit.

That is exact whatever the delays: if ``limit + 1`` requests arrived within one window, the
last one granted, at ``t``, saw every other one either in flight or completed after its own
arrival, which is after ``t - window``, so it was not granted. The price is that a request
occupies its window for ``window + latency`` instead of ``window`` (about 2% at 20 ms).
Callers pair every ``acquire`` with a ``done`` when the answer (or the failure) came back.

**429.** A ``Retry-After`` blocks the key (``block``): every request not yet granted, including
those already waiting here, waits for the reset.

**Urgent lane.** Waiters on one key are served in arrival order within two classes: *urgent*
requests (inside ``with urgent():``: applying an authorization to a check, reading back an
attempt that may hold one) queue apart from ordinary ones and go first, so a rescue never waits
behind a sweep's backlog of fresh charges at the same location; ordinary waiters hold back while
an urgent one is waiting.

**Several workers.** One limiter counts one process's requests. ``billing run`` workers make
that enough by owning locations (``billing.engine.ownership``): in *coordinated* mode a
request on a location key this process does not own is refused before it is sent
(``ToastLocationNotOwned``, a ``ToastNotSent``); a newly owned key sends nothing before
``send_from`` (the previous owner's lease plus one window), nor once its lease is about to
lapse (``until``); ``export`` and ``preload`` carry the 15-minute log from one owner to the
next. Time comes from the injected clock's ``monotonic()``; sleeping is injected so tests can
drive a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from billing.clock import Clock
from billing.toast.errors import ToastLocationNotOwned

IP_KEY = "__ip__"  # the bucket of calls that carry no location (login)

Sleep = Callable[[float], Awaitable[None]]
# How long an ordinary waiter holds back, each time, while an urgent request waits for the key.
YIELD_S = 0.005
# How often the head waiter looks again while the window is full of requests still in flight.
IN_FLIGHT_POLL_S = 0.005

_URGENT: ContextVar[bool] = ContextVar("billing_urgent_request", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Requests sent inside this block (and tasks started from it) go before ordinary ones."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_urgent() -> bool:
    return _URGENT.get()


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    window_s: float


@dataclass(slots=True)
class Window:
    """One limit's log: completion instants (ascending: appended as they happen)."""

    limit: Limit
    done: collections.deque[float] = field(default_factory=collections.deque)

    def wait_s(self, now: float, in_flight: int, margin_s: float) -> float | None:
        """Seconds until one more request fits (0: now; None: only once one in flight ends)."""
        horizon = self.limit.window_s + margin_s
        done = self.done
        while done and done[0] <= now - horizon:
            done.popleft()
        excess = in_flight + len(done) - self.limit.count + 1  # how many must leave the window
        if excess <= 0:
            return 0.0
        if excess > len(done):
            return None
        return done[excess - 1] + horizon - now


@dataclass(slots=True)
class _Key:
    windows: list[Window]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    urgent_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    urgent_waiting: int = 0
    in_flight: int = 0
    blocked_until: float = 0.0
    # ownership (coordinated mode): may send in [send_from, until)
    owned: bool = False
    send_from: float = 0.0
    until: float = math.inf


class RateLimiter:
    def __init__(
        self,
        *,
        per_second: float,
        per_15min: int,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        margin_s: float = 0.01,
    ) -> None:
        if per_second <= 0 or per_15min <= 0:
            raise ValueError("rate limits must be positive")
        self._limits = _limits(per_second, per_15min)
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._margin_s = margin_s
        self._keys: dict[str, _Key] = {}
        self.coordinated = False

    def __repr__(self) -> str:
        limits = ", ".join(f"{lim.count}/{lim.window_s:g}s" for lim in self._limits)
        return f"RateLimiter({limits})"

    def monotonic(self) -> float:
        return self._clock.monotonic()

    @property
    def most(self) -> int:
        """The largest count any limit allows (10,000 at Toast's limits)."""
        return max(limit.count for limit in self._limits)

    @property
    def window_s(self) -> float:
        """The shortest window (one second at Toast's limits)."""
        return min(limit.window_s for limit in self._limits)

    def _key(self, key: str) -> _Key:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key(windows=[Window(limit) for limit in self._limits])
        return state

    async def acquire(self, key: str | None, *, urgent: bool | None = None) -> float:
        """Wait until a request on ``key`` fits every limit, count it in flight, and return the
        seconds waited. Call ``done(key)`` when its answer came back (or it failed).
        ``urgent`` defaults to whether the caller is inside ``with urgent():``."""
        name = key or IP_KEY
        state = self._key(name)
        self._check_owned(name, state)
        if urgent if urgent is not None else is_urgent():
            state.urgent_waiting += 1
            try:
                async with state.urgent_lock:
                    return await self._wait_and_grant(name, state, urgent=True)
            finally:
                state.urgent_waiting -= 1
        async with state.lock:
            return await self._wait_and_grant(name, state, urgent=False)

    def done(self, key: str | None) -> None:
        """The request granted on ``key`` has completed: it now counts from this instant."""
        state = self._key(key or IP_KEY)
        if state.in_flight <= 0:
            raise RuntimeError("done() without a matching acquire()")
        state.in_flight -= 1
        now = self._clock.monotonic()
        for window in state.windows:
            window.done.append(now)

    def in_flight(self, key: str) -> int:
        state = self._keys.get(key)
        return state.in_flight if state is not None else 0

    async def _wait_and_grant(self, name: str, state: _Key, *, urgent: bool) -> float:
        waited = 0.0
        while True:
            self._check_owned(name, state)
            wait = self._wait_s(state, self._clock.monotonic())
            if wait is not None and wait <= 0 and not urgent and state.urgent_waiting:
                wait = YIELD_S  # an urgent request is waiting for this key: let it go first
            if wait is not None and wait <= 0:
                break
            wait = IN_FLIGHT_POLL_S if wait is None else wait
            await self._sleep(wait)
            waited += wait
        state.in_flight += 1
        return waited

    def _wait_s(self, state: _Key, now: float) -> float | None:
        hold = max(state.blocked_until, state.send_from) - now
        waits = [w.wait_s(now, state.in_flight, self._margin_s) for w in state.windows]
        if None in waits:
            return max(hold, IN_FLIGHT_POLL_S) if hold > 0 else None
        return max([hold, *(w for w in waits if w is not None)])

    def _check_owned(self, name: str, state: _Key) -> None:
        if not self.coordinated or name == IP_KEY:
            return
        if not state.owned:
            raise ToastLocationNotOwned(f"location {name} is sent to by another worker")
        if self._clock.monotonic() >= state.until:
            raise ToastLocationNotOwned(f"this worker's lease on location {name} has lapsed")

    def block(self, key: str | None, seconds: float) -> None:
        """Stop granting on ``key`` for ``seconds`` (Toast said 429 with Retry-After)."""
        state = self._key(key or IP_KEY)
        state.blocked_until = max(state.blocked_until, self._clock.monotonic() + seconds)

    # ownership (coordinated mode) -----------------------------------------------------------
    def own(self, key: str, *, send_from: float, until: float) -> None:
        """This process may send on ``key`` from ``send_from`` until ``until`` (monotonic)."""
        state = self._key(key)
        if not state.owned:
            state.send_from = max(state.send_from, send_from)
        state.owned, state.until = True, until

    def disown(self, key: str) -> None:
        state = self._key(key)
        state.owned, state.until, state.send_from = False, math.inf, 0.0

    def export(self, key: str) -> tuple[list[float], int]:
        """The completion instants inside the longest window, and the requests in flight."""
        state = self._keys.get(key)
        if state is None:
            return [], 0
        longest = max(state.windows, key=lambda w: w.limit.window_s)
        now = self._clock.monotonic()
        longest.wait_s(now, 0, self._margin_s)  # drop what has left the window
        return list(longest.done), state.in_flight

    def preload(self, key: str, instants: list[float]) -> None:
        """Count requests another process sent on ``key`` (completed at ``instants``)."""
        if not instants:
            return
        for window in self._key(key).windows:
            window.done = collections.deque(sorted([*window.done, *instants]))


def _limits(per_second: float, per_15min: int) -> tuple[Limit, ...]:
    """Express the per-second rate as whole requests per window (e.g. 2.5/s -> 5 per 2 s)."""
    if per_second >= 1 and float(per_second).is_integer():
        fast = Limit(int(per_second), 1.0)
    else:
        fast = Limit(1, 1.0 / per_second)
    return (fast, Limit(per_15min, 900.0))
