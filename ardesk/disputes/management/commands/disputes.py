"""`ardesk disputes import FILE [--dry-run] [--actor USERNAME]`: import existing disputes from CSV or XLSX.

`ardesk disputes detect-deductions [--as-of DATE]`: open deductions for short payments.

Every problem of the file is listed (row, column, value, reason) and a file with any problem imports
nothing; the command then exits with status 1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ardesk.disputes import services


class Command(BaseCommand):
    help = "Disputes: import existing disputes from a file, or open deductions for short payments."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import existing disputes from a CSV or XLSX file")
        imp.add_argument("file", type=Path)
        imp.add_argument("--dry-run", action="store_true", help="check the file, import nothing")
        imp.add_argument("--actor", default=None, help="username recorded as the importer")
        det = sub.add_parser("detect-deductions", help="open deductions for short payments")
        det.add_argument("--as-of", type=dt.date.fromisoformat, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options.get("actor"):
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"no user {options['actor']!r}")
        if options["action"] == "detect-deductions":
            as_of = options["as_of"] or timezone.localdate()
            opened = services.detect_short_payments(as_of=as_of, actor=actor)
            self.stdout.write(f"{len(opened)} deduction(s) opened as of {as_of}")
            return
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        report = services.import_disputes(actor=actor, path=path, dry_run=options["dry_run"])
        if not report.ok:
            for p in report.problems:
                self.stderr.write(f"{path.name}: {p}")
            raise CommandError(f"{len(report.problems)} problem(s) in {path.name}: nothing imported")
        verb = "would import" if options["dry_run"] else "imported"
        self.stdout.write(
            f"{path.name}: {report.rows} row(s); {verb} {len(report.created)} dispute(s); "
            f"{len(report.skipped)} already imported"
        )
