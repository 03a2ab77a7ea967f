"""Bulk write paths for imports and the demo generator.

Row-by-row ORM saves top out near a few thousand rows a second; a 1M-invoice file needs the database's
own bulk path: PostgreSQL's COPY, SQLite's executemany of one prepared INSERT, inside the caller's
transaction. Callers hand over rows that are already validated (the importer validates the whole file
first, so a bad file writes nothing); the database constraints still guard every row.

Each bulk write records one audit row naming the batch, what it wrote and how many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from ardesk.core import audit

CHUNK = 20_000


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _column_names(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    by_name = {f.name: f.column for f in model._meta.concrete_fields}
    cols = []
    for name in fields:
        col = by_attname.get(name) or by_name.get(name)
        if col is None:
            raise ValueError(f"{model.__name__} has no field {name!r}")
        cols.append(col)
    return cols


def _auto_time_fields(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add) and f.attname not in fields
    ]


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    chunk_size: int = CHUNK,
    progress: Any = None,
) -> int:
    """Insert tuples (in `fields` order) into `model`'s table; returns the number of rows written.

    `created_at`/`updated_at` style fields not given are filled with now(). `progress(n)` is called after
    each chunk with the number of rows in it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("insert_rows must run inside the caller's transaction (all-or-nothing)")
    extra = _auto_time_fields(model, fields)
    now = timezone.now()
    all_fields = [*fields, *extra]
    cols = _column_names(model, all_fields)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in cols)
    # The ORM stores SQLite datetimes as naive UTC text; adapt once so bulk rows compare the same way.
    stamp = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    tail = (stamp,) * len(extra)
    total = 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            raw = cur.cursor  # psycopg 3 cursor
            for chunk in _chunks(rows, chunk_size):
                with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row((*row, *tail))
                total += len(chunk)
                if progress:
                    progress(len(chunk))
        else:
            placeholders = ", ".join(["%s"] * len(cols))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"  # noqa: S608 - quoted identifiers
            for chunk in _chunks(rows, chunk_size):
                if tail:
                    cur.executemany(sql, [(*row, *tail) for row in chunk])
                else:
                    cur.executemany(sql, chunk)
                total += len(chunk)
                if progress:
                    progress(len(chunk))
    return total


def existing_keys(
    model: type[models.Model], key_field: str, values: Iterable[Any], *, value_field: str = "pk"
) -> dict[Any, Any]:
    """{natural key: value_field} for the keys already in the database, looked up in chunks."""
    out: dict[Any, Any] = {}
    vals = list(dict.fromkeys(values))
    for i in range(0, len(vals), 5000):
        part = vals[i : i + 5000]
        out.update(
            model._default_manager.filter(**{f"{key_field}__in": part}).values_list(key_field, value_field)
        )
    return out


def record_batch(
    *,
    actor: Any,
    action: str,
    object_type: str,
    count: int,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id="",
        after={"rows": count, **(details or {})},
        note=note,
    )


def reset_sequences(*models_: type[models.Model]) -> None:
    """After COPY with explicit ids on PostgreSQL, move the id sequences past the max id."""
    if connection.vendor != "postgresql":
        return
    from django.core.management.color import no_style

    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models_)):
            cur.execute(sql)


def today_utc() -> dt.date:
    return timezone.now().date()


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """Reserve `n` primary keys for rows about to be bulk-inserted with explicit ids (COPY returns none).

    PostgreSQL draws them from the table's sequence (safe beside concurrent writers); SQLite takes them
    above the current maximum, which is safe because ardesk's SQLite transactions are IMMEDIATE and so
    hold the single write lock.
    """
    if n <= 0:
        return []
    table = model._meta.db_table
    pk_col = model._meta.pk.column
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk_col, n],
            )
            return [r[0] for r in cur.fetchall()]
        qpk, qtable = connection.ops.quote_name(pk_col), connection.ops.quote_name(table)
        cur.execute(f"SELECT COALESCE(MAX({qpk}), 0) FROM {qtable}")  # noqa: S608 - quoted identifiers
        start = int(cur.fetchone()[0]) + 1
        return list(range(start, start + n))
