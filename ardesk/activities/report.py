"""The Activity Management report: the measures of each collector in a window, beside the team median.

Who appears is `selectors.reportable_collectors` (a collector only themselves, a manager their team, the
global roles everyone); the numbers are `measures.collector_measures` and `selectors.activity_mix`. The
median row is the median of each measure over the collectors shown (rates over those with a defined rate),
rounded to 0.01 half even.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ardesk.ledger.selectors import organization

from . import rules, selectors
from .measures import CollectorMeasures, collector_measures
from .models import Kind, Outcome

MIX_COLUMNS: list[tuple[str, str]] = [(k.value, k.label) for k in Kind] + [
    (f"call:{o.value}", f"Calls: {o.label.lower()}") for o in Outcome
]


@dataclass(frozen=True)
class ReportRow:
    collector: Any
    measures: CollectorMeasures
    mix: dict[str, int]


@dataclass(frozen=True)
class ActivityReport:
    start: dt.date
    end: dt.date
    currency: str
    rows: list[ReportRow]
    median: dict[str, Decimal | None]
    collected_after_days: int


def activity_report(
    user: Any, *, start: dt.date, end: dt.date, team: Any = None, collected_after_days: int = 14
) -> ActivityReport:
    collectors = list(selectors.reportable_collectors(user, team=team))
    ids = [c.pk for c in collectors]
    measures = collector_measures(
        collector_ids=ids, start=start, end=end, collected_after_days=collected_after_days
    )
    mix = selectors.activity_mix(collector_ids=ids, start=start, end=end)
    rows = [ReportRow(c, measures[c.pk], mix.get(c.pk, {})) for c in collectors]
    median = {
        name: rules.median_of([getattr(r.measures, name) for r in rows]) for name in CollectorMeasures.names()
    }
    return ActivityReport(
        start=start,
        end=end,
        currency=organization().base_currency,
        rows=rows,
        median=median,
        collected_after_days=collected_after_days,
    )


EXPORT_MEASURES: list[tuple[str, str]] = [
    ("calls", "Calls"),
    ("right_party_calls", "Right-party calls"),
    ("right_party_rate", "Right-party rate %"),
    ("emails_sent", "Emails sent"),
    ("contacts", "Contacts"),
    ("contact_days", "Working days"),
    ("contacts_per_day", "Contacts per day"),
    ("ptps_taken", "PTPs taken"),
    ("ptps_taken_minor", "PTP amount taken"),
    ("ptps_kept", "PTPs kept"),
    ("ptps_partial", "PTPs partially kept"),
    ("ptps_broken", "PTPs broken"),
    ("kept_rate_count", "Kept rate % (count)"),
    ("kept_rate_amount", "Kept rate % (amount)"),
    ("cash_collected_minor", "Cash collected"),
    ("collected_after_contact_minor", "Collected after contact"),
    ("follow_ups_overdue", "Follow-ups overdue"),
    ("disputes_logged", "Disputes logged"),
]
MONEY_MEASURES = frozenset({"ptps_taken_minor", "cash_collected_minor", "collected_after_contact_minor"})


def export_table(report: ActivityReport) -> tuple[list[str], list[list[Any]]]:
    """Header and rows (collectors, then the team median); money in major units of the base currency."""
    from ardesk.core.money import Money

    def cell(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in MONEY_MEASURES:
            if isinstance(value, Decimal) and value != value.to_integral_value():
                value = value.to_integral_value()
            return Money(int(value), report.currency).amount
        return value

    header = ["Collector", "Team", "From", "To", "Currency"] + [label for _, label in EXPORT_MEASURES]
    header += [label for _, label in MIX_COLUMNS]
    rows: list[list[Any]] = []
    for r in report.rows:
        profile = getattr(r.collector, "collector", None)
        team = profile.team.name if profile is not None and profile.team is not None else ""
        rows.append(
            [r.collector.username, team, report.start, report.end, report.currency]
            + [cell(name, getattr(r.measures, name)) for name, _ in EXPORT_MEASURES]
            + [r.mix.get(key, 0) for key, _ in MIX_COLUMNS]
        )
    if report.rows:
        rows.append(
            ["Team median", "", report.start, report.end, report.currency]
            + [cell(name, report.median[name]) for name, _ in EXPORT_MEASURES]
            + [None for _ in MIX_COLUMNS]
        )
    return header, rows
