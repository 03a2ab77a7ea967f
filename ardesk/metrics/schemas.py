"""API schemas of the KPI reports, and the one function that turns rows into their JSON shape (the API
and `ardesk kpi --format json` print the same document).

Money is an object {amount: "1234.50" (major units, as a string), currency, minor: 123450}; ratios
(days, percentages, times) are decimal strings rounded to 0.01, or null when undefined (e.g. DSO with no
sales in the window). Nothing is a float. Every report states its options: as-of date, slicing, window,
aging basis and buckets, currency mode, and whether credits are netted in the buckets (never).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ninja import Schema

from ardesk.core.money import minor_units

from .selectors import MONEY_FIELDS, RATIO_FIELDS, AgingRow, KpiRow


class MoneyOut(Schema):
    amount: str
    currency: str
    minor: int


class BucketOut(Schema):
    label: str
    amount: str
    minor: int


class KpiRowOut(Schema):
    key: str | None
    label: str
    currency: str
    open_invoices: int
    paid_invoices: int
    buckets: list[BucketOut]
    open_ar: MoneyOut
    current: MoneyOut
    past_due: MoneyOut
    over_90: MoneyOut
    unapplied_cash: MoneyOut
    open_credits: MoneyOut
    net_ar: MoneyOut
    beginning_ar: MoneyOut
    sales_window: MoneyOut
    write_offs: MoneyOut
    past_due_baseline: MoneyOut | None = None
    past_due_change: MoneyOut | None = None
    pct_current: str | None
    pct_past_due: str | None
    pct_over_90: str | None
    past_due_change_pct: str | None
    dso: str | None
    countback_dso: str | None
    true_dso: str | None
    best_possible_dso: str | None
    add: str | None
    avg_days_late: str | None
    cei: str | None
    adp: str | None
    adp_weighted: str | None
    ar_turnover: str | None
    bad_debt_ratio: str | None


class KpiReportOut(Schema):
    as_of: dt.date
    by: str | None
    window_days: int
    basis: str
    bucket_labels: list[str]
    currency_mode: str
    credits_netted: bool
    baseline: dt.date | None
    rows: list[KpiRowOut]


class AgingRowOut(Schema):
    key: str | None
    label: str
    currency: str
    open_invoices: int
    buckets: list[BucketOut]
    open_ar: MoneyOut
    unapplied_cash: MoneyOut
    open_credits: MoneyOut
    net_ar: MoneyOut


class AgingReportOut(Schema):
    as_of: dt.date
    by: str | None
    basis: str
    bucket_labels: list[str]
    currency_mode: str
    credits_netted: bool
    rows: list[AgingRowOut]


# --- building the documents ----------------------------------------------------------------------------


def major(minor: int, currency: str) -> Decimal:
    """Minor units as a Decimal amount in major units with the currency's decimals: 5000 USD -> 50.00."""
    exp = minor_units(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def money_out(minor: int | None, currency: str) -> dict[str, Any] | None:
    if minor is None:
        return None
    return {"amount": str(major(minor, currency)), "currency": currency, "minor": minor}


def ratio_out(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _buckets(labels: Sequence[str], amounts: Sequence[int], currency: str) -> list[dict[str, Any]]:
    return [
        {"label": label, "amount": str(major(m, currency)), "minor": m}
        for label, m in zip(labels, amounts, strict=True)
    ]


def kpi_row_out(row: KpiRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": row.key,
        "label": row.label,
        "currency": row.currency,
        "open_invoices": row.open_invoices,
        "paid_invoices": row.paid_invoices,
        "buckets": _buckets(row.bucket_labels, row.buckets, row.currency),
    }
    for name in MONEY_FIELDS:
        out[name] = money_out(getattr(row, name), row.currency)
    for name in RATIO_FIELDS:
        out[name] = ratio_out(getattr(row, name))
    return out


def kpi_report(
    rows: Sequence[KpiRow],
    *,
    as_of: dt.date,
    by: str | None,
    window_days: int,
    basis: str,
    bucket_labels: Sequence[str],
    currency_mode: str,
    baseline: dt.date | None = None,
) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "by": by,
        "window_days": window_days,
        "basis": basis,
        "bucket_labels": list(bucket_labels),
        "currency_mode": currency_mode,
        "credits_netted": False,
        "baseline": baseline,
        "rows": [kpi_row_out(r) for r in rows],
    }


def aging_row_out(row: AgingRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "label": row.label,
        "currency": row.currency,
        "open_invoices": row.open_invoices,
        "buckets": _buckets(row.bucket_labels, row.buckets, row.currency),
        **{
            name: money_out(getattr(row, name), row.currency)
            for name in ("open_ar", "unapplied_cash", "open_credits", "net_ar")
        },
    }


def aging_report(
    rows: Sequence[AgingRow],
    *,
    as_of: dt.date,
    by: str | None,
    basis: str,
    bucket_labels: Sequence[str],
    currency_mode: str,
) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "by": by,
        "basis": basis,
        "bucket_labels": list(bucket_labels),
        "currency_mode": currency_mode,
        "credits_netted": False,
        "rows": [aging_row_out(r) for r in rows],
    }
