"""Rows of the KPI exports (CSV and XLSX through `ardesk.core.exports.export_response`).

Money is a Decimal in major units of the row's currency, ratios are the Decimal figures of the metrics
engine (0.01), undefined figures are blank. Every row states the report's options in its first columns
(as-of date, window, basis, currency mode), so a file read on its own says what it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .selectors import AgingReport, CollectorTable, Options, Overview, major

BASIS = {"due": "due date", "invoice": "invoice date"}
MODES = {"currency": "each currency", "base": "base currency"}


def _opts(o: Options, *, window: bool = True) -> list[Any]:
    head: list[Any] = [o.as_of]
    if window:
        head.append(o.window_days)
    return [*head, BASIS[o.basis], MODES[o.currency_mode]]


OPTION_HEADER = ["As of", "Window (days)", "Aging basis", "Currency mode"]


def overview_header() -> list[str]:
    return [*OPTION_HEADER, "Compared with", "Currency", "Metric", "Value", "Previous", "Change"]


def overview_rows(ov: Overview) -> Iterator[list[Any]]:
    for panel in ov.panels:
        for t in panel.tiles:
            yield [
                *_opts(ov.opts),
                ov.opts.previous,
                panel.currency,
                t.label,
                t.export_value(t.value),
                t.export_value(t.previous),
                t.export_value(t.change),
            ]


def aging_header(report: AgingReport) -> list[str]:
    return [
        "As of",
        "Aging basis",
        "Currency mode",
        report.by_label,
        "Currency",
        *report.opts.bucket_labels,
        "Open AR",
        "Unapplied cash",
        "Open credits",
        "Net AR",
        "Open invoices",
    ]


def aging_rows(report: AgingReport) -> Iterator[list[Any]]:
    head = _opts(report.opts, window=False)
    for r in report.rows:
        c = r.currency
        yield [
            *head,
            r.label,
            c,
            *(major(b, c) for b in r.buckets),
            major(r.open_ar, c),
            major(r.unapplied_cash, c),
            major(r.open_credits, c),
            major(r.net_ar, c),
            r.open_invoices,
        ]
    for t in report.totals:
        c = t.currency
        yield [
            *head,
            "Total",
            c,
            *(major(b, c) for b in t.buckets),
            major(t.open_ar, c),
            major(t.unapplied_cash, c),
            major(t.open_credits, c),
            major(t.net_ar, c),
            t.open_invoices,
        ]


COLLECTOR_HEADER = [
    *OPTION_HEADER,
    "Collector",
    "Title",
    "Team",
    "Tier",
    "Territory",
    "Currency",
    "Open AR",
    "Past due",
    "% past due",
    "% over 90",
    "DSO",
    "CEI",
    "ADD",
]


def collector_rows(table: CollectorTable) -> Iterator[list[Any]]:
    head = _opts(table.opts)
    for cr in table.rows:
        r = cr.row
        yield [*head, cr.label, cr.title, cr.team, cr.tier, cr.territory, r.currency, *_kpi_cells(r)]
    for t in table.totals:
        yield [*head, "Total", "", "", "", "", t.currency, *_kpi_cells(t)]


def _kpi_cells(r: Any) -> list[Any]:
    c = r.currency
    return [major(r.open_ar, c), major(r.past_due, c), r.pct_past_due, r.pct_over_90, r.dso, r.cei, r.add]
