from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain import money
from billing.errors import InvalidAmount


def test_split_puts_extra_cents_first() -> None:
    assert money.split_installments(1002, 5) == [201, 201, 200, 200, 200]


@given(total=st.integers(1, money.MAX_CENTS), parts=st.integers(1, 120))
def test_split_sums_exactly_and_parts_differ_by_at_most_a_cent(total: int, parts: int) -> None:
    if total < parts:
        with pytest.raises(InvalidAmount):
            money.split_installments(total, parts)
        return
    split = money.split_installments(total, parts)
    assert sum(split) == total
    assert len(split) == parts
    assert max(split) - min(split) <= 1
    assert split == sorted(split, reverse=True)


@pytest.mark.parametrize("bad", [0, -5, money.MAX_CENTS + 1])
def test_amount_limits_name_the_field(bad: int) -> None:
    with pytest.raises(InvalidAmount) as info:
        money.validate_amount(bad, field="amount_cents")
    assert info.value.field == "amount_cents"


def test_only_usd() -> None:
    assert money.validate_currency("USD") == "USD"
    with pytest.raises(InvalidAmount, match="EUR"):
        money.validate_currency("EUR")


@pytest.mark.parametrize(("text", "cents"), [("45", 4500), ("45.5", 4550), ("$1,234.05", 123405)])
def test_parse_amount(text: str, cents: int) -> None:
    assert money.parse_amount(text) == cents


@pytest.mark.parametrize("text", ["-1", "1.234", "abc", "", "0", "1000000"])
def test_parse_amount_refuses_garbage(text: str) -> None:
    with pytest.raises(InvalidAmount):
        money.parse_amount(text)


def test_format_and_dollars() -> None:
    assert money.format_cents(123405) == "$1,234.05"
    assert money.dollars(201) == Decimal("2.01")
