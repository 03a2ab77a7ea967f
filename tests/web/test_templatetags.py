"""Display filters: money from integer minor units, never through a float."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ardesk.core.money import Money
from ardesk.core.templatetags import ardesk_tags as t


def test_money_and_amount() -> None:
    assert t.money(123456, "USD") == "1,234.56 USD"
    assert t.money(1234, "JPY") == "1,234 JPY"
    assert t.money(1234, "KWD") == "1.234 KWD"
    assert t.money(-5, "USD") == "-0.05 USD"
    assert t.money(Money(990, "EUR")) == "9.90 EUR"
    assert t.money(None, "USD") == ""
    assert t.amount(123456, "USD") == "1,234.56"
    assert t.amount(Money(100, "GBP")) == "1.00"


def test_percentages_and_durations() -> None:
    assert t.pct(Decimal("86.466")) == "86.5%"
    assert t.pct(None) == "–"
    assert t.share(345000, 399000) == "86.5%"
    assert t.share(1, 0) == "–"
    assert t.bar_width(Decimal("139.0")) == "100"
    assert t.bar_width(Decimal("39.0")) == "39.0"
    assert t.minutes(dt.timedelta(minutes=15)) == 15
    assert t.days_late(dt.date(2026, 1, 31), dt.date(2026, 3, 1)) == 29
