"""Timing harness: the activity measures, the goals pages and the coaching pages on a big demo book.

    DATABASE_URL=sqlite:////tmp/perf10k.sqlite3 DEBUG=1 .venv/bin/ardesk migrate
    DATABASE_URL=sqlite:////tmp/perf10k.sqlite3 DEBUG=1 .venv/bin/ardesk demo --customers 10000 --years 2 --seed 7
    .venv/bin/python bench/pages.py --url sqlite:////tmp/perf10k.sqlite3 [--repeat 7] [--root DIR]

Times, on an existing demo book (built as above; the as-of date is the book's last activity day):

- ``collector_measures``: `ardesk.activities.measures.collector_measures` for every collector over the
  30 days ending on the as-of date (a direct call);
- ``raw SQL reference``: hand-written SQL through the bare DB-API cursor computing the same per-collector
  counts (calls, right-party calls, emails sent, contacts, disputes logged, PTPs taken / kept / partial /
  broken, follow-ups overdue) and the receipts credited after a contact, in the same run; its figures are
  asserted equal to collector_measures' (converted to the base currency the same way);
- pages through Django's test client (middleware, view, template; everything but the network), each
  as the user that opens it: ``goals board`` (`/goals/` as ada, every collector; and as mona, her team),
  ``goals dashboard`` (`/goals/collectors/<alice>/` as alice), ``coaching overview`` (`/coaching/` as ada
  and as mona), ``coaching collector`` (`/coaching/collectors/<alice>/` as mona).

One warm-up run, then --repeat runs; best and median wall time and this process's CPU time (on SQLite the
whole server time). `--root` imports ardesk from another checkout (e.g. a copy with the code before a
change) so before/after run against the same book. A timing, not a test: nothing asserts a duration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 30
AFTER_DAYS = 14


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[float], Any]:
    result = fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu, result


def raw_reference(ids: list[int], start: dt.date, end: dt.date, days: int) -> dict[int, dict[str, Any]]:
    """The per-collector counts and after-contact receipts by hand-written SQL on the bare cursor."""
    from django.db import connection

    pg = connection.vendor == "postgresql"
    ph = "%s" if pg else "?"

    def d(x: dt.date) -> Any:
        return x if pg else x.isoformat()

    kinds = ("call", "email_sent", "letter", "sms", "meeting", "visit")
    kin = ", ".join(f"'{k}'" for k in kinds)
    idl = ", ".join(str(int(i)) for i in ids)
    out: dict[int, dict[str, Any]] = {i: defaultdict(int) for i in ids}
    raw = connection.connection  # the DB-API connection, no Django cursor wrapper
    cur = raw.cursor()
    cur.execute(
        f"""SELECT collector_id,
                   SUM(CASE WHEN kind = 'call' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN kind = 'call' AND outcome = 'right_party' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN kind = 'email_sent' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN kind IN ({kin}) THEN 1 ELSE 0 END),
                   SUM(CASE WHEN kind = 'dispute' THEN 1 ELSE 0 END)
            FROM activities_activity
            WHERE collector_id IN ({idl}) AND occurred_on BETWEEN {ph} AND {ph}
            GROUP BY collector_id""",
        (d(start), d(end)),
    )
    for cid, *vals in cur.fetchall():
        for k, v in zip(
            ("calls", "right_party_calls", "emails_sent", "contacts", "disputes_logged"), vals, strict=True
        ):
            out[cid][k] = int(v)
    cur.execute(
        f"""SELECT collector_id,
                   SUM(CASE WHEN taken_on BETWEEN {ph} AND {ph} THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'kept' AND resolved_on BETWEEN {ph} AND {ph} THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'partial' AND resolved_on BETWEEN {ph} AND {ph} THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'broken' AND resolved_on BETWEEN {ph} AND {ph} THEN 1 ELSE 0 END)
            FROM activities_promisetopay WHERE collector_id IN ({idl})
            GROUP BY collector_id""",
        tuple(d(x) for x in (start, end) * 4),
    )
    for cid, *vals in cur.fetchall():
        for k, v in zip(("ptps_taken", "ptps_kept", "ptps_partial", "ptps_broken"), vals, strict=True):
            out[cid][k] = int(v or 0)
    tz_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=_org_tz())
    done_after = tz_end if pg else tz_end.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    cur.execute(
        f"""SELECT collector_id, COUNT(*) FROM activities_activity
            WHERE collector_id IN ({idl}) AND follow_up_on < {ph}
              AND (follow_up_done_at IS NULL OR follow_up_done_at >= {ph})
            GROUP BY collector_id""",
        (d(end), done_after),
    )
    for cid, n in cur.fetchall():
        out[cid]["follow_ups_overdue"] = int(n)
    # receipts credited after a contact: the latest contact on or before the receipt (any collector),
    # at most `days` days before it; ties on a day go to the highest collector id
    floor = f"p.payment_date - {int(days)}" if pg else f"date(p.payment_date, '-{int(days)} days')"
    cur.execute(
        f"""WITH credited AS (
                SELECT p.currency, p.amount_minor, (
                    SELECT a.collector_id FROM activities_activity a
                    WHERE a.customer_id = p.customer_id AND a.kind IN ({kin}) AND a.collector_id IS NOT NULL
                      AND a.occurred_on BETWEEN {floor} AND p.payment_date
                    ORDER BY a.occurred_on DESC, a.collector_id DESC LIMIT 1) AS collector_id
                FROM ledger_payment p
                WHERE p.payment_date BETWEEN {ph} AND {ph}
                  AND (p.reversed_on IS NULL OR p.reversed_on > {ph}))
            SELECT collector_id, currency, amount_minor, COUNT(*) FROM credited
            WHERE collector_id IN ({idl}) GROUP BY collector_id, currency, amount_minor""",
        (d(start), d(end), d(end)),
    )
    for cid, currency, minor, n in cur.fetchall():
        out[cid]["after_contact"] = out[cid]["after_contact"] or []
        out[cid]["after_contact"].append((currency, int(minor), int(n)))
    cur.close()
    return out


def _org_tz() -> Any:
    import zoneinfo

    from ardesk.ledger.selectors import organization

    return zoneinfo.ZoneInfo(organization().time_zone)


def check_reference(measures: dict[int, Any], ref: dict[int, dict[str, Any]], end: dt.date) -> None:
    from ardesk.core.money import Money
    from ardesk.ledger.selectors import fx_rate, organization

    base = organization().base_currency
    for cid, m in measures.items():
        r = ref[cid]
        for k in (
            "calls",
            "right_party_calls",
            "emails_sent",
            "contacts",
            "disputes_logged",
            "ptps_taken",
            "ptps_kept",
            "ptps_partial",
            "ptps_broken",
            "follow_ups_overdue",
        ):
            assert getattr(m, k) == r[k], (cid, k, getattr(m, k), r[k])
        after = 0
        for currency, minor, n in r["after_contact"] or []:
            conv = (
                minor
                if currency == base
                else Money(minor, currency).convert(fx_rate(currency, base, end), base).minor
            )
            after += conv * n
        assert m.collected_after_contact_minor == after, (cid, m.collected_after_contact_minor, after)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="sqlite:////tmp/perf10k.sqlite3")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--root", default=str(ROOT), help="the ardesk checkout to import")
    ap.add_argument("--label", default="")
    ap.add_argument("--only", default="", help="comma-separated names to time (default: all)")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ardesk.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-pages-" + os.urandom(16).hex())
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    import time_machine
    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.test import Client

    import ardesk
    from ardesk.activities.measures import collector_measures
    from ardesk.activities.models import Activity
    from ardesk.goals.selectors import collectors

    as_of = Activity.objects.aggregate(m=Max("occurred_on"))["m"]
    start = as_of - dt.timedelta(days=WINDOW - 1)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["ada", "mona", "alice"])}
    ids = sorted(collectors().values_list("pk", flat=True))
    wanted = {s for s in args.only.split(",") if s}
    rows: list[tuple[str, list[float], list[float]]] = []

    def want(name: str) -> bool:
        return not wanted or any(w in name for w in wanted)

    def direct(name: str, fn: Callable[[], Any]) -> Any:
        if not want(name):
            return None
        wall, cpu, result = _timed(fn, args.repeat)
        rows.append((name, wall, cpu))
        return result

    def page(name: str, who: str, path: str) -> None:
        if not want(name):
            return
        client = Client(HTTP_HOST="localhost")
        client.force_login(users[who])

        def get() -> Any:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        direct(name, get)

    alice = users["alice"].pk
    with time_machine.travel(dt.datetime.combine(as_of, dt.time(12), tzinfo=_org_tz()), tick=True):
        got = direct(
            f"collector_measures ({len(ids)} collectors, {WINDOW} d)",
            lambda: collector_measures(collector_ids=ids, start=start, end=as_of),
        )
        ref = direct("raw SQL reference (same counts)", lambda: raw_reference(ids, start, as_of, AFTER_DAYS))
        if got is not None and ref is not None:
            check_reference(got, ref, as_of)
        direct(
            "collector_measures (1 collector, 30 d)",
            lambda: collector_measures(collector_ids=[alice], start=start, end=as_of),
        )
        # what the pages cannot go below: the KPI engine's figures they show (ardesk.metrics, not changed here)
        from ardesk.goals import selectors as gs
        from ardesk.goals.measures import FactCache, kpi_facts
        from ardesk.metrics.selectors import SYSTEM, aging

        direct("floor: metrics kpis by collector (all)", lambda: kpi_facts(ids, as_of))
        direct(
            "floor: metrics aging by customer (all)",
            lambda: aging(SYSTEM, as_of, "customer", filters={"collector": ids}, currency_mode="currency"),
        )

        def board_shared() -> Any:
            cache = FactCache()
            try:
                return gs.team_board(users["ada"], as_of, "collector", cache), gs.group_goals(
                    users["ada"], as_of, cache
                )
            except TypeError:  # a checkout without the cache parameter
                return gs.team_board(users["ada"], as_of), gs.group_goals(users["ada"], as_of)

        direct("goals board selectors, one cache (ada)", board_shared)
        page("goals board (ada, all)", "ada", "/goals/")
        page("goals board (mona, team)", "mona", "/goals/")
        page("goals dashboard (alice)", "alice", f"/goals/collectors/{alice}/")
        page("coaching overview (ada, all)", "ada", "/coaching/")
        page("coaching overview (mona, team)", "mona", "/coaching/")
        page("coaching collector (alice, as mona)", "mona", f"/coaching/collectors/{alice}/")

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    from django.db import connection

    print(
        f"{args.label} ardesk from {Path(ardesk.__file__).parent.parent}; {connection.vendor}; as of {as_of}; "
        f"{len(ids)} collectors (load average {load})"
    )
    for name, wall, cpu in rows:
        ms = sorted(t * 1000 for t in wall)
        c = statistics.median(t * 1000 for t in cpu)
        print(
            f"  {name:<44} best {ms[0]:8.1f} ms  median {statistics.median(ms):8.1f} ms  cpu {c:8.1f} ms (n={len(ms)})"
        )


if __name__ == "__main__":
    main()
