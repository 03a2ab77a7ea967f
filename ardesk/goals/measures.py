"""The measures a goal can be set on, and their values for collectors and groups of collectors.

A **measure** turns a collector's (or a group's) *facts* into one number:

- KPI measures (from the metrics engine, in the organization's base currency, as of the end of a date,
  with the KPI window of `KPI_WINDOW_DAYS` = 90 days): past-due amount, % past due, DSO (period), CEI,
  % over 90 days past due. They describe the collector's portfolio on that date.
- Activity measures (from `ardesk.activities.measures`) count what happened in the trailing window of
  the goal's `window_days` days ending on the date (default 30): contacts, calls, emails sent,
  right-party contacts, PTPs taken, PTP kept rate (by count), cash collected, collected after contact.
- Deduction measures (from `ardesk.disputes`), over the same trailing window, for the deductions of the
  collector's customers: **deduction cycle time** = mean of (resolved date - opened date) in days over
  the deductions resolved in the window (DOMAIN.md's cycle time; the mean, so a group's figure is exact
  from summed days and counts), and the **deduction logging lag** = mean of (opened date - short payment
  date) over the deductions opened in the window from a short payment.

Facts are integers (counts, or money in minor units), so a group's facts are the sum of its members'
facts and a group's rate is recomputed from the summed numerators and denominators, never averaged.
Values: money in minor units (a Decimal with no fraction), counts as Decimal integers, percentages and
days as Decimal rounded to 0.01 half to even (the metrics engine's rounding).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from ardesk.metrics import definitions as d

KPI_WINDOW_DAYS = d.DEFAULT_WINDOW_DAYS
DEFAULT_ACTIVITY_WINDOW = 30

Unit = Literal["money", "count", "pct", "days"]
Source = Literal["kpi", "activity", "disputes"]
Direction = Literal["increase", "decrease"]

KPI_FACTS = ("past_due", "open_ar", "over_90", "current", "sales_window", "beginning_ar")
ACTIVITY_FACTS = (
    "calls",
    "right_party_calls",
    "emails_sent",
    "contacts",
    "contact_days",
    "ptps_taken",
    "ptps_kept",
    "ptps_partial",
    "ptps_broken",
    "cash_collected_minor",
    "collected_after_contact_minor",
    "follow_ups_overdue",
    "disputes_logged",
)
DISPUTE_FACTS = ("deductions_resolved", "deduction_cycle_days", "deductions_logged", "deduction_log_lag_days")
Facts = Mapping[str, int]


def _pct(num: int, den: int) -> Decimal | None:
    return None if den == 0 else d.round_step(Fraction(num * 100, den))


def _count(name: str) -> Callable[[Facts], Decimal | None]:
    return lambda f: Decimal(int(f.get(name, 0)))


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: Unit
    source: Source
    better: Direction  # which way is good (the default direction of a goal)
    compute: Callable[[Facts], Decimal | None]
    help: str = ""

    def value(self, facts: Facts) -> Decimal | None:
        return self.compute(facts)


def _g(f: Facts, k: str) -> int:
    return int(f.get(k, 0))


def _mean_days(f: Facts, days: str, count: str) -> Decimal | None:
    n = _g(f, count)
    return None if n == 0 else d.round_step(Fraction(_g(f, days), n))


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure(
            "past_due",
            "Past-due amount",
            "money",
            "kpi",
            "decrease",
            lambda f: Decimal(_g(f, "past_due")),
            "open AR past its due date, base currency",
        ),
        Measure(
            "pct_past_due",
            "% past due",
            "pct",
            "kpi",
            "decrease",
            lambda f: d.pct_past_due(_g(f, "past_due"), _g(f, "open_ar")),
            "past-due AR / open AR",
        ),
        Measure(
            "dso",
            "DSO (days)",
            "days",
            "kpi",
            "decrease",
            lambda f: d.dso(_g(f, "open_ar"), _g(f, "sales_window"), KPI_WINDOW_DAYS),
            "open AR / sales of the last 90 days x 90",
        ),
        Measure(
            "cei",
            "CEI (%)",
            "pct",
            "kpi",
            "increase",
            lambda f: d.cei(_g(f, "beginning_ar"), _g(f, "sales_window"), _g(f, "open_ar"), _g(f, "current")),
            "collection effectiveness over the last 90 days",
        ),
        Measure(
            "pct_over_90",
            "% over 90 days",
            "pct",
            "kpi",
            "decrease",
            lambda f: d.pct_over_90(_g(f, "over_90"), _g(f, "open_ar")),
            "AR more than 90 days past due / open AR",
        ),
        Measure("contacts", "Contacts", "count", "activity", "increase", _count("contacts"), "in the window"),
        Measure(
            "calls", "Calls", "count", "activity", "increase", _count("calls"), "call attempts in the window"
        ),
        Measure(
            "emails", "Emails sent", "count", "activity", "increase", _count("emails_sent"), "in the window"
        ),
        Measure(
            "right_party_contacts",
            "Right-party contacts",
            "count",
            "activity",
            "increase",
            _count("right_party_calls"),
            "calls that reached an AP or decision contact",
        ),
        Measure(
            "right_party_rate",
            "Right-party rate (%)",
            "pct",
            "activity",
            "increase",
            lambda f: _pct(_g(f, "right_party_calls"), _g(f, "calls")),
            "right-party calls / all call attempts",
        ),
        Measure(
            "ptps_taken", "PTPs taken", "count", "activity", "increase", _count("ptps_taken"), "in the window"
        ),
        Measure(
            "ptp_kept_rate",
            "PTP kept rate (%)",
            "pct",
            "activity",
            "increase",
            lambda f: _pct(
                _g(f, "ptps_kept"), _g(f, "ptps_kept") + _g(f, "ptps_broken") + _g(f, "ptps_partial")
            ),
            "kept / (kept + broken + partial), by count, promises due in the window",
        ),
        Measure(
            "cash_collected",
            "Cash collected",
            "money",
            "activity",
            "increase",
            lambda f: Decimal(_g(f, "cash_collected_minor")),
            "payments from the portfolio in the window",
        ),
        Measure(
            "collected_after_contact",
            "Collected after contact",
            "money",
            "activity",
            "increase",
            lambda f: Decimal(_g(f, "collected_after_contact_minor")),
            "payments within 14 days of a contact",
        ),
        Measure(
            "deduction_cycle_time",
            "Deduction cycle time (days)",
            "days",
            "disputes",
            "decrease",
            lambda f: _mean_days(f, "deduction_cycle_days", "deductions_resolved"),
            "mean days from opened to resolved, deductions resolved in the window",
        ),
        Measure(
            "deduction_log_lag",
            "Deduction logging lag (days)",
            "days",
            "disputes",
            "decrease",
            lambda f: _mean_days(f, "deduction_log_lag_days", "deductions_logged"),
            "mean days from the short payment to the deduction being opened",
        ),
    )
}
METRIC_CHOICES = [(m.key, m.label) for m in MEASURES.values()]


def measure(key: str) -> Measure:
    from ardesk.core.errors import InvalidInput

    try:
        return MEASURES[key]
    except KeyError:
        raise InvalidInput(f"unknown measure {key!r}", field="metric") from None


def add_facts(items: Iterable[Facts]) -> dict[str, int]:
    """The facts of a group: the sum of its members' facts."""
    out: dict[str, int] = {}
    for f in items:
        for k, v in f.items():
            out[k] = out.get(k, 0) + int(v)
    return out


# --- reading the facts from the database ------------------------------------------------------------


def kpi_facts(collector_ids: Iterable[int], as_of: dt.date) -> dict[int, dict[str, int]]:
    """KPI facts of each collector's portfolio at the end of `as_of`, base currency (one query batch):
    the metrics engine's portfolio figures (`metrics.selectors.portfolio`, the `kpis()` figures of the
    same name without the paid invoices, unapplied cash and countback months no measure uses)."""
    from ardesk.metrics.selectors import SYSTEM, portfolio

    ids = sorted(set(collector_ids))
    out: dict[int, dict[str, int]] = {cid: dict.fromkeys(KPI_FACTS, 0) for cid in ids}
    if not ids:
        return out
    rows = portfolio(
        SYSTEM,
        as_of,
        "collector",
        window_days=KPI_WINDOW_DAYS,
        filters={"collector": ids},
        currency_mode="base",
    )
    for row in rows:
        if row.key is None or not row.key.isdigit() or int(row.key) not in out:
            continue
        f = out[int(row.key)]
        for k in KPI_FACTS:
            f[k] += int(getattr(row, k))
    return out


def activity_facts(
    collector_ids: Iterable[int], as_of: dt.date, window_days: int
) -> dict[int, dict[str, int]]:
    """Activity facts of each collector over the `window_days` days ending on `as_of` (inclusive)."""
    from ardesk.activities.measures import collector_measures

    ids = sorted(set(collector_ids))
    out: dict[int, dict[str, int]] = {cid: dict.fromkeys(ACTIVITY_FACTS, 0) for cid in ids}
    if not ids:
        return out
    start = as_of - dt.timedelta(days=window_days - 1)
    for cid, m in collector_measures(collector_ids=ids, start=start, end=as_of).items():
        if cid not in out:
            continue
        out[cid] = {k: int(getattr(m, k)) for k in ACTIVITY_FACTS}
    return out


def dispute_facts(
    collector_ids: Iterable[int], as_of: dt.date, window_days: int
) -> dict[int, dict[str, int]]:
    """Deduction facts of each collector's customers over the `window_days` days ending on `as_of`."""
    from ardesk.disputes.models import Dispute, Kind

    ids = sorted(set(collector_ids))
    out: dict[int, dict[str, int]] = {cid: dict.fromkeys(DISPUTE_FACTS, 0) for cid in ids}
    if not ids:
        return out
    start = as_of - dt.timedelta(days=window_days - 1)
    deductions = Dispute.objects.filter(customer__collector_id__in=ids, kind=Kind.DEDUCTION).order_by()
    for cid, opened, resolved in deductions.filter(
        resolved_on__gte=start, resolved_on__lte=as_of
    ).values_list("customer__collector_id", "opened_on", "resolved_on"):
        if resolved is None:  # pragma: no cover - filtered by the query
            continue
        out[cid]["deductions_resolved"] += 1
        out[cid]["deduction_cycle_days"] += (resolved - opened).days
    for cid, opened, paid in deductions.filter(
        opened_on__gte=start, opened_on__lte=as_of, payment__isnull=False
    ).values_list("customer__collector_id", "opened_on", "payment__payment_date"):
        out[cid]["deductions_logged"] += 1
        out[cid]["deduction_log_lag_days"] += max(0, (opened - paid).days)
    return out


class FactCache:
    """Facts read once per (source, date, window) for every collector asked for, then reused, so a
    refresh of many goals on one date costs one KPI query batch and one activity query batch."""

    def __init__(self) -> None:
        self._kpi: dict[dt.date, dict[int, dict[str, int]]] = {}
        self._act: dict[tuple[dt.date, int], dict[int, dict[str, int]]] = {}
        self._disp: dict[tuple[dt.date, int], dict[int, dict[str, int]]] = {}

    def facts(self, source: Source, ids: list[int], as_of: dt.date, window_days: int) -> dict[int, Facts]:
        if source == "kpi":
            have = self._kpi.setdefault(as_of, {})
            missing = [i for i in ids if i not in have]
            if missing:
                have.update(kpi_facts(missing, as_of))
        elif source == "activity":
            have = self._act.setdefault((as_of, window_days), {})
            missing = [i for i in ids if i not in have]
            if missing:
                have.update(activity_facts(missing, as_of, window_days))
        else:
            have = self._disp.setdefault((as_of, window_days), {})
            missing = [i for i in ids if i not in have]
            if missing:
                have.update(dispute_facts(missing, as_of, window_days))
        return {i: have[i] for i in ids}

    def value(self, key: str, ids: list[int], as_of: dt.date, window_days: int) -> Decimal | None:
        """The measure over the group `ids` (one collector or many): summed facts, then the formula."""
        m = measure(key)
        return m.value(add_facts(self.facts(m.source, ids, as_of, window_days).values()))


def fmt(key: str, value: Decimal | None, currency: str) -> str:
    """A value for display: money in major units of `currency` (the base currency) with separators,
    counts as integers, percentages with %, days with 'd'."""
    from ardesk.core.money import minor_units

    if value is None:
        return "–"
    unit = MEASURES[key].unit
    if unit == "money":
        places = minor_units(currency)
        return f"{value.scaleb(-places):,.{places}f} {currency}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "pct":
        return f"{value:.2f}%"
    return f"{value:.2f} d"
