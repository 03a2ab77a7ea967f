"""`ardesk import KIND FILE [--mapping PROFILE] [--dry-run]`: import a CSV or XLSX file.

Every problem is listed (file, row, column, value, reason) and a file with any problem imports nothing;
the command then exits with status 1. Large files show a progress bar.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ardesk.core.errors import InvalidInput
from ardesk.imports.profiles import ProfileError, load_profile, shipped_profiles
from ardesk.imports.report import ImportReport, problems
from ardesk.imports.schema import Kind
from ardesk.imports.services import import_path

PROGRESS_BYTES = 5 * 1024 * 1024  # show a bar from this file size on
SHOW_ERRORS = 50


class Command(BaseCommand):
    help = "Import customers, contacts, invoices, payments, applications or credits from a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in Kind])
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--mapping",
            default="ardesk",
            help=f"mapping profile: one of {', '.join(shipped_profiles())}, or a .yaml/.json path "
            "(default ardesk)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--user", help="username recorded as the actor (default: none, a system import)")
        parser.add_argument("--errors-csv", type=Path, help="also write the problems to this CSV file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))
        console = Console(file=out, highlight=False, soft_wrap=True)
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            profile = load_profile(opts["mapping"])
        except ProfileError as exc:
            raise CommandError(exc.message) from None
        actor = None
        if opts["user"]:
            try:
                actor = get_user_model().objects.get(username=opts["user"], is_active=True)
            except get_user_model().DoesNotExist:
                raise CommandError(f"no active user {opts['user']!r}") from None

        show_bar = not opts["no_progress"] and path.stat().st_size >= PROGRESS_BYTES
        bar = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not show_bar,
        )
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            with bar:
                report = import_path(
                    actor=actor,
                    kind=opts["kind"],
                    path=path,
                    profile=profile,
                    dry_run=opts["dry_run"],
                    progress=progress,
                )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self._print(console, report)
        if opts["errors_csv"] and report.errors:
            with opts["errors_csv"].open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["file", "row", "column", "value", "reason"])
                for e in report.errors:
                    w.writerow([report.file_name, e.row or "", e.column, e.value, e.reason])
            console.print(f"problems written to {opts['errors_csv']}")
        if not report.ok:
            raise CommandError(f"{problems(report.error_count)} in {report.file_name}; nothing was imported")

    def _print(self, console: Console, report: ImportReport) -> None:
        head = f"{report.file_name}: {report.rows:,} rows of {report.kind} (profile {report.profile}"
        if report.encoding:
            head += f", {report.encoding}"
        if report.delimiter:
            head += f", delimiter {report.delimiter!r}"
        console.print(head + f") in {report.seconds:.1f} s")
        if report.skipped:
            console.print(f"{report.skipped:,} rows left out by the profile's filter")
        for w in report.warnings:
            console.print(f"[yellow]warning:[/] {w}")
        if report.errors:
            table = Table(
                box=box.SIMPLE,
                title=f"{problems(report.error_count)}",
                title_justify="left",
            )
            for col in ("row", "column", "value", "reason"):
                table.add_column(col, overflow="fold")
            for e in report.errors[:SHOW_ERRORS]:
                table.add_row(str(e.row or ""), e.column, e.value, e.reason)
            console.print(table)
            if report.error_count > SHOW_ERRORS:
                console.print(
                    f"... and {report.error_count - SHOW_ERRORS:,} more (use --errors-csv to get them)"
                )
            return
        title = "dry run, nothing written; an import would do this" if report.dry_run else "imported"
        table = Table(box=box.SIMPLE, title=title, title_justify="left")
        table.add_column("records")
        counts = report.counts.values()
        whats = [w for w in ("created", "updated", "unchanged") if any(c.get(w) for c in counts)]
        for w in whats:
            table.add_column(w, justify="right")
        for model, c in report.counts.items():
            table.add_row(model, *[f"{c.get(w, 0):,}" for w in whats])
        console.print(table)
