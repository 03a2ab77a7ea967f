"""The columnar copy of the ledger (metrics.columnar): the KPI statements run by DuckDB over a copy kept up
to date from the change feed give exactly the figures the database gives.

- pure: the placeholder translation, the watermark's settling (no database);
- services on the hand-built book of conftest.py and the seeded demo book: a full build equals the
  database row for row; `kpis_and_aging`, `kpis`, `aging` and `portfolio` on the copy equal the same calls
  on the database (and the worked figures of test_kpis.py); after the April postings (applications, a
  reversal, a write-off, a cancellation, a bounced check) an incremental sync reads exactly the records
  that moved and the copy equals the database again; a reset of the ledger, another database or deleted
  rows need a full build, and until then the database answers; inside a transaction, below the size
  threshold or with no copy the database answers;
- `ardesk columnar sync|status|verify` (a tampered copy is reported).
Runs on SQLite and PostgreSQL alike (transactional: the copy reads committed rows only).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction

from ardesk.ledger import demo
from ardesk.ledger.models import Application, CreditMemo, Invoice, Payment, WriteOff
from ardesk.metrics import columnar
from ardesk.metrics import queries as q
from ardesk.metrics import selectors as ms

from .test_seeded_book import AS_OF as SEEDED_AS_OF
from .test_seeded_book import PINNED_BY_COLLECTOR, PINNED_TOTALS, TOTAL_FIELDS

D = dt.date
MARCH = D(2026, 3, 31)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def copy_path(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "columnar.duckdb"
    settings.ARDESK_COLUMNAR_PATH = str(path)
    settings.ARDESK_COLUMNAR_MIN_CUSTOMERS = 1
    settings.ARDESK_SNAPSHOT_SETTLE_SECONDS = 0
    return path


# --- pure -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_statements_in_duckdbs_terms() -> None:
    import duckdb

    db = columnar.DuckDb(duckdb.connect())
    # Django's placeholders and escaped percent signs; sums come back as BIGINT (not 128-bit) integers
    rows = db.run(
        "SELECT strftime(DATE '2026-01-02', '%%Y-%%m'), SUM(x), COUNT(*), %s FROM range(5) t(x) WHERE x >= %s",
        ["tag", 2],
    )
    assert rows == [("2026-01", 9, 3, "tag")]
    assert [str(t) for t in db.con.sql("SELECT SUM(x) FROM range(5) t(x)").types] == ["HUGEINT"]
    # a sum beyond a BIGINT raises, it never wraps
    with pytest.raises(duckdb.ConversionException):
        db.run("SELECT SUM(x) FROM (VALUES (9223372036854775807), (1)) t(x)", [])


@pytest.mark.django_db(transaction=False)
def test_watermark_settles_after_the_settle_time() -> None:
    t0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    # SQLite (settle 0): everything read is final at once
    assert columnar._Range().advance(40, t0, 0) == columnar._Range(settled=40, frontier=40)
    # PostgreSQL: what was read stays unsettled (read again) until the settle time has passed
    r1 = columnar._Range().advance(40, t0, 3600)
    assert (r1.settled, r1.frontier, r1.marks) == (0, 40, [(t0.isoformat(), 40)])
    r2 = r1.advance(55, t0 + dt.timedelta(minutes=30), 3600)
    assert (r2.settled, r2.frontier, len(r2.marks)) == (0, 55, 2)
    r3 = r2.advance(60, t0 + dt.timedelta(minutes=61), 3600)
    assert (r3.settled, r3.frontier) == (40, 60)
    assert [m for _, m in r3.marks] == [55, 60]
    assert columnar._Range.load(__import__("json").loads(r3.dump())) == r3


@pytest.mark.django_db(transaction=False)
def test_aging_row_is_the_dataclass() -> None:
    """`_aging_row_list` fills the frozen dataclass at once (speed); it must equal the constructor."""
    import dataclasses

    line = ([100, 50, 0], 2, 150, 30, 10)
    (fast,) = ms._aging_row_list(
        [(("7", "USD"), line)],
        {"7": "C-7 Seven"},
        by="customer",
        as_of=MARCH,
        basis="due",
        labels=("Current", "1-30", "30+"),
        currency_mode="currency",
    )
    slow = ms.AgingRow(
        key="7",
        label="C-7 Seven",
        currency="USD",
        currency_mode="currency",
        as_of=MARCH,
        basis="due",
        bucket_labels=("Current", "1-30", "30+"),
        buckets=(100, 50, 0),
        open_invoices=2,
        open_ar=150,
        unapplied_cash=30,
        open_credits=10,
        net_ar=110,
    )
    assert fast == slow and hash(fast) == hash(slow)
    assert set(vars(fast)) == {f.name for f in dataclasses.fields(ms.AgingRow)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.open_ar = 1  # type: ignore[misc]


@pytest.mark.django_db(transaction=False)
def test_fold_sets() -> None:
    sets = [q.OpenSet(key="k", months=False), q.OpenSet(key="k2", months=True)]
    rows = [
        # tag, key, currency, month, open AR, current, over 90, count, age x open, buckets (width 3)
        (0, "1", "USD", "", 300, 100, 0, 2, 0, 100, 200, 0),
        (0, None, "EUR", "", 5, 5, 0, 1, 0, 5, 0, 0),
        (1, "9", "USD", "2026-01", 200, 0, 0, 1, 18000, 0, 200, 0),
        (1, "9", "USD", "2026-03", 100, 100, None, 1, 1500, 100, 0, 0),
    ]
    aging, kpis = q._fold_sets(rows, sets, [3, 3])
    assert aging == {
        ("1", "USD"): q.OpenAgg(300, 100, 0, 2, [100, 200, 0]),
        (None, "EUR"): q.OpenAgg(5, 5, 0, 1, [5, 0, 0]),
    }
    assert kpis == {
        ("9", "USD"): q.OpenAgg(300, 100, 0, 2, [100, 200, 0], {"2026-01": 18000, "2026-03": 1500}),
    }


# --- services -------------------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    models = (Application, WriteOff, Invoice, Payment, CreditMemo)
    return {s.name: m.objects.count() for s, m in zip(columnar.SOURCES, models, strict=True)}


def _all_equal() -> bool:
    return all(equal for equal, _db, _copy in columnar.verify().values())


def test_full_build_equals_the_database(kbook: Any, copy_path: Path) -> None:
    result = columnar.sync()
    assert (result.full, result.reason) == (True, "no copy yet")
    assert result.rows == _counts()
    assert result.rows["invoice"] == 9 and result.rows["application"] == 3  # conftest.py's book
    assert _all_equal()
    again = columnar.sync()  # nothing new: nothing written
    assert (again.full, again.written) == (False, 0)


CASES = [(None, "customer"), ("collector", "customer"), ("territory", "collector"), ("currency", None)]


@pytest.mark.parametrize(("by", "aging_by"), CASES)
def test_figures_equal_on_the_copy(
    kbook: Any, copy_path: Path, duck_runs: list[str], by: Any, aging_by: Any
) -> None:
    columnar.sync()
    for as_of in (D(2025, 12, 31), MARCH, D(2026, 4, 30)):
        on_copy = ms.kpis_and_aging(ms.SYSTEM, as_of, by, aging_by=aging_by, columnar_engine=True)
        assert on_copy == ms.kpis_and_aging(ms.SYSTEM, as_of, by, aging_by=aging_by, columnar_engine=False)
    assert len(duck_runs) == 3 * 7  # open items, unapplied (2), beginning, sales, write-offs, paid
    # the worked figures of test_kpis.py, from the copy: Acme's aging as of 31 March
    _rows, aging = ms.kpis_and_aging(ms.SYSTEM, MARCH, None, aging_by="customer", columnar_engine=True)
    acme = next(r for r in aging if r.label.startswith("C-100"))
    assert (acme.open_ar, acme.unapplied_cash, acme.open_invoices) == (450000, 20000, 2)


def test_every_entry_point_and_scope(kbook: Any, copy_path: Path, duck_runs: list[str]) -> None:
    columnar.sync()
    options: dict[str, Any] = {"window_days": 30, "bounds": [0, 15, 45], "baseline": D(2026, 1, 31)}
    for use in (True, None):  # None: the threshold (1 customer here) decides
        assert ms.kpis(ms.SYSTEM, MARCH, "collector", columnar_engine=use, **options) == ms.kpis(
            ms.SYSTEM, MARCH, "collector", columnar_engine=False, **options
        )
    assert ms.aging(ms.SYSTEM, MARCH, "parent", basis="invoice", columnar_engine=True) == ms.aging(
        ms.SYSTEM, MARCH, "parent", basis="invoice", columnar_engine=False
    )
    assert ms.portfolio(ms.SYSTEM, MARCH, "territory", columnar_engine=True) == ms.portfolio(
        ms.SYSTEM, MARCH, "territory", columnar_engine=False
    )
    jp = ms.kpis(ms.SYSTEM, MARCH, "customer", entity="JP01", columnar_engine=True)
    assert jp == ms.kpis(ms.SYSTEM, MARCH, "customer", entity="JP01", columnar_engine=False)
    assert [(r.currency, r.open_ar) for r in jp] == [("JPY", 150000)]  # K1 100,000 + K2 50,000 open
    # scoped: alice's own customers only, on the copy too
    mine = ms.kpis_and_aging(kbook.alice, MARCH, None, aging_by="customer", columnar_engine=True)
    assert mine == ms.kpis_and_aging(kbook.alice, MARCH, None, aging_by="customer", columnar_engine=False)
    assert [r.label for r in mine[1]] == ["C-100 Acme Corp"]
    assert [r.open_ar for r in mine[0]] == [450000]
    assert duck_runs


def test_incremental_sync_reads_what_moved(kbook: Any, copy_path: Path) -> None:
    columnar.sync()
    before = {as_of: ms.kpis(ms.SYSTEM, as_of, "collector", columnar_engine=False) for as_of in (MARCH,)}
    kbook.post_april()
    result = columnar.sync()
    assert not result.full
    # 7 applications (A2 twice, A3, K2, CM-B3 on B1, the reversal of B2's, the bounced P-A1's reversal);
    # 1 write-off (B1); invoices: A1 A2 A3 B1 B2 K2 (applications), D2 (cancelled), D1 (new);
    # receipts: P-A3 P-A4 P-A5 P-B2 P-K2 P-A1; credit memos: CM-B3
    assert result.rows == {"application": 7, "write_off": 1, "invoice": 8, "payment": 6, "credit_memo": 1}
    assert _all_equal()
    for as_of in (MARCH, D(2026, 4, 30), D(2026, 6, 30)):
        assert ms.kpis_and_aging(ms.SYSTEM, as_of, "collector", columnar_engine=True) == ms.kpis_and_aging(
            ms.SYSTEM, as_of, "collector", columnar_engine=False
        )
    # the as-of identity on the copy: 31 March is unchanged by April's postings
    assert ms.kpis(ms.SYSTEM, MARCH, "collector", columnar_engine=True) == before[MARCH]


def test_a_computation_brings_the_copy_up_to_date_itself(
    kbook: Any, copy_path: Path, duck_runs: list[str]
) -> None:
    columnar.sync()
    kbook.post_april()
    rows = ms.kpis(ms.SYSTEM, D(2026, 4, 30), None, columnar_engine=True)
    assert duck_runs
    assert rows == ms.kpis(ms.SYSTEM, D(2026, 4, 30), None, columnar_engine=False)
    assert columnar.sync().written == 0  # the computation synced already
    assert _all_equal()


def test_a_bulk_load_is_read_by_id(kbook: Any, copy_path: Path) -> None:
    """The importer and the demo write new rows in bulk with one batch audit row (no record id): the rows
    are read above the watermark, the batch row names nothing to read again."""
    from ardesk.ledger import bulk

    columnar.sync()
    with transaction.atomic():
        ids = bulk.reserve_ids(Invoice, 2)
        model = Invoice.objects.values().get(pk=kbook.inv["A3"].pk)
        for n, pk in enumerate(ids):
            Invoice.objects.create(**{**model, "id": pk, "number": f"BULK-{n}"})
        bulk.record_batch(actor=None, action="import.invoices", object_type="ledger.Invoice", count=2)
    result = columnar.sync()
    assert (result.full, result.rows["invoice"], result.audit_rows) == (False, 2, 1)
    assert _all_equal()


def test_late_commits_on_postgresql(kbook: Any, copy_path: Path, settings: Any) -> None:
    """PostgreSQL takes ids before commit: a row can appear below ids already read. Within the settle
    time the unsettled range is counted at each sync and read again only when its count changed."""
    from django.db import connection

    from ardesk.ledger import bulk

    if connection.vendor != "postgresql":
        pytest.skip("SQLite writers are serialized: ids appear in commit order")
    settings.ARDESK_SNAPSHOT_SETTLE_SECONDS = 3600
    columnar.sync()
    assert columnar.sync().written == 0  # nothing new: counted, not read again
    late = bulk.reserve_ids(Invoice, 1)[0]  # taken now, committed after a later row
    kbook.post_april()  # D1 gets an id above `late`
    first = columnar.sync()
    assert (first.full, first.rows["invoice"]) == (False, 8)
    model = Invoice.objects.values().get(pk=kbook.inv["A3"].pk)
    Invoice.objects.create(**{**model, "id": late, "number": "LATE-1"})  # the late commit
    second = columnar.sync()
    # the unsettled range changed its count: read again (every invoice of this young book), the late one in
    assert second.rows["invoice"] == Invoice.objects.count()
    assert _all_equal()
    assert columnar.sync().written == 0


def test_when_the_database_answers(kbook: Any, copy_path: Path, settings: Any) -> None:
    sliced = q.customer_dimension(None, None)
    with columnar.session([sliced]) as engine:
        assert (engine.columnar, engine.why) == (False, "no copy built yet (ardesk columnar sync)")
    columnar.sync()
    with transaction.atomic(), columnar.session([sliced]) as engine:
        assert (engine.columnar, engine.why) == (
            False,
            "inside a transaction (the copy holds committed rows only)",
        )
    settings.ARDESK_COLUMNAR_MIN_CUSTOMERS = 50_000
    with columnar.session([sliced]) as engine:
        assert (engine.columnar, engine.why) == (False, "5 customers in scope, under 50,000")
    with columnar.session([sliced], use=True) as engine:
        assert engine.columnar and engine.slices[0].sql == "SELECT id, k FROM ardesk_slice_0"
    with columnar.session([sliced], use=False) as engine:
        assert (engine.columnar, engine.why) == (False, "not asked for")
    settings.ARDESK_COLUMNAR_PATH = ""
    with columnar.session([sliced], use=True) as engine:
        assert (engine.columnar, engine.why) == (False, "no copy configured (ARDESK_COLUMNAR_PATH)")


def test_a_reset_needs_a_full_build(kbook: Any, copy_path: Path) -> None:
    columnar.sync()
    demo.reset()
    with columnar.session([q.customer_dimension(None, None)], use=True) as engine:
        assert not engine.columnar
        assert engine.why.startswith("the copy needs a full build: demo.reset (audit #")
    result = columnar.sync()
    assert result.full and result.reason.startswith("demo.reset (audit #")
    assert result.rows == dict.fromkeys(result.rows, 0)
    assert _all_equal()


def test_another_database_needs_a_full_build(kbook: Any, copy_path: Path) -> None:
    columnar.sync()
    con = columnar._connect(copy_path)
    con.execute("UPDATE ardesk_columnar_meta SET value = 'elsewhere' WHERE key = 'identity'")
    con.close()
    result = columnar.sync()
    assert (result.full, result.reason) == (True, "the copy is of another database")
    # rows deleted under the copy (its watermark above the table's highest id)
    con = columnar._connect(copy_path)
    con.execute(
        'UPDATE ardesk_columnar_state SET state = \'{"settled": 99999, "frontier": 99999}\' '
        "WHERE source = 'invoice'"
    )
    con.close()
    result = columnar.sync()
    assert result.full and result.reason.startswith("ledger_invoice: rows deleted (highest id ")


def test_a_damaged_copy_leaves_the_database_to_answer(kbook: Any, copy_path: Path) -> None:
    columnar.sync()
    con = columnar._connect(copy_path)
    con.execute('DROP TABLE "ledger_writeoff"')
    con.close()
    sliced = q.customer_dimension(None, None)
    with columnar.session([sliced], use=True) as engine:
        assert not engine.columnar
        assert engine.why.startswith("the copy could not be brought up to date: Catalog Error")
    assert ms.kpis(ms.SYSTEM, MARCH, None, columnar_engine=True) == ms.kpis(ms.SYSTEM, MARCH, None)
    assert columnar.sync(full=True).full and _all_equal()  # the repair


def test_seeded_book_on_the_copy(copy_path: Path) -> None:
    demo.build(demo.DemoConfig(seed=7, customers=60, years=2, as_of=SEEDED_AS_OF))
    columnar.sync()
    rows = {r.currency: r for r in ms.kpis(ms.SYSTEM, SEEDED_AS_OF, columnar_engine=True)}
    assert {c: {f: getattr(r, f) for f in TOTAL_FIELDS} for c, r in rows.items()} == PINNED_TOTALS
    names = {str(u.pk): u.username for u in User.objects.all()}
    got = {
        (names.get(r.key), r.currency): (r.open_ar, r.past_due, r.over_90, r.sales_window)
        for r in ms.kpis(ms.SYSTEM, SEEDED_AS_OF, by="collector", columnar_engine=True)
    }
    assert got == PINNED_BY_COLLECTOR
    for as_of in (SEEDED_AS_OF, D(2025, 12, 31)):
        assert ms.kpis_and_aging(ms.SYSTEM, as_of, "tier", columnar_engine=True) == ms.kpis_and_aging(
            ms.SYSTEM, as_of, "tier", columnar_engine=False
        )


# --- the command ----------------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("columnar", *args, stdout=out)
    return out.getvalue()


def test_command_sync_status_verify(kbook: Any, copy_path: Path) -> None:
    out = run("sync")
    assert f"Columnar copy {copy_path}: built from scratch (no copy yet) in " in out
    assert "rows written: 3 applications, 1 write offs, 9 invoices, 4 payments, 1 credit memos." in out
    out = run("sync")
    assert "brought up to date" in out and "rows written: 0 applications" in out
    status = run("status")
    assert f"  {'invoice':<12} {9:>14,} rows" in status.splitlines()
    assert f"  {'application':<12} {3:>14,} rows" in status.splitlines()
    assert "used from 1 customers in scope" in status
    assert "The copy equals the database." in run("verify")
    con = columnar._connect(copy_path)
    con.execute(
        'UPDATE "ledger_invoice" SET open_minor = open_minor + 1 WHERE id = (SELECT MIN(id) FROM "ledger_invoice")'
    )
    con.close()
    with pytest.raises(CommandError, match="the copy differs from the database in: invoice"):
        run("verify")
    out = run("sync", "--full")
    assert "built from scratch (asked for (--full))" in out
    assert "The copy equals the database." in run("verify")


def test_command_without_a_copy(copy_path: Path, settings: Any) -> None:
    assert f"No columnar copy at {copy_path}: run `ardesk columnar sync`." in run("status")
    with pytest.raises(CommandError, match="no columnar copy to verify"):
        run("verify")
    settings.ARDESK_COLUMNAR_PATH = ""
    with pytest.raises(CommandError, match="no columnar copy configured: set ARDESK_COLUMNAR_PATH"):
        run("sync")
