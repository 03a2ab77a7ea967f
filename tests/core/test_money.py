"""Pure tests of the Money type and number parsing (no database)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ardesk.core.errors import CurrencyMismatch, InvalidInput, UnknownCurrency
from ardesk.core.money import Money, format_minor, minor_units, parse_decimal, to_minor


def test_of_converts_major_units_exactly():
    assert Money.of("12.34", "USD") == Money(1234, "USD")
    assert Money.of("1500", "JPY") == Money(1500, "JPY")
    assert Money.of("1.234", "KWD") == Money(1234, "KWD")


def test_sub_minor_precision_is_refused_not_rounded():
    with pytest.raises(InvalidInput, match="more than 2 decimal places for USD"):
        Money.of("12.345", "USD")
    with pytest.raises(InvalidInput, match="more than 0 decimal places for JPY"):
        to_minor(Decimal("10.5"), "JPY")


def test_mixing_currencies_raises():
    with pytest.raises(CurrencyMismatch, match="cannot combine USD with EUR"):
        Money(100, "USD") + Money(100, "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "USD") < Money(100, "EUR")


def test_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency, match="'XYZ'"):
        Money(1, "XYZ")
    assert minor_units("BHD") == 3


def test_float_minor_is_a_type_error():
    with pytest.raises(TypeError):
        Money(12.5, "USD")  # type: ignore[arg-type]


def test_arithmetic_and_format():
    total = Money(1050, "USD") + Money(250, "USD") - Money(300, "USD")
    assert total == Money(1000, "USD")
    assert str(Money(123456789, "USD")) == "1,234,567.89 USD"
    assert Money(-5, "USD").format() == "-0.05"
    assert format_minor(1500, "JPY") == "1,500"
    assert format_minor(None, "USD") == ""
    assert Money(1, "USD").amount == Decimal("0.01")


def test_convert_rounds_once_half_even():
    # 10.05 USD at 0.5 = 5.025 EUR -> half-even -> 5.02
    assert Money(1005, "USD").convert(Decimal("0.5"), "EUR") == Money(502, "EUR")
    assert Money(1015, "USD").convert(Decimal("0.5"), "EUR") == Money(508, "EUR")
    assert Money(100, "USD").convert(Decimal("150.3"), "JPY") == Money(150, "JPY")


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("1,234.50", {}, Decimal("1234.50")),
        ("(1,234.50)", {}, Decimal("-1234.50")),
        ("1234.50-", {}, Decimal("-1234.50")),
        ("$ 99.00", {}, Decimal("99.00")),
        ("1.234,50", {"decimal_sep": ",", "thousands_sep": "."}, Decimal("1234.50")),
        ("-0", {}, Decimal("0")),
    ],
)
def test_parse_decimal_erp_formats(text, kwargs, expected):
    assert parse_decimal(text, **kwargs) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12e5", "--1", "1,2a"])
def test_parse_decimal_rejects_garbage(text):
    with pytest.raises(InvalidInput, match="is not a number"):
        parse_decimal(text)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "KWD"]))
def test_format_parse_round_trip(minor, currency):
    money = Money(minor, currency)
    assert Money.of(parse_decimal(money.format()), currency) == money


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=30))
def test_sum_is_exact(values):
    total = Money.zero("USD")
    for v in values:
        total = total + Money(v, "USD")
    assert total.minor == sum(values)
