"""`ardesk snapshot [--grain month|day] [--from DATE] [--full] [--to DATE]`

Brings the KPI snapshots up to date with the ledger (see ardesk.metrics.snapshots): reads what changed
since the last run, recomputes the periods from the earliest business date touched, computes new period
ends. Running it again with nothing new changes nothing; a second run while one is going reports the grain
as busy and leaves it alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ardesk.core.errors import ArdeskError
from ardesk.metrics import snapshots
from ardesk.metrics.models import Grain


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Refresh the KPI snapshots (month ends, days) from what changed in the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--grain", choices=Grain.values, default=None, help="default: every grain")
        parser.add_argument(
            "--from", dest="from_date", type=_date, default=None, help="recompute periods from this date"
        )
        parser.add_argument("--full", action="store_true", help="recompute every period")
        parser.add_argument("--to", type=_date, default=None, help="last period end (default today)")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))
        console = Console(file=out, width=None if out.isatty() else 100, highlight=False)
        verbose = opts["verbosity"] >= 1
        to: dt.date = opts["to"] or timezone.localdate()
        try:
            if verbose and console.is_terminal:
                columns = (
                    TextColumn("{task.description:<10}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                )
                with Progress(*columns, console=console) as bar:
                    task = bar.add_task("periods", total=None)

                    def tick(_phase: str, done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    results = snapshots.refresh(
                        grain=opts["grain"],
                        from_date=opts["from_date"],
                        full=opts["full"],
                        to=to,
                        progress=tick,
                    )
            else:
                results = snapshots.refresh(
                    grain=opts["grain"], from_date=opts["from_date"], full=opts["full"], to=to
                )
        except ArdeskError as exc:
            raise CommandError(str(exc)) from exc
        if not verbose:
            return
        for r in results:
            if r.busy:
                console.print(f"{r.grain}: another refresh is running; left it alone.")
                continue
            why = f" ({r.full})" if r.full else (f" (changes from {r.dirty_from})" if r.dirty_from else "")
            keyed = "".join(f", {n} periods of {dim} keys" for dim, n in r.key_periods.items())
            console.print(
                f"{r.grain}: {len(r.periods)} periods recomputed{why}{keyed}, {r.rows:,} rows written, "
                f"{r.removed} periods dropped; audit log read to #{r.audit_to}."
            )
