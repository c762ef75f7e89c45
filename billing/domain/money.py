"""Money: integer minor units (cents), USD only, and the installment split rule."""

from __future__ import annotations

import re
from decimal import Decimal

from billing.errors import InvalidAmount

MIN_CENTS = 1
MAX_CENTS = 99_999_999  # Toast: $0.01 .. $999,999.99
CURRENCIES = frozenset({"USD"})
_AMOUNT = re.compile(r"^\$?(\d{1,9})(?:\.(\d{1,2}))?$")


def validate_amount(cents: int, *, field: str = "amount") -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise InvalidAmount(f"{field} must be a whole number of cents", field=field)
    if not MIN_CENTS <= cents <= MAX_CENTS:
        raise InvalidAmount(
            f"{field} must be between 1 and {MAX_CENTS:,} cents ($0.01..$999,999.99), "
            f"got {cents}",
            field=field,
        )
    return cents


def validate_currency(code: str, *, field: str = "currency") -> str:
    if code not in CURRENCIES:
        raise InvalidAmount(f"{field} {code!r} is not supported (Toast takes USD)", field=field)
    return code


def split_installments(total: int, parts: int, *, field: str = "total") -> list[int]:
    """``total`` cents in ``parts`` that sum exactly to it and differ by at most one cent; the
    extra cents go to the earliest installments (1002 / 5 -> 201, 201, 200, 200, 200)."""
    if parts < 1:
        raise InvalidAmount("the number of installments must be at least 1", field="installments")
    validate_amount(total, field=field)
    if total < parts:
        raise InvalidAmount(
            f"{field} of {total} cents cannot be split into {parts} installments "
            "of at least 1 cent each",
            field=field,
        )
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def parse_amount(text: str, *, field: str = "amount") -> int:
    """'45', '45.5', '$45.50' -> cents; anything else is refused with the field named."""
    match = _AMOUNT.fullmatch(text.strip().replace(",", ""))
    if match is None:
        raise InvalidAmount(
            f"{field} {text!r} is not an amount like 45.00 (dollars, at most 2 decimals)",
            field=field,
        )
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    return validate_amount(int(whole) * 100 + int(frac), field=field)


def dollars(cents: int) -> Decimal:
    """Cents as dollars with two decimals (the Orders API takes dollars)."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
