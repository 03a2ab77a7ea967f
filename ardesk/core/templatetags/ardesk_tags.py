"""Display helpers for templates: money from integer minor units, percentages, sortable headers.

Money is formatted only here, at the edge, from integers: `{{ inv.open_minor|money:inv.currency }}` gives
"1,234.50 USD" and `|amount:currency` gives "1,234.50" (for columns whose currency is shown beside them).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html

from ardesk.core.errors import UnknownCurrency
from ardesk.core.money import Money, format_minor

register = template.Library()


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """`Money` or (minor units, currency) -> "1,234.50 USD"; empty for None."""
    if isinstance(value, Money):
        return str(value)
    if value is None or value == "" or not currency:
        return ""
    try:
        return f"{format_minor(int(value), currency)} {currency}"
    except UnknownCurrency:
        return f"{value} {currency}"


@register.filter
def amount(value: Any, currency: str | None = None) -> str:
    """Like `money` without the currency code."""
    if isinstance(value, Money):
        return value.format()
    if value is None or value == "" or not currency:
        return ""
    try:
        return format_minor(int(value), currency)
    except UnknownCurrency:
        return str(value)


@register.filter
def pct(value: Decimal | int | None, places: int = 1) -> str:
    """A percentage already scaled to 0-100: 12.34 -> "12.3%"."""
    if value is None or value == "":
        return "–"
    step = Decimal(1).scaleb(-int(places))
    return f"{Decimal(value).quantize(step)}%"


@register.simple_tag
def share(part: int, whole: int, places: int = 1) -> str:
    """`part` as a percentage of `whole` (both integers, e.g. minor units), or a dash when whole is 0."""
    if not whole:
        return "–"
    return pct(Decimal(part * 100) / Decimal(whole), places)


@register.filter
def minutes(value: dt.timedelta | None) -> int:
    """A duration in whole minutes (for the login lockout message)."""
    if value is None:
        return 0
    return int(value.total_seconds() // 60)


@register.simple_tag(takes_context=True)
def sort_th(context: template.Context, key: str, label: str, css: str = "") -> str:
    """A table header cell that sorts by `key`; clicking the current sort reverses it. Keeps the other
    query parameters (filters) and starts again from page 1."""
    request = context["request"]
    current = context.get("sort") or ""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    new = f"-{key}" if current == key else key
    params["sort"] = new
    arrow = " ▲" if current == key else " ▼" if current == f"-{key}" else ""
    aria = "ascending" if current == key else "descending" if current == f"-{key}" else "none"
    return format_html(
        '<th class="{}" aria-sort="{}"><a href="?{}" class="sort-link">{}{}</a></th>',
        css,
        aria,
        params.urlencode(),
        label,
        arrow,
    )


@register.filter
def days_late(due: dt.date | None, as_of: dt.date | None) -> int | str:
    """Days past due on `as_of` (negative: not yet due)."""
    if due is None or as_of is None:
        return ""
    return (as_of - due).days


@register.filter
def bar_width(value: Decimal | int | None) -> str:
    """A percentage clamped to 0-100, for the width of a progress bar."""
    if value is None or value == "":
        return "0"
    return str(min(max(Decimal(value), Decimal(0)), Decimal(100)))


@register.filter
def person(user: Any, empty: str = "–") -> str:
    """A user's full name, else username; `empty` when there is no user."""
    if user is None or user == "":
        return empty
    return user.get_full_name() or user.username
