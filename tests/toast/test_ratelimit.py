from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from billing.clock import FakeClock
from billing.toast.ratelimit import RateLimiter


def _limiter(per_second: float, per_15min: int) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    return RateLimiter(
        per_second=per_second, per_15min=per_15min, clock=clock, sleep=sleep, margin_s=0.0
    ), clock


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _grant_times(
    limiter: RateLimiter, clock: FakeClock, key: str | None, n: int, tasks: int
) -> list[float]:
    times: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            await limiter.acquire(key)
            times.append(clock.monotonic())

    await asyncio.gather(*(worker(n // tasks) for _ in range(tasks)))
    return times


def test_sixteen_tasks_never_exceed_the_per_second_limit() -> None:
    limiter, clock = _limiter(5, 10_000)
    times = asyncio.run(_grant_times(limiter, clock, "loc", 160, 16))
    assert len(times) == 160
    assert _max_in_window(times, 1.0) <= 5
    assert max(times) == pytest.approx(31.0, abs=1.01)  # it does not wait longer than needed


def test_the_15_minute_limit_also_holds() -> None:
    limiter, clock = _limiter(20, 30)
    times = asyncio.run(_grant_times(limiter, clock, "loc", 64, 16))
    assert _max_in_window(times, 900.0) <= 30
    assert max(times) >= 1800.0


def test_locations_have_separate_buckets() -> None:
    limiter, clock = _limiter(2, 10_000)

    async def run() -> None:
        for key in ("a", "b", None):
            await limiter.acquire(key)
            await limiter.acquire(key)

    asyncio.run(run())
    assert clock.monotonic() == 0.0


def test_block_stops_everyone_on_the_key() -> None:
    limiter, _ = _limiter(20, 10_000)

    async def run() -> float:
        limiter.block("loc", 2.5)
        return await limiter.acquire("loc")

    assert asyncio.run(run()) == pytest.approx(2.5)


def test_fractional_rates() -> None:
    limiter, clock = _limiter(0.5, 10_000)
    times = asyncio.run(_grant_times(limiter, clock, "loc", 3, 1))
    assert times == [0.0, 2.0, 4.0]
