"""`ardesk goals refresh [--as-of DATE]` and `ardesk goals digest [--as-of DATE]`

refresh: adds member goals for collectors who joined a group goal's scope and writes each active goal's
progress for the date (one row per goal and date: running it again updates the same rows).
digest: emails each collector with active goals their actual vs goal, once per collector and day (a second
run the same day sends nothing); the emails leave after the transaction commits.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ardesk.core.errors import ArdeskError
from ardesk.goals import services


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Goals: refresh the daily progress, or send the digest email."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh", "digest"])
        parser.add_argument(
            "--as-of", dest="as_of", type=_date, default=None, help="business date (default today)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of: dt.date = opts["as_of"] or timezone.localdate()
        try:
            if opts["action"] == "refresh":
                r = services.refresh_goals(actor=None, as_of=as_of)
                self.stdout.write(
                    f"goals refreshed for {as_of}: {r.goals} active goals, {r.rows_written} progress rows, "
                    f"{r.members_added} new members"
                )
            else:
                n = services.send_digests(actor=None, as_of=as_of)
                self.stdout.write(f"goal digests for {as_of}: {n} sent")
        except ArdeskError as exc:
            raise CommandError(exc.message) from exc
