"""Money: cents within Toast's limits, USD only, exact installment splits, CLI parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing.domain import money
from billing.errors import InvalidAmount


def test_split_puts_extra_cents_first() -> None:
    assert money.split_installments(1002, 5) == [201, 201, 200, 200, 200]
    assert [money.installment(1002, 5, i) for i in range(5)] == [201, 201, 200, 200, 200]


def test_split_smaller_than_one_cent_each_names_the_field() -> None:
    with pytest.raises(InvalidAmount) as info:
        money.split_installments(4, 5, field="total_cents")
    assert info.value.field == "total_cents"
    with pytest.raises(InvalidAmount) as info:
        money.split_installments(100, 0)
    assert info.value.field == "installments"
    with pytest.raises(InvalidAmount):
        money.split_installments(money.MAX_CENTS + 1, 2)  # the total itself is over the limit
    with pytest.raises(InvalidAmount):
        money.installment(1002, 5, 5)


@given(total=st.integers(1, money.MAX_CENTS), parts=st.integers(1, 120))
@example(total=1002, parts=5)
@example(total=money.MAX_CENTS, parts=1)
@example(total=5, parts=5)
def test_split_sums_exactly_and_parts_differ_by_at_most_a_cent(total: int, parts: int) -> None:
    if total < parts:
        with pytest.raises(InvalidAmount):
            money.split_installments(total, parts)
        return
    split = money.split_installments(total, parts)
    assert sum(split) == total
    assert len(split) == parts
    assert max(split) - min(split) <= 1
    assert split == sorted(split, reverse=True)  # the extra cents come first
    assert all(money.validate_amount(part) == part for part in split)
    assert [money.installment(total, parts, i) for i in range(parts)] == split


@pytest.mark.parametrize("bad", [0, -5, money.MAX_CENTS + 1, True, 1.5, "100"])
def test_amount_limits_name_the_field(bad: object) -> None:
    with pytest.raises(InvalidAmount) as info:
        money.validate_amount(bad, field="amount_cents")  # type: ignore[arg-type]
    assert info.value.field == "amount_cents"


def test_only_usd() -> None:
    assert money.validate_currency("USD") == "USD"
    with pytest.raises(InvalidAmount, match="EUR"):
        money.validate_currency("EUR")
    with pytest.raises(InvalidAmount):
        money.Money(cents=100, currency="usd")


def test_money_value() -> None:
    value = money.Money(cents=4550)
    assert (str(value), value.dollars, value.currency) == ("$45.50", Decimal("45.50"), "USD")
    with pytest.raises(InvalidAmount):
        money.Money(cents=0)


@pytest.mark.parametrize(
    ("text", "cents"),
    [("45", 4500), ("45.5", 4550), ("45.05", 4505), ("$1,234.05", 123405), (" 0.01 ", 1),
     (".5", 50), ("999999.99", money.MAX_CENTS), ("007", 700)],
)  # fmt: skip
def test_parse_amount(text: str, cents: int) -> None:
    assert money.parse_amount(text) == cents


@pytest.mark.parametrize(
    ("text", "says"),
    [("-1", "positive"), ("-0.50", "positive"), ("1.234", "2 decimals"), ("abc", "not an amount"),
     ("", "not an amount"), (".", "not an amount"), ("1,23", "not an amount"),
     ("1.2.3", "not an amount"), ("1e3", "not an amount"), ("١٢", "not an amount"),
     ("9" * 5000, "not an amount"), ("0", "between"), ("0.00", "between"),
     ("1000000", "between")],
)  # fmt: skip
def test_parse_amount_refuses_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(InvalidAmount, match=says) as info:
        money.parse_amount(text, field="price")
    assert info.value.field == "price"


@given(cents=st.integers(money.MIN_CENTS, money.MAX_CENTS))
def test_format_parse_and_dollars_round_trip(cents: int) -> None:
    text = money.format_cents(cents)
    assert money.parse_amount(text) == cents
    assert money.cents_to_dollars(cents) * 100 == cents
    assert money.cents_to_dollars(cents).as_tuple().exponent == -2


def test_format_and_dollars() -> None:
    assert money.format_cents(12345) == "$123.45"
    assert money.format_cents(123405) == "$1,234.05"
    assert money.format_cents(-5) == "-$0.05"
    assert money.cents_to_dollars(201) == Decimal("2.01")
    assert str(money.cents_to_dollars(100)) == "1.00"
