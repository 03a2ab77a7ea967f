"""`ardesk columnar sync [--full] | status | verify`

The columnar copy of the ledger that KPI computations over large scopes run on (see
ardesk.metrics.columnar). `sync` brings it up to date (the first time, or with `--full`, builds it, with a
progress bar per table); `status` shows what it holds; `verify` compares it with the database, every
copied column of every row, and exits with status 1 when they differ.
"""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ardesk.metrics import columnar


class Command(BaseCommand):
    help = "Build, refresh, show or verify the columnar copy of the ledger used by large KPI computations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sync", "status", "verify"])
        parser.add_argument("--full", action="store_true", help="sync: build the copy again from scratch")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))
        console = Console(file=out, width=None if out.isatty() else 100, highlight=False, soft_wrap=True)
        path = columnar.configured_path()
        if path is None:
            raise CommandError("no columnar copy configured: set ARDESK_COLUMNAR_PATH")
        action = opts["action"]
        if action == "sync":
            self._sync(console, full=opts["full"], verbose=opts["verbosity"] >= 1)
        elif action == "status":
            self._status(console)
        else:
            self._verify(console)

    def _sync(self, console: Console, *, full: bool, verbose: bool) -> None:
        if verbose and console.is_terminal:
            columns = (
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as bar:
                top = columnar.table_top
                tasks = {s.name: bar.add_task(s.name, total=top(s.table)) for s in columnar.SOURCES}

                def tick(name: str, n: int) -> None:
                    bar.advance(tasks[name], n)

                result = columnar.sync(full=full, progress=tick)
                for name, task in tasks.items():  # an incremental sync reads a few rows, not the table
                    bar.update(task, total=result.rows.get(name, 0), completed=result.rows.get(name, 0))
        else:
            result = columnar.sync(full=full)
        if not verbose:
            return
        what = f"built from scratch ({result.reason})" if result.full else "brought up to date"
        rows = ", ".join(f"{n:,} {name.replace('_', ' ')}s" for name, n in result.rows.items())
        where = columnar.configured_path()
        console.print(f"Columnar copy {where}: {what} in {result.seconds:.1f} s; rows written: {rows}.")
        if not result.full:
            console.print(f"Audit rows read: {result.audit_rows:,}.")

    def _status(self, console: Console) -> None:
        st = columnar.status()
        if not st.exists:
            console.print(f"No columnar copy at {st.path}: run `ardesk columnar sync`.")
            return
        console.print(f"Columnar copy {st.path} ({st.bytes / 1e6:,.1f} MB)")
        for name, n in st.rows.items():
            console.print(f"  {name:<12} {n:>14,} rows")
        for key in ("built_at", "synced_at", "layout"):
            console.print(f"{key.replace('_', ' ')}: {st.meta.get(key, '-')}")
        console.print(f"used from {columnar.min_customers():,} customers in scope")

    def _verify(self, console: Console) -> None:
        if not columnar.status().exists:
            raise CommandError("no columnar copy to verify: run `ardesk columnar sync` first")
        columnar.sync()
        got = columnar.verify()
        bad = [name for name, (equal, _db, _copy) in got.items() if not equal]
        for name, (equal, n_db, n_copy) in got.items():
            verdict = "equal" if equal else "DIFFERENT"
            console.print(f"{name:<12} {verdict:<9} database {n_db:,} rows, copy {n_copy:,} rows")
        if bad:
            raise CommandError(f"the copy differs from the database in: {', '.join(bad)}", returncode=1)
        console.print("The copy equals the database.")
