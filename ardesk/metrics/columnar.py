"""A columnar copy of the ledger for the largest scans (DESIGN.md: "Polars/DuckDB over Arrow for the largest
scans"): the KPI statements of `metrics.queries`, the same text, run by DuckDB over a copy of the columns
they read, instead of by SQLite or PostgreSQL over the row store.

**Why.** A whole-book KPI computation reads every open item, a window of sales and every application
after the as-of date. At a million customers (ten million invoices) SQLite or PostgreSQL take 40 to 140 s
for it; a column store with a vectorized engine does the same scans several times faster. Below
`ARDESK_COLUMNAR_MIN_CUSTOMERS` customers in scope the row store answers in well under a second and is
used as before.

**What is copied.** The dated ledger tables the statements read, only their columns that count: invoices
(amount, open amount, dates, customer, currency, cancellation), receipts, credit memos, applications and
write-offs. Not customers: the slice of every statement (who is in scope, keyed by what) is still compiled
by the ORM from the user's scope and filters and read from the database in the same consistent read as the
sync, then handed to DuckDB as an Arrow table. So scoping, filters and dimensions mean exactly what they
mean on the row store, and the figures are the same to the cent (tested on both databases).

**Kept up to date from the change feed** (the one `metrics.snapshots` reads; the ledger never calls
metrics). Ledger rows are append-only apart from a few audited fields, so a sync reads:

- the rows above each table's watermark id (new rows; the bulk paths of the importer and the demo write
  there too, with no per-row audit);
- the audit rows above the audit watermark of the five ledger tables: those records are read again (a
  cancelled invoice, a reversed receipt, an invoice corrected by an import);
- the invoices, receipts and credit memos that an application or write-off read in this sync points at:
  their open / unapplied amounts (caches the ledger keeps in step with those rows) moved.

All of it in one read transaction (REPEATABLE READ on PostgreSQL, one snapshot on SQLite), written to the
copy in one DuckDB transaction with the new watermarks: a copy is always a consistent picture of one moment
of the ledger. On PostgreSQL ids are taken before commit, so as in the snapshots the ids of the last
`ARDESK_SNAPSHOT_SETTLE_SECONDS` are read again until they are settled. A reset of the ledger, a watermark
above the table's highest id (rows deleted), another database or another layout of the copy needs a full
build (`ardesk columnar sync --full`, into a new file swapped in at the end): until then the row store
answers.

**When it is used.** `session()` decides per computation: the copy exists, the caller is not inside a
transaction (the copy holds committed rows only: a computation that must see its own uncommitted writes
stays on the row store), the scope holds at least `ARDESK_COLUMNAR_MIN_CUSTOMERS` customers and the copy
can be brought up to date incrementally. Then it syncs (a few index look-ups when nothing changed) and runs
the block's statements on DuckDB. One computation at a time per process (DuckDB allows one writing
process per file; a second process that finds the file locked uses the row store).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from ardesk.core.models import AuditLog
from ardesk.ledger.models import Application, CreditMemo, Invoice, Payment, WriteOff

from . import queries as q
from .feed import settle_seconds

log = logging.getLogger(__name__)

LAYOUT = 1  # the copy's table layout; a copy of another layout is built again
CHUNK = 200_000  # rows read from the database per Arrow batch
ID_CHUNK = 500  # ids per IN list when records are read again


@dataclass(frozen=True)
class Source:
    """One copied table: its model and the columns (attnames) copied; `points` names the tables whose
    records a row of this one moves (their open / unapplied amounts) and the column pointing there."""

    name: str
    model: type[Model]
    columns: tuple[str, ...]
    points: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


# In sync order: rows that move other records first, so the records they point at are read after them.
SOURCES: tuple[Source, ...] = (
    Source(
        "application",
        Application,
        ("id", "invoice_id", "payment_id", "credit_memo_id", "amount_minor", "applied_date"),
        points=(("invoice", "invoice_id"), ("payment", "payment_id"), ("credit_memo", "credit_memo_id")),
    ),
    Source(
        "write_off",
        WriteOff,
        ("id", "invoice_id", "amount_minor", "written_off_on"),
        points=(("invoice", "invoice_id"),),
    ),
    Source(
        "invoice",
        Invoice,
        (
            "id",
            "customer_id",
            "currency",
            "invoice_date",
            "due_date",
            "amount_minor",
            "open_minor",
            "cancelled_on",
        ),
    ),
    Source(
        "payment",
        Payment,
        ("id", "customer_id", "currency", "payment_date", "amount_minor", "unapplied_minor", "reversed_on"),
    ),
    Source(
        "credit_memo",
        CreditMemo,
        ("id", "customer_id", "currency", "memo_date", "amount_minor", "unapplied_minor"),
    ),
)
BY_NAME = {s.name: s for s in SOURCES}
AUDITED = {s.model._meta.label: s.name for s in SOURCES}  # "ledger.Invoice" -> "invoice"

_DUCK_TYPES = {
    "BigAutoField": "BIGINT",
    "AutoField": "BIGINT",
    "ForeignKey": "BIGINT",
    "BigIntegerField": "BIGINT",
    "IntegerField": "BIGINT",
    "CharField": "VARCHAR",
    "DateField": "DATE",
}


def _column(model: type[Model], attname: str) -> tuple[str, str]:
    """(database column, DuckDB type) of a model field given by attname."""
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            kind = f.get_internal_type()
            if kind not in _DUCK_TYPES:
                raise TypeError(f"{model.__name__}.{attname}: no DuckDB type for {kind}")
            return str(f.column), _DUCK_TYPES[kind]
    raise LookupError(f"{model.__name__} has no field {attname!r}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- settings -----------------------------------------------------------------------------------------


def configured_path() -> Path | None:
    raw = getattr(settings, "ARDESK_COLUMNAR_PATH", "")
    return Path(raw) if raw else None


def min_customers() -> int:
    return int(getattr(settings, "ARDESK_COLUMNAR_MIN_CUSTOMERS", 50_000))


def identity() -> str:
    """Which database the copy is of: vendor, name, host and the moment its schema was first migrated
    (a database dropped and created again under the same name is another database)."""
    cfg = connection.settings_dict
    with connection.cursor() as cur:
        cur.execute("SELECT MIN(applied) FROM django_migrations")
        born = cur.fetchone()[0]
    raw = f"{connection.vendor}|{cfg.get('NAME')}|{cfg.get('HOST') or ''}|{cfg.get('PORT') or ''}|{born}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


# --- the DuckDB side ------------------------------------------------------------------------------------


class DuckDb:
    """`queries.Db` over a DuckDB connection: Django's `%s` placeholders become `?`, `%%` becomes `%`."""

    vendor = "duckdb"

    def __init__(self, con: Any) -> None:
        self.con = con

    def run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        text = sql.replace("%%", "\x00").replace("%s", "?").replace("\x00", "%")
        args = list(params)
        # DuckDB sums BIGINTs into HUGEINTs (128 bits), which cost ~1 us each to turn into Python ints: at a
        # million customers that is most of the statement. Every figure here is a sum of minor units that
        # fits in a BIGINT; the cast raises (it never wraps) if one ever did not.
        types = [str(t) for t in self.con.sql(text, params=args).types]
        if "HUGEINT" in types:
            names = ", ".join(f"c{i}" for i in range(len(types)))
            cols = ", ".join(
                f"CAST(c{i} AS BIGINT)" if t == "HUGEINT" else f"c{i}" for i, t in enumerate(types)
            )
            text = f"SELECT {cols} FROM ({text}) ardesk_q({names})"  # noqa: S608
        return list(self.con.execute(text, args).fetchall())


def _connect(path: Path, *, read_only: bool = False) -> Any:
    import duckdb

    con = duckdb.connect(str(path), read_only=read_only)
    limit = getattr(settings, "ARDESK_COLUMNAR_MEMORY_LIMIT", "1GB")
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    threads = int(getattr(settings, "ARDESK_COLUMNAR_THREADS", 0) or 0)
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    return con


def _create_tables(con: Any) -> None:
    for src in SOURCES:
        cols = ", ".join(f"{_q(c)} {t}" for c, t in (_column(src.model, a) for a in src.columns))
        con.execute(f"CREATE TABLE {_q(src.table)} ({cols})")
    con.execute("CREATE TABLE ardesk_columnar_state (source VARCHAR PRIMARY KEY, state VARCHAR)")
    con.execute("CREATE TABLE ardesk_columnar_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")


def _meta(con: Any) -> dict[str, str]:
    import duckdb

    try:
        return dict(con.execute("SELECT key, value FROM ardesk_columnar_meta").fetchall())
    except duckdb.CatalogException:  # not a copy of ours (or an empty file): built again
        return {}


def _states(con: Any) -> dict[str, _Range]:
    rows = con.execute("SELECT source, state FROM ardesk_columnar_state").fetchall()
    return {name: _Range.load(json.loads(raw)) for name, raw in rows}


@dataclass
class _Range:
    """A table's watermark: ids up to `settled` are final in the copy; (settled, frontier] was read and
    held `count` rows then, but may still gain a late commit (PostgreSQL takes ids before commit): until
    `marks` say it is settled, its row count is checked at each sync and the range read again if it
    changed (ledger rows are never deleted but by a reset, so an unchanged count means nothing new)."""

    settled: int = 0
    frontier: int = 0
    marks: list[tuple[str, int]] = field(default_factory=list)
    count: int = 0

    @classmethod
    def load(cls, raw: Any) -> _Range:
        return cls(
            settled=int(raw.get("settled", 0)),
            frontier=int(raw.get("frontier", 0)),
            marks=[(str(t), int(i)) for t, i in raw.get("marks", [])],
            count=int(raw.get("count", -1)),  # unknown: the range is read again once
        )

    def dump(self) -> str:
        return json.dumps(
            {"settled": self.settled, "frontier": self.frontier, "marks": self.marks, "count": self.count}
        )

    def advance(self, top: int, now: dt.datetime, settle: int) -> _Range:
        """The watermark after a read of everything up to `top` at `now` (`count` left to the caller)."""
        if settle <= 0:
            return _Range(settled=top, frontier=top)
        cutoff = now - dt.timedelta(seconds=settle)
        settled, keep = self.settled, []
        for stamp, mark in [*self.marks, (now.isoformat(), top)]:
            if dt.datetime.fromisoformat(stamp) <= cutoff:
                settled = max(settled, mark)
            else:
                keep.append((stamp, mark))
        return _Range(settled=min(settled, top), frontier=top, marks=keep)


def _count(table: str, lo: int, hi: int) -> int:
    """Rows with lo < id <= hi (an index range on the primary key)."""
    if hi <= lo:
        return 0
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} WHERE id > %s AND id <= %s",  # noqa: S608
            [lo, hi],
        )
        return int(cur.fetchone()[0])


def _plan(
    table: str, st: _Range, top: int, now: dt.datetime, settle: int
) -> tuple[int, _Range, Callable[[int], None]]:
    """Where to start reading `table` (ids above it), its watermark after the read, and a function that
    completes the watermark given the number of rows read from there up to `top`: read above the
    frontier only, unless a late commit landed in the unsettled range (its count changed), then from
    `settled`. The new range's count is what was counted and read, unless the settled id moved."""
    held = _count(table, st.settled, st.frontier)
    lo = st.frontier if held == st.count else st.settled
    new = st.advance(top, now, settle)

    def complete(read: int) -> None:
        if new.frontier <= new.settled:
            return
        if new.settled == st.settled:
            new.count = (held if lo == st.frontier else 0) + read
        else:
            new.count = _count(table, new.settled, new.frontier)

    return lo, new, complete


# --- reading the database -----------------------------------------------------------------------------


def table_top(table: str) -> int:
    """The highest id of a ledger table (0 when empty)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return int(cur.fetchone()[0] or 0)


def _arrow(src: Source, rows: Sequence[tuple[Any, ...]]) -> Any:
    import pyarrow as pa

    types = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32()}
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in src.columns]
    arrays = {}
    for attname, values in zip(src.columns, cols, strict=True):
        column, kind = _column(src.model, attname)
        if kind == "DATE":
            values = tuple(_date(v) for v in values)
        arrays[column] = pa.array(values, type=types[kind])
    return pa.table(arrays)


def _date(v: Any) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _select(src: Source) -> str:
    cols = ", ".join(connection.ops.quote_name(_column(src.model, a)[0]) for a in src.columns)
    return f"SELECT {cols} FROM {connection.ops.quote_name(src.table)}"  # noqa: S608


def _read_range(src: Source, lo: int, hi: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows with lo < id <= hi, in batches of CHUNK (by id ranges: no server-side cursor needed)."""
    start = lo
    while start < hi:
        with connection.cursor() as cur:
            cur.execute(
                f"{_select(src)} WHERE id > %s AND id <= %s ORDER BY id LIMIT %s",
                [start, hi, CHUNK],
            )
            rows = cur.fetchall()
        if not rows:
            return
        yield rows
        start = int(rows[-1][0])


def _read_ids(src: Source, ids: Sequence[int]) -> Iterator[list[tuple[Any, ...]]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), ID_CHUNK):
        part = ordered[i : i + ID_CHUNK]
        marks = ", ".join(["%s"] * len(part))
        with connection.cursor() as cur:
            cur.execute(f"{_select(src)} WHERE id IN ({marks})", part)
            yield cur.fetchall()


@contextmanager
def _consistent_read() -> Iterator[None]:
    """One read transaction: every table read inside sees the same committed moment of the ledger."""
    if connection.in_atomic_block:
        raise RuntimeError("the columnar copy reads committed rows only: call it outside a transaction")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# --- sync -------------------------------------------------------------------------------------------------


class NeedsFullBuild(Exception):
    """The copy cannot be brought up to date row by row (the message says why)."""


@dataclass
class SyncResult:
    full: bool = False
    reason: str = ""
    rows: dict[str, int] = field(default_factory=dict)  # rows written per table
    audit_rows: int = 0
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return sum(self.rows.values())


Progress = Callable[[str, int], None]


def _audit_touched(lo: int, top: int) -> tuple[dict[str, set[int]], int]:
    """Ids of the copied records that audit rows in (lo, top] say changed; a reset raises. A batch record
    (no object id: a bulk insert by the importer or the demo) names no record: its rows are new rows,
    read above their table's watermark."""
    touched: dict[str, set[int]] = {s.name: set() for s in SOURCES}
    rows = (
        AuditLog.objects.filter(id__gt=lo, id__lte=top)
        .filter(object_type__in=[*AUDITED, "ledger"])
        .values_list("id", "object_type", "object_id", "action")
        .order_by("id")
    )
    n = 0
    for pk, object_type, object_id, action in rows.iterator(5000):
        n += 1
        if object_type == "ledger" or action.endswith(".reset"):
            raise NeedsFullBuild(f"{action} (audit #{pk})")
        if not object_id:
            continue
        try:
            touched[AUDITED[object_type]].add(int(object_id))
        except (TypeError, ValueError):
            raise NeedsFullBuild(f"audit #{pk}: {object_type} {object_id!r} is not a record id") from None
    resets = AuditLog.objects.filter(id__gt=lo, id__lte=top, action__endswith=".reset")
    first = resets.values_list("id", "action").order_by("id").first()
    if first is not None:
        raise NeedsFullBuild(f"{first[1]} (audit #{first[0]})")
    return touched, n


def _incremental(con: Any, progress: Progress | None) -> SyncResult:
    """Bring the copy up to date row by row, inside `_consistent_read()`; raises `NeedsFullBuild`."""
    meta = _meta(con)
    if not meta:
        raise NeedsFullBuild("no copy yet")
    if meta.get("layout") != str(LAYOUT):
        raise NeedsFullBuild(f"the copy has layout {meta.get('layout')}, this version writes {LAYOUT}")
    if meta.get("identity") != identity():
        raise NeedsFullBuild("the copy is of another database")
    for src in SOURCES:  # every table and column the statements read is there (a damaged copy raises)
        cols = ", ".join(_q(_column(src.model, a)[0]) for a in src.columns)
        con.execute(f"SELECT {cols} FROM {_q(src.table)} LIMIT 0")  # noqa: S608
    states = _states(con)
    now = timezone.now()
    settle = settle_seconds()
    result = SyncResult()
    audit_state = states.get("audit")
    if audit_state is None or any(s.name not in states for s in SOURCES):
        raise NeedsFullBuild("the copy has no watermark")
    audit_top = int(AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    if audit_top < audit_state.frontier:
        raise NeedsFullBuild("audit rows were deleted")
    audit_lo, new_audit, _complete = _plan(AuditLog._meta.db_table, audit_state, audit_top, now, settle)
    touched, result.audit_rows = _audit_touched(audit_lo, audit_top)
    if new_audit.frontier > new_audit.settled:  # only the relevant rows were read: count them all
        new_audit.count = _count(AuditLog._meta.db_table, new_audit.settled, new_audit.frontier)
    new_states = {"audit": new_audit}
    batches: list[tuple[Source, Any, list[int]]] = []
    for src in SOURCES:
        st = states[src.name]
        top = table_top(src.table)
        if top < st.frontier:
            raise NeedsFullBuild(f"{src.table}: rows deleted (highest id {top}, copied to {st.frontier})")
        lo, new_states[src.name], complete = _plan(src.table, st, top, now, settle)
        read: list[tuple[Any, ...]] = []
        for rows in _read_range(src, lo, top):
            read.extend(rows)
        complete(len(read))
        seen = {int(r[0]) for r in read}
        again = sorted(touched[src.name] - seen)
        for rows in _read_ids(src, again):
            read.extend(rows)
        if len({int(r[0]) for r in read}) < len(seen) + len(again):
            raise NeedsFullBuild(f"{src.table}: a changed record no longer exists")
        for target, col in src.points:
            pos = src.columns.index(col)
            touched[target].update(int(r[pos]) for r in read if r[pos] is not None)
        batches.append((src, _arrow(src, read), sorted(seen | set(again))))
        result.rows[src.name] = len(read)
        if progress:
            progress(src.name, len(read))
    _write_incremental(con, batches, new_states)
    return result


def _write_incremental(
    con: Any, batches: list[tuple[Source, Any, list[int]]], states: dict[str, _Range]
) -> None:
    import pyarrow as pa

    con.execute("BEGIN TRANSACTION")
    try:
        for src, table, ids in batches:
            if not ids:
                continue
            con.register("ardesk_ids", pa.table({"id": pa.array(ids, type=pa.int64())}))
            con.execute(f"DELETE FROM {_q(src.table)} WHERE id IN (SELECT id FROM ardesk_ids)")  # noqa: S608
            con.unregister("ardesk_ids")
            con.register("ardesk_rows", table)
            con.execute(f"INSERT INTO {_q(src.table)} SELECT * FROM ardesk_rows")  # noqa: S608
            con.unregister("ardesk_rows")
        for name, st in states.items():
            con.execute("INSERT OR REPLACE INTO ardesk_columnar_state VALUES (?, ?)", [name, st.dump()])
        stamp = timezone.now().isoformat()
        con.execute("INSERT OR REPLACE INTO ardesk_columnar_meta VALUES ('synced_at', ?)", [stamp])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _build(path: Path, progress: Progress | None, reason: str) -> SyncResult:
    """A new copy from scratch, written next to `path` and swapped in when complete."""
    tmp = path.with_name(path.name + ".building")
    for p in (tmp, Path(f"{tmp}.wal")):
        p.unlink(missing_ok=True)
    result = SyncResult(full=True, reason=reason)
    now = timezone.now()
    settle = settle_seconds()
    con = _connect(tmp)
    try:
        _create_tables(con)
        with _consistent_read():
            audit_top = int(AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0)
            states = {"audit": _planned(AuditLog._meta.db_table, audit_top, now, settle)}
            for src in SOURCES:
                top = table_top(src.table)
                n = 0
                for rows in _read_range(src, 0, top):
                    con.register("ardesk_rows", _arrow(src, rows))
                    con.execute(f"INSERT INTO {_q(src.table)} SELECT * FROM ardesk_rows")  # noqa: S608
                    con.unregister("ardesk_rows")
                    n += len(rows)
                    if progress:
                        progress(src.name, len(rows))
                result.rows[src.name] = n
                states[src.name] = _planned(src.table, top, now, settle)
            ident = identity()
        for name, st in states.items():
            con.execute("INSERT INTO ardesk_columnar_state VALUES (?, ?)", [name, st.dump()])
        stamp = timezone.now().isoformat()
        meta = {"layout": str(LAYOUT), "identity": ident, "built_at": stamp, "synced_at": stamp}
        con.executemany("INSERT INTO ardesk_columnar_meta VALUES (?, ?)", list(meta.items()))
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    Path(f"{path}.wal").unlink(missing_ok=True)
    os.replace(tmp, path)
    return result


def _planned(table: str, top: int, now: dt.datetime, settle: int) -> _Range:
    """The watermark of a table read in full up to `top`."""
    new = _Range().advance(top, now, settle)
    if new.frontier > new.settled:
        new.count = _count(table, new.settled, new.frontier)
    return new


_lock = threading.RLock()


def sync(*, full: bool = False, progress: Progress | None = None, path: Path | None = None) -> SyncResult:
    """Bring the copy at `path` (default `ARDESK_COLUMNAR_PATH`) up to date: row by row when it can, else
    (or with `full`) a full build. Call outside a transaction."""
    target = path or configured_path()
    if target is None:
        raise RuntimeError("no columnar copy configured: set ARDESK_COLUMNAR_PATH")
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        reason = "asked for (--full)" if full else ""
        if not full and target.exists():
            con = _connect(target)
            try:
                with _consistent_read():
                    result = _incremental(con, progress)
                result.seconds = time.perf_counter() - started
                return result
            except NeedsFullBuild as exc:
                reason = str(exc)
            finally:
                con.close()
        elif not full:
            reason = "no copy yet"
        result = _build(target, progress, reason)
        result.seconds = time.perf_counter() - started
        return result


# --- status and verification ---------------------------------------------------------------------------


@dataclass
class Status:
    path: Path | None
    exists: bool
    rows: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    bytes: int = 0


def status(path: Path | None = None) -> Status:
    target = path or configured_path()
    if target is None or not target.exists():
        return Status(path=target, exists=False)
    with _lock:
        con = _connect(target, read_only=True)
        try:
            meta = _meta(con)
            rows = {
                s.name: int(con.execute(f"SELECT COUNT(*) FROM {_q(s.table)}").fetchone()[0])  # noqa: S608
                for s in SOURCES
            }
        finally:
            con.close()
    return Status(path=target, exists=True, rows=rows, meta=meta, bytes=target.stat().st_size)


def _digest(rows: Iterator[tuple[Any, ...]]) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        n += 1
        h.update(repr(tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row)).encode())
    return n, h.hexdigest()


def verify(path: Path | None = None) -> dict[str, tuple[bool, int, int]]:
    """Compare the copy with the database, table by table, every copied column of every row (after a
    sync): {table: (equal, rows in the database, rows in the copy)}. Reads whole tables: a check, not a
    query path."""
    target = path or configured_path()
    if target is None or not target.exists():
        raise RuntimeError("no columnar copy to verify")
    out: dict[str, tuple[bool, int, int]] = {}
    with _lock:
        con = _connect(target, read_only=True)
        try:
            with _consistent_read():
                for src in SOURCES:
                    with connection.cursor() as cur:
                        cur.execute(f"{_select(src)} ORDER BY id")
                        n_db, d_db = _digest(iter(cur.fetchall()))
                    cols = ", ".join(_q(_column(src.model, a)[0]) for a in src.columns)
                    got = con.execute(f"SELECT {cols} FROM {_q(src.table)} ORDER BY id").fetchall()  # noqa: S608
                    n_cp, d_cp = _digest(iter(got))
                    out[src.name] = (n_db == n_cp and d_db == d_cp, n_db, n_cp)
        finally:
            con.close()
    return out


# --- using it -----------------------------------------------------------------------------------------


def _scope_size(sliced: q.Sliced) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sliced.sql}) s", list(sliced.params))  # noqa: S608
        return int(cur.fetchone()[0])


def _slice_table(sliced: q.Sliced) -> Any:
    import pyarrow as pa

    with connection.cursor() as cur:
        cur.execute(sliced.sql, list(sliced.params))
        rows = cur.fetchall()
    width = 3 if sliced.also else 2
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
    names = ["id", "k", "k2"][:width]
    arrays = [pa.array(cols[0], type=pa.int64())]
    arrays += [pa.array(c, type=pa.string()) for c in cols[1:]]  # keys are text already (CAST in the SQL)
    return pa.table(dict(zip(names, arrays, strict=True)))


@dataclass
class Engine:
    """What `session()` chose: `columnar` True when the block's statements run on DuckDB, with `slices`
    the slices to pass them (read into DuckDB), else the slices given; `why` says why not."""

    columnar: bool
    slices: list[q.Sliced]
    why: str = ""
    sync: SyncResult | None = None


@contextmanager
def session(slices: Sequence[q.Sliced], *, use: bool | None = None) -> Iterator[Engine]:
    """Run the `queries` statements of the block on the columnar copy when it pays and is possible (see
    the module docstring); `use=False` never, `use=True` whatever the scope's size. The block passes
    `engine.slices` to the statements in place of `slices`."""
    given = list(slices)
    why = _why_not(given, use)
    if why:
        yield Engine(False, given, why)
        return
    import duckdb

    path = configured_path()
    assert path is not None
    if not _lock.acquire(timeout=120):
        yield Engine(False, given, "another computation holds the copy")
        return
    try:
        try:
            con = _connect(path)
        except duckdb.Error as exc:  # locked by another process, unreadable: the row store answers
            yield Engine(False, given, f"the copy cannot be opened: {exc}")
            return
        try:
            try:
                with _consistent_read():
                    synced = _incremental(con, None)
                    tables = [_slice_table(s) for s in given]
            except NeedsFullBuild as exc:
                log.warning("columnar copy not used (run `ardesk columnar sync`): %s", exc)
                yield Engine(False, given, f"the copy needs a full build: {exc}")
                return
            except duckdb.Error as exc:  # a damaged copy: the database answers, and the log says why
                log.exception("columnar copy not used: it could not be brought up to date")
                yield Engine(False, given, f"the copy could not be brought up to date: {exc}")
                return
            out: list[q.Sliced] = []
            for i, (s, table) in enumerate(zip(given, tables, strict=True)):
                name = f"ardesk_slice_{i}"
                con.register(name, table)
                cols = "id, k, k2" if s.also else "id, k"
                out.append(q.Sliced(sql=f"SELECT {cols} FROM {name}", params=(), also=s.also))  # noqa: S608
            with q.running_on(DuckDb(con)):
                yield Engine(True, out, sync=synced)
        finally:
            con.close()
    finally:
        _lock.release()


def _why_not(slices: Sequence[q.Sliced], use: bool | None) -> str:
    if use is False:
        return "not asked for"
    path = configured_path()
    if path is None:
        return "no copy configured (ARDESK_COLUMNAR_PATH)"
    if not path.exists():
        return "no copy built yet (ardesk columnar sync)"
    if connection.in_atomic_block:
        return "inside a transaction (the copy holds committed rows only)"
    if use is None and slices:
        n = _scope_size(slices[0])
        if n < min_customers():
            return f"{n:,} customers in scope, under {min_customers():,}"
    return ""
