"""Per-location request limiter, so we stay under Toast's limits instead of provoking 429s.

Toast limits each API client to 20 requests/second **and** 10,000 requests/15 minutes per
restaurant location (the ``Toast-Restaurant-External-ID`` header selects the bucket); calls
without a location (login) are limited per IP address. Each key here gets one sliding-window
log per limit: a request is granted only if fewer than ``limit`` requests were granted in the
last ``window`` seconds. That is stricter than a token bucket of the same rate (it never allows
a 2x burst across a window edge), so the server's counter, whatever its shape, is never
exceeded. ``margin_s`` widens each window a little to absorb network jitter between our send
time and Toast's receive time.

One ``RateLimiter`` is shared by every task of a process (pass the same instance to every
client). Waiters on one key are served in arrival order within two classes: *urgent* requests
(inside ``with urgent():``: applying an authorization to a check, reading back an attempt that
may hold one) queue apart from ordinary ones and go first, so a rescue never waits behind a
sweep's backlog of fresh charges at the same location; ordinary waiters hold back while an
urgent one is waiting. A 429 ``Retry-After`` blocks the key
(``block``) so other tasks stop sending too. Time comes from the injected clock's
``monotonic()``; sleeping is injected so tests can drive a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from billing.clock import Clock

IP_KEY = "__ip__"  # the bucket of calls that carry no location (login)

Sleep = Callable[[float], Awaitable[None]]
# How long an ordinary waiter holds back, each time, while an urgent request waits for the key.
YIELD_S = 0.005

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
class _Window:
    limit: Limit
    grants: collections.deque[float] = field(default_factory=collections.deque)

    def wait_s(self, now: float, margin_s: float) -> float:
        """Seconds until one more grant fits (0 when it fits now)."""
        horizon = self.limit.window_s + margin_s
        while self.grants and self.grants[0] <= now - horizon:
            self.grants.popleft()
        if len(self.grants) < self.limit.count:
            return 0.0
        return self.grants[0] + horizon - now


@dataclass(slots=True)
class _Key:
    windows: list[_Window]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    urgent_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    urgent_waiting: int = 0
    blocked_until: float = 0.0


class RateLimiter:
    def __init__(
        self,
        *,
        per_second: float,
        per_15min: int,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        margin_s: float = 0.05,
    ) -> None:
        if per_second <= 0 or per_15min <= 0:
            raise ValueError("rate limits must be positive")
        self._limits = _limits(per_second, per_15min)
        self._clock = clock
        self._sleep = sleep
        self._margin_s = margin_s
        self._keys: dict[str, _Key] = {}

    def __repr__(self) -> str:
        limits = ", ".join(f"{lim.count}/{lim.window_s:g}s" for lim in self._limits)
        return f"RateLimiter({limits})"

    def _key(self, key: str) -> _Key:
        if key not in self._keys:
            self._keys[key] = _Key(windows=[_Window(limit) for limit in self._limits])
        return self._keys[key]

    async def acquire(self, key: str | None, *, urgent: bool | None = None) -> float:
        """Wait until a request on ``key`` fits every limit; return the seconds waited.
        ``urgent`` defaults to whether the caller is inside ``with urgent():``."""
        state = self._key(key or IP_KEY)
        if urgent if urgent is not None else is_urgent():
            state.urgent_waiting += 1
            try:
                async with state.urgent_lock:
                    return await self._wait_and_grant(state, urgent=True)
            finally:
                state.urgent_waiting -= 1
        async with state.lock:
            return await self._wait_and_grant(state, urgent=False)

    async def _wait_and_grant(self, state: _Key, *, urgent: bool) -> float:
        waited = 0.0
        while True:
            wait = self._wait_s(state, self._clock.monotonic())
            if wait <= 0 and not urgent and state.urgent_waiting:
                wait = YIELD_S  # an urgent request is waiting for this key: let it go first
            if wait <= 0:
                break
            await self._sleep(wait)
            waited += wait
        now = self._clock.monotonic()
        for window in state.windows:
            window.grants.append(now)
        return waited

    def _wait_s(self, state: _Key, now: float) -> float:
        waits = [w.wait_s(now, self._margin_s) for w in state.windows]
        return max([state.blocked_until - now, *waits])

    def block(self, key: str | None, seconds: float) -> None:
        """Stop granting on ``key`` for ``seconds`` (Toast said 429 with Retry-After)."""
        state = self._key(key or IP_KEY)
        state.blocked_until = max(state.blocked_until, self._clock.monotonic() + seconds)


def _limits(per_second: float, per_15min: int) -> tuple[Limit, ...]:
    """Express the per-second rate as whole requests per window (e.g. 2.5/s -> 5 per 2 s)."""
    if per_second >= 1 and float(per_second).is_integer():
        fast = Limit(int(per_second), 1.0)
    else:
        fast = Limit(1, 1.0 / per_second)
    return (fast, Limit(per_15min, 900.0))
