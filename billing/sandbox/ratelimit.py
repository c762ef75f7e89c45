"""Per-location rate limits (per client IP without a location), in real monotonic time.

ASSUMPTION: Toast does not publish its algorithm. The per-second limit is a token bucket
holding one second's worth of requests (refilled continuously); the 15-minute limit is a
fixed window starting at the bucket's first request. Refused requests do not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WINDOW_S = 900.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    last: float
    window_start: float
    count: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    reset_at: float  # monotonic seconds
    retry_after_s: int = 0


class RateLimiter:
    def __init__(self, per_second: float, per_15min: int) -> None:
        self.per_second = per_second
        self.per_15min = per_15min
        self._buckets: dict[str, _Bucket] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def hit(self, key: str, now: float) -> Decision:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.per_second, now, now)
        rate = self.per_second
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.last) * rate)
        bucket.last = now
        if now >= bucket.window_start + WINDOW_S:
            bucket.window_start, bucket.count = now, 0
        window_end = bucket.window_start + WINDOW_S
        if bucket.count >= self.per_15min:
            return Decision(False, 0, window_end, math.ceil(window_end - now))
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / rate
            return Decision(False, 0, now + wait, max(1, math.ceil(wait)))
        bucket.tokens -= 1.0
        bucket.count += 1
        return self._report(bucket, now, window_end)

    def _report(self, bucket: _Bucket, now: float, window_end: float) -> Decision:
        """Report the limit closest to being hit (smallest fraction left)."""
        left_second = int(bucket.tokens)
        left_window = self.per_15min - bucket.count
        if left_second / self.per_second <= left_window / self.per_15min:
            refill = (self.per_second - bucket.tokens) / self.per_second
            return Decision(True, left_second, now + refill)
        return Decision(True, left_window, window_end)
