"""Due dates of a plan: pure functions of (rule, cycle number).

Each due date is computed from the anchor and the cycle number, never by adding an interval
to the previous date (which drifts: Jan 31 + 1 month + 1 month would end on Mar 28).
- DAY/WEEK: anchor + every * cycle days/weeks.
- MONTH: the anchor day of the month ``every * cycle`` months after the first due month; an
  anchor of the 29th-31st bills on the last day of shorter months, then returns to the anchor
  day (Jan 31 -> Feb 28/29 -> Mar 31).
- YEAR: the anchor month and day; Feb 29 bills on Feb 28 in common years.
The first due date is the first date on or after the start (``anchor``) that fits the rule.
Due instants are the local billing time in the plan's IANA zone, returned in UTC. Across DST a
local time that does not exist moves forward by the gap; a repeated one takes its first
occurrence (``fold=0``), so a local billing date is never skipped or repeated.
"""

from __future__ import annotations

import calendar as _stdcal
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from billing.domain.states import IntervalUnit
from billing.errors import InvalidSchedule


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingRule:
    unit: IntervalUnit
    every: int = 1
    anchor: date  # the start: no due date falls before it
    anchor_day: int | None = None  # day of month for MONTH/YEAR rules; default anchor.day
    local_time: time = time(10, 0)
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.every < 1:
            raise InvalidSchedule("the interval count must be at least 1", field="every")
        if self.anchor_day is not None and not 1 <= self.anchor_day <= 31:
            raise InvalidSchedule("the anchor day must be 1..31", field="anchor_day")
        zone(self.tz)

    @property
    def day(self) -> int:
        return self.anchor_day or self.anchor.day


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown IANA time zone {name!r}", field="timezone") from exc


def last_day(year: int, month: int) -> int:
    return _stdcal.monthrange(year, month)[1]


def _month_date(year: int, month0: int, day: int) -> date:
    """``month0`` counts months from year 0 (may exceed 11); the day is clamped."""
    year, month = divmod(month0, 12)
    return date(year, month + 1, min(day, last_day(year, month + 1)))


def due_date(rule: BillingRule, cycle: int) -> date:
    """The local date of billing cycle ``cycle`` (0 = the first charge)."""
    if cycle < 0:
        raise InvalidSchedule("cycle numbers start at 0", field="cycle")
    steps = rule.every * cycle
    if rule.unit == IntervalUnit.DAY:
        return rule.anchor + timedelta(days=steps)
    if rule.unit == IntervalUnit.WEEK:
        return rule.anchor + timedelta(weeks=steps)
    start0 = rule.anchor.year * 12 + rule.anchor.month - 1
    if rule.unit == IntervalUnit.MONTH:
        first = start0 + (_month_date(0, start0, rule.day) < rule.anchor)
        return _month_date(0, first + steps, rule.day)
    first_year = rule.anchor.year + (_month_date(0, start0, rule.day) < rule.anchor)
    return _month_date(0, (first_year + steps) * 12 + rule.anchor.month - 1, rule.day)


def local_instant(day: date, at: time, tz: str) -> datetime:
    """``day`` at local time ``at`` in ``tz``, as a UTC instant (DST rules in the docstring)."""
    local = datetime.combine(day, at, tzinfo=zone(tz)).replace(fold=0)
    return local.astimezone(UTC)


def due_at(rule: BillingRule, cycle: int) -> datetime:
    """The UTC instant at which cycle ``cycle`` falls due."""
    return local_instant(due_date(rule, cycle), rule.local_time, rule.tz)


def cycles_until(rule: BillingRule, *, first_cycle: int, until: datetime) -> list[int]:
    """Cycles from ``first_cycle`` on whose due instant is at or before ``until``."""
    cycles, cycle = [], first_cycle
    while due_at(rule, cycle) <= until:
        cycles.append(cycle)
        cycle += 1
    return cycles
