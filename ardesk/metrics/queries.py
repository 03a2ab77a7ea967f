"""The SQL that feeds the KPI definitions. Every figure is aggregated inside the database (one statement
per kind of fact, grouped by slice and currency), never by a Python loop over invoices.

**As of any date D.** The open amount of an invoice at the end of D is its amount less applications
dated <= D less write-offs dated <= D, for invoices dated <= D and not cancelled on or before D. The
statements use the equivalent identity

    open_as_of(D) = open_minor (the current cache) + applications dated after D + write-offs dated after D
                    (+ the amount, if the invoice was cancelled after D)

so they visit only the invoices open today or touched after D, not the whole history. Unapplied cash and
open credits use the same identity on the payment and credit memo caches.

**Slices.** The slice key of every row comes from its customer: `customer_dimension()` compiles an ORM
query of (customer id, key) scoped to the user (`ledger.selectors.customer_scope_q`) and filtered, and
every statement joins to it. Rows are always grouped by currency as well: two currencies are never added
in SQL (translation into the base currency happens in `selectors`, after aggregation).

The SQL is portable between SQLite and PostgreSQL: dates are compared with dates (bucket cut-offs are
computed in Python), and the only vendor-specific pieces are day numbers and month keys (`_days`,
`_month`). PostgreSQL returns SUM(bigint) as numeric; every sum is turned back into `int`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce

from ardesk.core.errors import InvalidInput
from ardesk.ledger.models import Application, CreditMemo, Customer, Invoice, Payment, WriteOff

from .definitions import Basis, aging_uppers

EPOCH = dt.date(1970, 1, 1)

# Slice dimensions: the customer expression that keys each row. Ids where a model names the thing
# (labels are looked up afterwards), the text itself otherwise. "currency" is the row's own currency.
DIMENSIONS: dict[str, Any] = {
    "collector": F("collector_id"),
    "team": F("collector__collector__team_id"),
    "territory": F("territory"),
    "title": F("collector__collector__title"),
    "tier": F("collector__collector__tier"),
    "region": F("region"),
    "industry": F("industry"),
    "segment": F("segment"),
    "customer": F("id"),
    # The top of the corporate hierarchy (up to five levels: the customer and four ancestors).
    "parent": Coalesce(
        "parent__parent__parent__parent",
        "parent__parent__parent",
        "parent__parent",
        "parent",
        "id",
    ),
    "currency": None,
    "entity": F("entity_id"),
}
ID_DIMENSIONS = frozenset({"collector", "team", "customer", "parent", "entity"})


def check_dimension(by: str | None) -> str | None:
    if by is not None and by not in DIMENSIONS:
        raise InvalidInput(f"unknown dimension {by!r}; use one of {', '.join(DIMENSIONS)}", field="by")
    return by


class _NoKey:
    """No second slice key (`customer_dimension(also=...)` not given)."""


NO_KEY = _NoKey()


@dataclass(frozen=True)
class Sliced:
    """The compiled (customer id, slice key) query every statement joins to."""

    sql: str
    params: tuple[Any, ...]
    also: bool = False  # a second slice key, column k2


def customer_dimension(
    scope: Q | None,
    by: str | None,
    *,
    entity: str | None = None,
    filters: Mapping[str, Any] | None = None,
    also: str | _NoKey | None = NO_KEY,
) -> Sliced:
    """Customers in `scope` (None = all), optionally of one legal entity (code) and filtered by any
    dimension (`{"territory": "East", "collector": [3, 4]}`), keyed by dimension `by` (column k) and,
    with `also`, by a second dimension as well (column k2; None = one total), so one pass over the
    ledger can be grouped both ways."""
    check_dimension(by)
    qs: QuerySet[Customer] = Customer.objects.all()
    if scope is not None:
        qs = qs.filter(scope)
    if entity:
        qs = qs.filter(entity__code=entity)
    for name, value in (filters or {}).items():
        check_dimension(name)
        if name == "currency":
            raise InvalidInput("filter by currency with the currency option, not a dimension filter")
        alias = f"f_{name}"
        qs = qs.annotate(**{alias: DIMENSIONS[name]})
        if isinstance(value, list | tuple | set | frozenset):
            qs = qs.filter(**{f"{alias}__in": list(value)})
        elif value is None:
            qs = qs.filter(**{f"{alias}__isnull": True})
        else:
            qs = qs.filter(**{alias: value})
    two = not isinstance(also, _NoKey)
    cols = ["id", "k"]
    qs = qs.annotate(k=_key_expr(by))
    if two:
        check_dimension(also)  # type: ignore[arg-type]
        qs = qs.annotate(k2=_key_expr(also))  # type: ignore[arg-type]
        cols.append("k2")
    try:
        sql, params = qs.values(*cols).order_by().query.sql_with_params()
    except EmptyResultSet:  # a scope or filter that matches nothing (e.g. a user with no role)
        k2 = ", '' AS k2" if two else ""
        empty = f"SELECT id, '' AS k{k2} FROM {_t(Customer)} WHERE 1 = 0"  # noqa: S608
        return Sliced(sql=empty, params=(), also=two)
    return Sliced(sql=sql, params=tuple(params), also=two)


def _key_expr(by: str | None) -> Any:
    expr = DIMENSIONS[by] if by is not None else None
    return Value("", output_field=CharField()) if expr is None else Cast(expr, output_field=CharField())


# --- vendor-specific fragments -----------------------------------------------------------------------


class Db(Protocol):
    """Where the statements run: Django's connection (SQLite or PostgreSQL), or the columnar copy of the
    ledger (`metrics.columnar`, DuckDB). The statements are the same text; `vendor` picks the fragments."""

    @property
    def vendor(self) -> str: ...

    def run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...


class _Django:
    @property
    def vendor(self) -> str:
        return connection.vendor

    def run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cur:
            cur.execute(sql, list(params))
            return cur.fetchall()


DJANGO: Db = _Django()
_DB: ContextVar[Db] = ContextVar("ardesk_metrics_db", default=DJANGO)


@contextmanager
def running_on(db: Db) -> Iterator[Db]:
    """Run every statement of this module on `db` inside the block (the columnar engine)."""
    token = _DB.set(db)
    try:
        yield db
    finally:
        _DB.reset(token)


def _vendor() -> str:
    return _DB.get().vendor


def _days(col: str) -> str:
    """Day number of a date column (days since 1970-01-01), as an integer."""
    if _vendor() in ("postgresql", "duckdb"):
        return f"({col} - DATE '1970-01-01')"
    return f"(CAST(strftime('%%s', {col}) AS INTEGER) / 86400)"


def _month(col: str) -> str:
    """The month of a date column as 'YYYY-MM'."""
    vendor = _vendor()
    if vendor == "postgresql":
        return f"to_char({col}, 'YYYY-MM')"
    if vendor == "duckdb":
        return f"strftime({col}, '%%Y-%%m')"
    return f"substr({col}, 1, 7)"  # SQLite keeps a date as 'YYYY-MM-DD' text: no date parsing


def _ni(expr: str) -> str:
    """`expr`, marked so SQLite's planner does not drive the statement from its index (`+col`). Without
    statistics SQLite walks a date index for a range covering most of the table, several times slower
    than a scan; a GROUP BY on an indexed column likewise walks the whole index instead of the few rows
    the WHERE selects. PostgreSQL's planner has statistics and needs no hint, DuckDB scans columns."""
    return f"+{expr}" if _vendor() == "sqlite" else expr


def _t(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _day_number(d: dt.date) -> int:
    return (d - EPOCH).days


def _minus_days(d: dt.date, days: int) -> dt.date:
    try:
        return d - dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min


def _int(v: Any) -> int:
    return 0 if v is None else int(v)


def _run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return _DB.get().run(sql, params)


def _key(k: Any) -> str | None:
    return None if k is None else str(k)


SliceKey = tuple[str | None, str]  # (slice key, currency)


# --- open items ----------------------------------------------------------------------------------------


@dataclass
class OpenAgg:
    open_ar: int = 0
    current: int = 0
    over_90: int = 0
    open_invoices: int = 0
    buckets: list[int] = field(default_factory=list)
    # month of the invoice date ('YYYY-MM') -> sum of (as_of - invoice date) x open amount
    age_x_open: dict[str, int] = field(default_factory=dict)


def _open_cte(sliced: Sliced, as_of: dt.date, extra_cols: str) -> tuple[str, list[Any]]:
    """`o`: one row per invoice open at the end of `as_of` (amount `amt` > 0), with its slice key."""
    inv, app, wo = _t(Invoice), _t(Application), _t(WriteOff)
    k2 = ", c.k2 AS k2" if sliced.also else ""
    live = "(i.cancelled_on IS NULL OR i.cancelled_on > %s)"
    total, source, where = "SUM(amount_minor)", inv, f"{_ni('i.invoice_date')} <= %s AND {live}"
    source_params: list[Any] = []
    where += " AND (i.open_minor > 0 OR i.cancelled_on IS NOT NULL OR aa.s IS NOT NULL OR ww.s IS NOT NULL)"
    where_params: list[Any] = [as_of, as_of]
    if _vendor() == "postgresql":
        # PostgreSQL: integer sums (SUM(bigint) is numeric, and so would be every amount below); and the
        # invoices read as two disjoint branches joined to nothing yet: those open now (or cancelled), and
        # those settled now but touched after the date (a join to the ids of aa and ww). The planner can
        # neither estimate the OR above over joined rows (it joins every invoice before filtering) nor
        # keep an IN (subquery) inside an OR hashed once the ids outgrow work_mem (then it runs the
        # subquery once per invoice: minutes at 900k invoices for a date six months back).
        total = "CAST(SUM(amount_minor) AS BIGINT)"
        cols = (
            "id, number, customer_id, currency, invoice_date, due_date, open_minor, amount_minor, "
            "cancelled_on"
        )
        now_open = "(open_minor > 0 OR cancelled_on IS NOT NULL)"
        dated = "invoice_date <= %s AND (cancelled_on IS NULL OR cancelled_on > %s)"
        source = f"""(
    SELECT {cols} FROM {inv} WHERE {dated} AND {now_open}
    UNION ALL
    SELECT {", ".join(f"v.{c.strip()}" for c in cols.split(","))} FROM {inv} v
    JOIN (SELECT invoice_id FROM aa UNION SELECT invoice_id FROM ww) t ON t.invoice_id = v.id
    WHERE {dated.replace("invoice_date", "v.invoice_date").replace("cancelled_on", "v.cancelled_on")}
      AND NOT {now_open.replace("open_minor", "v.open_minor").replace("cancelled_on", "v.cancelled_on")}
  )"""  # noqa: S608
        source_params = [as_of, as_of, as_of, as_of]
        where, where_params = "TRUE", []
    sql = f"""
WITH c AS ({sliced.sql}),
aa AS (SELECT invoice_id, {total} AS s FROM {app} WHERE applied_date > %s
       GROUP BY {_ni("invoice_id")}),
ww AS (SELECT invoice_id, {total} AS s FROM {wo} WHERE written_off_on > %s
       GROUP BY {_ni("invoice_id")}),
o0 AS (
  SELECT c.k AS k{k2}, i.currency AS currency, i.invoice_date AS invoice_date, i.due_date AS due_date,
         i.open_minor + COALESCE(aa.s, 0) + COALESCE(ww.s, 0)
           + CASE WHEN i.cancelled_on IS NOT NULL THEN i.amount_minor ELSE 0 END AS amt{extra_cols}
  FROM {source} i
  JOIN c ON c.id = i.customer_id
  LEFT JOIN aa ON aa.invoice_id = i.id
  LEFT JOIN ww ON ww.invoice_id = i.id
  WHERE {where}
),
o AS (SELECT * FROM o0 WHERE amt <> 0)
"""  # noqa: S608 - table names are quoted identifiers, values are parameters
    return sql, [*sliced.params, as_of, as_of, *source_params, *where_params]


@dataclass(frozen=True)
class OpenSet:
    """One aggregate of the items open at a date: grouped by the slice key `key` ("k", or "k2" for the
    second key of a `customer_dimension(..., also=...)`) and currency; with `buckets` aged on `basis`;
    with `months` also grouped by invoice month for the age-weighted sums of true DSO (the month key
    costs a date format per row and a larger group: only true DSO needs it)."""

    key: str = "k"
    basis: Basis = "due"
    buckets: bool = True
    months: bool = True


def _cuts(as_of: dt.date, bounds: Sequence[int], basis: Basis) -> tuple[str, list[dt.date]]:
    """The column a basis ages on and the bucket cut-off dates, newest first."""
    uppers = aging_uppers(bounds)
    if basis == "due":
        return "due_date", [as_of, *(_minus_days(as_of, u) for u in uppers)]
    return "invoice_date", [_minus_days(as_of, u) for u in uppers]


def _set_select(
    s: OpenSet, tag: int, width: int, as_of: dt.date, bounds: Sequence[int], over_days: int
) -> tuple[str, list[Any]]:
    """The SELECT of one `OpenSet` over `o`: tag, key, currency, month, open AR, current, over
    `over_days`, count, age x open, then `width` bucket sums (zeros past the set's own buckets)."""
    month = "m" if s.months else "''"
    age = "SUM((%s - dn) * amt)" if s.months else "0"
    params: list[Any] = [as_of, _minus_days(as_of, over_days)]
    if s.months:
        params.append(_day_number(as_of))
    source = "o"
    n = 0
    bucket_params: list[Any] = []
    if s.buckets:
        ref, cuts = _cuts(as_of, bounds, s.basis)
        n = len(cuts) + 1
        whens = " ".join(f"WHEN {ref} >= %s THEN {i}" for i in range(len(cuts)))
        case = f"CASE {whens} ELSE {len(cuts)} END" if cuts else "0"
        source = f"(SELECT o.*, {case} AS b FROM o) t{tag}"  # noqa: S608
        bucket_params = list(cuts)
    sums = "".join(f", SUM(CASE WHEN b = {i} THEN amt ELSE 0 END)" for i in range(n))
    pad = ", 0" * (width - n)
    group = f"{s.key}, currency" + (", m" if s.months else "")
    sql = f"""SELECT {tag}, {s.key}, currency, {month}, SUM(amt),
       SUM(CASE WHEN due_date >= %s THEN amt ELSE 0 END),
       SUM(CASE WHEN due_date < %s THEN amt ELSE 0 END), COUNT(*), {age}{sums}{pad}
FROM {source}
GROUP BY {group}"""  # noqa: S608
    return sql, params + bucket_params


def open_item_sets(
    sliced: Sliced,
    as_of: dt.date,
    sets: Sequence[OpenSet],
    *,
    bounds: Sequence[int],
    over_days: int = 90,
) -> list[dict[SliceKey, OpenAgg]]:
    """Open AR at the end of `as_of`, one aggregate per `OpenSet`, from one pass over the ledger: the open
    items are selected once and grouped once per set (SQLite: a CTE read by every set, materialized;
    PostgreSQL: GROUPING SETS, see `_grouped_sets`). Per (slice, currency): total, current (due on or
    after `as_of`), over `over_days` past due, count, and as the set asks the aging buckets and the
    age-weighted sums by invoice month."""
    if not sets:
        return []
    if len(sets) > 1 and _vendor() == "postgresql":
        # PostgreSQL materializes a CTE read twice into a tuple store (at tier M that cost more than one
        # statement per set: 3.7 s against 2.1 s + 0.7 s): one pass grouped by GROUPING SETS instead.
        return _grouped_sets(sliced, as_of, sets, bounds=bounds, over_days=over_days)
    months = any(s.months for s in sets)
    extra = f", {_month('i.invoice_date')} AS m, {_days('i.invoice_date')} AS dn" if months else ""
    head, params = _open_cte(sliced, as_of, extra)
    widths = [len(_cuts(as_of, bounds, s.basis)[1]) + 1 if s.buckets else 0 for s in sets]
    width = max(widths)
    parts = []
    for tag, s in enumerate(sets):
        part, part_params = _set_select(s, tag, width, as_of, bounds, over_days)
        parts.append(part)
        params += part_params
    sql = head + "\nUNION ALL\n".join(parts)
    return _fold_sets(_run(sql, params), sets, widths)


def _fold_sets(
    rows: Sequence[Sequence[Any]], sets: Sequence[OpenSet], widths: Sequence[int]
) -> list[dict[SliceKey, OpenAgg]]:
    """Fold the rows of `_set_select` (tag, key, currency, month, open AR, current, over 90, count, age x
    open, buckets...) into one aggregate per (slice, currency) per set. At a million customers this loop
    is a good part of the aging's time: one row is one aggregate unless the set is also grouped by month."""
    out: list[dict[SliceKey, OpenAgg]] = [{} for _ in sets]
    months = [s.months for s in sets]
    for row in rows:
        tag = int(row[0])
        n = widths[tag]
        key = (_key(row[1]), row[2])
        vals = [0 if v is None else int(v) for v in row[4 : 9 + n]]
        into = out[tag]
        agg = into.get(key)
        if agg is None:
            agg = into[key] = OpenAgg(vals[0], vals[1], vals[2], vals[3], vals[5:])
            if months[tag]:
                agg.age_x_open[row[3]] = vals[4]
            continue
        agg.open_ar += vals[0]
        agg.current += vals[1]
        agg.over_90 += vals[2]
        agg.open_invoices += vals[3]
        if months[tag]:
            agg.age_x_open[row[3]] = agg.age_x_open.get(row[3], 0) + vals[4]
        buckets = agg.buckets
        for i in range(n):
            buckets[i] += vals[5 + i]
    return out


def _grouped_sets(
    sliced: Sliced,
    as_of: dt.date,
    sets: Sequence[OpenSet],
    *,
    bounds: Sequence[int],
    over_days: int,
) -> list[dict[SliceKey, OpenAgg]]:
    """`open_item_sets()` in one statement on PostgreSQL: the open items selected once and grouped by
    GROUPING SETS, one grouping per distinct (key, months) of the sets, with one bucket column per
    distinct basis; GROUPING() tells the rows of each grouping apart (a slice key may itself be NULL)."""
    months = any(s.months for s in sets)
    extra = f", {_month('i.invoice_date')} AS m, {_days('i.invoice_date')} AS dn" if months else ""
    head, params = _open_cte(sliced, as_of, extra)
    groupings = list(dict.fromkeys((s.key, s.months) for s in sets))
    columns = list(dict.fromkeys(s.key for s in sets)) + (["m"] if months else [])
    bases = list(dict.fromkeys(s.basis for s in sets if s.buckets))
    money = "CAST(SUM({}) AS BIGINT)"
    select = [
        f"GROUPING({', '.join(columns)})",
        *columns,
        "currency",
        money.format("amt"),
        money.format("CASE WHEN due_date >= %s THEN amt ELSE 0 END"),
        money.format("CASE WHEN due_date < %s THEN amt ELSE 0 END"),
        "COUNT(*)",
    ]
    params += [as_of, _minus_days(as_of, over_days)]
    if months:
        select.append("SUM((%s - dn) * amt)")
        params.append(_day_number(as_of))
    cases, widths = [], {}
    for j, basis in enumerate(bases):
        ref, cuts = _cuts(as_of, bounds, basis)
        widths[basis] = len(cuts) + 1
        whens = " ".join(f"WHEN {ref} >= %s THEN {i}" for i in range(len(cuts)))
        cases.append(f"CASE {whens} ELSE {len(cuts)} END AS b{j}" if cuts else f"0 AS b{j}")
        select += [money.format(f"CASE WHEN b{j} = {i} THEN amt ELSE 0 END") for i in range(len(cuts) + 1)]
        params += cuts
    source = f"(SELECT o.*{''.join(', ' + c for c in cases)} FROM o) t"  # noqa: S608
    grouping_sets = ", ".join(
        "(" + ", ".join([key, "currency"] + (["m"] if with_months else [])) + ")"
        for key, with_months in groupings
    )
    sql = f"{head}SELECT {', '.join(select)}\nFROM {source}\nGROUP BY GROUPING SETS ({grouping_sets})"
    first = 1 + len(columns) + 1  # the sums start after GROUPING(), the columns and the currency
    offsets, at = {}, first + 4 + (1 if months else 0)
    for basis in bases:
        offsets[basis], at = at, at + widths[basis]
    out: list[dict[SliceKey, OpenAgg]] = [{} for _ in sets]
    # per GROUPING() value (a bit, leftmost column highest, for each column its grouping does not group
    # by): where its key and month are, and the sets it feeds with their bucket widths and offsets
    plans: dict[int, tuple[int, int, list[tuple[dict[SliceKey, OpenAgg], int, int, bool]]]] = {}
    for key, with_months in groupings:
        grouped = {key, "m"} if with_months else {key}
        bits = sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in grouped)
        feeds = [
            (out[t], widths[s.basis] if s.buckets else 0, offsets.get(s.basis, 0), s.months)
            for t, s in enumerate(sets)
            if (s.key, s.months) == (key, with_months)
        ]
        plans[bits] = (1 + columns.index(key), 1 + columns.index("m") if with_months else 0, feeds)
    for row in _run(sql, params):  # every sum is a BIGINT but the age-weighted one (numeric)
        key_at, month_at, feeds = plans[int(row[0])]
        slice_key = (_key(row[key_at]), row[first - 1])
        for into, n, offset, with_months in feeds:
            agg = into.get(slice_key)
            if agg is None:
                agg = into[slice_key] = OpenAgg(buckets=[0] * n)
            agg.open_ar += row[first]
            agg.current += row[first + 1]
            agg.over_90 += row[first + 2]
            agg.open_invoices += row[first + 3]
            if with_months:
                month = row[month_at]
                agg.age_x_open[month] = agg.age_x_open.get(month, 0) + _int(row[first + 4])
            for i in range(n):
                agg.buckets[i] += row[offset + i]
    return out


def open_items(
    sliced: Sliced,
    as_of: dt.date,
    *,
    bounds: Sequence[int],
    basis: Basis = "due",
    over_days: int = 90,
    detail: bool = True,
    months: bool = True,
) -> dict[SliceKey, OpenAgg]:
    """Open AR at the end of `as_of` per (slice, currency): total, current (due on or after `as_of`),
    over `over_days` past due, and with `detail` the aging buckets and (unless `months=False`) the
    age-weighted sums by invoice month (for true DSO)."""
    chosen = OpenSet(basis=basis, buckets=detail, months=detail and months)
    return open_item_sets(sliced, as_of, [chosen], bounds=bounds, over_days=over_days)[0]


@dataclass
class OpenItem:
    invoice_id: int
    number: str
    customer_id: int
    key: str | None
    currency: str
    invoice_date: dt.date
    due_date: dt.date
    amount_minor: int
    open_minor: int


def open_item_rows(sliced: Sliced, as_of: dt.date, *, limit: int | None = None) -> list[OpenItem]:
    """The invoices open at the end of `as_of` (for drilling from a bucket to invoices), oldest due
    first. `limit` caps the rows returned."""
    extra = ", i.id AS invoice_id, i.number AS number, i.customer_id AS customer_id, i.amount_minor AS amount"
    head, params = _open_cte(sliced, as_of, extra)
    tail = "SELECT invoice_id, number, customer_id, k, currency, invoice_date, due_date, amount, amt FROM o"
    sql = f"{head}{tail} ORDER BY due_date, invoice_id"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(int(limit))
    rows = _run(sql, params)
    return [
        OpenItem(
            invoice_id=r[0],
            number=r[1],
            customer_id=r[2],
            key=_key(r[3]),
            currency=r[4],
            invoice_date=_date(r[5]),
            due_date=_date(r[6]),
            amount_minor=_int(r[7]),
            open_minor=_int(r[8]),
        )
        for r in rows
    ]


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


# --- sales ---------------------------------------------------------------------------------------------


@dataclass
class SalesAgg:
    window: int = 0
    by_month: dict[str, int] = field(default_factory=dict)


def sales(
    sliced: Sliced, as_of: dt.date, *, window_start: dt.date, since: dt.date
) -> dict[SliceKey, SalesAgg]:
    """Credit sales (invoices issued, less those cancelled on or before `as_of`) per (slice, currency):
    in the window (`window_start`, `as_of`] and by calendar month from `since` (give a first of month so
    the earliest month is whole) to `as_of`."""
    inv = _t(Invoice)
    lower = min(since, window_start)
    sql = f"""
WITH c AS ({sliced.sql})
SELECT k, currency, {_month("d")}, SUM(amt), SUM(CASE WHEN d > %s THEN amt ELSE 0 END)
FROM (
  SELECT c.k AS k, i.currency AS currency, i.invoice_date AS d, SUM(i.amount_minor) AS amt
  FROM {inv} i JOIN c ON c.id = i.customer_id
  WHERE {_ni("i.invoice_date")} >= %s AND {_ni("i.invoice_date")} <= %s
    AND (i.cancelled_on IS NULL OR i.cancelled_on > %s)
  GROUP BY c.k, i.currency, i.invoice_date
) t
GROUP BY k, currency, {_month("d")}
"""  # noqa: S608 - summed by day first: the month key is formatted once per day, not once per invoice
    params = [*sliced.params, window_start, lower, as_of, as_of]
    out: dict[SliceKey, SalesAgg] = {}
    for k, currency, month, total, window in _run(sql, params):
        agg = out.setdefault((_key(k), currency), SalesAgg())
        agg.window += _int(window)
        agg.by_month[month] = agg.by_month.get(month, 0) + _int(total)
    return out


def window_sales(sliced: Sliced, as_of: dt.date, *, window_start: dt.date) -> dict[SliceKey, int]:
    """Credit sales in the window (`window_start`, `as_of`] per (slice, currency): `sales()`'s `window`
    figure (invoices issued, less those cancelled on or before `as_of`) without the months before the
    window that countback and true DSO read."""
    inv = _t(Invoice)
    sql = f"""
WITH c AS ({sliced.sql})
SELECT c.k, i.currency, SUM(i.amount_minor)
FROM {inv} i JOIN c ON c.id = i.customer_id
WHERE {_ni("i.invoice_date")} > %s AND {_ni("i.invoice_date")} <= %s
  AND (i.cancelled_on IS NULL OR i.cancelled_on > %s)
GROUP BY c.k, i.currency
"""  # noqa: S608
    params = [*sliced.params, window_start, as_of, as_of]
    return {(_key(k), cur): _int(s) for k, cur, s in _run(sql, params)}


# --- write-offs, payments ------------------------------------------------------------------------------


def write_offs(sliced: Sliced, start: dt.date, end: dt.date) -> dict[SliceKey, int]:
    """Write-offs net of their reversals dated in (`start`, `end`] per (slice, currency)."""
    sql = f"""
WITH c AS ({sliced.sql})
SELECT c.k, i.currency, SUM(w.amount_minor)
FROM {_t(WriteOff)} w JOIN {_t(Invoice)} i ON i.id = w.invoice_id JOIN c ON c.id = i.customer_id
WHERE w.written_off_on > %s AND w.written_off_on <= %s
GROUP BY c.k, i.currency
"""  # noqa: S608
    return {(_key(k), cur): _int(s) for k, cur, s in _run(sql, [*sliced.params, start, end])}


@dataclass
class PaidAgg:
    count: int = 0
    amount: int = 0
    days: int = 0
    days_x_amount: int = 0
    late_x_amount: int = 0


def paid_invoices(sliced: Sliced, start: dt.date, end: dt.date) -> dict[SliceKey, PaidAgg]:
    """Invoices paid in full in the window (`start`, `end`], per (slice, currency).

    Paid in full as of `end`: the applications (cash or credits) dated on or before `end` add up to the
    invoice amount (so nothing is open or written off), and the invoice is not cancelled. Its paid date
    is the latest application dated on or before `end`, which must fall in the window. Sums: count,
    amount, days to pay (paid - invoice date), days to pay x amount, days late (paid - due) x amount."""
    app, inv = _t(Application), _t(Invoice)
    sql = f"""
WITH c AS ({sliced.sql}),
p AS (
  SELECT a.invoice_id AS invoice_id, SUM(a.amount_minor) AS s, MAX(a.applied_date) AS paid_on
  FROM {app} a
  WHERE {_ni("a.applied_date")} <= %s
    AND a.invoice_id IN (SELECT invoice_id FROM {app} WHERE applied_date > %s AND applied_date <= %s)
  GROUP BY a.invoice_id
)
SELECT k, currency, COUNT(*), SUM(amount), SUM(dtp), SUM(dtp * amount), SUM(late * amount)
FROM (
  SELECT c.k AS k, i.currency AS currency, i.amount_minor AS amount,
         {_days("p.paid_on")} - {_days("i.invoice_date")} AS dtp,
         {_days("p.paid_on")} - {_days("i.due_date")} AS late
  FROM p JOIN {inv} i ON i.id = p.invoice_id JOIN c ON c.id = i.customer_id
  WHERE p.s = i.amount_minor AND p.paid_on > %s AND (i.cancelled_on IS NULL OR i.cancelled_on > %s)
) t
GROUP BY k, currency
"""  # noqa: S608
    params = [*sliced.params, end, start, end, start, end]
    return {
        (_key(k), cur): PaidAgg(_int(n), _int(a), _int(d), _int(dxa), _int(lxa))
        for k, cur, n, a, d, dxa, lxa in _run(sql, params)
    }


Unapplied = tuple[dict[SliceKey, int], dict[SliceKey, int]]  # (unapplied cash, open credits)


def unapplied(sliced: Sliced, as_of: dt.date) -> Unapplied:
    """Unapplied cash and open (unapplied) credit memos at the end of `as_of` per (slice, currency),
    attributed to the customer that paid or was credited. A payment reversed on or before `as_of` holds
    nothing."""
    return unapplied_sets(sliced, as_of)[0]


def unapplied_sets(sliced: Sliced, as_of: dt.date) -> list[Unapplied]:
    """`unapplied()` keyed by the slice key k and, when `sliced` has one, by its second key k2 as well
    (one pass: grouped by both keys, summed up in Python)."""
    app = _t(Application)
    keys = "c.k, c.k2" if sliced.also else "c.k"
    pay_sql = f"""
WITH c AS ({sliced.sql}),
pa AS (SELECT payment_id, SUM(amount_minor) AS s FROM {app}
       WHERE applied_date > %s AND payment_id IS NOT NULL GROUP BY {_ni("payment_id")})
SELECT {keys}, p.currency,
       SUM(CASE WHEN p.reversed_on IS NULL THEN p.unapplied_minor ELSE p.amount_minor END + COALESCE(pa.s, 0))
FROM {_t(Payment)} p JOIN c ON c.id = p.customer_id LEFT JOIN pa ON pa.payment_id = p.id
WHERE {_ni("p.payment_date")} <= %s AND (p.reversed_on IS NULL OR p.reversed_on > %s)
  AND (p.unapplied_minor > 0 OR pa.s IS NOT NULL OR p.reversed_on IS NOT NULL)
GROUP BY {keys}, p.currency
"""  # noqa: S608
    credit_sql = f"""
WITH c AS ({sliced.sql}),
ca AS (SELECT credit_memo_id, SUM(amount_minor) AS s FROM {app}
       WHERE applied_date > %s AND credit_memo_id IS NOT NULL GROUP BY {_ni("credit_memo_id")})
SELECT {keys}, m.currency, SUM(m.unapplied_minor + COALESCE(ca.s, 0))
FROM {_t(CreditMemo)} m JOIN c ON c.id = m.customer_id LEFT JOIN ca ON ca.credit_memo_id = m.id
WHERE {_ni("m.memo_date")} <= %s AND (m.unapplied_minor > 0 OR ca.s IS NOT NULL)
GROUP BY {keys}, m.currency
"""  # noqa: S608
    n_keys = 2 if sliced.also else 1
    pay_rows = _run(pay_sql, [*sliced.params, as_of, as_of, as_of])
    credit_rows = _run(credit_sql, [*sliced.params, as_of, as_of])
    out: list[Unapplied] = []
    for i in range(n_keys):
        cash: dict[SliceKey, int] = {}
        credits: dict[SliceKey, int] = {}
        for rows, into in ((pay_rows, cash), (credit_rows, credits)):
            for row in rows:
                key = (_key(row[i]), row[n_keys])
                into[key] = into.get(key, 0) + _int(row[n_keys + 1])
        out.append(({k: v for k, v in cash.items() if v}, {k: v for k, v in credits.items() if v}))
    return out
