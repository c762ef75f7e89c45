from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.clock import FakeClock, SystemClock, require_aware


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 1, tzinfo=UTC)
    clock.advance(timedelta(hours=2))
    assert clock.now() == datetime(2027, 1, 1, 2, tzinfo=UTC)
    assert clock.monotonic() == 7200
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2026, 1, 1, tzinfo=UTC))


def test_naive_instants_are_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        require_aware(datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        FakeClock(datetime(2027, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
