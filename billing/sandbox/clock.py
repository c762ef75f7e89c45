"""The sandbox clock: real time plus an offset, so it ticks, and tests can set or advance it.

Expiry, the 5-minute void, capture cut-offs and token lifetimes follow this clock. Rate limits
use real monotonic time instead (``time.monotonic``), never this clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.clock import Clock, SystemClock, require_aware


class SandboxClock:
    def __init__(self, start: datetime | None = None, *, base: Clock | None = None) -> None:
        self._base: Clock = base or SystemClock()
        self._initial = require_aware(start, "start") if start is not None else None
        self._offset = timedelta(0)
        self.reset()

    def reset(self) -> None:
        """Back to the configured start (or to real time when none was configured)."""
        initial = self._initial
        self._offset = (initial - self._base.now()) if initial is not None else timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def real_now(self) -> datetime:
        return self._base.now()

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def set(self, instant: datetime) -> None:
        instant = require_aware(instant)
        if instant < self.now():
            raise ValueError("the sandbox clock cannot go backwards (use reset)")
        self._offset = instant - self._base.now()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock cannot go backwards (use reset)")
        self._offset += timedelta(seconds=seconds)
