"""Parsing what a person types on the command line: dollars, dates, instants.

Convention: every amount option takes **dollars** ("45", "45.00", "$1,234.50"), parsed with
``billing.domain.money.parse_amount`` into integer cents; negatives, more than two decimals
and amounts over $999,999.99 are refused naming the option. Dates, instants, names and the
rest follow the shared rules of ``billing.domain.inputs`` (the enrollment API uses them too).
"""

from __future__ import annotations

from datetime import date, datetime

from billing.domain import inputs, money


def cents(text: str | None, option: str) -> int | None:
    return None if text is None else money.parse_amount(text, field=option)


def parse_date(text: str, option: str) -> date:
    return inputs.calendar_date(text, field=option)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO instant with a zone (``2027-03-01T15:00:00Z``), in UTC, years 2000-2100."""
    return inputs.instant(text, field=option)


def dollars(cents_value: int | None) -> str:
    return "" if cents_value is None else money.format_cents(cents_value)
