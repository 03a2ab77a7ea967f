"""Template helpers of the KPI pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template

register = template.Library()

FILTERABLE = frozenset({"collector", "team", "territory", "title", "tier", "region", "industry", "segment"})


@register.simple_tag(takes_context=True)
def customers_of(context: template.Context, by: str, key: str | None) -> str:
    """The query string of the aging by customer within one slice of dimension `by` (the drill from a
    slice to its customers), keeping the other options; empty when `by` is not a filter."""
    if key is None and by in ("collector", "team"):
        key = "none"  # the filter's choice for "no collector" / "no team"
    if by not in FILTERABLE or not key:
        return ""
    params = context["request"].GET.copy()
    for name in ("format", "page"):
        params.pop(name, None)
    params["by"] = "customer"
    params[by] = key
    return "?" + params.urlencode()


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def sparkline_svg(values: Any) -> str:
    """A small inline SVG line of a trend (drawing only; the figures are in the table beside it)."""
    from django.utils.html import format_html

    from ardesk.dashboard.selectors import sparkline

    points = sparkline(list(values))
    if not points:
        return ""
    return format_html(
        '<svg class="sparkline" width="120" height="28" viewBox="0 0 120 28" aria-hidden="true">'
        '<polyline points="{}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>',
        points,
    )


@register.simple_tag
def drill_url(base: str, key: str | None, currency: str, bucket: int) -> str:
    """The drill-down URL of one bucket amount: the report's options (`base`, ending in "?" or "&") and
    the row's key ("~" for the slice without a value, "*" for a total), currency and bucket index."""
    from ardesk.dashboard.selectors import drill_key

    return base + urlencode({"key": drill_key(key), "cur": currency, "bucket": bucket})


@register.simple_tag(takes_context=True)
def bucket_sort_th(context: template.Context, index: int, label: str) -> str:
    """A sortable header of the aging bucket `index` (largest first on the first click)."""
    from ardesk.core.templatetags.ardesk_tags import sort_th

    return sort_th(context, f"b{index}", label, "num")
