"""Money: an integer number of minor units and an ISO-4217 currency code.

Amounts are stored as integers (cents, yen, fils) so sums are exact on SQLite and PostgreSQL alike.
`Decimal` is used only at the edges (parsing, display, rates); `float` never touches money.
Arithmetic between two currencies raises `CurrencyMismatch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from .errors import CurrencyMismatch, InvalidInput, UnknownCurrency

# ISO 4217 minor units for the currencies an AR team meets. Unlisted codes are refused, not guessed.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        [
            "AED",
            "ARS",
            "AUD",
            "BDT",
            "BGN",
            "BRL",
            "CAD",
            "CHF",
            "CNY",
            "COP",
            "CZK",
            "DKK",
            "DZD",
            "EGP",
            "EUR",
            "GBP",
            "GHS",
            "HKD",
            "HUF",
            "IDR",
            "ILS",
            "INR",
            "KES",
            "KZT",
            "LKR",
            "MAD",
            "MXN",
            "MYR",
            "NGN",
            "NOK",
            "NZD",
            "PEN",
            "PHP",
            "PKR",
            "PLN",
            "QAR",
            "RON",
            "RSD",
            "RUB",
            "SAR",
            "SEK",
            "SGD",
            "THB",
            "TRY",
            "TWD",
            "UAH",
            "USD",
            "UYU",
            "VES",
            "ZAR",
        ],
        2,
    ),
    **dict.fromkeys(["CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
CURRENCY_CHOICES = sorted((c, c) for c in MINOR_UNITS)


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency code {currency!r}", currency=currency) from None


def check_currency(currency: str) -> str:
    minor_units(currency)
    return currency


_NUMBER = re.compile(r"^[+-]?(\d+)(\.\d+)?$")


def parse_decimal(text: str, *, decimal_sep: str = ".", thousands_sep: str = ",") -> Decimal:
    """Parse an ERP-formatted number: `1,234.50`, `(1,234.50)`, `-12`, `1.234,50` (with separators
    given), `1234.50-` (SAP trailing minus), with an optional currency symbol. Raises InvalidInput."""
    raw = text
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    for sym in ("$", "€", "£", "¥"):
        s = s.replace(sym, "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-") and not s.startswith("-"):
        negative, s = True, s[:-1]
    if thousands_sep:
        s = s.replace(thousands_sep, "")
    if decimal_sep != ".":
        s = s.replace(decimal_sep, ".")
    if not _NUMBER.match(s):
        raise InvalidInput(f"{raw!r} is not a number")
    try:
        value = Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - guarded by the regex
        raise InvalidInput(f"{raw!r} is not a number") from exc
    return -value if negative else value


def to_minor(value: Decimal | int | str, currency: str) -> int:
    """Convert a major-unit amount to integer minor units; refuses sub-minor precision
    (12.345 USD is an error, not a rounding)."""
    exp = minor_units(currency)
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    scaled = d.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(f"{value} has more than {exp} decimal places for {currency}", currency=currency)
    return int(scaled)


def quantize_minor(value: Decimal, rounding: str = ROUND_HALF_EVEN) -> int:
    """Round a Decimal number of minor units to an integer, once, with a stated mode."""
    return int(value.to_integral_value(rounding=rounding))


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError(f"Money.minor must be an int, got {type(self.minor).__name__}")
        minor_units(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Money from a major-unit amount: Money.of("12.34", "USD") == Money(1234, "USD")."""
        return cls(to_minor(amount, currency), currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_units(self.currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}",
                left=self.currency,
                right=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def convert(self, rate: Decimal, to_currency: str, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Convert at `rate` (units of `to_currency` per one unit of this currency), rounding once."""
        target = self.amount * rate
        return Money(quantize_minor(target.scaleb(minor_units(to_currency)), rounding), to_currency)

    def format(self, *, symbol: bool = False) -> str:
        exp = minor_units(self.currency)
        q = Decimal(1).scaleb(-exp)
        text = f"{self.amount.quantize(q):,}"
        return f"{text} {self.currency}" if symbol else text

    def __str__(self) -> str:
        return self.format(symbol=True)


def money_sum(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    total = Money.zero(currency)
    for m in items:
        total = total + m
    return total


def format_minor(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return Money(int(minor), currency).format()
