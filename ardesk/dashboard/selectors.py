"""What the KPI pages show, composed from the metrics selectors (the dashboard reads, never writes).

Every figure comes from `ardesk.metrics.selectors` (`kpis`, `aging`, `open_items`, `period_ends`) called
with the user, so a collector gets their portfolio's numbers and a manager their team's. Currencies are
never added together: one row (or tile set) per currency, or everything translated into the base
currency when the metrics engine is asked for it (`currency_mode="base"`).

**Reads are memoised.** A `Reader` computes each (as-of date, slicing) once per request, and keeps the
result in Django's cache under a key made of the options and a fingerprint of the data the figures
depend on: the exact set of customers in scope after the filters (count, sum, min and max of their ids),
the latest audit row (every ledger write records one in its own transaction) and the FX rates. Any
posting changes the key, so a cached figure is never served after the ledger it came from has changed;
`ARDESK_DASHBOARD_CACHE_SECONDS` (default 300; 0 turns the cache off) bounds what the fingerprint cannot
see (an admin edit of an FX rate in place, two transactions committing out of id order). The pages
therefore render from the cache on a quiet ledger and recompute after each posting.

**Snapshots serve what they hold.** Before computing KPI rows, the reader asks the metrics snapshots
(`metrics.snapshots.kpis_from_snapshot`): month ends (the trend) and recent days (the overview's
comparison date, one window back) are read from `KpiSnapshot` rows when a snapshot holds them with these
options and scope and the ledger has not changed under it since its last refresh (the change feed, read
once per request); anything else is computed, so a page shows the same figures either way. The overview
computes its as-of figures and the aging by customer in one pass (`metrics.selectors.kpis_and_aging`),
taking the beginning AR from the comparison date's row. `ARDESK_DASHBOARD_SNAPSHOTS = False` computes
everything from the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from ardesk.core.models import AuditLog, CollectorProfile
from ardesk.core.money import Money, format_minor
from ardesk.core.roles import roles_of
from ardesk.ledger.models import FxRate
from ardesk.ledger.selectors import customer_scope_q, customers_for_user
from ardesk.metrics import definitions as d
from ardesk.metrics import queries as mq
from ardesk.metrics import selectors as ms
from ardesk.metrics import snapshots as sn
from ardesk.metrics.selectors import AgingRow, CurrencyMode, KpiRow

T = TypeVar("T")
Kind = Literal["money", "days", "pct"]
Good = Literal["up", "down"] | None

AGING_DIMENSIONS = [
    ("customer", "Customer"),
    ("parent", "Parent customer"),
    ("collector", "Collector"),
    ("team", "Team"),
    ("territory", "Territory"),
    ("title", "Title"),
    ("tier", "Tier"),
    ("region", "Region"),
    ("industry", "Industry"),
    ("segment", "Segment"),
    ("entity", "Entity"),
    ("currency", "Currency"),
]
DIMENSION_LABELS = dict(AGING_DIMENSIONS)
TREND_MONTHS = 12
TOP_PAST_DUE = 10
DRILL_LIMIT = 500
ALL = "*"  # drill key of a total row
NULL = "~"  # drill key of the slice whose key is NULL (no collector, no team)


# --- options -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The options every KPI report states: as-of date, window, basis, currency mode, entity, filters."""

    as_of: dt.date
    window_days: int = d.DEFAULT_WINDOW_DAYS
    basis: d.Basis = "due"
    currency_mode: CurrencyMode = "currency"
    entity: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    bounds: tuple[int, ...] = d.DEFAULT_BOUNDS
    base_currency: str = "USD"

    @property
    def previous(self) -> dt.date:
        """The comparison date: the same day one window earlier (the start of the window)."""
        return self.as_of - dt.timedelta(days=self.window_days)

    @property
    def bucket_labels(self) -> list[str]:
        return d.bucket_labels(self.bounds, self.basis)

    def with_filters(self, **extra: Any) -> Options:
        return Options(
            as_of=self.as_of,
            window_days=self.window_days,
            basis=self.basis,
            currency_mode=self.currency_mode,
            entity=self.entity,
            filters={**self.filters, **extra},
            bounds=self.bounds,
            base_currency=self.base_currency,
        )

    def scope_kwargs(self) -> dict[str, Any]:
        return {"entity": self.entity, "filters": dict(self.filters) or None}

    def token(self) -> str:
        return json.dumps(
            [
                self.window_days,
                self.basis,
                self.currency_mode,
                self.entity,
                sorted(self.filters.items()),
                list(self.bounds),
                self.base_currency,
            ],
            default=str,
        )


def cache_seconds() -> int:
    return int(getattr(settings, "ARDESK_DASHBOARD_CACHE_SECONDS", 300))


def snapshots_enabled() -> bool:
    """Whether the pages read KPI figures from fresh snapshots (`ARDESK_DASHBOARD_SNAPSHOTS`, default on;
    off computes every figure from the ledger, for comparisons)."""
    return bool(getattr(settings, "ARDESK_DASHBOARD_SNAPSHOTS", True))


class Reader:
    """The metrics selectors for one user and one set of options, each result computed once."""

    def __init__(self, user: Any, opts: Options) -> None:
        self.user = user
        self.opts = opts
        self._memo: dict[str, Any] = {}
        self._fingerprint: str | None = None
        self._fresh: dict[str, sn.Freshness] = {}
        self._unsnapped: set[tuple[dt.date, str | None]] = set()  # no snapshot holds these

    def fingerprint(self) -> str:
        """The data the figures depend on (one query): the customers in scope after the filters, the
        latest audit row, the FX rates."""
        if self._fingerprint is None:
            sliced = mq.customer_dimension(customer_scope_q(self.user), None, **self.opts.scope_kwargs())
            qn = connection.ops.quote_name
            audit, fx = qn(AuditLog._meta.db_table), qn(FxRate._meta.db_table)
            sql = (
                "SELECT COUNT(*), COALESCE(SUM(s.id), 0), MIN(s.id), MAX(s.id), "  # noqa: S608
                f"(SELECT MAX(id) FROM {audit}), (SELECT MAX(id) FROM {fx}), (SELECT COUNT(*) FROM {fx}) "
                f"FROM ({sliced.sql}) s"
            )
            with connection.cursor() as cur:
                cur.execute(sql, list(sliced.params))
                row = cur.fetchone()
            roles = sorted(roles_of(self.user))
            self._fingerprint = json.dumps(
                [getattr(self.user, "pk", None), roles, list(row or ())], default=str
            )
        return self._fingerprint

    def _key(self, name: str, args: Sequence[Any]) -> tuple[str, str]:
        local = json.dumps([name, list(args)], default=str)
        if cache_seconds() <= 0:
            return local, ""
        raw = json.dumps([self.fingerprint(), self.opts.token(), local])
        return local, "ardesk:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()

    def _peek(self, name: str, args: Sequence[Any]) -> Any:
        """The memoised or cached value, None when there is none."""
        local, key = self._key(name, args)
        if local in self._memo:
            return self._memo[local]
        value = cache.get(key) if key else None
        if value is not None:
            self._memo[local] = value
        return value

    def _store(self, name: str, args: Sequence[Any], value: Any) -> None:
        local, key = self._key(name, args)
        self._memo[local] = value
        if key:
            cache.set(key, value, cache_seconds())

    def _read(self, name: str, args: Sequence[Any], compute: Callable[[], T]) -> T:
        value = self._peek(name, args)
        if value is None:
            value = compute()
            self._store(name, args, value)
        return value

    def _kpi_options(self) -> dict[str, Any]:
        o = self.opts
        return {
            "window_days": o.window_days,
            "basis": o.basis,
            "bounds": list(o.bounds),
            "currency_mode": o.currency_mode,
            **o.scope_kwargs(),
        }

    def _from_snapshot(self, as_of: dt.date, by: str | None) -> list[KpiRow] | None:
        """The KPI rows of a fresh snapshot (identical to the live computation), None when no snapshot
        answers them. The change feed is read once per reader."""
        if not snapshots_enabled() or (as_of, by) in self._unsnapped:
            return None
        return sn.kpis_from_snapshot(self.user, as_of, by, fresh=self._freshness, **self._kpi_options())

    def prefetch_kpis(self, points: Sequence[dt.date], by: str | None = None) -> None:
        """Read the KPI rows of every point a fresh snapshot holds in one look-up (a trend), so that
        `kpis()` computes only the others."""
        todo = [p for p in points if self._peek("kpis", [p, by]) is None]
        if not todo or not snapshots_enabled():
            return
        served = sn.kpis_from_snapshots(self.user, todo, by, fresh=self._freshness, **self._kpi_options())
        for p in todo:
            if p in served:
                self._store("kpis", [p, by], served[p])
            else:
                self._unsnapped.add((p, by))

    def _freshness(self, grains: set[str]) -> dict[str, sn.Freshness]:
        missing = grains - set(self._fresh)
        if missing:
            self._fresh.update(sn.freshness(missing))
        return self._fresh

    def kpis(self, as_of: dt.date, by: str | None = None) -> list[KpiRow]:
        """`metrics.selectors.kpis()`: from a fresh snapshot when one holds the figures (month ends,
        recent days), computed from the ledger otherwise."""

        def compute() -> list[KpiRow]:
            rows = self._from_snapshot(as_of, by)
            return rows if rows is not None else ms.kpis(self.user, as_of, by, **self._kpi_options())

        return self._read("kpis", [as_of, by], compute)

    def kpis_and_aging(
        self, as_of: dt.date, by: str | None, aging_by: str, aging_basis: d.Basis, top: int | None = None
    ) -> tuple[list[KpiRow], list[AgingRow]]:
        """`kpis(as_of, by)` and `aging(as_of, aging_by, aging_basis, top)`; computed from the ledger, the
        two share one pass over the items open at `as_of` (`metrics.selectors.kpis_and_aging`)."""
        aging_key = [as_of, aging_by, aging_basis] + ([] if top is None else [top])
        aging_name = "aging" if top is None else "aging_top"
        rows = self._peek("kpis", [as_of, by])
        if rows is None:
            rows = self._from_snapshot(as_of, by)
            if rows is not None:
                self._store("kpis", [as_of, by], rows)
        if rows is not None:
            return rows, self.aging(as_of, aging_by, aging_basis, top)
        aged = self._peek(aging_name, aging_key)
        if aged is not None:
            return self.kpis(as_of, by), aged
        start = as_of - dt.timedelta(days=self.opts.window_days)
        beginning = self._peek("kpis", [start, by])  # the window's first day (the overview has it)
        rows, aged = ms.kpis_and_aging(
            self.user,
            as_of,
            by,
            aging_by=aging_by,
            aging_basis=aging_basis,
            beginning=beginning,
            aging_top=top,
            **self._kpi_options(),
        )
        self._store("kpis", [as_of, by], rows)
        self._store(aging_name, aging_key, aged)
        return rows, aged

    def aging(
        self, as_of: dt.date, by: str | None = None, basis: d.Basis | None = None, top: int | None = None
    ) -> list[AgingRow]:
        """`metrics.selectors.aging()`; with `top`, the slices with the largest past-due amounts only."""
        o = self.opts
        chosen = basis or o.basis
        return self._read(
            "aging" if top is None else "aging_top",
            [as_of, by, chosen] + ([] if top is None else [top]),
            lambda: ms.aging(
                self.user,
                as_of,
                by,
                basis=chosen,
                bounds=list(o.bounds),
                currency_mode=o.currency_mode,
                top=top,
                **o.scope_kwargs(),
            ),
        )


# --- display helpers -------------------------------------------------------------------------------


def signed_money(minor: int, currency: str) -> str:
    sign = "+" if minor > 0 else "-" if minor < 0 else ""
    return f"{sign}{format_minor(abs(minor), currency)} {currency}"


def major(minor: int | None, currency: str) -> Decimal | None:
    return None if minor is None else Money(int(minor), currency).amount


def _currency_order(currencies: Iterable[str], base: str) -> list[str]:
    return sorted(set(currencies), key=lambda c: (c != base, c))


# --- the AR overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One KPI tile: its value as of the date, the value a window earlier, and the change."""

    key: str
    label: str
    kind: Kind
    currency: str
    value: int | Decimal | None
    previous: int | Decimal | None
    good: Good = None
    note: str = ""

    @property
    def change(self) -> int | Decimal | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def direction(self) -> str:
        """ "better", "worse" or "" (no change, no judgement, or no comparison) for the change's colour."""
        change = self.change
        if not change or self.good is None:
            return ""
        return "better" if (change > 0) == (self.good == "up") else "worse"

    @property
    def number(self) -> str:
        if self.value is None:
            return "–"
        if self.kind == "money":
            return format_minor(int(self.value), self.currency)
        return str(self.value)

    @property
    def unit(self) -> str:
        if self.value is None:
            return ""
        return {"money": f" {self.currency}", "days": " days", "pct": "%"}[self.kind]

    @property
    def text(self) -> str:
        return self.number + self.unit

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            return "–"
        if self.kind == "money":
            return signed_money(int(change), self.currency)
        signed = f"{change:+}" if change else f"{change}"
        return f"{signed} days" if self.kind == "days" else f"{signed} pts"

    def export_value(self, value: int | Decimal | None) -> Decimal | None:
        if value is None:
            return None
        return major(int(value), self.currency) if self.kind == "money" else Decimal(value)


TILES: tuple[tuple[str, str, Kind, Good], ...] = (
    ("open_ar", "Open AR", "money", None),
    ("past_due", "Past due", "money", "down"),
    ("pct_past_due", "% past due", "pct", "down"),
    ("pct_over_90", "% over 90", "pct", "down"),
    ("dso", "DSO", "days", "down"),
    ("best_possible_dso", "Best Possible DSO", "days", None),
    ("add", "ADD", "days", "down"),
    ("cei", "CEI", "pct", "up"),
    ("adp", "ADP", "days", "down"),
    ("unapplied_cash", "Unapplied cash", "money", "down"),
)


def tiles(row: KpiRow, previous: KpiRow | None) -> list[Tile]:
    out = []
    for key, label, kind, good in TILES:
        value = getattr(row, key)
        before = getattr(previous, key) if previous is not None else (0 if kind == "money" else None)
        note = ""
        if key == "adp" and row.adp_weighted is not None:
            note = f"weighted {row.adp_weighted} days"
        elif key == "cei":
            note = f"{row.window_days}-day period"
        elif key == "open_ar":
            note = f"{row.open_invoices:,} open invoice{'s' if row.open_invoices != 1 else ''}"
        out.append(Tile(key, label, kind, row.currency, value, before, good, note))
    return out


@dataclass(frozen=True)
class TopRow:
    customer_id: int
    label: str
    buckets: tuple[int, ...]  # due-date basis
    open_ar: int
    past_due: int
    pct_past_due: Decimal | None


@dataclass(frozen=True)
class Panel:
    """The overview of one currency."""

    currency: str
    row: KpiRow
    previous: KpiRow | None
    tiles: list[Tile]
    top_past_due: list[TopRow]

    @property
    def aging_lines(self) -> list[tuple[str, int]]:
        return list(zip(self.row.bucket_labels, self.row.buckets, strict=True))

    def chart(self, labels: Sequence[str], basis: str) -> dict[str, Any]:
        """Aging bar data: exact decimal strings in major units (the browser only draws them)."""
        return {
            "type": "aging",
            "key": self.currency,
            "currency": self.currency,
            "labels": list(labels),
            "values": [str(major(v, self.currency)) for v in self.row.buckets],
            "title": "days past due" if basis == "due" else "days since invoice",
        }


@dataclass(frozen=True)
class Overview:
    opts: Options
    panels: list[Panel]

    @property
    def due_labels(self) -> list[str]:
        """The bucket labels of the top past-due table (always on due date)."""
        return d.bucket_labels(self.opts.bounds, "due")

    @property
    def charts(self) -> list[dict[str, Any]]:
        return [p.chart(self.opts.bucket_labels, self.opts.basis) for p in self.panels]


def top_past_due(reader: Reader, currency: str, limit: int = TOP_PAST_DUE) -> list[TopRow]:
    """The customers with the largest past-due amount (due-date basis, whatever the report's basis)."""
    rows = []
    for r in reader.aging(reader.opts.as_of, "customer", basis="due", top=limit):
        past_due = r.open_ar - r.buckets[0]
        if r.currency == currency and past_due > 0 and r.key:
            pct = d.pct_past_due(past_due, r.open_ar)
            rows.append(TopRow(int(r.key), r.label, r.buckets, r.open_ar, past_due, pct))
    rows.sort(key=lambda t: (-t.past_due, t.label.casefold()))
    return rows[:limit]


def overview(user: Any, opts: Options, reader: Reader | None = None) -> Overview:
    """The AR overview: KPI tiles per currency with their change since the same day a window earlier,
    the aging (in the tiles' row) and the top past-due customers."""
    reader = reader or Reader(user, opts)
    # a window earlier: a daily snapshot when a fresh one holds it; its open AR is the beginning AR
    before = {r.currency: r for r in reader.kpis(opts.previous)}
    # as of the date: from the ledger unless a fresh snapshot holds it, in one pass with the aging
    current, _top = reader.kpis_and_aging(opts.as_of, None, "customer", "due", top=TOP_PAST_DUE)
    now = {r.currency: r for r in current}
    panels = [
        Panel(cur, now[cur], before.get(cur), tiles(now[cur], before.get(cur)), top_past_due(reader, cur))
        for cur in _currency_order(now, opts.base_currency)
    ]
    return Overview(opts=opts, panels=panels)


# --- trends ----------------------------------------------------------------------------------------------


def months_back(as_of: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before `as_of`'s month."""
    index = as_of.year * 12 + as_of.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class TrendSeries:
    """One currency's monthly values of some KPIs (None where undefined)."""

    currency: str
    dates: list[dt.date]
    values: dict[str, list[Decimal | None]]

    def rows(self) -> list[tuple[dt.date, list[Decimal | None]]]:
        return [(day, [self.values[m][i] for m in self.values]) for i, day in enumerate(self.dates)]


def trend(reader: Reader, metrics: Sequence[str], months: int = TREND_MONTHS) -> list[TrendSeries]:
    """Monthly values (month ends, and the as-of date itself) over the last `months` months, per
    currency. One `kpis()` per point serves every metric (the metrics `trend()` would compute each
    point once per metric), and the last point is the overview's own as-of figure."""
    as_of = reader.opts.as_of
    points = ms.period_ends(months_back(as_of, months), as_of, "month")
    reader.prefetch_kpis(points)  # the month ends the snapshots hold; the others are computed
    by_point = [{r.currency: r for r in reader.kpis(p)} for p in points]
    currencies = _currency_order((c for rows in by_point for c in rows), reader.opts.base_currency)
    series = []
    for cur in currencies:
        if not any(cur in rows and rows[cur].open_ar for rows in by_point):
            continue
        values = {m: [getattr(rows[cur], m) if cur in rows else None for rows in by_point] for m in metrics}
        series.append(TrendSeries(cur, points, values))
    return series


TREND_LABELS = {
    "dso": ("DSO", "days"),
    "cei": ("CEI", "%"),
    "adp": ("ADP", "days"),
    "avg_days_late": ("Avg days late", "days"),
    "pct_past_due": ("% past due", "%"),
}


def trend_charts(series: Sequence[TrendSeries]) -> list[dict[str, Any]]:
    return [
        {
            "type": "line",
            "key": f"{s.currency}:{metric}",
            "currency": s.currency,
            "metric": metric,
            "title": TREND_LABELS[metric][0],
            "unit": TREND_LABELS[metric][1],
            "x": [p.isoformat() for p in s.dates],
            "y": [None if v is None else str(v) for v in values],
        }
        for s in series
        for metric, values in s.values.items()
    ]


# --- the aging report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingTotal:
    currency: str
    buckets: list[int]
    open_ar: int
    unapplied_cash: int
    open_credits: int
    open_invoices: int

    @property
    def net_ar(self) -> int:
        return self.open_ar - self.unapplied_cash - self.open_credits


@dataclass(frozen=True)
class AgingReport:
    opts: Options
    by: str
    rows: list[AgingRow]
    totals: list[AgingTotal]

    @property
    def by_label(self) -> str:
        return DIMENSION_LABELS.get(self.by, self.by)


def aging_report(reader: Reader, by: str, sort: str = "label") -> AgingReport:
    """The aging by `by`, one row per slice and currency, with a total per currency (the sum of its rows,
    so the table adds up; the buckets of every row add up to its open AR). `sort`: "label", "open_ar",
    "net_ar" or a bucket "b0", "b1"... (descending with a leading "-"), within each currency."""
    rows = reader.aging(reader.opts.as_of, by)
    currencies = _currency_order((r.currency for r in rows), reader.opts.base_currency)
    desc, name = sort.startswith("-"), sort.lstrip("-")

    def value(r: AgingRow) -> Any:
        if name.startswith("b") and name[1:].isdigit() and int(name[1:]) < len(r.buckets):
            return r.buckets[int(name[1:])]
        return r.label.casefold() if name not in ("open_ar", "net_ar") else getattr(r, name)

    ordered: list[AgingRow] = []
    totals = []
    for cur in currencies:
        mine = [r for r in rows if r.currency == cur]
        ordered.extend(sorted(mine, key=value, reverse=desc))
        totals.append(
            AgingTotal(
                currency=cur,
                buckets=[sum(col) for col in zip(*(r.buckets for r in mine), strict=True)],
                open_ar=sum(r.open_ar for r in mine),
                unapplied_cash=sum(r.unapplied_cash for r in mine),
                open_credits=sum(r.open_credits for r in mine),
                open_invoices=sum(r.open_invoices for r in mine),
            )
        )
    return AgingReport(opts=reader.opts, by=by, rows=ordered, totals=totals)


def aging_sorts(bounds: Sequence[int], basis: d.Basis) -> tuple[str, ...]:
    n = len(d.bucket_labels(bounds, basis))
    return ("label", "open_ar", "net_ar", *(f"b{i}" for i in range(n)))


def drill_key(key: str | None) -> str:
    return NULL if key is None else key


@dataclass(frozen=True)
class DrillGroup:
    customer_id: int
    label: str
    currency: str
    items: list[mq.OpenItem]

    @property
    def total(self) -> int:
        return sum(i.open_minor for i in self.items)


@dataclass(frozen=True)
class Drill:
    bucket_label: str
    groups: list[DrillGroup]
    count: int
    truncated: bool


def drill(user: Any, opts: Options, *, by: str, key: str, currency: str, bucket: int) -> Drill:
    """The open invoices behind one bucket amount of the aging report, grouped by customer (the drill
    from a bucket to its customers and their invoices)."""
    labels = opts.bucket_labels
    bucket = min(max(bucket, 0), len(labels) - 1)
    extra: dict[str, Any] = {}
    if key != ALL and by != "currency":
        value: Any = None if key == NULL else key
        if value is not None and by in mq.ID_DIMENSIONS:
            value = int(value) if value.isdigit() else -1
        extra[by] = value
    scoped = opts.with_filters(**extra)
    items = ms.open_items(user, opts.as_of, limit=None, **scoped.scope_kwargs())
    wanted = currency if opts.currency_mode == "currency" or by == "currency" else None
    picked = []
    for item in items:
        if wanted and item.currency != wanted:
            continue
        ref = item.due_date if opts.basis == "due" else item.invoice_date
        if d.bucket_index((opts.as_of - ref).days, opts.bounds, opts.basis) == bucket:
            picked.append(item)
    shown = picked[:DRILL_LIMIT]
    names = {
        pk: f"{acct} {name}"
        for pk, acct, name in customers_for_user(user)
        .filter(pk__in={i.customer_id for i in shown})
        .values_list("pk", "account_number", "name")
    }
    groups: dict[tuple[int, str], list[mq.OpenItem]] = {}
    for item in shown:
        groups.setdefault((item.customer_id, item.currency), []).append(item)
    out = [DrillGroup(cid, names.get(cid, str(cid)), cur, its) for (cid, cur), its in groups.items()]
    out.sort(key=lambda g: (-g.total, g.label.casefold()))
    return Drill(
        bucket_label=labels[bucket], groups=out, count=len(picked), truncated=len(picked) > len(shown)
    )


# --- collector comparison ----------------------------------------------------------------------------


COLLECTOR_SORTS = (
    "collector",
    "title",
    "team",
    "tier",
    "territory",
    "open_ar",
    "past_due",
    "pct_past_due",
    "pct_over_90",
    "dso",
    "cei",
    "add",
)


@dataclass(frozen=True)
class CollectorRow:
    key: str | None
    label: str
    title: str
    team: str
    tier: str
    territory: str
    row: KpiRow

    def sort_value(self, sort: str) -> Any:
        if sort == "collector":
            return self.label.casefold()
        if sort in ("title", "team", "tier", "territory"):
            return getattr(self, sort).casefold() or None
        return getattr(self.row, sort)


@dataclass(frozen=True)
class CollectorTable:
    opts: Options
    rows: list[CollectorRow]
    totals: list[KpiRow]  # per currency, only where the table has more than one row in that currency


def collector_table(reader: Reader, sort: str = "collector") -> CollectorTable:
    """One row per collector (and currency) in scope with their KPIs; a manager sees each member and the
    team's total, a collector only their own row."""
    rows = reader.kpis(reader.opts.as_of, "collector")
    ids = [int(r.key) for r in rows if r.key and r.key.isdigit()]
    profiles = {p.user_id: p for p in CollectorProfile.objects.filter(user_id__in=ids).select_related("team")}
    out = []
    for r in rows:
        p = profiles.get(int(r.key)) if r.key and r.key.isdigit() else None
        out.append(
            CollectorRow(
                key=r.key,
                label=r.label,
                title=p.title if p else "",
                team=p.team.name if p and p.team else "",
                tier=str(p.get_tier_display()) if p else "",
                territory=p.territory if p else "",
                row=r,
            )
        )
    order = {
        c: i for i, c in enumerate(_currency_order((r.currency for r in rows), reader.opts.base_currency))
    }
    out = sort_rows(out, sort, order)
    counts = {c: sum(1 for r in rows if r.currency == c) for c in order}
    totals = []
    if any(n > 1 for n in counts.values()):
        totals = [t for t in reader.kpis(reader.opts.as_of) if counts.get(t.currency, 0) > 1]
        totals.sort(key=lambda t: order.get(t.currency, 0))
    return CollectorTable(opts=reader.opts, rows=out, totals=totals)


def sort_rows(rows: list[CollectorRow], sort: str, order: Mapping[str, int]) -> list[CollectorRow]:
    """Sorted within each currency (amounts of two currencies are not compared); blanks last."""
    desc = sort.startswith("-")
    name = sort.lstrip("-")
    out: list[CollectorRow] = []
    for cur in order:
        mine = [r for r in rows if r.row.currency == cur]
        mine.sort(key=lambda r: r.label.casefold())
        known = [r for r in mine if r.sort_value(name) is not None]
        blank = [r for r in mine if r.sort_value(name) is None]
        known.sort(key=lambda r: r.sort_value(name), reverse=desc)
        out.extend(known + blank)
    return out


# --- a customer's own KPIs -----------------------------------------------------------------------------

CUSTOMER_TREND = ("dso", "adp", "avg_days_late", "pct_past_due")


@dataclass(frozen=True)
class CustomerPanel:
    opts: Options
    rows: list[KpiRow]
    series: list[TrendSeries]

    @property
    def series_by_currency(self) -> dict[str, TrendSeries]:
        return {s.currency: s for s in self.series}


def customer_panel(user: Any, opts: Options, customer_id: int) -> CustomerPanel:
    """The customer's own figures (not its children's) as of the date, with a monthly trend of DSO, ADP,
    average days late and % past due."""
    reader = Reader(user, opts.with_filters(customer=customer_id))
    rows = sorted(reader.kpis(opts.as_of), key=lambda r: (r.currency != opts.base_currency, r.currency))
    return CustomerPanel(opts=reader.opts, rows=rows, series=trend(reader, CUSTOMER_TREND))


def sparkline(values: Sequence[Decimal | None], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of a small trend line (blank values are skipped); drawing only."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return ""
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    span = (high - low) or Decimal(1)
    step = Decimal(width - 4) / max(len(values) - 1, 1)
    pts = []
    for i, v in known:
        x = 2 + step * i
        y = Decimal(height - 3) - (v - low) / span * (height - 6)
        pts.append(f"{x:.1f},{y:.1f}")
    return " ".join(pts)
