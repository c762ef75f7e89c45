"""Due dates: computed from the anchor and the cycle, clamped at month end, DST-safe."""

from __future__ import annotations

import calendar as stdcal
import itertools
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing.domain import calendar
from billing.domain.states import IntervalUnit
from billing.errors import InvalidSchedule

DAY, WEEK, MONTH, YEAR = IntervalUnit.DAY, IntervalUnit.WEEK, IntervalUnit.MONTH, IntervalUnit.YEAR
NEW_YORK = "America/New_York"


def rule(
    unit: IntervalUnit, anchor: date, day: int | None = None, **kw: object
) -> calendar.BillingRule:
    return calendar.BillingRule(unit=unit, anchor=anchor, anchor_day=day, **kw)  # type: ignore[arg-type]


def dates(r: calendar.BillingRule, n: int) -> list[date]:
    return [calendar.due_date(r, c) for c in range(n)]


# --- named examples -------------------------------------------------------------------------


def test_month_end_anchor_clamps_and_returns() -> None:
    assert dates(rule(MONTH, date(2027, 1, 31)), 4) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30),
    ]  # fmt: skip
    assert calendar.due_date(rule(MONTH, date(2028, 1, 31)), 1) == date(2028, 2, 29)


def test_anchor_day_30_in_a_leap_february_then_back() -> None:
    assert dates(rule(MONTH, date(2028, 1, 30)), 3) == [
        date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30),
    ]  # fmt: skip


def test_yearly_feb_29_bills_feb_28_in_common_years() -> None:
    assert dates(rule(YEAR, date(2024, 2, 29)), 5) == [
        date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
        date(2028, 2, 29),
    ]  # fmt: skip


def test_first_due_date_is_never_before_the_start() -> None:
    assert calendar.due_date(rule(MONTH, date(2027, 1, 20), day=15), 0) == date(2027, 2, 15)
    assert calendar.due_date(rule(YEAR, date(2027, 3, 20), day=15), 0) == date(2028, 3, 15)


def test_every_n_counts_from_the_anchor() -> None:
    assert calendar.due_date(rule(WEEK, date(2027, 1, 4), every=2), 3) == date(2027, 2, 15)
    assert calendar.due_date(rule(DAY, date(2027, 1, 4), every=10), 3) == date(2027, 2, 3)
    assert calendar.due_date(rule(MONTH, date(2027, 1, 31), every=3), 1) == date(2027, 4, 30)
    assert calendar.due_date(rule(YEAR, date(2024, 2, 29), every=4), 1) == date(2028, 2, 29)


def test_missing_time_moves_forward_by_the_gap() -> None:
    # 02:30 on 2027-03-14 does not exist in New York (clocks jump 02:00 -> 03:00)
    r = rule(MONTH, date(2027, 3, 14), local_time=time(2, 30), tz=NEW_YORK)
    assert calendar.due_at(r, 0) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT
    local = calendar.due_at(r, 0).astimezone(ZoneInfo(NEW_YORK))
    assert (local.date(), local.time()) == (date(2027, 3, 14), time(3, 30))


def test_repeated_time_takes_the_first_occurrence() -> None:
    # 01:30 on 2027-11-07 happens twice in New York; the first is EDT (UTC-4)
    r = rule(MONTH, date(2027, 11, 7), local_time=time(1, 30, fold=1), tz=NEW_YORK)
    assert calendar.due_at(r, 0) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_daily_plan_across_spring_forward_bills_each_local_date_once() -> None:
    r = rule(DAY, date(2027, 3, 13), local_time=time(2, 30), tz=NEW_YORK)
    zone = ZoneInfo(NEW_YORK)
    local = [calendar.due_at(r, c).astimezone(zone) for c in range(3)]
    assert [(t.day, t.hour, t.minute) for t in local] == [(13, 2, 30), (14, 3, 30), (15, 2, 30)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"tz": "Mars/Olympus"}, "timezone"), ({"tz": "America"}, "timezone"),
     ({"tz": ""}, "timezone"), ({"anchor_day": 32}, "anchor_day"),
     ({"anchor_day": 0}, "anchor_day"),
     ({"every": 0}, "every"), ({"every": True}, "every"), ({"unit": "fortnight"}, "unit"),
     ({"anchor": datetime(2027, 1, 1, tzinfo=UTC)}, "anchor"),
     ({"local_time": time(10, tzinfo=UTC)}, "local_time")],
)  # fmt: skip
def test_bad_rules_name_the_field(changes: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"unit": MONTH, "anchor": date(2027, 1, 1), **changes}
    with pytest.raises(InvalidSchedule) as info:
        calendar.BillingRule(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_cycles_outside_the_calendar_are_refused() -> None:
    r = rule(MONTH, date(9999, 11, 1))
    with pytest.raises(InvalidSchedule) as info:
        calendar.due_date(r, 2)
    assert info.value.field == "cycle"
    with pytest.raises(InvalidSchedule):
        calendar.due_date(r, -1)
    end = datetime.max.replace(tzinfo=UTC)
    assert calendar.cycles_due_between(r, datetime(9999, 1, 1, tzinfo=UTC), end) == [0, 1]


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        calendar.cycles_due_between(rule(DAY, date(2027, 1, 1)), datetime(2027, 1, 1), datetime.max)


# --- windows ----------------------------------------------------------------------------------


def test_windows_are_half_open() -> None:
    r = rule(MONTH, date(2027, 1, 1))  # 10:00 UTC on the 1st
    due1 = datetime(2027, 2, 1, 10, tzinfo=UTC)
    assert calendar.cycles_due_between(r, due1 - timedelta(days=40), due1) == [0, 1]
    assert calendar.cycles_due_between(r, due1, due1 + timedelta(days=59)) == [2, 3]
    assert calendar.cycles_due_between(r, due1, due1 + timedelta(days=59), max_cycles=3) == [2]
    assert calendar.cycles_due_between(r, due1, due1, first_cycle=0) == []
    assert calendar.cycles_until(r, first_cycle=1, until=due1 + timedelta(days=28)) == [1, 2]


def test_a_window_400_years_out_is_found_directly() -> None:
    r = rule(DAY, date(2000, 1, 1), tz="UTC")
    after = datetime(2400, 1, 1, 12, tzinfo=UTC)
    window = list(calendar.due_between(r, after, after + timedelta(days=2)))
    first = (date(2400, 1, 2) - date(2000, 1, 1)).days
    assert window == [
        (first, after + timedelta(hours=22)),
        (first + 1, after + timedelta(hours=46)),
    ]


# --- properties -------------------------------------------------------------------------------

starts = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))  # 500 years
units = st.sampled_from(list(IntervalUnit))


@given(start=starts, day=st.integers(1, 31), every=st.integers(1, 12))
@example(start=date(2027, 1, 31), day=31, every=1)
@example(start=date(2100, 2, 28), day=29, every=1)  # 2100 is not a leap year
def test_monthly_dates_land_on_the_anchor_day_or_month_end(
    start: date, day: int, every: int
) -> None:
    ds = dates(rule(MONTH, start, day=day, every=every), 26)
    assert ds[0] >= start
    assert ds[0] - start < timedelta(days=31)
    for a, b in itertools.pairwise(ds):
        assert (b.year * 12 + b.month) - (a.year * 12 + a.month) == every
    for d in ds:
        assert d.day == min(day, stdcal.monthrange(d.year, d.month)[1])


@given(start=starts, day=st.integers(1, 31), every=st.integers(1, 4))
@example(start=date(2024, 2, 29), day=29, every=1)
def test_yearly_dates_keep_the_anchor_month(start: date, day: int, every: int) -> None:
    ds = dates(rule(YEAR, start, day=day, every=every), 12)
    assert all(d.month == ds[0].month for d in ds)
    assert all(b.year - a.year == every for a, b in itertools.pairwise(ds))
    assert all(d.day == min(day, stdcal.monthrange(d.year, d.month)[1]) for d in ds)


@given(start=starts, unit=units, every=st.integers(1, 5), day=st.none() | st.integers(1, 31))
def test_due_dates_strictly_increase_for_every_unit(
    start: date, unit: IntervalUnit, every: int, day: int | None
) -> None:
    ds = dates(rule(unit, start, day=day, every=every), 30)
    assert ds[0] >= start
    assert all(a < b for a, b in itertools.pairwise(ds))


@given(
    start=starts,
    unit=units,
    every=st.integers(1, 3),
    first=st.integers(0, 40),
    offset=st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)),
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    limit=st.none() | st.integers(0, 80),
)
def test_windows_match_a_linear_scan(
    start: date, unit: IntervalUnit, every: int, first: int, offset: timedelta,
    span: timedelta, limit: int | None,
) -> None:  # fmt: skip
    r = rule(unit, start, every=every, tz=NEW_YORK)
    after = calendar.due_at(r, first) + offset
    until = after + span
    found = calendar.cycles_due_between(r, after, until, first_cycle=first, max_cycles=limit)
    scan = itertools.takewhile(lambda c: calendar.due_at(r, c) <= until, itertools.count(first))
    in_window = [c for c in scan if calendar.due_at(r, c) > after]
    assert found == [c for c in in_window if limit is None or c < limit]


@given(start=starts, unit=units, every=st.integers(1, 3), later=st.timedeltas(
    min_value=timedelta(0), max_value=timedelta(days=146_097)))  # fmt: skip
def test_first_cycle_after_is_exact_centuries_later(
    start: date, unit: IntervalUnit, every: int, later: timedelta
) -> None:
    r = rule(unit, start, every=every, tz="Australia/Lord_Howe")  # a 30-minute DST shift
    after = datetime.combine(start, time(7), tzinfo=UTC) + later
    cycle = calendar.first_cycle_after(r, after)
    assert calendar.due_at(r, cycle) > after
    assert cycle == 0 or calendar.due_at(r, cycle - 1) <= after


# --- DST: any IANA zone ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _offset_changes(key: str, year: int) -> tuple[date, ...]:
    """Dates in ``year`` on which ``key``'s UTC offset changes (compared noon to noon)."""
    zone, day = ZoneInfo(key), date(year, 1, 1)
    noons = [datetime.combine(day + timedelta(d), time(12), zone) for d in range(367)]
    return tuple(b.date() for a, b in itertools.pairwise(noons) if a.utcoffset() != b.utcoffset())


@st.composite
def dst_cases(draw: st.DrawFn) -> calendar.BillingRule:
    """A daily/weekly/monthly rule in any zone, starting just before one of its transitions."""
    key = draw(st.timezone_keys())
    year = draw(st.integers(1970, 2037))
    changes = _offset_changes(key, year)
    unit = draw(st.sampled_from([DAY, WEEK, MONTH]))
    if changes:
        before = draw(st.integers(0, 3)) * (7 if unit == WEEK else 1)
        start = draw(st.sampled_from(changes)) - timedelta(days=before if unit != MONTH else 0)
    else:
        start = draw(st.dates(date(year, 1, 1), date(year, 12, 31)))
    minutes = draw(st.integers(0, 4 * 60) | st.integers(0, 24 * 60 - 1))
    return rule(unit, start, local_time=time(minutes // 60, minutes % 60), tz=key)


@given(r=dst_cases())
@example(r=rule(DAY, date(2027, 3, 13), local_time=time(2, 30), tz=NEW_YORK))
@example(r=rule(DAY, date(2027, 11, 6), local_time=time(1, 30), tz=NEW_YORK))
@example(r=rule(DAY, date(2027, 3, 26), local_time=time(23, 30), tz="America/Nuuk"))
@example(r=rule(DAY, date(2011, 12, 29), local_time=time(10), tz="Pacific/Apia"))  # no Dec 30
def test_across_dst_each_local_billing_date_is_billed_once(r: calendar.BillingRule) -> None:
    zone = ZoneInfo(r.tz)
    instants = [calendar.due_at(r, c) for c in range(8)]
    assert all(a <= b for a, b in itertools.pairwise(instants))
    for cycle, instant in enumerate(instants):
        day = calendar.due_date(r, cycle)
        local = instant.astimezone(zone).replace(tzinfo=None)
        assert local == _expected_local(datetime.combine(day, r.local_time), zone)
        if _day_exists(day, zone):
            assert local.date() == day  # never skipped, so (dates increasing) never repeated


def _expected_local(wanted: datetime, zone: ZoneInfo) -> datetime:
    """The rule: as wanted; else forward by the gap; else (that is tomorrow) back by it."""
    gap = _gap(wanted, zone)
    if not gap:
        return wanted
    for moved in (wanted + gap, wanted - gap):
        if moved.date() == wanted.date():
            return moved
    return wanted + gap  # the whole day does not exist


def _day_exists(day: date, zone: ZoneInfo) -> bool:
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    return any(
        (start + timedelta(minutes=m)).astimezone(zone).date() == day for m in range(0, 1441, 30)
    )


def _gap(naive: datetime, zone: ZoneInfo) -> timedelta:
    """How far a local time that does not exist is pushed (0 if it exists): the offset after
    the transition minus the offset before (PEP 495: fold=1 vs fold=0 in a gap)."""
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return timedelta(0)
    before, after = first.utcoffset(), naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None
    assert after is not None
    return after - before


@given(r=dst_cases())
def test_a_repeated_local_time_bills_its_first_occurrence(r: calendar.BillingRule) -> None:
    zone = ZoneInfo(r.tz)
    for cycle in range(8):
        wanted = datetime.combine(calendar.due_date(r, cycle), r.local_time, zone)
        if not _gap(wanted.replace(tzinfo=None), zone):
            assert calendar.due_at(r, cycle) <= wanted.replace(fold=1).astimezone(UTC)


def test_repeated_local_time_is_the_earlier_instant_in_any_zone() -> None:
    zone = ZoneInfo("Europe/London")  # 01:30 twice on 2027-10-31
    r = rule(DAY, date(2027, 10, 31), local_time=time(1, 30), tz="Europe/London")
    first = datetime(2027, 10, 31, 1, 30, tzinfo=zone, fold=0).astimezone(UTC)
    assert calendar.due_at(r, 0) == first == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
