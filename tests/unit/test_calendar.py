"""Due dates: computed from the anchor and the cycle, clamped at month end, DST-safe."""

from __future__ import annotations

import calendar as stdcal
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing.domain import calendar
from billing.domain.states import IntervalUnit
from billing.errors import InvalidSchedule

MONTH = IntervalUnit.MONTH


def monthly(anchor: date, day: int | None = None, **kw: object) -> calendar.BillingRule:
    return calendar.BillingRule(unit=MONTH, anchor=anchor, anchor_day=day, **kw)  # type: ignore[arg-type]


def test_month_end_anchor_clamps_and_returns() -> None:
    rule = monthly(date(2027, 1, 31))
    dates = [calendar.due_date(rule, c) for c in range(4)]
    assert dates == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    leap = monthly(date(2028, 1, 31))
    assert calendar.due_date(leap, 1) == date(2028, 2, 29)


def test_yearly_feb_29_bills_feb_28_in_common_years() -> None:
    rule = calendar.BillingRule(unit=IntervalUnit.YEAR, anchor=date(2024, 2, 29))
    assert [calendar.due_date(rule, c) for c in range(5)] == [
        date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
        date(2028, 2, 29),
    ]  # fmt: skip


def test_first_due_date_is_never_before_the_start() -> None:
    rule = monthly(date(2027, 1, 20), day=15)
    assert calendar.due_date(rule, 0) == date(2027, 2, 15)


def test_days_and_weeks_count_from_the_anchor() -> None:
    weekly = calendar.BillingRule(unit=IntervalUnit.WEEK, every=2, anchor=date(2027, 1, 4))
    assert calendar.due_date(weekly, 3) == date(2027, 2, 15)
    daily = calendar.BillingRule(unit=IntervalUnit.DAY, every=10, anchor=date(2027, 1, 4))
    assert calendar.due_date(daily, 3) == date(2027, 2, 3)


def test_missing_time_moves_forward_by_the_gap() -> None:
    # 02:30 on 2027-03-14 does not exist in New York (clocks jump 02:00 -> 03:00)
    rule = monthly(date(2027, 3, 14), local_time=time(2, 30), tz="America/New_York")
    local = calendar.due_at(rule, 0).astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (date(2027, 3, 14), 3, 30)


def test_repeated_time_takes_the_first_occurrence() -> None:
    # 01:30 on 2027-11-07 happens twice in New York; the first is EDT (UTC-4)
    rule = monthly(date(2027, 11, 7), local_time=time(1, 30), tz="America/New_York")
    assert calendar.due_at(rule, 0) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_bad_rules_name_the_field() -> None:
    with pytest.raises(InvalidSchedule) as info:
        monthly(date(2027, 1, 1), tz="Mars/Olympus")
    assert info.value.field == "timezone"
    with pytest.raises(InvalidSchedule):
        monthly(date(2027, 1, 1), day=32)
    with pytest.raises(InvalidSchedule):
        calendar.BillingRule(unit=MONTH, every=0, anchor=date(2027, 1, 1))


starts = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))


@given(start=starts, day=st.integers(1, 31), every=st.integers(1, 12))
@example(start=date(2027, 1, 31), day=31, every=1)
def test_monthly_dates_strictly_increase_and_land_on_the_anchor_or_month_end(
    start: date, day: int, every: int
) -> None:
    rule = monthly(start, day=day, every=every)
    dates = [calendar.due_date(rule, c) for c in range(26)]
    assert dates[0] >= start
    assert all(a < b for a, b in itertools.pairwise(dates))
    for d in dates:
        assert d.day == min(day, stdcal.monthrange(d.year, d.month)[1])


@given(start=starts, unit=st.sampled_from(list(IntervalUnit)), every=st.integers(1, 5))
def test_due_dates_strictly_increase_for_every_unit(
    start: date, unit: IntervalUnit, every: int
) -> None:
    rule = calendar.BillingRule(unit=unit, every=every, anchor=start)
    dates = [calendar.due_date(rule, c) for c in range(12)]
    assert all(a < b for a, b in itertools.pairwise(dates))


@given(
    key=st.timezone_keys(),
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2037, 12, 1)),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_across_dst_a_local_billing_date_is_never_skipped_or_repeated(
    key: str, start: date, minutes: int
) -> None:
    at = time(minutes // 60, minutes % 60)
    rule = monthly(start, local_time=at, tz=key)
    zone = ZoneInfo(key)
    instants = [calendar.due_at(rule, c) for c in range(14)]
    assert all(a < b for a, b in itertools.pairwise(instants))
    for cycle, instant in enumerate(instants):
        wanted = datetime.combine(calendar.due_date(rule, cycle), at)
        local = instant.astimezone(zone).replace(tzinfo=None)
        # the wanted local time, or (if it does not exist) later by less than the gap
        assert timedelta(0) <= local - wanted < timedelta(hours=25)
        if _exists(wanted, zone):
            assert local == wanted


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    back = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back == naive


def test_cycles_until_lists_due_cycles() -> None:
    rule = monthly(date(2027, 1, 1), tz="UTC")
    until = datetime(2027, 3, 1, 10, tzinfo=UTC)
    assert calendar.cycles_until(rule, first_cycle=1, until=until) == [1, 2]
