"""Money: integer minor units (cents), USD only, and the installment split rule.

Every amount billing charges is a whole number of cents in ``1..99,999,999`` ($0.01 ..
$999,999.99, Toast's limits). Dollars appear only at the edges: ``parse_amount`` for what a
person types, ``format_cents`` for what a person reads, ``cents_to_dollars`` for the Toast
Orders API (which takes dollars).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from billing.errors import InvalidAmount

MIN_CENTS = 1
MAX_CENTS = 99_999_999  # Toast: $0.01 .. $999,999.99
CURRENCY = "USD"
CURRENCIES = frozenset({CURRENCY})
# "1234", "1,234" (groups of three), optional "$", optional 1-2 decimals; ASCII digits only.
_AMOUNT = re.compile(r"\$?(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<frac>[0-9]+))?")
_MAX_TEXT = 32  # longer input is refused before parsing (int() of huge strings is slow)


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    """A validated amount: ``cents`` within Toast's limits, in a supported currency."""

    cents: int
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        validate_amount(self.cents)
        validate_currency(self.currency)

    def __str__(self) -> str:
        return format_cents(self.cents)

    @property
    def dollars(self) -> Decimal:
        return cents_to_dollars(self.cents)


def validate_amount(cents: int, *, field: str = "amount") -> int:
    """``cents`` if it is a whole number of cents within limits, else InvalidAmount."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise InvalidAmount(f"{field} must be a whole number of cents", field=field)
    if not MIN_CENTS <= cents <= MAX_CENTS:
        raise InvalidAmount(
            f"{field} must be between 1 and {MAX_CENTS:,} cents ($0.01..$999,999.99), got {cents}",
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
    _validate_split(total, parts, field)
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def installment(total: int, parts: int, index: int, *, field: str = "total") -> int:
    """Installment ``index`` (0-based) of ``split_installments(total, parts)``, in O(1)."""
    _validate_split(total, parts, field)
    if not 0 <= index < parts:
        raise InvalidAmount(f"installment {index} is not in 0..{parts - 1}", field="cycle")
    base, extra = divmod(total, parts)
    return base + (index < extra)


def _validate_split(total: int, parts: int, field: str) -> None:
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InvalidAmount("the number of installments must be at least 1", field="installments")
    validate_amount(total, field=field)
    if total < parts:
        raise InvalidAmount(
            f"{field} of {total} cents cannot be split into {parts} installments "
            "of at least 1 cent each",
            field=field,
        )


def format_cents(cents: int) -> str:
    """12345 -> '$123.45'; negative amounts (refunds) get a leading '-'."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def parse_amount(text: str, *, field: str = "amount") -> int:
    """Dollars as a person types them ('45', '45.5', '$1,234.50') -> cents, validated.

    Refuses negatives, more than two decimals and anything else, naming ``field``.
    """
    clean = text.strip()
    if clean.startswith("-"):
        raise InvalidAmount(f"{field} must be positive, got {text!r}", field=field)
    match = _AMOUNT.fullmatch(clean) if len(clean) <= _MAX_TEXT else None
    if match is None or not (match["whole"] or match["frac"]):
        raise InvalidAmount(
            f"{field} {text!r} is not an amount in dollars like 45 or 45.50", field=field
        )
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise InvalidAmount(f"{field} {text!r} has more than 2 decimals", field=field)
    whole = int((match["whole"] or "0").replace(",", ""))
    return validate_amount(whole * 100 + int(frac.ljust(2, "0")), field=field)


def cents_to_dollars(cents: int) -> Decimal:
    """Cents as dollars with exactly two decimals (the Orders API takes dollars)."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


dollars = cents_to_dollars  # the earlier name, kept for callers written against it
