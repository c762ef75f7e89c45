"""Parsing what a person types on the command line: dollars, dates, instants.

Convention: every amount option takes **dollars** ("45", "45.00", "$1,234.50"), parsed with
``billing.domain.money.parse_amount`` into integer cents; negatives, more than two decimals
and amounts over $999,999.99 are refused naming the option.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from billing.domain import money
from billing.errors import DomainError


def cents(text: str | None, option: str) -> int | None:
    return None if text is None else money.parse_amount(text, field=option)


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = f"{option}: {text!r} is not a date like 2027-03-01"
        raise DomainError(message, field=option) from None


def parse_instant(text: str, option: str) -> datetime:
    """An ISO instant with a zone (``2027-03-01T15:00:00Z``), in UTC."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(
            f"{option}: {text!r} is not an ISO 8601 instant like 2027-03-01T15:00:00Z",
            field=option,
        ) from None
    if instant.tzinfo is None:
        raise DomainError(f"{option}: {text!r} has no time zone; add Z or +00:00", field=option)
    return instant.astimezone(UTC)


def dollars(cents_value: int | None) -> str:
    return "" if cents_value is None else money.format_cents(cents_value)
