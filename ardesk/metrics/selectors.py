"""KPI reads: the figures of DOMAIN.md as of any date, sliced by any dimension, scoped to the user.

`kpis()` and `aging()` return one row per (slice, currency). Each row states its options (as-of date,
window, aging basis and buckets, currency mode), so a report or an export can print them.

Currencies are never added together. `currency_mode="currency"` (the default) keeps one row per slice and
currency. `currency_mode="base"` translates each (slice, currency) aggregate into the organization's base
currency at the latest rate on or before the as-of date (`ledger.selectors.fx_rate`, a closing rate used
for every figure of the report, window sales and beginning AR included, so ratios carry no FX effect),
rounding each translated aggregate once, half to even; a missing rate is an `InvalidInput`.

Scope: a collector gets only their portfolio's figures, a manager their team's (see
`ledger.selectors.customer_scope_q`); trusted callers (CLI, tasks) pass `SYSTEM` for the whole book.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any, Literal, ParamSpec, TypeVar

from django.db import connection
from django.db.models import Q

from ardesk.core.errors import InvalidInput
from ardesk.ledger.selectors import customer_scope_q, fx_rate, organization

from . import columnar
from . import definitions as d
from . import queries as q

CurrencyMode = Literal["currency", "base"]
CURRENCY_MODES: tuple[CurrencyMode, ...] = ("currency", "base")
Step = Literal["day", "week", "month", "quarter"]
STEPS: tuple[Step, ...] = ("day", "week", "month", "quarter")
MAX_TREND_POINTS = 400
MAX_WINDOW_DAYS = 3660


class _System:
    """The whole book, for trusted callers with no user (the CLI, background tasks)."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def _scope(user: Any) -> Q | None:
    return None if user is SYSTEM else customer_scope_q(user)


# --- the facts behind a row: integers only -----------------------------------------------------------

_UNTRANSLATED = frozenset({"open_invoices", "paid_count", "paid_days"})


@dataclass
class Facts:
    """Aggregates of one (slice, currency): money in minor units, or days x minor units."""

    buckets: list[int]
    open_ar: int = 0
    current: int = 0
    over_90: int = 0
    open_invoices: int = 0
    age_x_open: dict[str, int] = field(default_factory=dict)
    beginning_ar: int = 0
    sales_window: int = 0
    sales_by_month: dict[str, int] = field(default_factory=dict)
    write_offs: int = 0
    paid_count: int = 0
    paid_amount: int = 0
    paid_days: int = 0
    paid_days_x_amount: int = 0
    late_x_amount: int = 0
    unapplied_cash: int = 0
    open_credits: int = 0
    baseline_past_due: int | None = None

    def translated(self, currency: str, base: str, rate: Decimal) -> Facts:
        def t(v: int) -> int:
            return d.translate_minor(v, currency, base, rate)

        out = replace(self)
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _UNTRANSLATED or v is None:
                continue
            if isinstance(v, list):
                setattr(out, f.name, [t(x) for x in v])
            elif isinstance(v, dict):
                setattr(out, f.name, {m: t(x) for m, x in v.items()})
            else:
                setattr(out, f.name, t(v))
        if self.buckets:  # the buckets must still add up to the open AR after rounding
            out.open_ar = sum(out.buckets)
        return out

    def add(self, other: Facts) -> None:
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, list):
                setattr(self, f.name, [x + y for x, y in zip(a, b, strict=True)])
            elif isinstance(a, dict):
                for m, x in b.items():
                    a[m] = a.get(m, 0) + x
            elif a is None and b is None:
                continue
            else:
                setattr(self, f.name, (a or 0) + (b or 0))


# --- rows ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiRow:
    """One slice's figures. Money fields are integer minor units of `currency`; ratios are Decimal days
    or percentages rounded to 0.01 (None = undefined, e.g. no sales in the window)."""

    key: str | None
    label: str
    currency: str
    currency_mode: CurrencyMode
    as_of: dt.date
    window_days: int
    basis: d.Basis
    bucket_labels: tuple[str, ...]
    buckets: tuple[int, ...]
    open_invoices: int
    open_ar: int
    current: int
    past_due: int
    over_90: int
    unapplied_cash: int
    open_credits: int
    net_ar: int
    beginning_ar: int
    sales_window: int
    write_offs: int
    paid_invoices: int
    past_due_baseline: int | None
    past_due_change: int | None
    pct_current: Decimal | None
    pct_past_due: Decimal | None
    pct_over_90: Decimal | None
    past_due_change_pct: Decimal | None
    dso: Decimal | None
    countback_dso: Decimal | None
    true_dso: Decimal
    best_possible_dso: Decimal | None
    add: Decimal | None
    avg_days_late: Decimal | None
    cei: Decimal | None
    adp: Decimal | None
    adp_weighted: Decimal | None
    ar_turnover: Decimal | None
    bad_debt_ratio: Decimal | None


MONEY_FIELDS = (
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
    "past_due_baseline",
    "past_due_change",
)
RATIO_FIELDS = (
    "pct_current",
    "pct_past_due",
    "pct_over_90",
    "past_due_change_pct",
    "dso",
    "countback_dso",
    "true_dso",
    "best_possible_dso",
    "add",
    "avg_days_late",
    "cei",
    "adp",
    "adp_weighted",
    "ar_turnover",
    "bad_debt_ratio",
)
TREND_METRICS = frozenset((*MONEY_FIELDS, *RATIO_FIELDS, "open_invoices", "paid_invoices"))


@dataclass(frozen=True)
class AgingRow:
    """Open invoices aged into buckets (which add up to `open_ar`); unapplied cash and open credits are
    their own lines and are **not** netted in the buckets (`net_ar` = open AR - cash - credits)."""

    key: str | None
    label: str
    currency: str
    currency_mode: CurrencyMode
    as_of: dt.date
    basis: d.Basis
    bucket_labels: tuple[str, ...]
    buckets: tuple[int, ...]
    open_invoices: int
    open_ar: int
    unapplied_cash: int
    open_credits: int
    net_ar: int
    credits_netted: bool = False


@dataclass(frozen=True)
class TrendPoint:
    as_of: dt.date
    key: str | None
    label: str
    currency: str
    value: Decimal | int | None


# --- helpers -------------------------------------------------------------------------------------------


def _check(
    *, basis: str, currency_mode: str, window_days: int | None = None, bounds: Sequence[int] | None = None
) -> list[int]:
    if basis not in d.BASES:
        raise InvalidInput(f"unknown aging basis {basis!r}; use due or invoice", field="basis")
    if currency_mode not in CURRENCY_MODES:
        raise InvalidInput(f"unknown currency mode {currency_mode!r}; use currency or base", field="currency")
    if window_days is not None and not (isinstance(window_days, int) and 1 <= window_days <= MAX_WINDOW_DAYS):
        raise InvalidInput(f"the window must be 1 to {MAX_WINDOW_DAYS} days", field="window")
    chosen = list(bounds) if bounds is not None else list(organization().aging_buckets)
    d.aging_uppers(chosen)
    return chosen


def _month_start(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def _combine(
    facts: dict[q.SliceKey, Facts], currency_mode: CurrencyMode, as_of: dt.date
) -> dict[q.SliceKey, Facts]:
    if currency_mode == "currency":
        return facts
    base = organization().base_currency
    out: dict[q.SliceKey, Facts] = {}
    rates: dict[str, Decimal] = {}
    for (key, currency), f in sorted(facts.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if currency not in rates:
            rates[currency] = fx_rate(currency, base, as_of)
        t = f.translated(currency, base, rates[currency])
        if (key, base) in out:
            out[(key, base)].add(t)
        else:
            out[(key, base)] = t
    return out


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _gc_paused(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `fn` with Python's cyclic garbage collector paused. A computation over a million customers
    builds millions of small objects (rows, tuples, aggregates), none of them in a reference cycle; the
    collector, triggered by the allocations, walks the growing heap again and again (measured: 40% of the
    aging's Python time at tier L). It runs again as soon as `fn` returns."""

    @functools.wraps(fn)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not gc.isenabled():  # nested, or paused by the caller
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused


LABEL_CHUNK = 20_000


def slice_labels(by: str | None, keys: set[str | None]) -> dict[str | None, str]:
    """Human labels of slice keys: names for ids, the text itself for text dimensions."""
    from django.contrib.auth import get_user_model

    from ardesk.core.models import CollectorProfile, Team
    from ardesk.ledger.models import Customer, LegalEntity

    if by is None:
        return dict.fromkeys(keys, "All")
    ids = [int(k) for k in keys if k] if by in q.ID_DIMENSIONS else []
    labels: dict[str | None, str] = {}
    if by == "collector":
        for u in get_user_model().objects.filter(pk__in=ids):
            labels[str(u.pk)] = u.get_full_name() or u.get_username()
        none = "(unassigned)"
    elif by == "team":
        labels.update(
            {str(pk): name for pk, name in Team.objects.filter(pk__in=ids).values_list("pk", "name")}
        )
        none = "(no team)"
    elif by in ("customer", "parent"):
        # Many ids: one scan of the customers is several times faster than IN lists (which, whole,
        # exceed SQLite's variable limit at tier L); a few: one IN list.
        rows = Customer.objects.order_by().values_list("pk", "account_number", "name")
        if len(ids) > LABEL_CHUNK:  # the whole table, labelled by the database, read by the bare cursor
            qn = connection.ops.quote_name
            sql = (
                f"SELECT CAST({qn('id')} AS VARCHAR(20)), {qn('account_number')} || ' ' || {qn('name')} "  # noqa: S608
                f"FROM {qn(Customer._meta.db_table)}"
            )
            with connection.cursor() as cur:
                cur.execute(sql)
                while chunk := cur.fetchmany(10 * LABEL_CHUNK):
                    labels.update(chunk)
        else:
            labels.update({str(pk): f"{acct} {name}" for pk, acct, name in rows.filter(pk__in=ids)})
        none = "(none)"
    elif by == "entity":
        labels.update(
            {str(pk): code for pk, code in LegalEntity.objects.filter(pk__in=ids).values_list("pk", "code")}
        )
        none = "(none)"
    elif by == "tier":
        tiers = dict(CollectorProfile.Tier.choices)
        labels.update({k: str(tiers.get(k, k)) for k in keys if k})
        none = "(unassigned)"
    else:
        labels.update({k: k for k in keys if k})
        none = "(none)"
    return {k: labels.get(k, none) if k not in (None, "") else none for k in keys}


def _row_key(by: str | None, k: str | None, currency: str) -> str | None:
    if by is None:
        return None
    if by == "currency":
        return currency
    return k


# --- kpis ----------------------------------------------------------------------------------------------


@_gc_paused
def kpis(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    window_days: int = d.DEFAULT_WINDOW_DAYS,
    basis: d.Basis = "due",
    bounds: Sequence[int] | None = None,
    entity: str | None = None,
    filters: Mapping[str, Any] | None = None,
    currency_mode: CurrencyMode = "currency",
    baseline: dt.date | None = None,
    countback_months: int = 12,
    columnar_engine: bool | None = None,
) -> list[KpiRow]:
    """Every KPI of DOMAIN.md at the end of `as_of`, one row per slice of `by` (None = one total) and
    currency, within `user`'s scope.

    The period is the `window_days` days ending on `as_of`: sales (credit sales invoiced) in the window
    feed DSO, Best Possible DSO, ADD, CEI, turnover and the bad-debt ratio; beginning AR is the open AR at
    the end of the day before the window. ADP and days late cover invoices paid in full in the window.
    Countback DSO walks back `countback_months` calendar months (the newest one up to `as_of`). With
    `baseline`, the past-due amount is compared with the one at the end of that date.

    A slice appears when it has anything (open items, sales, payments, credits) in the period; with no
    `by` and nothing at all (an as-of date before the first invoice) one all-zero row in the base
    currency is returned.

    `columnar_engine`: None = the columnar copy of the ledger when the scope is large enough (see
    `metrics.columnar`), False = never, True = whenever it can; the figures are the same either way."""
    bounds = _check(basis=basis, currency_mode=currency_mode, window_days=window_days, bounds=bounds)
    if not 1 <= countback_months <= 120:
        raise InvalidInput("countback months must be 1 to 120", field="countback_months")
    sliced = q.customer_dimension(_scope(user), by, entity=entity, filters=filters)
    labels = tuple(d.bucket_labels(bounds, basis))
    with columnar.session([sliced], use=columnar_engine) as engine:
        got = kpi_facts(
            engine.slices[0],
            as_of,
            window_days=window_days,
            basis=basis,
            bounds=bounds,
            countback_months=countback_months,
            baseline=baseline,
        )
    return _kpi_rows(
        got,
        by=by,
        as_of=as_of,
        window_days=window_days,
        basis=basis,
        labels=labels,
        currency_mode=currency_mode,
        baseline=baseline,
    )


@dataclass
class OpenFacts:
    """What a KPI row and an aging row share: the items open at the as-of date (with buckets and, for
    true DSO, the age-weighted sums by invoice month) and the unapplied cash and open credits."""

    opened: dict[q.SliceKey, q.OpenAgg]
    cash: dict[q.SliceKey, int]
    credits: dict[q.SliceKey, int]


@dataclass
class KpiFacts:
    """The integer facts of every (slice, currency) at one as-of date, and the countback months."""

    facts: dict[q.SliceKey, Facts]
    months: list[tuple[str, int]]


def kpi_facts(
    sliced: q.Sliced,
    as_of: dt.date,
    *,
    window_days: int,
    basis: d.Basis,
    bounds: Sequence[int],
    countback_months: int = 12,
    baseline: dt.date | None = None,
    shared: OpenFacts | None = None,
    beginning: Mapping[q.SliceKey, int] | None = None,
) -> KpiFacts:
    """The facts behind `kpis()` per (slice of `sliced`, currency): one statement per kind of fact. With
    `shared`, the open items and unapplied amounts at `as_of` (keyed the same way) are taken from it
    instead of being computed again; with `beginning`, the open AR at the end of the window's first day
    (the slices with any, keyed the same way: for instance the `open_ar` of a KPI row of that date).
    Used by `kpis()`, `kpis_and_aging()` and the snapshots."""
    start = as_of - dt.timedelta(days=window_days)
    n_buckets = len(d.bucket_labels(bounds, basis))
    if shared is None:
        opened = q.open_items(sliced, as_of, bounds=bounds, basis=basis)
        shared = OpenFacts(opened, *q.unapplied(sliced, as_of))
    opened, cash, credits = shared.opened, shared.cash, shared.credits
    if beginning is None:
        began = {
            key: agg.open_ar for key, agg in q.open_items(sliced, start, bounds=bounds, detail=False).items()
        }
    else:
        began = {key: v for key, v in beginning.items() if v}
    months = d.countback_months(as_of, countback_months)
    oldest = min([_month_start(months[-1][0]), start.replace(day=1)])
    for agg in opened.values():
        for m in agg.age_x_open:
            oldest = min(oldest, _month_start(m))
    sold = q.sales(sliced, as_of, window_start=start, since=oldest)
    written = q.write_offs(sliced, start, as_of)
    paid = q.paid_invoices(sliced, start, as_of)
    base_open = q.open_items(sliced, baseline, bounds=bounds, detail=False) if baseline else {}

    keys = set(opened) | set(began) | set(sold) | set(written) | set(paid) | set(cash) | set(credits)
    keys |= set(base_open)
    facts: dict[q.SliceKey, Facts] = {}
    for key in keys:
        o = opened.get(key) or q.OpenAgg(buckets=[0] * n_buckets)
        s = sold.get(key) or q.SalesAgg()
        p = paid.get(key) or q.PaidAgg()
        b = base_open.get(key)
        facts[key] = Facts(
            buckets=list(o.buckets),
            open_ar=o.open_ar,
            current=o.current,
            over_90=o.over_90,
            open_invoices=o.open_invoices,
            age_x_open=dict(o.age_x_open),
            beginning_ar=began.get(key, 0),
            sales_window=s.window,
            sales_by_month=dict(s.by_month),
            write_offs=written.get(key, 0),
            paid_count=p.count,
            paid_amount=p.amount,
            paid_days=p.days,
            paid_days_x_amount=p.days_x_amount,
            late_x_amount=p.late_x_amount,
            unapplied_cash=cash.get(key, 0),
            open_credits=credits.get(key, 0),
            baseline_past_due=(b.open_ar - b.current if b else 0) if baseline else None,
        )
    return KpiFacts(facts=facts, months=months)


def _kpi_rows(
    got: KpiFacts,
    *,
    by: str | None,
    as_of: dt.date,
    window_days: int,
    basis: d.Basis,
    labels: tuple[str, ...],
    currency_mode: CurrencyMode,
    baseline: dt.date | None,
) -> list[KpiRow]:
    n_buckets = len(labels)
    months = got.months
    facts = got.facts
    facts = _combine(facts, currency_mode, as_of)
    if not facts and by is None:
        facts[(None, organization().base_currency)] = Facts(
            buckets=[0] * n_buckets, baseline_past_due=0 if baseline else None
        )
    names = slice_labels(by, {k for k, _ in facts})
    rows = [
        _kpi_row(
            f,
            key=_row_key(by, k, cur),
            label=cur if by == "currency" else names[k],
            currency=cur,
            currency_mode=currency_mode,
            as_of=as_of,
            window_days=window_days,
            basis=basis,
            bucket_labels=labels,
            months=months,
        )
        for (k, cur), f in facts.items()
    ]
    rows.sort(key=lambda r: (r.label.casefold(), r.key or "", r.currency))
    return rows


def _kpi_row(
    f: Facts,
    *,
    key: str | None,
    label: str,
    currency: str,
    currency_mode: CurrencyMode,
    as_of: dt.date,
    window_days: int,
    basis: d.Basis,
    bucket_labels: tuple[str, ...],
    months: list[tuple[str, int]],
) -> KpiRow:
    past_due = f.open_ar - f.current
    change, change_pct = (
        d.past_due_change(past_due, f.baseline_past_due) if f.baseline_past_due is not None else (None, None)
    )
    return KpiRow(
        key=key,
        label=label,
        currency=currency,
        currency_mode=currency_mode,
        as_of=as_of,
        window_days=window_days,
        basis=basis,
        bucket_labels=bucket_labels,
        buckets=tuple(f.buckets),
        open_invoices=f.open_invoices,
        open_ar=f.open_ar,
        current=f.current,
        past_due=past_due,
        over_90=f.over_90,
        unapplied_cash=f.unapplied_cash,
        open_credits=f.open_credits,
        net_ar=f.open_ar - f.unapplied_cash - f.open_credits,
        beginning_ar=f.beginning_ar,
        sales_window=f.sales_window,
        write_offs=f.write_offs,
        paid_invoices=f.paid_count,
        past_due_baseline=f.baseline_past_due,
        past_due_change=change,
        pct_current=d.pct_current(f.current, f.open_ar),
        pct_past_due=d.pct_past_due(past_due, f.open_ar),
        pct_over_90=d.pct_over_90(f.over_90, f.open_ar),
        past_due_change_pct=change_pct,
        dso=d.dso(f.open_ar, f.sales_window, window_days),
        countback_dso=d.countback_dso(f.open_ar, [(f.sales_by_month.get(m, 0), n) for m, n in months]),
        true_dso=d.true_dso((ax, f.sales_by_month.get(m, 0)) for m, ax in f.age_x_open.items()),
        best_possible_dso=d.best_possible_dso(f.current, f.sales_window, window_days),
        add=d.average_days_delinquent(f.open_ar, f.current, f.sales_window, window_days),
        avg_days_late=d.average_days_late(f.late_x_amount, f.paid_amount),
        cei=d.cei(f.beginning_ar, f.sales_window, f.open_ar, f.current),
        adp=d.average_days_to_pay(f.paid_days, f.paid_count),
        adp_weighted=d.average_days_to_pay_weighted(f.paid_days_x_amount, f.paid_amount),
        ar_turnover=d.ar_turnover(f.sales_window, f.beginning_ar, f.open_ar),
        bad_debt_ratio=d.bad_debt_ratio(f.write_offs, f.sales_window),
    )


# --- the portfolio facts: a lighter KPI path ------------------------------------------------------------

PORTFOLIO_FIELDS = (
    "buckets",
    "open_invoices",
    "open_ar",
    "current",
    "past_due",
    "over_90",
    "beginning_ar",
    "sales_window",
    "pct_current",
    "pct_past_due",
    "pct_over_90",
    "dso",
    "best_possible_dso",
    "add",
    "cei",
    "ar_turnover",
)


@dataclass(frozen=True)
class PortfolioRow:
    """The portfolio figures of one (slice, currency): the fields of `PORTFOLIO_FIELDS`, each equal to
    the `KpiRow` field of the same name that `kpis()` returns with the same arguments. The ratios are
    computed when read (a caller reading the integers of 10k customers does not pay for them). No label
    (the caller labels the keys it shows: at 10k customers the labels alone cost a scan)."""

    key: str | None
    currency: str
    currency_mode: CurrencyMode
    as_of: dt.date
    window_days: int
    basis: d.Basis
    buckets: tuple[int, ...]
    open_invoices: int
    open_ar: int
    current: int
    over_90: int
    beginning_ar: int
    sales_window: int

    @property
    def past_due(self) -> int:
        return self.open_ar - self.current

    @property
    def pct_current(self) -> Decimal | None:
        return d.pct_current(self.current, self.open_ar)

    @property
    def pct_past_due(self) -> Decimal | None:
        return d.pct_past_due(self.past_due, self.open_ar)

    @property
    def pct_over_90(self) -> Decimal | None:
        return d.pct_over_90(self.over_90, self.open_ar)

    @property
    def dso(self) -> Decimal | None:
        return d.dso(self.open_ar, self.sales_window, self.window_days)

    @property
    def best_possible_dso(self) -> Decimal | None:
        return d.best_possible_dso(self.current, self.sales_window, self.window_days)

    @property
    def add(self) -> Decimal | None:
        return d.average_days_delinquent(self.open_ar, self.current, self.sales_window, self.window_days)

    @property
    def cei(self) -> Decimal | None:
        return d.cei(self.beginning_ar, self.sales_window, self.open_ar, self.current)

    @property
    def ar_turnover(self) -> Decimal | None:
        return d.ar_turnover(self.sales_window, self.beginning_ar, self.open_ar)


@_gc_paused
def portfolio(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    window_days: int = d.DEFAULT_WINDOW_DAYS,
    basis: d.Basis = "due",
    bounds: Sequence[int] | None = None,
    entity: str | None = None,
    filters: Mapping[str, Any] | None = None,
    currency_mode: CurrencyMode = "currency",
    beginning: bool = True,
    sales: bool = True,
    columnar_engine: bool | None = None,
) -> list[PortfolioRow]:
    """The portfolio figures of `kpis()` (same arguments, same scope, same integers and ratios): open AR
    and its buckets, current, past due, over 90, beginning AR and the window's sales, and the ratios made
    of them only (% current / past due / over 90, DSO, best possible DSO, ADD, CEI, turnover).

    Three statements instead of `kpis()`' six: the items open at `as_of` (buckets, without the invoice
    months of true DSO), the open AR at the window's start, and the window's sales (without the months
    of countback and true DSO); no paid invoices, write-offs or unapplied amounts. With
    `beginning=False` the beginning AR is not read, with `sales=False` the window's sales are not read
    (they are 0 then, and so is every ratio made of them: do not use those; the rows are those of the
    facts read).

    One row per (slice, currency) with anything open at `as_of` or at the window's start, or sales in the
    window: the slices `kpis()` adds beyond these (paid invoices, write-offs, unapplied amounts or sales
    before the window only) have zero in every field here. In base mode each (slice, currency) is
    translated as `kpis()` translates it (the buckets one by one, open AR = their sum), then added up.
    With no `by` and nothing at all, one all-zero row in the base currency. Sorted by key and currency."""
    bounds = _check(basis=basis, currency_mode=currency_mode, window_days=window_days, bounds=bounds)
    start = as_of - dt.timedelta(days=window_days)
    n_buckets = len(d.bucket_labels(bounds, basis))
    given = q.customer_dimension(_scope(user), by, entity=entity, filters=filters)
    with columnar.session([given], use=columnar_engine) as engine:
        sliced = engine.slices[0]
        (opened,) = q.open_item_sets(sliced, as_of, [q.OpenSet(basis=basis, months=False)], bounds=bounds)
        began: dict[q.SliceKey, int] = {}
        if beginning:
            began = {
                key: agg.open_ar
                for key, agg in q.open_items(sliced, start, bounds=bounds, detail=False).items()
                if agg.open_ar
            }
        sold = q.window_sales(sliced, as_of, window_start=start) if sales else {}
    facts: dict[q.SliceKey, Facts] = {}
    for key in set(opened) | set(began) | set(sold):
        o = opened.get(key) or q.OpenAgg(buckets=[0] * n_buckets)
        facts[key] = Facts(
            buckets=list(o.buckets),
            open_ar=o.open_ar,
            current=o.current,
            over_90=o.over_90,
            open_invoices=o.open_invoices,
            beginning_ar=began.get(key, 0),
            sales_window=sold.get(key, 0),
        )
    facts = _combine(facts, currency_mode, as_of)
    if not facts and by is None:
        facts[(None, organization().base_currency)] = Facts(buckets=[0] * n_buckets)
    rows = [
        PortfolioRow(
            key=_row_key(by, k, cur),
            currency=cur,
            currency_mode=currency_mode,
            as_of=as_of,
            window_days=window_days,
            basis=basis,
            buckets=tuple(f.buckets),
            open_invoices=f.open_invoices,
            open_ar=f.open_ar,
            current=f.current,
            over_90=f.over_90,
            beginning_ar=f.beginning_ar,
            sales_window=f.sales_window,
        )
        for (k, cur), f in facts.items()
    ]
    rows.sort(key=lambda r: (r.key or "", r.currency))
    return rows


# --- aging ---------------------------------------------------------------------------------------------


@_gc_paused
def aging(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    basis: d.Basis = "due",
    bounds: Sequence[int] | None = None,
    entity: str | None = None,
    filters: Mapping[str, Any] | None = None,
    currency_mode: CurrencyMode = "currency",
    top: int | None = None,
    columnar_engine: bool | None = None,
) -> list[AgingRow]:
    """The aging at the end of `as_of` per slice of `by` and currency, within `user`'s scope. Buckets
    (the organization's unless `bounds` is given; due-date basis unless `basis="invoice"`) add up to the
    open AR of each row. With `top`, only the `top` slices of each currency with the largest past-due
    amount, largest first (as `kpis_and_aging(aging_top=...)`)."""
    if top is not None and top < 0:
        raise InvalidInput("top must be 0 or more", field="top")
    bounds = _check(basis=basis, currency_mode=currency_mode, bounds=bounds)
    given = q.customer_dimension(_scope(user), by, entity=entity, filters=filters)
    with columnar.session([given], use=columnar_engine) as engine:
        sliced = engine.slices[0]
        # the buckets only: the aging has no use for the invoice months of true DSO
        opened = q.open_items(sliced, as_of, bounds=bounds, basis=basis, months=False)
        shared = OpenFacts(opened, *q.unapplied(sliced, as_of))
    return _aging_rows(
        shared, by=by, as_of=as_of, basis=basis, bounds=bounds, currency_mode=currency_mode, top=top
    )


def _aging_rows(
    shared: OpenFacts,
    *,
    by: str | None,
    as_of: dt.date,
    basis: d.Basis,
    bounds: Sequence[int],
    currency_mode: CurrencyMode,
    top: int | None = None,
) -> list[AgingRow]:
    labels = tuple(d.bucket_labels(bounds, basis))
    opened, cash, credits = shared.opened, shared.cash, shared.credits
    zero = [0] * len(labels)
    # (buckets, open invoices, open AR, unapplied cash, open credits) per (slice, currency)
    cash_of, credits_of = cash.get, credits.get
    lines: dict[q.SliceKey, tuple[list[int], int, int, int, int]] = {
        key: (o.buckets, o.open_invoices, o.open_ar, cash_of(key, 0), credits_of(key, 0))
        for key, o in opened.items()
    }
    for key in (cash.keys() | credits.keys()) - opened.keys():
        lines[key] = (zero, 0, 0, cash_of(key, 0), credits_of(key, 0))
    if currency_mode != "currency":  # translated per (slice, currency), then added up per slice
        facts = {
            key: Facts(buckets=list(b), open_ar=a, open_invoices=n, unapplied_cash=c, open_credits=m)
            for key, (b, n, a, c, m) in lines.items()
        }
        lines = {
            key: (f.buckets, f.open_invoices, f.open_ar, f.unapplied_cash, f.open_credits)
            for key, f in _combine(facts, currency_mode, as_of).items()
        }
    if top is not None:
        return _top_rows(
            lines, top, by=by, as_of=as_of, basis=basis, labels=labels, currency_mode=currency_mode
        )
    if not lines and by is None:
        lines[(None, organization().base_currency)] = (zero, 0, 0, 0, 0)
    names = slice_labels(by, {k for k, _ in lines})
    return _aging_row_list(
        lines.items(),
        names,
        by=by,
        as_of=as_of,
        basis=basis,
        labels=labels,
        currency_mode=currency_mode,
        sort=True,
    )


def _aging_row_list(
    lines: Iterable[tuple[q.SliceKey, tuple[list[int], int, int, int, int]]],
    names: Mapping[Any, str],
    *,
    by: str | None,
    as_of: dt.date,
    basis: d.Basis,
    labels: tuple[str, ...],
    currency_mode: CurrencyMode,
    sort: bool = False,
) -> list[AgingRow]:
    """One `AgingRow` per (slice, currency) line; with `sort`, by label (case-insensitive), key, currency.

    A frozen dataclass's __init__ sets each field through object.__setattr__; filling each instance's dict
    at once gives the same objects (same fields, equality, hash) several times faster, which counts at a
    million customers. Every field is given here (test_columnar checks it against the class)."""
    common = {
        "currency_mode": currency_mode,
        "as_of": as_of,
        "basis": basis,
        "bucket_labels": labels,
        "credits_netted": False,
    }
    new, setattr_ = object.__new__, object.__setattr__
    rows: list[AgingRow] = []
    order: list[str] = []
    for (k, cur), (buckets, count, open_ar, cash_minor, credit_minor) in lines:
        label = cur if by == "currency" else names[k]
        row_key = _row_key(by, k, cur)
        row = new(AgingRow)
        setattr_(
            row,
            "__dict__",
            {
                "key": row_key,
                "label": label,
                "currency": cur,
                **common,
                "buckets": tuple(buckets),
                "open_invoices": count,
                "open_ar": open_ar,
                "unapplied_cash": cash_minor,
                "open_credits": credit_minor,
                "net_ar": open_ar - cash_minor - credit_minor,
            },
        )
        rows.append(row)
        if sort:  # label, key, currency as one string: \0 sorts first, so it orders as the tuple would
            order.append(f"{label.casefold()}\0{row_key or ''}\0{cur}")
    if sort:  # (slice, currency) is unique per line: the sort keys never tie
        ranks = sorted(range(len(rows)), key=order.__getitem__)
        rows = [rows[i] for i in ranks]
    return rows


def _top_rows(
    lines: Mapping[q.SliceKey, tuple[list[int], int, int, int, int]],
    top: int,
    *,
    by: str | None,
    as_of: dt.date,
    basis: d.Basis,
    labels: tuple[str, ...],
    currency_mode: CurrencyMode,
) -> list[AgingRow]:
    """The `top` slices of each currency with the largest past-due amount (open AR less the first
    bucket), largest first, then by label and key; only they are labelled."""
    by_currency: dict[str, list[tuple[int, q.SliceKey]]] = {}
    for key, (buckets, _n, open_ar, _c, _m) in lines.items():
        past_due = open_ar - (buckets[0] if buckets else 0)
        if past_due > 0:
            by_currency.setdefault(key[1], []).append((past_due, key))
    chosen: list[q.SliceKey] = []
    for found in by_currency.values():
        found.sort(key=lambda pk: -pk[0])
        if len(found) > top:  # every slice tied with the last one shown may sort before it by label
            last = found[top - 1][0] if top > 0 else found[0][0] + 1
            found = [pk for pk in found if pk[0] >= last]
        chosen.extend(key for _pd, key in found)
    names = slice_labels(by, {k for k, _ in chosen})
    rows = _aging_row_list(
        ((key, lines[key]) for key in chosen),
        names,
        by=by,
        as_of=as_of,
        basis=basis,
        labels=labels,
        currency_mode=currency_mode,
    )
    rows.sort(key=lambda r: (r.currency, -(r.open_ar - r.buckets[0]), r.label.casefold(), r.key or ""))
    out: list[AgingRow] = []
    for cur in sorted({r.currency for r in rows}):
        out.extend([r for r in rows if r.currency == cur][:top])
    return out


def _beginning(
    rows: Sequence[KpiRow] | None, by: str | None, start: dt.date, currency_mode: CurrencyMode
) -> dict[q.SliceKey, int] | None:
    """The beginning AR per (slice, currency) from the KPI rows of the window's first day (None: compute
    it). The rows' keys are those of `kpis()`; the slice keys of the SQL differ for the total ("") and
    the currency dimension (""), which is all this accepts besides the slices that are their own key."""
    if rows is None or currency_mode != "currency":
        return None
    if any(r.as_of != start or r.currency_mode != "currency" for r in rows):
        raise InvalidInput("the beginning rows are not those of the window's first day")
    if by is None or by == "currency":
        return {("", r.currency): r.open_ar for r in rows}
    return None  # other dimensions: NULL keys and labels do not map back safely; compute


@_gc_paused
def kpis_and_aging(
    user: Any,
    as_of: dt.date,
    by: str | None = None,
    *,
    aging_by: str | None = "customer",
    aging_basis: d.Basis | None = None,
    window_days: int = d.DEFAULT_WINDOW_DAYS,
    basis: d.Basis = "due",
    bounds: Sequence[int] | None = None,
    entity: str | None = None,
    filters: Mapping[str, Any] | None = None,
    currency_mode: CurrencyMode = "currency",
    baseline: dt.date | None = None,
    countback_months: int = 12,
    beginning: Sequence[KpiRow] | None = None,
    aging_top: int | None = None,
    columnar_engine: bool | None = None,
) -> tuple[list[KpiRow], list[AgingRow]]:
    """`kpis(user, as_of, by, ...)` and `aging(user, as_of, aging_by, basis=aging_basis, ...)` (same
    scope, filters, bounds and currency mode; `aging_basis` defaults to `basis`), with the items open
    at `as_of` and the unapplied amounts computed once for both: one pass over the ledger, grouped by
    both slicings. Returns exactly what the two calls return.

    `beginning` may pass `kpis(user, start, by, ...)` with the same options, `start` the first day of
    the window (`as_of - window_days`; read from a snapshot, say): its open AR is the beginning AR, so it
    is not computed again. Only in currency mode (a translated figure is not the beginning AR).

    With `aging_top`, the aging holds only the `aging_top` slices of each currency with the largest
    past-due amount (open AR less the first bucket), largest first, then by label (the overview's top
    past-due customers, without labelling every customer of the book).

    `columnar_engine` as in `kpis()`."""
    if aging_top is not None and aging_top < 0:
        raise InvalidInput("aging_top must be 0 or more", field="aging_top")
    chosen_basis: d.Basis = aging_basis or basis
    bounds = _check(basis=basis, currency_mode=currency_mode, window_days=window_days, bounds=bounds)
    _check(basis=chosen_basis, currency_mode=currency_mode, bounds=bounds)
    if not 1 <= countback_months <= 120:
        raise InvalidInput("countback months must be 1 to 120", field="countback_months")
    scope = _scope(user)
    given = q.customer_dimension(scope, aging_by, entity=entity, filters=filters, also=by)
    sets = [
        q.OpenSet(key="k", basis=chosen_basis, months=False),  # the aging: buckets only
        q.OpenSet(key="k2", basis=basis, months=True),  # the KPIs: buckets and months for true DSO
    ]
    with columnar.session([given], use=columnar_engine) as engine:
        both = engine.slices[0]
        for_aging, for_kpis = q.open_item_sets(both, as_of, sets, bounds=bounds)
        (cash_a, credits_a), (cash_k, credits_k) = q.unapplied_sets(both, as_of)
        if engine.columnar:  # the same customers keyed by `by` alone: the copy's slice, its second key
            sliced = q.Sliced(sql=f"SELECT id, k2 AS k FROM ({both.sql}) s", params=both.params)  # noqa: S608
        else:
            sliced = q.customer_dimension(scope, by, entity=entity, filters=filters)
        got = kpi_facts(
            sliced,
            as_of,
            window_days=window_days,
            basis=basis,
            bounds=bounds,
            countback_months=countback_months,
            baseline=baseline,
            shared=OpenFacts(for_kpis, cash_k, credits_k),
            beginning=_beginning(beginning, by, as_of - dt.timedelta(days=window_days), currency_mode),
        )
    kpi_rows = _kpi_rows(
        got,
        by=by,
        as_of=as_of,
        window_days=window_days,
        basis=basis,
        labels=tuple(d.bucket_labels(bounds, basis)),
        currency_mode=currency_mode,
        baseline=baseline,
    )
    aging_rows = _aging_rows(
        OpenFacts(for_aging, cash_a, credits_a),
        by=aging_by,
        as_of=as_of,
        basis=chosen_basis,
        bounds=bounds,
        currency_mode=currency_mode,
        top=aging_top,
    )
    return kpi_rows, aging_rows


def open_items(
    user: Any,
    as_of: dt.date,
    *,
    filters: Mapping[str, Any] | None = None,
    entity: str | None = None,
    limit: int | None = 1000,
) -> list[q.OpenItem]:
    """The invoices open at the end of `as_of` within scope (drill-down from a bucket or a customer:
    `filters={"customer": pk}`), oldest due date first, each with its as-of open amount."""
    sliced = q.customer_dimension(_scope(user), "customer", entity=entity, filters=filters)
    return q.open_item_rows(sliced, as_of, limit=limit)


# --- trends --------------------------------------------------------------------------------------------


def period_ends(start: dt.date, end: dt.date, step: Step = "month") -> list[dt.date]:
    """The ends of the periods of `step` between `start` and `end` inclusive (day: every day; week:
    Sundays; month: month ends; quarter: quarter ends), and `end` itself when it ends a partial period."""
    if step not in STEPS:
        raise InvalidInput(f"unknown step {step!r}; use day, week, month or quarter", field="step")
    if end < start:
        raise InvalidInput("the trend ends before it starts", field="end")
    out: list[dt.date] = []
    day = start
    while day <= end:
        nxt = day + dt.timedelta(days=1)
        if (
            step == "day"
            or (step == "week" and day.isoweekday() == 7)
            or (step == "month" and nxt.day == 1)
            or (step == "quarter" and nxt.day == 1 and nxt.month in (1, 4, 7, 10))
        ):
            out.append(day)
        day = nxt
    if not out or out[-1] != end:
        out.append(end)
    return out


def trend(
    user: Any,
    metric: str,
    start: dt.date,
    end: dt.date,
    step: Step = "month",
    by: str | None = None,
    **options: Any,
) -> list[TrendPoint]:
    """One KPI at the end of each period between `start` and `end`, per slice and currency (options as
    for `kpis`). Computed from the ledger for every point; `snapshots.trend_from_snapshots` serves the
    points fresh snapshots hold."""
    if metric not in TREND_METRICS:
        raise InvalidInput(f"unknown metric {metric!r}", field="metric")
    points = period_ends(start, end, step)
    if len(points) > MAX_TREND_POINTS:
        raise InvalidInput(f"a trend has at most {MAX_TREND_POINTS} points; use a longer step", field="step")
    out: list[TrendPoint] = []
    for as_of in points:
        for row in kpis(user, as_of, by, **options):
            out.append(TrendPoint(as_of, row.key, row.label, row.currency, getattr(row, metric)))
    return out


def bucket_labels(bounds: Sequence[int] | None = None, basis: d.Basis = "due") -> list[str]:
    """The bucket labels a report uses: of `bounds`, or the organization's configured buckets."""
    chosen = list(bounds) if bounds is not None else list(organization().aging_buckets)
    return d.bucket_labels(chosen, basis)
