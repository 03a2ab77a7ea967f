"""`ardesk demo`: build the demo AR book (see ardesk.ledger.demo) and print the demo logins.

Running it again on a database that already holds the demo changes nothing; `--reset` deletes the ledger
data and the demo users first and builds the book again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import time
from typing import IO, Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.module_loading import import_string
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ardesk.ledger import demo


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Build a realistic, deterministic demo AR book (customers, invoices, payments, collectors)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=400, help="number of customers (default 400)")
        parser.add_argument("--years", type=int, default=2, help="years of history (default 2)")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="last day of the history (default today)"
        )
        parser.add_argument("--reset", action="store_true", help="delete ledger data and demo users first")
        parser.add_argument("--chunk", type=int, default=demo.CHUNK_CUSTOMERS, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of: dt.date = opts["as_of"] or timezone.localdate()
        try:
            cfg = demo.DemoConfig(
                seed=opts["seed"], customers=opts["customers"], years=opts["years"], as_of=as_of
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))  # rich writes whole lines itself
        console = Console(file=out, width=None if out.isatty() else 100, highlight=False)
        verbose = opts["verbosity"] >= 1

        with transaction.atomic():  # a reset and the rebuild commit together, or not at all
            if opts["reset"]:
                try:
                    deleted = demo.reset()
                except (ProtectedError, RestrictedError) as exc:
                    raise CommandError(f"Cannot reset: {exc.args[0]}") from exc
                if verbose:
                    rows = sum(deleted.values())
                    console.print(f"Reset: deleting {rows:,} rows of ledger data and the demo users.")
            elif demo.demo_loaded():
                if verbose:
                    console.print(
                        f"The demo data is already loaded (user {demo.ADMIN_USERNAME!r} exists); "
                        "nothing to do. Use --reset to rebuild it."
                    )
                    self._print_logins(console)
                return
            elif reason := demo.blocking_data():
                raise CommandError(f"Not loading the demo: {reason}. Use --reset to replace it.")
            started = time.perf_counter()
            result = self._build(cfg, console, verbose=verbose, chunk=opts["chunk"])
            summaries = self._extensions(cfg, console, verbose=verbose)
        elapsed = time.perf_counter() - started
        if not verbose:
            return
        c = result.counts
        console.print(
            f"Built the demo book as of {cfg.as_of} (seed {cfg.seed}, {cfg.years} years) in {elapsed:.1f}s: "
            f"{c['customers']:,} customers, {c['contacts']:,} contacts, {c['invoices']:,} invoices, "
            f"{c['payments']:,} payments, {c['credit_memos']:,} credit memos, "
            f"{c['applications']:,} applications, {c['write_offs']:,} write-offs."
        )
        mix = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.behaviours.items())
        console.print(f"Paying behaviours: {mix}.")
        for line in summaries:
            console.print(line)
        self._print_logins(console)

    def _extensions(self, cfg: demo.DemoConfig, console: Console, *, verbose: bool) -> list[str]:
        """The apps above the ledger add their demo data (settings.ARDESK_DEMO_EXTENSIONS), in order.

        A missing module is skipped (an app may not have demo data yet); any other error aborts the whole
        build, which runs in one transaction."""
        lines = []
        for dotted in settings.ARDESK_DEMO_EXTENSIONS:
            module_name = dotted.rsplit(".", 1)[0]
            if importlib.util.find_spec(module_name) is None:
                continue
            line = import_string(dotted)(cfg=cfg, console=console, verbose=verbose)
            if line:
                lines.append(line)
        return lines

    def _build(
        self, cfg: demo.DemoConfig, console: Console, *, verbose: bool, chunk: int
    ) -> demo.BuildResult:
        if not (verbose and console.is_terminal):
            return demo.build(cfg, chunk_customers=chunk)
        columns = (
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as bar:
            tasks = {
                "customers": bar.add_task("customers", total=cfg.customers),
                "invoices": bar.add_task("invoices", total=None),
            }
            result = demo.build(
                cfg, progress=lambda kind, n: bar.advance(tasks[kind], n), chunk_customers=chunk
            )
            bar.update(tasks["invoices"], total=result.counts["invoices"])
        return result

    def _print_logins(self, console: Console) -> None:
        table = Table(title="Demo logins", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        table.add_column("username")
        table.add_column("role")
        table.add_column("team / title / territory")
        for username, role, label in demo.logins():
            table.add_row(username, role, label)
        console.print(table)
        console.print(f"Every demo login uses the password [bold]{demo.PASSWORD}[/bold].")
