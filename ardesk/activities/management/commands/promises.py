"""`ardesk promises [--as-of DATE] [--since DATE | --all-payments]`

Meant to run daily (or every few minutes): records the payments received (one activity per receipt, never
twice) and evaluates the promises to pay as of the date (kept, partially kept, broken; one follow-up per
broken promise). Running it again changes nothing. Big books are worked in chunks of customers, each in its
own transaction, with a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ardesk.activities import services
from ardesk.activities.models import PromiseToPay
from ardesk.core.errors import ArdeskError

CHUNK_CUSTOMERS = 2000


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Record payments received and evaluate promises to pay as of a date (default today)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", type=_date, default=None, help="default: today")
        parser.add_argument(
            "--since", type=_date, default=None, help="record receipts dated from (default: as-of - 31 days)"
        )
        parser.add_argument("--all-payments", action="store_true", help="record every receipt up to as-of")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))
        console = Console(file=out, width=None if out.isatty() else 100, highlight=False)
        as_of: dt.date = opts["as_of"] or timezone.localdate()
        since = None if opts["all_payments"] else (opts["since"] or as_of - dt.timedelta(days=31))
        customer_ids = sorted(
            set(
                PromiseToPay.objects.filter(
                    status__in=[
                        PromiseToPay.Status.OPEN,
                        PromiseToPay.Status.PARTIAL,
                        PromiseToPay.Status.BROKEN,
                    ],
                    taken_on__lte=as_of,
                ).values_list("customer_id", flat=True)
            )
        )
        chunks = [customer_ids[i : i + CHUNK_CUSTOMERS] for i in range(0, len(customer_ids), CHUNK_CUSTOMERS)]
        totals = dict.fromkeys(("evaluated", "kept", "partial", "broken", "still_open", "follow_ups"), 0)
        try:
            recorded = services.record_payments_received(since=since, until=as_of)
            show = opts["verbosity"] >= 1 and console.is_terminal
            columns = (
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, disable=not show) as bar:
                task = bar.add_task("customers", total=len(customer_ids))
                for chunk in chunks:
                    summary = services.evaluate_promises(as_of=as_of, customer_ids=chunk)
                    for key in totals:
                        totals[key] += getattr(summary, key)
                    bar.advance(task, len(chunk))
        except ArdeskError as exc:
            raise CommandError(exc.message) from exc
        if opts["verbosity"] >= 1:
            console.print(
                f"As of {as_of}: {recorded} payments recorded; {totals['evaluated']} promises evaluated: "
                f"{totals['kept']} kept, {totals['partial']} partially kept, {totals['broken']} broken, "
                f"{totals['still_open']} open; {totals['follow_ups']} follow-ups created.",
                soft_wrap=True,
            )
