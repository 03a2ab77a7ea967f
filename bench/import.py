"""Benchmark: importing invoices (tier M: 100k customers, 1M invoices) against the raw database path.

    .venv/bin/python bench/import.py                 # 1M invoices, SQLite and PostgreSQL
    .venv/bin/python bench/import.py --rows 100000   # a quick run
    .venv/bin/python bench/import.py --engines sqlite

One run generates a deterministic CSV under bench/data/ (git-ignored), then for each database times, on a
fresh database each, with the same customers loaded first:

- ardesk: `ardesk.imports.services.run_import` on the file: read, parse, check every row (customers,
  duplicate numbers, dates, amounts), look up existing invoices, bulk insert, audit row, commit;
- raw: the same rows, already parsed into the exact tuples ardesk writes, inserted by the database's own
  bulk path (SQLite: one executemany of a prepared INSERT; PostgreSQL: COPY), and committed.

The ratio is ardesk's rows/s over raw rows/s. Both SQLite runs use the page cache the importer sets for
its connection (256 MB). Each timing runs in its own process. Results go to bench/RESULTS.md ("Import").
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/bench_import"


# --- data ----------------------------------------------------------------------------------------------


def generate(rows: int, customers: int) -> tuple[Path, Path]:
    """Deterministic files: customer i, invoice j of customer j % customers, dates over two years."""
    DATA.mkdir(parents=True, exist_ok=True)
    cust_path = DATA / f"customers_{customers}.csv"
    inv_path = DATA / f"invoices_{rows}_{customers}.csv"
    if not cust_path.exists():
        with cust_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["account_number", "name", "territory", "region", "payment_terms", "credit_limit"])
            for i in range(customers):
                w.writerow(
                    [
                        f"C{i:07d}",
                        f"Customer {i} Ltd",
                        ("East", "West", "North", "South")[i % 4],
                        ("NA", "EU")[i % 2],
                        "NET30",
                        f"{(i % 50 + 1) * 1000}.00",
                    ]
                )
    if not inv_path.exists():
        start = dt.date(2024, 1, 1)
        tmp = inv_path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["number", "customer", "invoice_date", "due_date", "amount", "currency", "po_number"])
            for j in range(rows):
                d = start + dt.timedelta(days=j * 730 // rows)
                cents = 10_000 + (j * 7919) % 5_000_000
                w.writerow(
                    [
                        f"INV{j:08d}",
                        f"C{j % customers:07d}",
                        d.isoformat(),
                        (d + dt.timedelta(days=30)).isoformat(),
                        f"{cents // 100}.{cents % 100:02d}",
                        "USD",
                        f"PO-{j % 9973}" if j % 3 else "",
                    ]
                )
        tmp.rename(inv_path)
    return cust_path, inv_path


# --- one timing, in its own process ----------------------------------------------------------------------


def _fresh_database(engine: str, url: str) -> None:
    if engine == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def worker(engine: str, mode: str, url: str, cust_path: Path, inv_path: Path) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ardesk.settings")
    os.environ.setdefault("ARDESK_TESTING", "1")  # no production secret needed for a benchmark
    _fresh_database(engine, url)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from ardesk.imports.services import run_import
    from ardesk.ledger import services as ledger
    from ardesk.ledger.models import Customer, Invoice

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        ledger.create_entity(actor=None, code="US01", name="US entity", functional_currency="USD")
        ledger.create_terms(actor=None, code="NET30", name="Net 30", net_days=30)
    t = time.perf_counter()
    rep = run_import(actor=None, kind="customers", path=cust_path)
    customers_s = time.perf_counter() - t
    assert rep.imported, [str(e) for e in rep.errors[:5]]
    with connection.cursor() as cur:
        cur.execute("select sqlite_version()" if engine == "sqlite" else "show server_version")
        db_version = cur.fetchone()[0]
    out: dict[str, Any] = {
        "engine": engine,
        "mode": mode,
        "db_version": db_version,
        "customers": Customer.objects.count(),
        "customers_s": customers_s,
    }

    if mode == "ardesk":
        t = time.perf_counter()
        rep = run_import(actor=None, kind="invoices", path=inv_path)
        out["seconds"] = time.perf_counter() - t
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert rep.imported, [str(e) for e in rep.errors[:5]]
        out["rows"] = rep.count("invoices", "created")
        # and the same file again: every row found unchanged, nothing written
        t = time.perf_counter()
        again = run_import(actor=None, kind="invoices", path=inv_path)
        out["reimport_s"] = time.perf_counter() - t
        assert again.count("invoices", "unchanged") == out["rows"], again.counts
    else:
        ids = dict(Customer.objects.values_list("account_number", "id"))
        terms_id = Customer.objects.values_list("payment_terms_id", flat=True).first()
        entity_id = Customer.objects.values_list("entity_id", flat=True).first()
        fields = [
            "entity_id",
            "customer_id",
            "number",
            "invoice_date",
            "due_date",
            "terms_id",
            "currency",
            "amount_minor",
            "tax_minor",
            "po_number",
            "erp_reference",
            "status",
            "open_minor",
            "closed_on",
            "created_at",
        ]
        now = timezone.now()
        rows = []
        with inv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for number, account, d, due, amount, currency, po in reader:
                whole, cents = amount.split(".")
                minor = int(whole) * 100 + int(cents)
                rows.append(
                    (
                        entity_id,
                        ids[account],
                        number,
                        dt.date.fromisoformat(d),
                        dt.date.fromisoformat(due),
                        terms_id,
                        currency,
                        minor,
                        0,
                        po,
                        "",
                        "open",
                        minor,
                        None,
                        now,
                    )
                )
        table = Invoice._meta.db_table
        cols = ", ".join(fields)
        t = time.perf_counter()
        with transaction.atomic():
            if engine == "sqlite":
                raw = connection.connection
                raw.execute("PRAGMA cache_size = -262144")
                raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(fields))})", rows)
            else:
                with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        out["seconds"] = time.perf_counter() - t
        out["rows"] = Invoice.objects.count()
    return out


# --- driver ----------------------------------------------------------------------------------------------


def _first_line(path: str, prefix: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return next((line for line in fh if line.startswith(prefix)), "")
    except OSError:
        return ""


def machine() -> dict[str, str]:
    import django

    mem = _first_line("/proc/meminfo", "MemTotal").split()
    cpu = _first_line("/proc/cpuinfo", "model name").partition(":")[2].strip()
    return {
        "nproc": str(os.cpu_count()),
        "ram": f"{int(mem[1]) / 1024 / 1024:.0f} GB" if len(mem) > 1 else "?",
        "cpu": cpu or "?",
        "python": platform.python_version(),
        "django": django.get_version(),
        "date": dt.date.today().isoformat(),
    }


def run_one(engine: str, mode: str, url: str, cust: Path, inv: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, mode, url, str(cust), str(inv)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{engine}/{mode} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: list[dict[str, Any]], info: dict[str, str]) -> str:
    lines = [
        "| database | invoices | ardesk import | ardesk rows/s | raw path | raw rows/s | ratio "
        "| re-import (no change) | ardesk peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by = {(r["engine"], r["mode"]): r for r in results}
    for engine in dict.fromkeys(r["engine"] for r in results):
        a, raw = by[(engine, "ardesk")], by[(engine, "raw")]
        a_rate, raw_rate = a["rows"] / a["seconds"], raw["rows"] / raw["seconds"]
        name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[engine] + f" {a['db_version']}"
        lines.append(
            f"| {name} | {a['rows']:,} | {a['seconds']:.1f} s | {a_rate:,.0f} | {raw['seconds']:.1f} s "
            f"| {raw_rate:,.0f} | {a_rate / raw_rate:.2f}x | {a['reimport_s']:.1f} s | {a['peak_mb']:,.0f} MB |"
        )
    cust = ", ".join(
        f"{ {'sqlite': 'SQLite', 'postgres': 'PostgreSQL'}[r['engine']] } {r['customers']:,} in {r['customers_s']:.1f} s"
        for r in results
        if r["mode"] == "ardesk"
    )
    lines += [
        "",
        f"Customers imported first through ardesk (not in the ratio): {cust}.",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
        f"Django {info['django']}; run {info['date']}.",
    ]
    return "\n".join(lines)


SECTION_INTRO = """## Import

Tier M invoice file (`bench/import.py`): ardesk's whole import (read the CSV, parse dates and amounts
exactly, check every row and its customer, look up existing numbers, bulk insert, audit row, commit)
against the database's raw bulk path fed the same rows already parsed (SQLite: `executemany` of one
prepared INSERT; PostgreSQL: `COPY`), each on a fresh database with the same 100k customers.
The ratio is ardesk rows/s over raw rows/s. "Re-import" imports the same file again (every row found
unchanged, nothing written). Both SQLite runs use the 256 MB page cache the importer sets on its
connection for the import (SQLite's default 2 MB thrashes on a million-row insert into an indexed table).
Peak RSS is the ardesk worker process's, measured after the first import.
"""


def write_results(text: str) -> None:
    body = SECTION_INTRO + "\n" + text + "\n"
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = old.find("## Import")
    if start >= 0:
        end = old.find("\n## ", start + 1)
        new = old[:start] + body + (old[end + 1 :] if end >= 0 else "")
    else:
        new = old.rstrip() + "\n\n" + body
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        engine, mode, url, cust_arg, inv_arg = sys.argv[2:7]
        print(json.dumps(worker(engine, mode, url, Path(cust_arg), Path(inv_arg))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=None, help="default: rows / 10")
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = ap.parse_args()
    customers = args.customers or max(args.rows // 10, 1)
    t = time.perf_counter()
    cust, inv = generate(args.rows, customers)
    print(
        f"data: {inv.name} ({inv.stat().st_size / 1e6:.0f} MB), {cust.name} [{time.perf_counter() - t:.1f} s]"
    )
    results = []
    for engine in args.engines.split(","):
        url = f"sqlite:///{DATA / 'bench_import.sqlite3'}" if engine == "sqlite" else args.pg_url
        for mode in ("raw", "ardesk"):
            r = run_one(engine, mode, url, cust, inv)
            print(
                f"{engine:8} {mode:6} {r['rows']:>9,} rows {r['seconds']:7.2f} s {r['rows'] / r['seconds']:>10,.0f} rows/s"
            )
            results.append(r)
    text = table(results, machine())
    print()
    print(text)
    if not args.no_results:
        write_results(text)
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
