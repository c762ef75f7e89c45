"""Report periods: whole calendar months in one IANA time zone (UTC unless asked otherwise)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

from billing.errors import DomainError

_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def short(self) -> str:
        """'Mar' (with the year when it is January: 'Jan 2028')."""
        name = MONTH_NAMES[self.month - 1]
        return f"{name} {self.year}" if self.month == 1 else name

    def label(self, *, with_year: bool) -> str:
        """'Mar', or 'Mar 2027' when the period spans more than one year."""
        name = MONTH_NAMES[self.month - 1]
        return f"{name} {self.year}" if with_year else self.short

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def start(self, zone: zoneinfo.ZoneInfo) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone).astimezone(UTC)


def parse_month(text: str, *, field: str = "month") -> Month:
    """'2027-03' -> Month(2027, 3); anything else is a DomainError naming ``field``."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise DomainError(f"{field} {text!r} is not a month like 2027-03", field=field)
    return Month(int(match["year"]), int(match["month"]))


def month_of(instant: datetime, zone: zoneinfo.ZoneInfo) -> Month:
    local = instant.astimezone(zone)
    return Month(local.year, local.month)


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """``first`` .. ``last`` inclusive, bucketed in ``timezone``."""

    first: Month
    last: Month
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise DomainError(f"the period ends ({self.last}) before it starts ({self.first})",
                              field="to")  # fmt: skip
        self.zone_of(self.timezone)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @staticmethod
    def zone_of(name: str) -> zoneinfo.ZoneInfo:
        """``name`` as a zone, or a DomainError naming --tz."""
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise DomainError(f"unknown IANA time zone {name!r}", field="tz") from exc

    @property
    def start(self) -> datetime:
        return self.first.start(self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: the first instant of the month after ``last``."""
        return self.last.next().start(self.zone)

    def months(self) -> list[Month]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = month.next()
        return months

    def bucket(self, instant: datetime | None) -> Month | None:
        """The month ``instant`` falls in, or None when it is outside the period."""
        if instant is None or not self.start <= instant < self.end:
            return None
        return month_of(instant, self.zone)

    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first} .. {self.last}"


def spanning(first: Month, count: int, timezone: str = "UTC") -> Period:
    """``count`` months from ``first``."""
    last = first
    for _ in range(count - 1):
        last = last.next()
    return Period(first=first, last=last, timezone=timezone)
