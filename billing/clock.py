"""The only place that reads the wall clock.

Domain code takes instants as values; the edges (CLI, scheduler, sandbox) hold a ``Clock``.
``FakeClock`` is product code: the simulator and the tests drive time with it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards (for rate limits, timeouts)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


def require_aware(value: datetime, name: str = "instant") -> datetime:
    """Reject naive datetimes at the boundary; return the value converted to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class FakeClock:
    """A controllable clock: ``set`` and ``advance`` move it; it never moves by itself."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")
        self._lock = threading.Lock()
        self._mono = 0.0

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def set(self, instant: datetime) -> None:
        instant = require_aware(instant)
        with self._lock:
            delta = (instant - self._now).total_seconds()
            if delta < 0:
                raise ValueError("FakeClock cannot go backwards")
            self._now = instant
            self._mono += delta

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("FakeClock cannot go backwards")
        with self._lock:
            self._now += delta
            self._mono += delta.total_seconds()

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


class BusinessClock:
    """Business time from one clock, elapsed time from another.

    The simulator hands the Toast client one of these: token expiry and the login budget follow
    the simulated instant (as the sandbox's own clock does), while rate limits and timeouts
    keep counting real seconds (a request still takes real time to send).
    """

    def __init__(self, business: Clock, elapsed: Clock) -> None:
        self._business = business
        self._elapsed = elapsed

    def now(self) -> datetime:
        return self._business.now()

    def monotonic(self) -> float:
        return self._elapsed.monotonic()

    def __repr__(self) -> str:
        return f"BusinessClock({self._business!r}, {self._elapsed!r})"
