"""`ardesk kpi --as-of 2026-03-31 --by collector --format table|csv|json [--window 90] [--basis due|invoice]`

Prints the KPIs of the whole book (or of one user's scope with --user) as of a date. Every output states
its options: the table in its title, CSV in leading columns, JSON in the document.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import IO, Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ardesk.core.errors import ArdeskError
from ardesk.core.exports import neutralise
from ardesk.metrics import selectors
from ardesk.metrics.definitions import BASES, DEFAULT_WINDOW_DAYS
from ardesk.metrics.queries import DIMENSIONS
from ardesk.metrics.schemas import kpi_report, major

TABLE_COLUMNS = (
    ("Open AR", "open_ar"),
    ("Current", "current"),
    ("Past due", "past_due"),
    ("% past due", "pct_past_due"),
    ("% >90", "pct_over_90"),
    ("DSO", "dso"),
    ("Countback", "countback_dso"),
    ("Best DSO", "best_possible_dso"),
    ("ADD", "add"),
    ("CEI %", "cei"),
    ("ADP", "adp"),
)
CSV_MONEY = (
    "open_ar",
    "current",
    "past_due",
    "over_90",
    "unapplied_cash",
    "open_credits",
    "net_ar",
    "beginning_ar",
    "sales_window",
    "write_offs",
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (use YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "KPIs (aging, DSO family, CEI, ADP...) as of a date, sliced by a dimension."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=_date, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--by", choices=sorted(DIMENSIONS), default=None, help="slice dimension")
        parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
        parser.add_argument("--window", type=int, default=DEFAULT_WINDOW_DAYS, help="period in days")
        parser.add_argument("--basis", choices=BASES, default="due", help="aging basis")
        parser.add_argument(
            "--currency",
            choices=selectors.CURRENCY_MODES,
            default="currency",
            help="one row per currency, or translated into the base currency",
        )
        parser.add_argument("--entity", default=None, help="legal entity code")
        parser.add_argument("--baseline", type=_date, default=None, help="compare past due with this date")
        parser.add_argument("--user", default=None, help="scope to this user's portfolio")

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of: dt.date = opts["as_of"] or timezone.localdate()
        user: Any = selectors.SYSTEM
        if opts["user"]:
            try:
                user = get_user_model().objects.get(username=opts["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user {opts['user']!r}") from None
        try:
            rows = selectors.kpis(
                user,
                as_of,
                opts["by"],
                window_days=opts["window"],
                basis=opts["basis"],
                currency_mode=opts["currency"],
                entity=opts["entity"],
                baseline=opts["baseline"],
            )
            labels = selectors.bucket_labels(basis=opts["basis"])
        except ArdeskError as exc:
            raise CommandError(exc.message) from exc
        fmt = opts["format"]
        if fmt == "json":
            doc = kpi_report(
                rows,
                as_of=as_of,
                by=opts["by"],
                window_days=opts["window"],
                basis=opts["basis"],
                bucket_labels=labels,
                currency_mode=opts["currency"],
                baseline=opts["baseline"],
            )
            self.stdout.write(json.dumps(doc, cls=DjangoJSONEncoder, indent=2))
        elif fmt == "csv":
            self._csv(rows, labels, opts, as_of)
        else:
            self._table(rows, opts, as_of)

    def _csv(
        self, rows: list[selectors.KpiRow], labels: list[str], opts: dict[str, Any], as_of: dt.date
    ) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        money = list(CSV_MONEY)
        ratios = [f for f in selectors.RATIO_FIELDS if f != "past_due_change_pct"]
        if opts["baseline"]:
            money += ["past_due_baseline", "past_due_change"]
            ratios.append("past_due_change_pct")
        header = [
            "as_of",
            "window_days",
            "basis",
            "currency_mode",
            "by",
            "key",
            "label",
            "currency",
            "open_invoices",
            *money,
            *labels,
            "paid_invoices",
            *ratios,
        ]
        writer.writerow(header)
        for r in rows:
            writer.writerow(
                [
                    neutralise(v)
                    for v in (
                        as_of,
                        opts["window"],
                        opts["basis"],
                        opts["currency"],
                        opts["by"] or "",
                        r.key,
                        r.label,
                        r.currency,
                        r.open_invoices,
                        *(major(getattr(r, m), r.currency) for m in money),
                        *(major(b, r.currency) for b in r.buckets),
                        r.paid_invoices,
                        *(getattr(r, f) for f in ratios),
                    )
                ]
            )

    def _table(self, rows: list[selectors.KpiRow], opts: dict[str, Any], as_of: dt.date) -> None:
        from rich.console import Console
        from rich.table import Table

        mode = "base currency" if opts["currency"] == "base" else "by currency"
        title = (
            f"KPIs as of {as_of} · by {opts['by'] or 'total'} · window {opts['window']} days · "
            f"{opts['basis']}-date aging · {mode}"
        )
        table = Table(title=title)
        table.add_column(opts["by"] or "slice")
        table.add_column("Cur")
        for head, _ in TABLE_COLUMNS:
            table.add_column(head, justify="right")
        for r in rows:
            cells = []
            for _, name in TABLE_COLUMNS:
                v = getattr(r, name)
                if name in selectors.MONEY_FIELDS:
                    cells.append(f"{major(v, r.currency):,}")
                else:
                    cells.append("—" if v is None else str(v))
            table.add_row(r.label, r.currency, *cells)
        Console(file=cast(IO[str], self.stdout), width=200).print(table)
