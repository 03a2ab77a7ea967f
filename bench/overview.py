"""Timing harness: the AR overview (dashboard home) for a 5,000-customer portfolio, server time.

    .venv/bin/python bench/overview.py                       # SQLite (bench/data/overview.sqlite3)
    .venv/bin/python bench/overview.py --db postgres         # PostgreSQL database bench_overview
    .venv/bin/python bench/overview.py --only "home cold"    # only this timing (repeatable)

Builds once (marker file) the demo book of 5,000 customers, two years, seed 7, as of 2026-06-30 (on
PostgreSQL followed by `VACUUM ANALYZE`: the planner needs statistics after a bulk load), and refreshes the
KPI snapshots up to that date (`ardesk snapshot`). Then, as the admin (whole book, 5,000
customers), times through Django's test client (middleware, view, template, everything but the network):

- ``home cold``: `GET /?as_of=2026-06-30`, the dashboard cache off: the as-of figures computed for the
  request, the comparison figures (90 days earlier) read from the daily snapshots;
- ``home cold, no snapshots``: the same with every figure computed from the ledger;
- ``home cached``: the same with the dashboard cache on and warm;
- ``trends cold``: the htmx fragment with the 12-month DSO/CEI trend, cache off (month ends from the
  snapshots, the as-of point computed), and the same with no snapshots.

The snapshots are refreshed up to the day before the as-of date, as a nightly `ardesk snapshot` leaves
them: the as-of date itself is never served from a snapshot here.

Best and median of --repeat runs after one warm-up run (warm database pages, cold figures), wall time
and this process's CPU time ("cpu": on SQLite the whole server time, the database runs in the process;
on PostgreSQL without the server's share); the load average is printed, since other work on the machine
inflates the wall times. A timing, not a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

CUSTOMERS = 5_000
YEARS = 2
SEED = 7
AS_OF = "2026-06-30"
PG_BASE = os.environ.get("BENCH_PG_BASE", "postgres://postgres@127.0.0.1:5432/")


def db_url(db: str) -> str:
    return f"sqlite:///{DATA / 'overview.sqlite3'}" if db == "sqlite" else f"{PG_BASE}bench_overview"


def prepare(db: str, *, refresh: bool = True) -> None:
    """Build the book once (a marker file records it) and bring its snapshots up to date."""
    import datetime as dt

    from django.core.management import call_command

    from ardesk.ledger import demo
    from ardesk.metrics import snapshots

    marker = DATA / f"overview_{db}.json"
    call_command("migrate", verbosity=0)
    if not marker.exists():
        started = time.perf_counter()
        cfg = demo.DemoConfig(seed=SEED, customers=CUSTOMERS, years=YEARS, as_of=dt.date.fromisoformat(AS_OF))
        result = demo.build(cfg)
        marker.write_text(json.dumps({"seconds": time.perf_counter() - started, "counts": result.counts}))
        print(f"built in {time.perf_counter() - started:.1f} s: {result.counts}")
        if db == "postgres":
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE")
    if not refresh:
        return
    started = time.perf_counter()
    # as a nightly refresh leaves them: up to the day before, so the as-of figures are computed live
    snapshots.refresh(to=dt.date.fromisoformat(AS_OF) - dt.timedelta(days=1))
    print(f"snapshot refresh: {time.perf_counter() - started:.1f} s")


def timings(repeat: int, only: Sequence[str] = ()) -> dict[str, list[float]]:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client, override_settings

    user = get_user_model().objects.get(username="ada")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    out: dict[str, list[float]] = {}

    def run(name: str, path: str, *, cached: bool, snapshots: bool = True) -> None:
        if only and name not in only:
            return
        ttl = 300 if cached else 0
        with override_settings(ARDESK_DASHBOARD_CACHE_SECONDS=ttl, ARDESK_DASHBOARD_SNAPSHOTS=snapshots):
            cache.clear()
            client.get(path)  # warm-up (and, cached, fills the cache)
            times, cpu = [], []
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                response = client.get(path)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                assert response.status_code == 200, response.status_code
        out[name] = times
        out[f"{name} (cpu)"] = cpu

    run("home cold", f"/?as_of={AS_OF}", cached=False)
    run("home cold, no snapshots", f"/?as_of={AS_OF}", cached=False, snapshots=False)
    run("home cached", f"/?as_of={AS_OF}", cached=True)
    run("trends cold", f"/reports/trends/?as_of={AS_OF}", cached=False)
    run("trends cold, no snapshots", f"/reports/trends/?as_of={AS_OF}", cached=False, snapshots=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--label", default="", help="a note printed with the figures (e.g. before/after)")
    ap.add_argument("--no-refresh", action="store_true", help="leave the snapshots as they are")
    ap.add_argument("--only", action="append", default=[], help="only this timing (by name; repeatable)")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    url = db_url(args.db)
    if args.db == "postgres":
        name = url.rsplit("/", 1)[1]
        if not (DATA / "overview_postgres.json").exists():
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ardesk.settings")
    # production-like: DEBUG off (no query log), a throwaway key
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-overview-" + os.urandom(16).hex())
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    prepare(args.db, refresh=not args.no_refresh)
    figures = timings(args.repeat, args.only)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"AR overview, {CUSTOMERS:,} customers, {args.db} {args.label} (load average {load})")
    for name, times in figures.items():
        ms = sorted(t * 1000 for t in times)
        print(f"  {name:<32} best {ms[0]:7.1f} ms  median {statistics.median(ms):7.1f} ms  (n={len(ms)})")


if __name__ == "__main__":
    main()
