"""16 concurrent tasks on one location stay under the configured limits, measured by the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from billing.sandbox.remote import SandboxControl
from billing.toast import ToastClient
from tests.toast.conftest import LOC_A, VISA

pytestmark = pytest.mark.anyio

PER_SECOND = 8
PER_15MIN = 40


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    # the sandbox enforces the same limits: any excess would come back as 429
    return {"rate_per_second": PER_SECOND, "rate_per_15min": PER_15MIN}


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_sixteen_tasks_stay_under_both_limits(
    make_client: Callable[..., ToastClient], settings_for: Any, control: SandboxControl
) -> None:
    toast = make_client(settings=settings_for(rate_per_second=PER_SECOND, rate_per_15min=PER_15MIN))
    cof = await control.card_on_file(LOC_A, VISA)
    done = 0

    async def worker() -> None:
        nonlocal done
        for _ in range(4):  # 64 calls wanted, only 40 fit in 15 minutes
            await toast.mandates.get(cof["mandateId"], location=LOC_A)
            done += 1

    with anyio.move_on_after(PER_15MIN / PER_SECOND + 1.5):
        await asyncio.gather(*(worker() for _ in range(16)))
    records = await control.requests(location=LOC_A)
    assert done == PER_15MIN
    assert len(records) == PER_15MIN  # the rest waited for the 15-minute window
    assert {r["status"] for r in records} == {200}  # no 429
    times = [r["monotonic"] for r in records]
    assert _max_in_window(times, 1.0) <= PER_SECOND
