"""The change feed's one shared rule: how long ids read from a ledger table may still gain a late commit.

The snapshots (`metrics.snapshots`) and the columnar copy (`metrics.columnar`) both follow the ledger by
id. SQLite serializes writers, so ids appear in commit order and a range read is final at once.
PostgreSQL takes ids before commit: a slower transaction can commit a lower id after a reader has read
past it, so a range stays unsettled for `ARDESK_SNAPSHOT_SETTLE_SECONDS` (default one hour) after it was
read, and each reader checks it again until then.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

DEFAULT_SETTLE_SECONDS = 3600


def settle_seconds() -> int:
    """Seconds a range of ids read may still gain a late commit on this database (0 on SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    return int(getattr(settings, "ARDESK_SNAPSHOT_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))
