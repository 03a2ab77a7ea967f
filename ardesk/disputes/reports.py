"""Dispute and deduction reports (DOMAIN.md), as of a date, over a window.

The window is the `days` days ending on `as_of`, both ends included (default 90: as_of - 89 .. as_of).
A dispute is *open as of* a date when it was opened on or before it and not resolved by then.

- **Cycle time** = resolved date - opened date, in days, over disputes resolved in the window; median and
  mean (one decimal, half up), overall, by reason and by owner.
- **Days deductions outstanding (DDO)** = open deductions as of `as_of` / average daily new deductions over
  the window (amounts, per currency; one decimal, half up). No new deductions: no figure.
- **Invoice error rate** = invoices issued in the window with a dispute whose root cause is a billing error
  (resolved by `as_of`) / invoices issued in the window, in percent (two decimals, half up).
- **Root-cause Pareto**: disputes resolved in the window by root cause, most frequent first, with the
  cumulative share.
- **Valid vs invalid rate** by customer and by reason: among disputes resolved in the window, the share
  resolved valid or partially valid, invalid, written off (percent, two decimals, half up).

The statistics are pure functions over plain numbers; the queries feed them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from ardesk.ledger.models import Invoice
from ardesk.ledger.selectors import customer_scope_q

from .models import Department, Dispute, DisputeLine, Kind, Resolution, RootCause

ONE_PLACE = Decimal("0.1")
TWO_PLACES = Decimal("0.01")
DEFAULT_WINDOW = 90
AGE_BUCKETS = [(0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+")]

# --- pure statistics ------------------------------------------------------------------------------------


def mean_days(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(ONE_PLACE, ROUND_HALF_UP)


def median_days(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(sorted(values)))).quantize(ONE_PLACE, ROUND_HALF_UP)


def ddo(*, open_minor: int, new_minor: int, days: int) -> Decimal | None:
    """open deductions / (new deductions in the window / days in the window)."""
    if new_minor <= 0 or days <= 0:
        return None
    return (Decimal(open_minor) * days / Decimal(new_minor)).quantize(ONE_PLACE, ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TWO_PLACES, ROUND_HALF_UP)


def age_bucket(age_days: int) -> str:
    for low, high, label in AGE_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGE_BUCKETS[0][2]


def pareto(counts: dict[str, int]) -> list[tuple[str, int, Decimal]]:
    """(key, count, cumulative %) most frequent first (ties by key); cumulative % to two places."""
    total = sum(counts.values())
    out: list[tuple[str, int, Decimal]] = []
    running = 0
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        out.append((key, n, percent(running, total) or Decimal(0)))
    return out


# --- queries ---------------------------------------------------------------------------------------------


def window_start(as_of: dt.date, days: int) -> dt.date:
    return as_of - dt.timedelta(days=days - 1)


def _scoped(user: Any) -> QuerySet[Dispute]:
    from .selectors import disputes_for_user

    return disputes_for_user(user)


def open_as_of(qs: QuerySet[Dispute], as_of: dt.date) -> QuerySet[Dispute]:
    return qs.filter(opened_on__lte=as_of).filter(Q(resolved_on__isnull=True) | Q(resolved_on__gt=as_of))


@dataclass
class OpenRow:
    key: str
    label: str
    count: int = 0
    deductions: int = 0
    overdue: int = 0
    amounts: dict[str, int] = field(default_factory=dict)


def open_breakdown(user: Any, as_of: dt.date) -> dict[str, list[OpenRow]]:
    """Open disputes and deductions as of `as_of` by age bucket, reason, owner and department."""
    rows = open_as_of(_scoped(user), as_of).values_list(
        "opened_on",
        "due_on",
        "kind",
        "currency",
        "amount_minor",
        "reason__code",
        "reason__name",
        "owner__username",
        "department",
    )
    dims: dict[str, dict[str, OpenRow]] = {"age": {}, "reason": {}, "owner": {}, "department": {}}
    dept_labels = dict(Department.choices)
    for label in (b[2] for b in AGE_BUCKETS):
        dims["age"][label] = OpenRow(label, label)
    for opened_on, due_on, kind, currency, amount, rcode, rname, owner, dept in rows:
        keys = {
            "age": (age_bucket((as_of - opened_on).days), age_bucket((as_of - opened_on).days)),
            "reason": (rcode, rname),
            "owner": (owner or "", owner or "(unassigned)"),
            "department": (dept, dept_labels.get(dept, dept)),
        }
        for dim, (key, label) in keys.items():
            row = dims[dim].setdefault(key, OpenRow(key, label))
            row.count += 1
            row.deductions += kind == Kind.DEDUCTION
            row.overdue += due_on < as_of
            row.amounts[currency] = row.amounts.get(currency, 0) + amount
    out: dict[str, list[OpenRow]] = {}
    for dim, table in dims.items():
        values = list(table.values())
        if dim != "age":
            values.sort(key=lambda r: (-r.count, r.label))
        out[dim] = values
    return out


@dataclass
class CycleRow:
    key: str
    label: str
    resolved: int
    median: Decimal | None
    mean: Decimal | None


def cycle_times(user: Any, as_of: dt.date, days: int = DEFAULT_WINDOW) -> dict[str, Any]:
    """Cycle time of the disputes resolved in the window: overall, by reason, by owner."""
    rows = list(
        _scoped(user)
        .filter(resolved_on__gte=window_start(as_of, days), resolved_on__lte=as_of)
        .values_list("opened_on", "resolved_on", "reason__code", "reason__name", "resolved_by__username")
    )
    every: list[int] = []
    by_reason: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_owner: dict[str, list[int]] = defaultdict(list)
    for opened_on, resolved_on, rcode, rname, who in rows:
        if resolved_on is None:  # pragma: no cover - filtered by the query
            continue
        n = (resolved_on - opened_on).days
        every.append(n)
        by_reason[(rcode, rname)].append(n)
        by_owner[who or ""].append(n)

    def table(groups: dict[Any, list[int]], label: Any) -> list[CycleRow]:
        out = [
            CycleRow(k[0] if isinstance(k, tuple) else k, label(k), len(v), median_days(v), mean_days(v))
            for k, v in groups.items()
        ]
        return sorted(out, key=lambda r: (-r.resolved, r.label))

    return {
        "resolved": len(every),
        "median": median_days(every),
        "mean": mean_days(every),
        "by_reason": table(by_reason, lambda k: k[1]),
        "by_owner": table(by_owner, lambda k: k or "(nobody)"),
    }


def ddo_report(user: Any, as_of: dt.date, days: int = DEFAULT_WINDOW) -> list[dict[str, Any]]:
    """DDO per currency: open deductions as of `as_of` and new deductions in the window."""
    qs = _scoped(user).filter(kind=Kind.DEDUCTION)
    open_ = dict(
        open_as_of(qs, as_of)
        .values_list("currency")
        .annotate(s=Sum("amount_minor"))
        .values_list("currency", "s")
    )
    new = dict(
        qs.filter(opened_on__gte=window_start(as_of, days), opened_on__lte=as_of)
        .values_list("currency")
        .annotate(s=Sum("amount_minor"))
        .values_list("currency", "s")
    )
    counts = dict(
        open_as_of(qs, as_of).values_list("currency").annotate(n=Count("id")).values_list("currency", "n")
    )
    out = []
    for cur in sorted(set(open_) | set(new)):
        o, n = open_.get(cur, 0) or 0, new.get(cur, 0) or 0
        out.append(
            {
                "currency": cur,
                "open_minor": o,
                "open_count": counts.get(cur, 0),
                "new_minor": n,
                "days": days,
                "ddo": ddo(open_minor=o, new_minor=n, days=days),
            }
        )
    return out


def invoice_error_rate(user: Any, as_of: dt.date, days: int = DEFAULT_WINDOW) -> dict[str, Any]:
    start = window_start(as_of, days)
    q = customer_scope_q(user, prefix="customer__")
    from .selectors import is_resolver_only

    invoices = Invoice.objects.filter(invoice_date__gte=start, invoice_date__lte=as_of).exclude(
        status=Invoice.Status.CANCELLED
    )
    if is_resolver_only(user):
        invoices = invoices.filter(dispute_lines__dispute__owner=user).distinct()
    elif q is not None:
        invoices = invoices.filter(q)
    issued = invoices.count()
    errors = (
        DisputeLine.objects.filter(
            invoice__in=invoices.values("pk"),
            dispute__root_cause=RootCause.BILLING_ERROR,
            dispute__resolved_on__lte=as_of,
        )
        .values("invoice_id")
        .distinct()
        .count()
    )
    return {"issued": issued, "errors": errors, "rate": percent(errors, issued), "days": days}


def root_cause_pareto(user: Any, as_of: dt.date, days: int = DEFAULT_WINDOW) -> list[dict[str, Any]]:
    counts = dict(
        _scoped(user)
        .filter(resolved_on__gte=window_start(as_of, days), resolved_on__lte=as_of)
        .exclude(root_cause="")
        .values_list("root_cause")
        .annotate(n=Count("id"))
        .values_list("root_cause", "n")
    )
    labels = dict(RootCause.choices)
    return [{"key": k, "label": labels.get(k, k), "count": n, "cumulative": c} for k, n, c in pareto(counts)]


@dataclass
class RateRow:
    key: str
    label: str
    resolved: int = 0
    valid: int = 0
    partial: int = 0
    invalid: int = 0
    written_off: int = 0

    @property
    def valid_rate(self) -> Decimal | None:
        return percent(self.valid + self.partial, self.resolved)

    @property
    def invalid_rate(self) -> Decimal | None:
        return percent(self.invalid, self.resolved)


def tally(rows: Iterable[tuple[str, str, str]]) -> list[RateRow]:
    """(key, label, resolution) -> one RateRow per key, most resolved first."""
    out: dict[str, RateRow] = {}
    for key, label, res in rows:
        r = out.setdefault(key, RateRow(key, label))
        r.resolved += 1
        if res == Resolution.VALID:
            r.valid += 1
        elif res == Resolution.PARTIAL:
            r.partial += 1
        elif res == Resolution.INVALID:
            r.invalid += 1
        elif res == Resolution.WRITTEN_OFF:
            r.written_off += 1
    return sorted(out.values(), key=lambda r: (-r.resolved, r.label))


def validity_rates(user: Any, as_of: dt.date, days: int = DEFAULT_WINDOW) -> dict[str, list[RateRow]]:
    rows = list(
        _scoped(user)
        .filter(resolved_on__gte=window_start(as_of, days), resolved_on__lte=as_of)
        .values_list(
            "customer__account_number", "customer__name", "reason__code", "reason__name", "resolution"
        )
    )
    return {
        "by_customer": tally((acct, f"{acct} {name}", res) for acct, name, _, _, res in rows),
        "by_reason": tally((code, rname, res) for _, _, code, rname, res in rows),
    }
