"""KPI snapshots: computing them, keeping them up to date as the ledger changes, and reading them.

**What is stored.** For each grain (month ends; days over a recent window), each period end P, each
configured dimension ("" = the whole book, collector, territory, customer...) and each slice key and
currency: the row `selectors.kpis(SYSTEM, P, by=dimension)` returns, with the default options (window,
aging bounds of the organization, due-date basis, countback months), plus the receipts dated in the
window (`cash_collected`). `kpis_from_snapshot()` rebuilds those `KpiRow`s exactly; `trend_from_snapshots`
is `selectors.trend()` served from them, computing from the ledger any point that has no snapshot.

**How a period is computed.** Once per period, at customer grain: the same statements as `kpis()` keyed
by customer; every other dimension is a sum of its customers' integer facts (sums are exact and
associative), and the ratios are computed from the summed facts by the same definitions. So one pass over
the ledger serves every dimension, and the figures equal what `kpis()` computes per dimension.

**Keeping up to date.** The ledger never calls metrics. A refresh reads what the ledger records anyway:

- new rows of the dated ledger tables (invoices, receipts, credit memos, applications, write-offs), found
  by id above the watermark: the earliest business date among them (one range statement per table; the
  bulk paths of the importer and the demo write here too, with no per-row audit);
- audit rows (written in the same transaction as every service write) of the ledger objects: a cancelled
  invoice (its cancellation date), a reversed receipt (its reversal date), any other change to a dated
  record (the record's own business date); a customer moved to another collector or territory (the old
  and new keys of that dimension, in every period); a reset of the ledger (everything).

The earliest business date D touched: every period ending on or after D is recomputed (a figure as of P
depends only on rows dated on or before P). Slice keys that changed are recomputed in every period, for
that dimension and those keys only. Periods never computed yet (a new month end) are computed; a change of
the options (aging bounds, window, dimensions) or `--full` recomputes everything.

**Watermark.** One `SnapshotWatermark` per grain: for each source, the id range already read. SQLite
serializes writers, so ids appear in order and the frontier is final at once. On PostgreSQL ids are taken
before commit and a slower transaction can commit a lower id after a refresh has read past it; so the
range between the last *settled* id (the frontier of a refresh older than `ARDESK_SNAPSHOT_SETTLE_SECONDS`,
default one hour) and the frontier is read again each time and, when its row count changed, its earliest
date is taken as touched.

**Reading: fresh snapshots only.** `kpis_from_snapshot`, `trend_from_snapshots` and `kpis_served` serve
a stored period only while it still equals the live computation: `freshness()` reads the same change feed
a refresh would (read only: the watermark is not moved), and a period ending on or after the earliest date
the ledger changed since the grain's last refresh, every period when everything must be recomputed, or a
dimension whose customers moved between slices, is computed from the ledger instead.

**Concurrency and idempotence.** A refresh holds a lease on its grain's watermark row (a conditional
UPDATE, on both databases); a second refresh finds it busy. Rows are written with an upsert on the unique
key (grain, period end, dimension, key, currency), one transaction per period, so even two refreshes
without the lease would not duplicate a row; a refresh with nothing new writes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Model, Q
from django.utils import timezone

from ardesk.core.errors import InvalidInput
from ardesk.core.models import AuditLog
from ardesk.ledger.models import Application, CreditMemo, Customer, Invoice, Payment, WriteOff
from ardesk.ledger.selectors import customer_scope_q, organization

from . import definitions as d
from . import queries as q
from . import selectors as sel
from .feed import settle_seconds
from .models import MAX_BUCKETS, Grain, KpiSnapshot, SnapshotPeriod, SnapshotWatermark

TOTAL = ""  # the dimension (and key) of the whole book
# Dimensions a snapshot can hold: the customer column each one reads (its slice key). Dimensions read
# through the collector's profile (team, title, tier) or the hierarchy (parent) are computed live.
DIMENSION_FIELDS: dict[str, str] = {
    "collector": "collector_id",
    "territory": "territory",
    "region": "region",
    "industry": "industry",
    "segment": "segment",
    "customer": "id",
    "entity": "entity_id",
}
_ID_DIMENSIONS = frozenset({"collector", "customer", "entity"})
DEFAULT_GRAINS: dict[str, dict[str, Any]] = {
    "month": {"dimensions": [TOTAL, "collector", "territory", "customer"]},
    # the window (90 days) and ten more: the overview's comparison date, the same day one window
    # earlier, is a daily snapshot
    "day": {"dimensions": [TOTAL, "collector", "territory"], "days": 100},
}
LEASE_SECONDS = 600

Progress = Callable[[str, int, int], None]  # (phase, done, total)


# --- configuration -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrainConfig:
    """What one grain snapshots: its dimensions, how many days back (None = all history), the window and
    countback months of the figures."""

    grain: str
    dimensions: tuple[str, ...]
    days: int | None = None
    window_days: int = d.DEFAULT_WINDOW_DAYS
    countback_months: int = 12


def grain_configs() -> dict[str, GrainConfig]:
    """The configured grains: `settings.ARDESK_SNAPSHOTS` (same shape as `DEFAULT_GRAINS`) or the
    defaults: month ends of the whole history by total, collector, territory and customer; the last 100
    days by total, collector and territory."""
    raw: Mapping[str, Mapping[str, Any]] = getattr(settings, "ARDESK_SNAPSHOTS", DEFAULT_GRAINS)
    out: dict[str, GrainConfig] = {}
    for grain, spec in raw.items():
        if grain not in Grain.values:
            raise InvalidInput(f"unknown snapshot grain {grain!r}; use month or day")
        dims = tuple(dict.fromkeys(spec.get("dimensions", [TOTAL])))
        for dim in dims:
            if dim != TOTAL and dim not in DIMENSION_FIELDS:
                raise InvalidInput(
                    f"dimension {dim!r} cannot be snapshotted; use {', '.join(sorted(DIMENSION_FIELDS))}"
                )
        out[grain] = GrainConfig(
            grain=grain,
            dimensions=dims,
            days=spec.get("days"),
            window_days=int(spec.get("window_days", d.DEFAULT_WINDOW_DAYS)),
            countback_months=int(spec.get("countback_months", 12)),
        )
    return out


def _stored_key(key: str | None) -> str:
    return "" if key is None else key


def _read_key(dimension: str, stored: str) -> str | None:
    """The `kpis()` key of a stored key: None for the total and for an empty id dimension."""
    if dimension == TOTAL:
        return None
    if dimension in _ID_DIMENSIONS and stored == "":
        return None
    return stored


# --- periods -------------------------------------------------------------------------------------------


def _month_end(day: dt.date) -> dt.date:
    nxt = day.replace(day=28) + dt.timedelta(days=4)
    return nxt - dt.timedelta(days=nxt.day)


def period_ends(grain: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The period ends of `grain` from the period holding `first` to the last one ending on or before
    `last` (month: month ends; day: every day)."""
    out: list[dt.date] = []
    if grain == Grain.DAY:
        day = first
        while day <= last:
            out.append(day)
            day += dt.timedelta(days=1)
        return out
    end = _month_end(first)
    while end <= last:
        out.append(end)
        end = _month_end(end + dt.timedelta(days=1))
    return out


def first_business_date() -> dt.date | None:
    """The earliest date in the ledger (invoice, receipt or credit memo), None when it is empty."""
    dates = [
        Invoice.objects.aggregate(m=Min("invoice_date"))["m"],
        Payment.objects.aggregate(m=Min("payment_date"))["m"],
        CreditMemo.objects.aggregate(m=Min("memo_date"))["m"],
    ]
    found = [x for x in dates if x is not None]
    return min(found) if found else None


def _periods_for(cfg: GrainConfig, first: dt.date | None, to: dt.date) -> list[dt.date]:
    if first is None:
        return []
    lo = first
    if cfg.days is not None:
        lo = max(lo, to - dt.timedelta(days=cfg.days - 1))
    return period_ends(cfg.grain, lo, to)


# --- computing one period --------------------------------------------------------------------------------


def cash_collected(sliced: q.Sliced, start: dt.date, end: dt.date) -> dict[q.SliceKey, int]:
    """Receipts dated in (`start`, `end`] per (slice, currency), less those reversed on or before `end`."""
    pay = q._t(Payment)
    sql = f"""
WITH c AS ({sliced.sql})
SELECT c.k, p.currency, SUM(p.amount_minor)
FROM {pay} p JOIN c ON c.id = p.customer_id
WHERE {q._ni("p.payment_date")} > %s AND {q._ni("p.payment_date")} <= %s
  AND (p.reversed_on IS NULL OR p.reversed_on > %s)
GROUP BY c.k, p.currency
"""  # noqa: S608 - quoted identifiers, values are parameters
    return {(q._key(k), cur): q._int(s) for k, cur, s in q._run(sql, [*sliced.params, start, end, end])}


@dataclass
class _Gathered:
    facts: dict[q.SliceKey, sel.Facts]
    collected: dict[q.SliceKey, int]
    months: list[tuple[str, int]]


def _gather(
    as_of: dt.date, *, scope: Q | None, bounds: Sequence[int], window_days: int, countback_months: int
) -> _Gathered:
    """The integer facts of every customer in `scope` at the end of `as_of`: the statements of
    `selectors.kpis()` keyed by customer (default basis, no baseline)."""
    sliced = q.customer_dimension(scope, "customer")
    got = sel.kpi_facts(
        sliced,
        as_of,
        window_days=window_days,
        basis="due",
        bounds=bounds,
        countback_months=countback_months,
    )
    collected = cash_collected(sliced, as_of - dt.timedelta(days=window_days), as_of)
    return _Gathered(facts=got.facts, collected=collected, months=got.months)


def _add(into: sel.Facts, f: sel.Facts) -> None:
    """`into += f` (the additive facts; no baseline)."""
    b = into.buckets
    for i, x in enumerate(f.buckets):
        b[i] += x
    into.open_ar += f.open_ar
    into.current += f.current
    into.over_90 += f.over_90
    into.open_invoices += f.open_invoices
    into.beginning_ar += f.beginning_ar
    into.sales_window += f.sales_window
    into.write_offs += f.write_offs
    into.paid_count += f.paid_count
    into.paid_amount += f.paid_amount
    into.paid_days += f.paid_days
    into.paid_days_x_amount += f.paid_days_x_amount
    into.late_x_amount += f.late_x_amount
    into.unapplied_cash += f.unapplied_cash
    into.open_credits += f.open_credits
    ax, sm = into.age_x_open, into.sales_by_month
    for m, x in f.age_x_open.items():
        ax[m] = ax.get(m, 0) + x
    for m, x in f.sales_by_month.items():
        sm[m] = sm.get(m, 0) + x


def _customer_keys(dimensions: Iterable[str], scope: Q | None = None) -> dict[str, dict[str, str]]:
    """customer id -> {dimension: stored slice key} for the customers in `scope`."""
    dims = [dim for dim in dimensions if dim not in (TOTAL, "customer")]
    cols = [DIMENSION_FIELDS[dim] for dim in dims]
    qs = Customer.objects.all() if scope is None else Customer.objects.filter(scope)
    out: dict[str, dict[str, str]] = {}
    for pk, *values in qs.order_by().values_list("id", *cols).iterator(chunk_size=20_000):
        keys = {TOTAL: "", "customer": str(pk)}
        for dim, v in zip(dims, values, strict=True):
            keys[dim] = "" if v is None else str(v)
        out[str(pk)] = keys
    return out


def _keys_q(dimension: str, keys: Iterable[str]) -> Q:
    """The customers whose slice key in `dimension` is one of the stored `keys`."""
    col = DIMENSION_FIELDS[dimension]
    wanted = set(keys)
    if dimension in _ID_DIMENSIONS:
        ids = [int(k) for k in wanted if k != ""]
        out = Q(**{f"{col}__in": ids})
        if "" in wanted:
            out |= Q(**{f"{col}__isnull": True})
        return out
    return Q(**{f"{col}__in": sorted(wanted)})


_MONEY_COLUMNS = (
    "open_invoices",
    "open_ar",
    "current",
    "past_due",
    "over_90",
    "unapplied_cash",
    "open_credits",
    "net_ar",
    "beginning_ar",
    "sales_window",
    "write_offs",
    "paid_invoices",
)
_RATIO_COLUMNS = tuple(f for f in sel.RATIO_FIELDS if f != "past_due_change_pct")
_UNIQUE = ("grain", "period_end", "dimension", "key", "currency")
_VALUE_COLUMNS = (
    *_MONEY_COLUMNS,
    *(f"bucket_{i}" for i in range(MAX_BUCKETS)),
    "cash_collected",
    "paid_amount",
    "paid_days",
    "paid_days_x_amount",
    "late_x_amount",
    *_RATIO_COLUMNS,
    "computed_at",
)


_INSERT_COLUMNS = (*_UNIQUE, *_VALUE_COLUMNS)
Row = tuple[Any, ...]  # a snapshot row in `_INSERT_COLUMNS` order, ready for the database


def _centi(value: Any) -> int | None:
    """A two-place Decimal as integer hundredths (the storage of models.CentiField)."""
    return None if value is None else int(value.scaleb(2))


def _period_rows(
    cfg: GrainConfig,
    period_end: dt.date,
    bounds: Sequence[int],
    dimensions: Sequence[str],
    *,
    scope: Q | None,
    customer_keys: dict[str, dict[str, str]],
    stamp: dt.datetime,
) -> list[Row]:
    """The snapshot rows of one period for `dimensions` (of the customers in `scope`): the facts of
    every customer, summed into each slice, and the KpiRow of each slice computed from its sums."""
    got = _gather(
        period_end,
        scope=scope,
        bounds=bounds,
        window_days=cfg.window_days,
        countback_months=cfg.countback_months,
    )
    n_buckets = len(d.bucket_labels(bounds, "due"))
    labels = tuple(d.bucket_labels(bounds, "due"))
    groups: dict[tuple[str, str, str], tuple[sel.Facts, list[int]]] = {}
    missing = [cid for cid, _ in got.facts if cid is not None and cid not in customer_keys]
    if missing:  # a customer created since the keys were read
        customer_keys.update(_customer_keys(cfg.dimensions, Q(pk__in=[int(x) for x in missing])))
    for (cid, currency), f in got.facts.items():
        keys = customer_keys[cid] if cid is not None else {}
        cash = got.collected.get((cid, currency), 0)
        for dim in dimensions:
            gk = (dim, keys.get(dim, ""), currency)
            slot = groups.get(gk)
            if slot is None:
                slot = groups[gk] = (sel.Facts(buckets=[0] * n_buckets), [0])
            _add(slot[0], f)
            slot[1][0] += cash
    ops = connection.ops
    day = ops.adapt_datefield_value(period_end)
    at = ops.adapt_datetimefield_value(stamp)
    pad = [0] * (MAX_BUCKETS - n_buckets)
    rows: list[Row] = []
    for (dim, key, currency), (f, collected) in groups.items():
        row = sel._kpi_row(
            f,
            key=_read_key(dim, key),
            label="",
            currency=currency,
            currency_mode="currency",
            as_of=period_end,
            window_days=cfg.window_days,
            basis="due",
            bucket_labels=labels,
            months=got.months,
        )
        rows.append(
            (
                cfg.grain,
                day,
                dim,
                key,
                currency,
                *(getattr(row, name) for name in _MONEY_COLUMNS),
                *row.buckets,
                *pad,
                collected[0],
                f.paid_amount,
                f.paid_days,
                f.paid_days_x_amount,
                f.late_x_amount,
                *(_centi(getattr(row, name)) for name in _RATIO_COLUMNS),
                at,
            )
        )
    return rows


def _upsert(rows: list[Row]) -> None:
    """Insert or replace snapshot rows on their unique key, inside the caller's transaction. SQLite: one
    prepared INSERT ... ON CONFLICT, executemany; PostgreSQL: COPY into a temp table, then one
    INSERT ... SELECT ... ON CONFLICT (executemany of 100k rows is several times slower there)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(KpiSnapshot._meta.db_table)
    cols = ", ".join(qn(c) for c in _INSERT_COLUMNS)
    unique = ", ".join(qn(c) for c in _UNIQUE)
    sets = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in _VALUE_COLUMNS)
    conflict = f"ON CONFLICT ({unique}) DO UPDATE SET {sets}"
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"CREATE TEMP TABLE snapshot_in ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA"  # noqa: S608
            )
            with cur.cursor.copy(f"COPY snapshot_in ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM snapshot_in {conflict}")  # noqa: S608
            cur.execute("DROP TABLE snapshot_in")
            return
        marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}) {conflict}"  # noqa: S608
        for i in range(0, len(rows), 5000):
            cur.executemany(sql, rows[i : i + 5000])


def _write_period(
    cfg: GrainConfig, period_end: dt.date, bounds: Sequence[int], rows: list[Row], stamp: dt.datetime
) -> None:
    """Replace one period's snapshots and mark it computed (one transaction)."""
    with transaction.atomic():
        _upsert(rows)
        KpiSnapshot.objects.filter(grain=cfg.grain, period_end=period_end).exclude(computed_at=stamp).delete()
        SnapshotPeriod.objects.bulk_create(
            [
                SnapshotPeriod(
                    grain=cfg.grain,
                    period_end=period_end,
                    window_days=cfg.window_days,
                    countback_months=cfg.countback_months,
                    basis="due",
                    bounds=list(bounds),
                    dimensions=list(cfg.dimensions),
                    rows=len(rows),
                    computed_at=stamp,
                )
            ],
            update_conflicts=True,
            unique_fields=["grain", "period_end"],
            update_fields=[
                "window_days",
                "countback_months",
                "basis",
                "bounds",
                "dimensions",
                "rows",
                "computed_at",
            ],
        )


def _write_keys(
    cfg: GrainConfig,
    period_end: dt.date,
    dimension: str,
    keys: set[str],
    rows: list[Row],
    stamp: dt.datetime,
) -> None:
    """Replace the snapshots of some keys of one dimension in one period (one transaction)."""
    with transaction.atomic():
        _upsert(rows)
        stale = KpiSnapshot.objects.filter(grain=cfg.grain, period_end=period_end, dimension=dimension)
        stale.filter(key__in=sorted(keys)).exclude(computed_at=stamp).delete()
        SnapshotPeriod.objects.filter(grain=cfg.grain, period_end=period_end).update(
            rows=KpiSnapshot.objects.filter(grain=cfg.grain, period_end=period_end).count()
        )


def compute_period(cfg: GrainConfig, period_end: dt.date, *, bounds: Sequence[int] | None = None) -> int:
    """Compute and store every snapshot of one period; returns the number of rows."""
    chosen = list(bounds) if bounds is not None else _bounds()
    stamp = timezone.now()
    rows = _period_rows(
        cfg,
        period_end,
        chosen,
        cfg.dimensions,
        scope=None,
        customer_keys=_customer_keys(cfg.dimensions),
        stamp=stamp,
    )
    _write_period(cfg, period_end, chosen, rows, stamp)
    return len(rows)


def _bounds() -> list[int]:
    bounds = list(organization().aging_buckets)
    d.aging_uppers(bounds)
    if len(d.bucket_labels(bounds, "due")) > MAX_BUCKETS:
        raise InvalidInput(f"snapshots hold at most {MAX_BUCKETS} aging buckets")
    return bounds


# --- the change feed -------------------------------------------------------------------------------------

# source name -> (model, its business date column); the audit log has none
_LEDGER_SOURCES: dict[str, tuple[type[Model], str]] = {
    "invoice": (Invoice, "invoice_date"),
    "payment": (Payment, "payment_date"),
    "credit_memo": (CreditMemo, "memo_date"),
    "application": (Application, "applied_date"),
    "write_off": (WriteOff, "written_off_on"),
}
_AUDITED: dict[str, tuple[type[Model], str]] = {
    "ledger.Invoice": (Invoice, "invoice_date"),
    "ledger.Payment": (Payment, "payment_date"),
    "ledger.CreditMemo": (CreditMemo, "memo_date"),
    "ledger.Application": (Application, "applied_date"),
    "ledger.WriteOff": (WriteOff, "written_off_on"),
}
# Changes that move no figure (caches kept in step with dated rows, references, text)...
_NO_EFFECT: dict[str, frozenset[str]] = {
    "ledger.Invoice": frozenset(
        {
            "status",
            "closed_on",
            "open_minor",
            "po_number",
            "erp_reference",
            "tax_minor",
            "terms_id",
            "created_at",
        }
    ),
    "ledger.Payment": frozenset(
        {"unapplied_minor", "reversal_reason", "erp_reference", "method", "created_at"}
    ),
    "ledger.CreditMemo": frozenset({"unapplied_minor", "reason", "erp_reference", "created_at"}),
    "ledger.Application": frozenset({"created_by_id", "created_at"}),
    "ledger.WriteOff": frozenset({"created_by_id", "created_at", "reason"}),
}
# ...and changes dated by themselves: a cancellation, a receipt's reversal.
_EVENT_DATES: dict[str, frozenset[str]] = {
    "ledger.Invoice": frozenset({"cancelled_on"}),
    "ledger.Payment": frozenset({"reversed_on"}),
}
_DATE_FIELDS = frozenset(
    {
        "invoice_date",
        "cancelled_on",
        "payment_date",
        "reversed_on",
        "memo_date",
        "applied_date",
        "written_off_on",
    }
)


@dataclass
class Changes:
    """What the change feed says since the last refresh."""

    dirty_from: dt.date | None = None
    full: str = ""  # why everything must be recomputed ("" = it need not)
    keys: dict[str, set[str]] = field(default_factory=dict)  # dimension -> slice keys that changed
    audit_rows: int = 0
    new_rows: int = 0

    def touch(self, day: dt.date | None) -> None:
        if day is not None and (self.dirty_from is None or day < self.dirty_from):
            self.dirty_from = day

    def everything(self, reason: str) -> None:
        self.full = self.full or reason


def _as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _audit_change(ch: Changes, row: AuditLog, dimensions: Sequence[str]) -> None:
    """Fold one audit row into `ch`."""
    before: dict[str, Any] = row.before if isinstance(row.before, dict) else {}
    after: dict[str, Any] = row.after if isinstance(row.after, dict) else {}
    if row.object_type == "ledger" or row.action.endswith(".reset"):
        ch.everything(f"{row.action} (audit #{row.pk})")
        return
    if row.object_type == "ledger.Customer":
        if row.before is None:  # a new customer: its rows, when they come, are new ledger rows
            return
        changed = set(before) | set(after)
        for dim in dimensions:
            col = DIMENSION_FIELDS.get(dim)
            if dim in (TOTAL, "customer") or col is None or col not in changed:
                continue
            old, new = before.get(col), after.get(col)
            ch.keys.setdefault(dim, set()).update("" if v is None else str(v) for v in (old, new))
        return
    spec = _AUDITED.get(row.object_type)
    if spec is None:
        return
    model, date_col = spec
    dates = [
        x for k in _DATE_FIELDS for x in (_as_date(before.get(k)), _as_date(after.get(k))) if x is not None
    ]
    if row.before is None and date_col in after:  # a posting: its own date
        ch.touch(min(dates))
        return
    changed = (set(before) | set(after)) - _NO_EFFECT.get(row.object_type, frozenset())
    if not changed:
        return
    if changed <= _EVENT_DATES.get(row.object_type, frozenset()) and dates:
        ch.touch(min(dates))
        return
    own = model._default_manager.filter(pk=row.object_id).values_list(date_col, flat=True).first()
    if own is None and not dates:
        ch.everything(f"{row.action} of a {row.object_type} that no longer exists (audit #{row.pk})")
        return
    ch.touch(min([*dates, *([own] if own is not None else [])]))


@dataclass
class _Range:
    settled: int = 0
    frontier: int = 0
    count: int = 0
    marks: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def load(cls, raw: Any) -> _Range | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            settled=int(raw.get("settled", 0)),
            frontier=int(raw.get("frontier", 0)),
            count=int(raw.get("count", 0)),
            marks=[(str(t), int(i)) for t, i in raw.get("marks", [])],
        )

    def dump(self) -> dict[str, Any]:
        return {"settled": self.settled, "frontier": self.frontier, "count": self.count, "marks": self.marks}


def _next_settled(r: _Range, now: dt.datetime, settle: int) -> tuple[int, list[tuple[str, int]]]:
    """The id up to which rows are final now, and the marks still needed."""
    if settle <= 0:
        return -1, []  # -1: "the new frontier"
    cutoff = now - dt.timedelta(seconds=settle)
    settled, keep = r.settled, []
    for stamp, top in r.marks:
        if dt.datetime.fromisoformat(stamp) <= cutoff:
            settled = max(settled, top)
        else:
            keep.append((stamp, top))
    return settled, keep


def _relevant_audit() -> Q:
    return Q(object_type__in=[*_AUDITED, "ledger.Customer", "ledger"]) | Q(action__endswith=".reset")


def read_changes(
    state: Mapping[str, Any], dimensions: Sequence[str], *, now: dt.datetime | None = None
) -> tuple[Changes, dict[str, Any], int]:
    """Read the change feed from `state` (a watermark's): the changes, the new state and the highest
    audit id read. One range statement per ledger table; the relevant audit rows above the watermark
    (none when everything is recomputed anyway)."""
    now = now or timezone.now()
    settle = settle_seconds()
    ch = Changes()
    new_state: dict[str, Any] = {}
    sources: list[tuple[str, type[Model], str | None]] = [
        ("audit", AuditLog, None),
        *((name, model, col) for name, (model, col) in _LEDGER_SOURCES.items()),
    ]
    last_audit = 0
    for name, model, date_col in sources:
        top = model._default_manager.aggregate(m=Max("id"))["m"] or 0
        r = _Range.load(state.get(name))
        if r is None:
            ch.everything("first refresh")
            r = _Range()
        elif top < r.frontier:
            ch.everything(f"{name} rows were deleted")
            r = _Range()
        settled, marks = _next_settled(r, now, settle)
        new_settled = top if settled < 0 else settled
        if model is AuditLog:
            old_n, keep_n = _read_audit(ch, r, top=top, keep_above=new_settled, dimensions=dimensions)
            last_audit = top
        else:
            assert date_col is not None
            old_n, keep_n, new_min, all_min, new_n = _range_stats(
                model,
                date_col,
                lo=r.settled,
                frontier=r.frontier,
                top=top,
                keep_above=new_settled,
                known=r.count,
            )
            ch.new_rows += new_n
            ch.touch(all_min if old_n != r.count else new_min)
        if settled < 0:
            new_state[name] = _Range(settled=top, frontier=top).dump()
        else:
            marks.append((now.isoformat(), top))
            new_state[name] = _Range(settled=new_settled, frontier=top, count=keep_n, marks=marks).dump()
    return ch, new_state, last_audit


def _read_audit(
    ch: Changes, r: _Range, *, top: int, keep_above: int, dimensions: Sequence[str]
) -> tuple[int, int]:
    """Fold the relevant audit rows in (settled, top] into `ch`: those above the frontier, and those at
    or below it again when their count changed (a late commit). Returns (rows at or below the frontier,
    rows above `keep_above`). The counts are read first: a row committed after them is read (or read
    again) by the next refresh, never lost."""
    rows = AuditLog.objects.filter(_relevant_audit(), id__gt=r.settled, id__lte=top)
    agg = rows.aggregate(
        old=Count("id", filter=Q(id__lte=r.frontier)), keep=Count("id", filter=Q(id__gt=keep_above))
    )
    old_n, keep_n = int(agg["old"]), int(agg["keep"])
    if ch.full:  # everything is recomputed anyway: nothing to read
        return old_n, keep_n
    fields = ("id", "action", "object_type", "object_id", "before", "after")
    for row in rows.filter(id__gt=r.frontier).order_by("id").only(*fields).iterator(2000):
        _audit_change(ch, row, dimensions)
        ch.audit_rows += 1
    if old_n != r.count:
        for row in rows.filter(id__lte=r.frontier).order_by("id").only(*fields).iterator(2000):
            _audit_change(ch, row, dimensions)
    return old_n, keep_n


def _range_stats(
    model: type[Model], date_col: str, *, lo: int, frontier: int, top: int, keep_above: int, known: int
) -> tuple[int, int, dt.date | None, dt.date | None, int]:
    """Over the ids in (lo, top]: rows at or below `frontier`, rows above `keep_above`, the earliest date
    above the frontier, the earliest date of all (None unless the rows at or below the frontier are not
    the `known` count: only then is it read), rows above the frontier.

    Each figure reads only its own id range and the counts read only the ids: on PostgreSQL (lo,
    frontier] holds every row a refresh has not yet settled (`ARDESK_SNAPSHOT_SETTLE_SECONDS`), which
    `freshness()` counts on each page view; counted from the primary key, not by reading each row's date.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(date_col)
    ids = f"FROM {table} WHERE id > %s AND id <= %s"
    above = max(lo, frontier)
    # rows at or below the frontier, the earliest date and the rows above it
    figures = [f"(SELECT COUNT(*) {ids})", f"(SELECT MIN({col}) {ids})", f"(SELECT COUNT(*) {ids})"]
    params = [lo, min(frontier, top), above, top, above, top]
    if keep_above > lo:  # otherwise every row of the range is kept: the two counts above
        figures.append(f"(SELECT COUNT(*) {ids})")
        params += [keep_above, top]
    with connection.cursor() as cur:
        cur.execute(f"SELECT {', '.join(figures)}", params)
        old_n, new_min, new_n, *keep = cur.fetchone()
        all_min = None
        if int(old_n) != known:  # a late commit below the frontier: the earliest date of the range
            cur.execute(f"SELECT MIN({col}) {ids}", [lo, top])
            all_min = cur.fetchone()[0]
    keep_n = int(keep[0]) if keep else int(old_n) + int(new_n)
    return int(old_n), keep_n, _as_date(new_min), _as_date(all_min), int(new_n)


# --- the lease -------------------------------------------------------------------------------------------


def _watermark(grain: str) -> SnapshotWatermark:
    try:
        with transaction.atomic():
            wm, _ = SnapshotWatermark.objects.get_or_create(grain=grain)
    except IntegrityError:  # created by a concurrent refresh
        wm = SnapshotWatermark.objects.get(grain=grain)
    return wm


def _take_lease(grain: str, token: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        taken = (
            SnapshotWatermark.objects.filter(grain=grain)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_token=token))
            .update(lease_token=token, lease_until=now + dt.timedelta(seconds=LEASE_SECONDS))
        )
    return taken == 1


def _release_lease(grain: str, token: str) -> None:
    with transaction.atomic():
        SnapshotWatermark.objects.filter(grain=grain, lease_token=token).update(
            lease_token="", lease_until=None
        )


class LeaseLost(RuntimeError):
    """Another refresh took over this grain (ours ran past its lease)."""


def _renew(grain: str, token: str) -> None:
    if not _take_lease(grain, token):
        raise LeaseLost(f"the {grain} snapshot lease was taken over by another refresh")


# --- refresh ---------------------------------------------------------------------------------------------


@dataclass
class RefreshResult:
    grain: str
    busy: bool = False
    full: str = ""
    dirty_from: dt.date | None = None
    periods: list[dt.date] = field(default_factory=list)  # recomputed in full
    key_periods: dict[str, int] = field(default_factory=dict)  # dimension -> periods recomputed for keys
    removed: int = 0  # periods dropped (before the history or the daily window)
    rows: int = 0
    audit_from: int = 0
    audit_to: int = 0


def refresh(
    *,
    grain: str | None = None,
    from_date: dt.date | None = None,
    full: bool = False,
    to: dt.date | None = None,
    progress: Progress | None = None,
) -> list[RefreshResult]:
    """Bring the snapshots of `grain` (default: every configured grain) up to date with the ledger, up to
    `to` (default today). `from_date` recomputes every period from that date on; `full` everything."""
    configs = grain_configs()
    if grain is not None and grain not in configs:
        raise InvalidInput(f"grain {grain!r} is not configured; use {', '.join(configs)}", field="grain")
    chosen = [configs[grain]] if grain is not None else list(configs.values())
    return [
        refresh_grain(cfg, from_date=from_date, full=full, to=to or timezone.localdate(), progress=progress)
        for cfg in chosen
    ]


def refresh_grain(
    cfg: GrainConfig,
    *,
    to: dt.date,
    from_date: dt.date | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> RefreshResult:
    result = RefreshResult(grain=cfg.grain)
    wm = _watermark(cfg.grain)
    token = uuid.uuid4().hex
    if not _take_lease(cfg.grain, token):
        result.busy = True
        return result
    try:
        wm.refresh_from_db()
        result.audit_from = wm.last_audit_id
        bounds = _bounds()
        ch, state, last_audit = read_changes(wm.state or {}, cfg.dimensions)
        result.audit_to = last_audit
        if full:
            ch.everything("--full")
        if wm.bounds is not None and list(wm.bounds) != bounds:
            ch.everything("the aging buckets changed")
        if wm.dimensions is not None and list(wm.dimensions) != list(cfg.dimensions):
            ch.everything("the snapshot dimensions changed")
        if wm.window_days is not None and wm.window_days != cfg.window_days:
            ch.everything("the window changed")
        other = SnapshotPeriod.objects.filter(grain=cfg.grain).exclude(countback_months=cfg.countback_months)
        if other.exists():
            ch.everything("the countback months changed")
        ch.touch(from_date)
        result.full, result.dirty_from = ch.full, ch.dirty_from

        periods = _periods_for(cfg, first_business_date(), to)
        wanted = set(periods)
        existing = set(SnapshotPeriod.objects.filter(grain=cfg.grain).values_list("period_end", flat=True))
        if ch.full:
            todo = list(periods)
        else:
            todo = [
                p for p in periods if p not in existing or (ch.dirty_from is not None and p >= ch.dirty_from)
            ]
        gone = sorted(existing - wanted)
        if gone:
            with transaction.atomic():
                KpiSnapshot.objects.filter(grain=cfg.grain, period_end__in=gone).delete()
                SnapshotPeriod.objects.filter(grain=cfg.grain, period_end__in=gone).delete()
            result.removed = len(gone)
        keyed = {dim: keys for dim, keys in ch.keys.items() if dim in cfg.dimensions and keys and not ch.full}
        key_todo = sorted((existing & wanted) - set(todo)) if keyed else []
        total = len(todo) + len(key_todo) * len(keyed)
        done = 0
        customer_keys = _customer_keys(cfg.dimensions) if todo else {}
        for period_end in todo:
            stamp = timezone.now()
            rows = _period_rows(
                cfg,
                period_end,
                bounds,
                cfg.dimensions,
                scope=None,
                customer_keys=customer_keys,
                stamp=stamp,
            )
            _write_period(cfg, period_end, bounds, rows, stamp)
            result.periods.append(period_end)
            result.rows += len(rows)
            done += 1
            _renew(cfg.grain, token)
            if progress:
                progress("periods", done, total)
        for dim, keys in keyed.items():
            scope = _keys_q(dim, keys)
            scoped_keys = _customer_keys(cfg.dimensions, scope)
            for period_end in key_todo:
                stamp = timezone.now()
                rows = _period_rows(
                    cfg, period_end, bounds, [dim], scope=scope, customer_keys=scoped_keys, stamp=stamp
                )
                _write_keys(cfg, period_end, dim, keys, rows, stamp)
                result.rows += len(rows)
                result.key_periods[dim] = result.key_periods.get(dim, 0) + 1
                done += 1
                _renew(cfg.grain, token)
                if progress:
                    progress("periods", done, total)
        with transaction.atomic():
            SnapshotWatermark.objects.filter(grain=cfg.grain, lease_token=token).update(
                state=state,
                last_audit_id=last_audit,
                bounds=bounds,
                dimensions=list(cfg.dimensions),
                window_days=cfg.window_days,
                computed_through=max(periods) if periods else wm.computed_through,
                refreshed_at=timezone.now(),
                runs=wm.runs + 1,
            )
    finally:
        _release_lease(cfg.grain, token)
    return result


# --- reading ---------------------------------------------------------------------------------------------

_OPTIONS = frozenset(
    {"window_days", "basis", "bounds", "entity", "filters", "currency_mode", "baseline", "countback_months"}
)


class _All:
    """Every key of the dimension."""


_ALL = _All()


def _servable_keys(user: Any, dimension: str, filters: Mapping[str, Any] | None) -> set[str] | _All | None:
    """The stored keys a snapshot may answer `user` with in `dimension` (None: it may not; compute)."""
    wanted: set[str] | None = None
    if filters:
        if dimension == TOTAL or set(filters) != {dimension}:
            return None
        value = filters[dimension]
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        wanted = {"" if v is None else str(v) for v in values}
    scope = None if user is sel.SYSTEM else customer_scope_q(user)
    if scope is None:
        return _ALL if wanted is None else wanted
    in_scope = Customer.objects.filter(scope)
    if dimension == TOTAL:
        return _ALL if not Customer.objects.exclude(pk__in=in_scope.values("pk")).exists() else None
    col = DIMENSION_FIELDS[dimension]
    found = {"" if v is None else str(v) for v in in_scope.order_by().values_list(col, flat=True).distinct()}
    if dimension != "customer":
        # the scope must hold whole slices: every customer of each key it reaches
        whole = Customer.objects.filter(_keys_q(dimension, found)).count() if found else 0
        if whole != in_scope.count():
            return None
    return found if wanted is None else found & wanted


def _period_usable(
    period: SnapshotPeriod, dimension: str, options: Mapping[str, Any], bounds: list[int]
) -> bool:
    return (
        dimension in (period.dimensions or [])
        and options.get("window_days", d.DEFAULT_WINDOW_DAYS) == period.window_days
        and options.get("basis", "due") == period.basis
        and options.get("countback_months", 12) == period.countback_months
        and options.get("currency_mode", "currency") == "currency"
        and not options.get("entity")
        and options.get("baseline") is None
        and list(options["bounds"] if options.get("bounds") is not None else bounds) == list(period.bounds)
    )


@dataclass(frozen=True)
class Freshness:
    """What the ledger changed since a grain's last refresh (read from the change feed, written nowhere):
    a snapshot of that grain ending before `dirty_from` still equals the live computation, unless
    everything is stale (`full`) or, in a dimension of `keys`, customers moved between slices."""

    full: bool
    dirty_from: dt.date | None
    keys: frozenset[str]  # dimensions whose slice keys changed

    def serves(self, period_end: dt.date, dimension: str) -> bool:
        if self.full or dimension in self.keys:
            return False
        return self.dirty_from is None or period_end < self.dirty_from


def freshness(grains: Iterable[str] | None = None) -> dict[str, Freshness]:
    """Per grain, what a refresh would find to recompute now: the same change feed `refresh()` reads
    (ids above the watermark, relevant audit rows, late commits below it on PostgreSQL), read only.
    A grain never refreshed is stale in full."""
    out: dict[str, Freshness] = {}
    marks = {wm.grain: wm for wm in SnapshotWatermark.objects.all()}
    for grain in grains if grains is not None else Grain.values:
        wm = marks.get(grain)
        if wm is None or not wm.state:
            out[grain] = Freshness(full=True, dirty_from=None, keys=frozenset())
            continue
        ch, _state, _last = read_changes(wm.state, list(wm.dimensions or []))
        out[grain] = Freshness(
            full=bool(ch.full),
            dirty_from=ch.dirty_from,
            keys=frozenset(dim for dim, keys in ch.keys.items() if keys),
        )
    return out


FreshSource = Mapping[str, Freshness] | Callable[[set[str]], Mapping[str, Freshness]]


def _snapshot_rows(
    user: Any,
    points: Sequence[dt.date],
    by: str | None,
    options: Mapping[str, Any],
    *,
    fresh: FreshSource | None = None,
) -> dict[dt.date, list[sel.KpiRow]]:
    """The KpiRows of every point of `points` a snapshot can answer (month grain first, then day). A
    snapshot the ledger has changed under since its grain's last refresh (see `freshness`) is not used;
    `fresh` passes a freshness already read, or a function of the grains that reads it (called only
    when a snapshot could answer)."""
    dimension = TOTAL if by is None else by
    if set(options) - _OPTIONS or (dimension != TOTAL and dimension not in DIMENSION_FIELDS):
        return {}
    chosen = options.get("bounds")
    bounds = list(chosen) if chosen is not None else list(organization().aging_buckets)
    candidates = [
        period
        for period in SnapshotPeriod.objects.filter(period_end__in=list(points)).order_by("-grain")
        if _period_usable(period, dimension, options, bounds)
    ]
    if not candidates:
        return {}
    grains = {p.grain for p in candidates}
    if fresh is None:
        fresh = freshness(grains)
    elif callable(fresh):
        fresh = fresh(grains)
    periods: dict[dt.date, SnapshotPeriod] = {}
    for period in candidates:
        # "month" sorts after "day": descending puts month first, and the first fresh one wins
        state = fresh.get(period.grain)
        if (
            period.period_end not in periods
            and state is not None
            and state.serves(period.period_end, dimension)
        ):
            periods[period.period_end] = period
    if not periods:
        return {}
    keys = _servable_keys(user, dimension, options.get("filters"))
    if keys is None:
        return {}
    out: dict[dt.date, list[sel.KpiRow]] = {p: [] for p in periods}
    by_grain: dict[str, list[dt.date]] = {}
    for p, period in periods.items():
        by_grain.setdefault(period.grain, []).append(p)
    snaps: list[KpiSnapshot] = []
    for grain, dates in by_grain.items():
        qs = KpiSnapshot.objects.filter(grain=grain, period_end__in=dates, dimension=dimension)
        if isinstance(keys, set) and len(keys) <= 2000:
            qs = qs.filter(key__in=sorted(keys))
        for snap in qs.order_by().iterator(chunk_size=5000):
            if isinstance(keys, set) and snap.key not in keys:
                continue
            snaps.append(snap)
    names = sel.slice_labels(by, {_read_key(dimension, s.key) for s in snaps})
    for snap in snaps:
        period = periods[snap.period_end]
        out[snap.period_end].append(_kpi_row(snap, period, names[_read_key(dimension, snap.key)]))
    for p, rows in out.items():
        if not rows and by is None:  # kpis(): one all-zero row when nothing is on the book
            period = periods[p]
            n = len(d.bucket_labels(period.bounds, _basis(period)))
            rows.append(
                sel._kpi_row(
                    sel.Facts(buckets=[0] * n),
                    key=None,
                    label=sel.slice_labels(None, {None})[None],
                    currency=organization().base_currency,
                    currency_mode="currency",
                    as_of=p,
                    window_days=period.window_days,
                    basis=_basis(period),
                    bucket_labels=tuple(d.bucket_labels(period.bounds, _basis(period))),
                    months=d.countback_months(p, period.countback_months),
                )
            )
        rows.sort(key=lambda r: (r.label.casefold(), r.key or "", r.currency))
    return out


def _basis(period: SnapshotPeriod) -> d.Basis:
    return "invoice" if period.basis == "invoice" else "due"


def _kpi_row(snap: KpiSnapshot, period: SnapshotPeriod, label: str) -> sel.KpiRow:
    labels = tuple(d.bucket_labels(period.bounds, _basis(period)))
    values: dict[str, Any] = {name: getattr(snap, name) for name in (*_MONEY_COLUMNS, *_RATIO_COLUMNS)}
    return sel.KpiRow(
        key=_read_key(snap.dimension, snap.key),
        label=label,
        currency=snap.currency,
        currency_mode="currency",
        as_of=snap.period_end,
        window_days=period.window_days,
        basis=_basis(period),
        bucket_labels=labels,
        buckets=tuple(snap.buckets[: len(labels)]),
        past_due_baseline=None,
        past_due_change=None,
        past_due_change_pct=None,
        **values,
    )


def kpis_from_snapshot(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    fresh: FreshSource | None = None,
    **options: Any,
) -> list[sel.KpiRow] | None:
    """`selectors.kpis(user, as_of, by, **options)` read from the snapshots, or None when no snapshot
    answers it (the period is not computed, the ledger changed under it since the last refresh, or the
    options, dimension or user's scope are not ones a snapshot holds)."""
    return _snapshot_rows(user, [as_of], by, options, fresh=fresh).get(as_of)


def kpis_from_snapshots(
    user: Any,
    points: Sequence[dt.date],
    by: str | None = None,
    *,
    fresh: FreshSource | None = None,
    **options: Any,
) -> dict[dt.date, list[sel.KpiRow]]:
    """`kpis_from_snapshot()` for many dates at once (one look-up): the dates a snapshot answers."""
    return _snapshot_rows(user, points, by, options, fresh=fresh)


def kpis_served(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    fresh: FreshSource | None = None,
    **options: Any,
) -> list[sel.KpiRow]:
    """`selectors.kpis()`: from a fresh snapshot when one answers it, computed from the ledger otherwise.
    Either way the same rows."""
    rows = kpis_from_snapshot(user, as_of, by, fresh=fresh, **options)
    return rows if rows is not None else sel.kpis(user, as_of, by, **options)


def trend_from_snapshots(
    user: Any,
    metric: str,
    start: dt.date,
    end: dt.date,
    step: sel.Step = "month",
    by: str | None = None,
    **options: Any,
) -> list[sel.TrendPoint]:
    """`selectors.trend()` served from the snapshots: the same points, values, labels and order. A point
    no snapshot answers is computed from the ledger."""
    if metric not in sel.TREND_METRICS:
        raise InvalidInput(f"unknown metric {metric!r}", field="metric")
    points = sel.period_ends(start, end, step)
    if len(points) > sel.MAX_TREND_POINTS:
        raise InvalidInput(
            f"a trend has at most {sel.MAX_TREND_POINTS} points; use a longer step", field="step"
        )
    q.check_dimension(by)
    served = _snapshot_rows(user, points, by, options)
    out: list[sel.TrendPoint] = []
    for as_of in points:
        rows = served.get(as_of)
        if rows is None:
            rows = sel.kpis(user, as_of, by, **options)
        for row in rows:
            out.append(sel.TrendPoint(as_of, row.key, row.label, row.currency, getattr(row, metric)))
    return out


def snapshot_coverage(grain: str) -> tuple[dt.date | None, dt.date | None, int]:
    """(first, last, count) of the computed periods of `grain`."""
    agg = SnapshotPeriod.objects.filter(grain=grain).aggregate(lo=Min("period_end"), hi=Max("period_end"))
    n = SnapshotPeriod.objects.filter(grain=grain).count()
    return agg["lo"], agg["hi"], n


__all__ = [
    "DEFAULT_GRAINS",
    "DIMENSION_FIELDS",
    "Changes",
    "Freshness",
    "GrainConfig",
    "RefreshResult",
    "cash_collected",
    "compute_period",
    "freshness",
    "grain_configs",
    "kpis_from_snapshot",
    "kpis_from_snapshots",
    "kpis_served",
    "period_ends",
    "read_changes",
    "refresh",
    "refresh_grain",
    "snapshot_coverage",
    "trend_from_snapshots",
]
