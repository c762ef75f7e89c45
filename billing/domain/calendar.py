"""Due dates of a plan: pure functions of (rule, cycle number).

Each due date is computed from the anchor and the cycle number, never by adding an interval
to the previous date (which drifts: Jan 31 + 1 month + 1 month would end on Mar 28).

- DAY/WEEK: anchor + every * cycle days/weeks (``anchor_day`` is ignored).
- MONTH: the anchor day of the month ``every * cycle`` months after the first due month; an
  anchor of the 29th-31st bills on the last day of shorter months, then returns to the anchor
  day (Jan 31 -> Feb 28/29 -> Mar 31).
- YEAR: the anchor month and day; Feb 29 bills on Feb 28 in common years.

The first due date (cycle 0) is the first date on or after the start (``anchor``) that fits
the rule. Due instants are the local billing time in the plan's IANA zone, returned in UTC.
Across DST a local time that does not exist moves forward by the gap (02:30 -> 03:30 on a
spring-forward night); a repeated one takes its first occurrence (``fold=0``). So a local
billing date is never skipped or repeated. One refinement keeps that promise where the gap
crosses midnight (Greenland springs forward at 23:00 local, so 23:30 + 1 h is tomorrow): the
time then moves *back* by the gap instead, staying on its date. Only a date that does not
exist at all (Samoa skipped 2011-12-30) bills on the next date (a daily plan bills two
cycles at one instant there).

Windows are half-open, ``(after, until]``, so consecutive windows never bill a cycle twice.
Finding the first cycle of a window estimates it from the elapsed time and then steps, so a
window 400 years after the anchor costs a few evaluations, not 400 years of them.
"""

from __future__ import annotations

import calendar as _stdcal
import math
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from billing.domain.states import IntervalUnit
from billing.errors import InvalidSchedule

# Mean length of one step of each unit, in days (Gregorian calendar: 146,097 days / 400 y).
_MEAN_DAYS = {
    IntervalUnit.DAY: 1.0,
    IntervalUnit.WEEK: 7.0,
    IntervalUnit.MONTH: 146_097 / 4_800,
    IntervalUnit.YEAR: 146_097 / 400,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingRule:
    """When a plan bills: every ``every`` ``unit`` from ``anchor``, at ``local_time`` in ``tz``."""

    unit: IntervalUnit
    every: int = 1
    anchor: date  # the start: no due date falls before it
    anchor_day: int | None = None  # day of month for MONTH/YEAR rules; default anchor.day
    local_time: time = time(10, 0)
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.unit not in _MEAN_DAYS:
            raise InvalidSchedule(f"unknown interval unit {self.unit!r}", field="unit")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise InvalidSchedule("the interval count must be a whole number >= 1", field="every")
        if isinstance(self.anchor, datetime) or not isinstance(self.anchor, date):
            raise InvalidSchedule("the anchor must be a date (not a datetime)", field="anchor")
        if self.anchor_day is not None and not 1 <= self.anchor_day <= 31:
            raise InvalidSchedule("the anchor day must be 1..31", field="anchor_day")
        if self.local_time.tzinfo is not None:
            raise InvalidSchedule("the local time must not carry a time zone", field="local_time")
        zone(self.tz)

    @property
    def day(self) -> int:
        """The anchor day of month (MONTH/YEAR rules)."""
        return self.anchor_day or self.anchor.day


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``, or InvalidSchedule naming the ``timezone`` field."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        # OSError: a directory such as "America"; ValueError: "", "../x", "/etc/..."
        raise InvalidSchedule(f"unknown IANA time zone {name!r}", field="timezone") from exc


def last_day(year: int, month: int) -> int:
    return _stdcal.monthrange(year, month)[1]


def _month_date(month0: int, day: int) -> date:
    """The ``day`` (clamped to month end) of month ``month0``, counted from January of year 0."""
    year, month = divmod(month0, 12)
    return date(year, month + 1, min(day, last_day(year, month + 1)))


def due_date(rule: BillingRule, cycle: int) -> date:
    """The local date of billing cycle ``cycle`` (0 = the first charge)."""
    if cycle < 0:
        raise InvalidSchedule("cycle numbers start at 0", field="cycle")
    try:
        return _due_date(rule, rule.every * cycle)
    except (OverflowError, ValueError) as exc:
        raise InvalidSchedule(f"cycle {cycle} falls after year 9999", field="cycle") from exc


def _due_date(rule: BillingRule, steps: int) -> date:
    if rule.unit == IntervalUnit.DAY:
        return rule.anchor + timedelta(days=steps)
    if rule.unit == IntervalUnit.WEEK:
        return rule.anchor + timedelta(weeks=steps)
    start0 = rule.anchor.year * 12 + rule.anchor.month - 1
    late = _month_date(start0, rule.day) < rule.anchor  # anchor day already passed that month
    if rule.unit == IntervalUnit.MONTH:
        return _month_date(start0 + late + steps, rule.day)
    return _month_date(start0 + 12 * (late + steps), rule.day)


def local_instant(day: date, at: time, tz: str) -> datetime:
    """``day`` at local time ``at`` in ``tz``, as a UTC instant (DST rules in the docstring)."""
    where = zone(tz)
    local = datetime.combine(day, at, tzinfo=where)
    try:
        instant = local.replace(fold=0).astimezone(UTC)
        if instant.astimezone(where).date() != day:  # the gap crosses midnight
            back = local.replace(fold=1).astimezone(UTC)  # fold=1 in a gap: back by the gap
            instant = back if back.astimezone(where).date() == day else instant
    except OverflowError as exc:
        raise InvalidSchedule(f"{day} is outside the calendar", field="cycle") from exc
    return instant


def due_at(rule: BillingRule, cycle: int) -> datetime:
    """The UTC instant at which cycle ``cycle`` falls due."""
    return local_instant(due_date(rule, cycle), rule.local_time, rule.tz)


def min_gap(unit: IntervalUnit, every: int) -> timedelta:
    """A lower bound of the time between two consecutive due instants, so a caller can tell
    that the next cycle falls after a window without computing it: months are >= 28 days
    (Jan 31 -> Feb 28), years >= 365 days, and a DST change or a moved time shifts an
    instant by less than a day. Zero for daily rules (a skipped date bills two cycles at once)."""
    days = {IntervalUnit.DAY: 1, IntervalUnit.WEEK: 7, IntervalUnit.MONTH: 28,
            IntervalUnit.YEAR: 365}[unit] * every  # fmt: skip
    return timedelta(days=days - 1) if unit != IntervalUnit.DAY else timedelta(0)


def first_cycle_after(rule: BillingRule, after: datetime, *, first_cycle: int = 0) -> int:
    """The smallest cycle >= ``first_cycle`` due strictly after ``after`` (it may fall past
    year 9999, where no cycle exists).

    Estimates the cycle from the elapsed days, then steps to the exact one; due instants
    never decrease with the cycle, so the steps are few.
    """
    require_aware(after, "after")
    elapsed = (after.date() - due_date(rule, first_cycle)).days
    cycle = first_cycle + max(0, math.floor(elapsed / (_MEAN_DAYS[rule.unit] * rule.every)))
    while cycle > first_cycle and _due_after(rule, cycle - 1, after):
        cycle -= 1
    while not _due_after(rule, cycle, after):
        cycle += 1
    return cycle


def due_between(
    rule: BillingRule,
    after: datetime,
    until: datetime,
    *,
    first_cycle: int = 0,
    max_cycles: int | None = None,
) -> Iterator[tuple[int, datetime]]:
    """(cycle, due instant) for each cycle due in ``(after, until]``, in order.

    ``first_cycle`` skips cycles already billed; ``max_cycles`` is the plan's number of cycles
    (cycles ``max_cycles`` and later do not exist). Stops at the end of the calendar.
    """
    require_aware(until, "until")
    cycle = first_cycle_after(rule, after, first_cycle=first_cycle)
    while max_cycles is None or cycle < max_cycles:
        instant = _due_or_none(rule, cycle)
        if instant is None or instant > until:
            return
        yield cycle, instant
        cycle += 1


def cycles_due_between(
    rule: BillingRule,
    after: datetime,
    until: datetime,
    *,
    first_cycle: int = 0,
    max_cycles: int | None = None,
) -> list[int]:
    """The cycles due in ``(after, until]`` (see ``due_between``)."""
    windows = due_between(rule, after, until, first_cycle=first_cycle, max_cycles=max_cycles)
    return [cycle for cycle, _ in windows]


def cycles_until(rule: BillingRule, *, first_cycle: int, until: datetime) -> list[int]:
    """Cycles from ``first_cycle`` on whose due instant is at or before ``until``."""
    return cycles_due_between(rule, _BEFORE_ALL, until, first_cycle=first_cycle)


_BEFORE_ALL = datetime.min.replace(tzinfo=UTC)


def _due_or_none(rule: BillingRule, cycle: int) -> datetime | None:
    """``due_at``, or None for a cycle past the end of the calendar (year 9999)."""
    try:
        return due_at(rule, cycle)
    except InvalidSchedule:
        return None


def _due_after(rule: BillingRule, cycle: int, after: datetime) -> bool:
    """Whether ``cycle`` falls due after ``after`` (a cycle past year 9999 always does)."""
    instant = _due_or_none(rule, cycle)
    return instant is None or instant > after


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: every instant in the core is aware."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
