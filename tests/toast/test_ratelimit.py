"""The limiter counts at send time: injected virtual time, requests delayed before and after the
wire, and what the server would see checked over every sliding window."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from billing.clock import FakeClock
from billing.toast.errors import ToastLocationNotOwned
from billing.toast.ratelimit import RateLimiter, urgent


class VirtualTime:
    """Sleeps that wake in order of their virtual deadline: the clock jumps to the earliest
    one only once every task is blocked, so concurrent tasks overlap as in real time."""

    def __init__(self) -> None:
        self.clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        at = self.clock.monotonic() + max(0.0, seconds)
        heapq.heappush(self._heap, (at, next(self._seq), fut))
        await fut

    def now(self) -> float:
        return self.clock.monotonic()

    async def run(self, *coros: Awaitable[object]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if not self._heap:
                continue
            at, _, fut = heapq.heappop(self._heap)
            if at > self.now():  # FakeClock moves in whole microseconds: round up
                step = math.ceil((at - self.now()) * 1_000_000)
                self.clock.advance(timedelta(microseconds=step))
            fut.set_result(None)
        for task in tasks:
            task.result()


def _limiter(vt: VirtualTime, per_second: float, per_15min: int = 10_000) -> RateLimiter:
    return RateLimiter(
        per_second=per_second, per_15min=per_15min, clock=vt.clock, sleep=vt.sleep, margin_s=0.0
    )


def _max_in_window(times: list[float], window: float) -> int:
    """The most instants inside any half-open window [t, t + window)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _requests(
    vt: VirtualTime, limiter: RateLimiter, key: str | None, arrivals: list[float],
    rng: random.Random, *, before_s: float, after_s: float,
) -> Callable[[int], Awaitable[None]]:  # fmt: skip
    """A task sending ``count`` requests: granted, delayed up to ``before_s`` on the way to the
    server (a loaded event loop, a pool wait), arriving, then answered up to ``after_s`` later."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await limiter.acquire(key)
            await vt.sleep(rng.uniform(0, before_s))
            arrivals.append(vt.now())
            await vt.sleep(rng.uniform(0, after_s))
            limiter.done(key)

    return worker


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_what_the_server_sees_never_exceeds_the_limit_whatever_the_delays(seed: int) -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 20)
    arrivals: list[float] = []
    worker = _requests(vt, limiter, "loc", arrivals, random.Random(seed), before_s=0.4,
                       after_s=0.05)  # fmt: skip
    asyncio.run(vt.run(*(worker(25) for _ in range(16))))
    assert len(arrivals) == 400
    assert _max_in_window(arrivals, 1.0) <= 20
    # ... and it is not much slower than the limit: 400 requests at 20/s, plus delays
    assert max(arrivals) < 400 / 20 * 1.6


def test_the_15_minute_limit_also_holds() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 20, per_15min=30)
    arrivals: list[float] = []
    worker = _requests(vt, limiter, "loc", arrivals, random.Random(4), before_s=0.2, after_s=0.1)
    asyncio.run(vt.run(*(worker(4) for _ in range(16))))
    assert _max_in_window(arrivals, 900.0) <= 30
    assert max(arrivals) >= 1800.0


def test_requests_in_flight_count_until_they_are_answered() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 5)
    granted: list[float] = []

    async def slow() -> None:  # five requests that take 3 s to answer
        await limiter.acquire("loc")
        await vt.sleep(3.0)
        limiter.done("loc")

    async def sixth() -> None:
        await vt.sleep(0.1)
        await limiter.acquire("loc")
        granted.append(vt.now())
        limiter.done("loc")

    asyncio.run(vt.run(*(slow() for _ in range(5)), sixth()))
    assert len(granted) == 1
    assert granted[0] >= 3.0  # not at 1.0: the five may all arrive at 2.9 s


def test_locations_have_separate_buckets() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 2)

    async def run() -> None:
        for key in ("a", "b", None):
            for _ in range(2):
                await limiter.acquire(key)
                limiter.done(key)

    asyncio.run(vt.run(run()))
    assert vt.now() == 0.0


def test_a_429_stops_everyone_on_the_key_including_those_already_waiting() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 5)
    arrivals: list[float] = []
    worker = _requests(vt, limiter, "loc", arrivals, random.Random(5), before_s=0.0, after_s=0.0)

    async def throttle() -> None:
        await vt.sleep(1.5)  # by now 5 requests went and others wait for the window
        limiter.block("loc", 4.0)

    asyncio.run(vt.run(*(worker(4) for _ in range(4)), throttle()))
    assert [t for t in arrivals if 1.5 <= t < 5.5] == []
    assert len(arrivals) == 16


def test_urgent_requests_go_first() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 1)
    order: list[str] = []

    async def send(name: str, delay: float, is_urgent: bool) -> None:
        await vt.sleep(delay)
        await limiter.acquire("loc", urgent=is_urgent)
        order.append(name)
        limiter.done("loc")

    async def via_context() -> None:
        await vt.sleep(0.2)
        with urgent():
            await limiter.acquire("loc")
        order.append("rescue")
        limiter.done("loc")

    asyncio.run(vt.run(*(send(f"fresh{i}", 0.0, False) for i in range(4)), via_context()))
    assert order[:2] == ["fresh0", "rescue"]


def test_fractional_rates() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 0.5)
    arrivals: list[float] = []
    worker = _requests(vt, limiter, "loc", arrivals, random.Random(6), before_s=0.0, after_s=0.0)
    asyncio.run(vt.run(worker(3)))
    assert arrivals == [0.0, 2.0, 4.0]


def test_coordinated_a_location_not_owned_is_refused_before_sending() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 20)
    limiter.coordinated = True

    async def run() -> None:
        await limiter.acquire(None)  # logins are not a location's: never refused
        limiter.done(None)
        with pytest.raises(ToastLocationNotOwned):
            await limiter.acquire("loc")

    asyncio.run(vt.run(run()))
    assert limiter.in_flight("loc") == 0


def test_a_new_owner_waits_for_send_from_and_stops_at_its_lease() -> None:
    vt = VirtualTime()
    limiter = _limiter(vt, 20)
    limiter.coordinated = True
    limiter.own("loc", send_from=2.5, until=10.0)
    granted: list[float] = []

    async def run() -> None:
        await limiter.acquire("loc")
        granted.append(vt.now())
        limiter.done("loc")
        await vt.sleep(10.0)
        with pytest.raises(ToastLocationNotOwned):
            await limiter.acquire("loc")  # the lease lapsed: refused, not sent

    asyncio.run(vt.run(run()))
    assert granted == [2.5]


def test_the_15_minute_log_carries_to_the_next_owner() -> None:
    vt = VirtualTime()
    first, second = _limiter(vt, 20, per_15min=10), _limiter(vt, 20, per_15min=10)
    arrivals: list[float] = []
    worker = _requests(vt, first, "loc", arrivals, random.Random(7), before_s=0.0, after_s=0.0)
    asyncio.run(vt.run(worker(8)))
    instants, in_flight = first.export("loc")
    assert (len(instants), in_flight) == (8, 0)
    second.preload("loc", instants)
    worker = _requests(vt, second, "loc", arrivals, random.Random(8), before_s=0.0, after_s=0.0)
    asyncio.run(vt.run(worker(4)))
    assert _max_in_window(arrivals, 900.0) <= 10
