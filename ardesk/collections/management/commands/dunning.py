"""`ardesk dunning run --as-of DATE` | `ardesk dunning send [--once] [--worker NAME]` |
`ardesk dunning bounce EMAIL [--detail TEXT]`

`run` evaluates every customer with a strategy step due on the date and writes the outbox rows (running it
again writes nothing new). `send` is a worker: it claims due email rows with conditional updates and sends
them through Django's email backend; any number of workers may run at once, on any machines (see
ardesk.collections.services for the delivery guarantee). `bounce` records a bounced address (no more mail).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import time
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ardesk.collections import services
from ardesk.core.errors import ArdeskError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Dunning: the daily run, the outbox worker, bounces."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        run = sub.add_parser("run", help="decide today's dunning into the outbox")
        run.add_argument("--as-of", type=_date, default=None, help="business date (default today)")
        send = sub.add_parser("send", help="deliver due outbox emails")
        send.add_argument("--worker", default=f"{socket.gethostname()}:{os.getpid()}")
        send.add_argument("--once", action="store_true", help="one pass until nothing is due, then exit")
        send.add_argument("--batch", type=int, default=50)
        send.add_argument("--lease-seconds", type=int, default=int(services.DEFAULT_LEASE.total_seconds()))
        send.add_argument("--sleep", type=float, default=5.0, help="seconds between polls when idle")
        bounce = sub.add_parser("bounce", help="record a bounced address")
        bounce.add_argument("email")
        bounce.add_argument("--detail", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["what"] == "run":
                self._run(opts)
            elif opts["what"] == "bounce":
                row = services.record_bounce(actor=None, email=opts["email"], detail=opts["detail"])
                self.stdout.write(f"{row.email}: suppressed ({row.get_reason_display().lower()})")
            else:
                self._send(opts)
        except ArdeskError as exc:
            raise CommandError(exc.message) from None

    def _run(self, opts: dict[str, Any]) -> None:
        """The day's decisions, with a progress bar over the candidate customers on a terminal."""
        out = cast(IO[str], getattr(self.stdout, "_out", self.stdout))
        console = Console(file=out, highlight=False)
        as_of = opts["as_of"] or timezone.localdate()
        show = opts["verbosity"] >= 1 and console.is_terminal
        columns = (
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, disable=not show) as bar:
            task = bar.add_task("customers", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = services.run_dunning(actor=None, as_of=as_of, progress=advance)
        self.stdout.write(summary.line())

    def _send(self, opts: dict[str, Any]) -> None:
        lease = dt.timedelta(seconds=opts["lease_seconds"])
        while True:
            summary = services.send_pending(worker=opts["worker"], lease=lease, limit=opts["batch"])
            if summary.claimed:
                self.stdout.write(summary.line())
                continue
            if opts["once"]:
                return
            time.sleep(opts["sleep"])
