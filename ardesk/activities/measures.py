"""Activity measures per collector and period: the numbers of the Activity Management report, goals and
coaching (DOMAIN.md, "Collector activity").

For a window `start` .. `end` (business dates, both included):

- calls, right-party calls (outcome "reached right party"), emails sent (typed or automated dunning),
  contacts (calls, emails sent, letters, SMS, meetings, visits), disputes logged: activities counted for
  the collector dated in the window;
- contact days: Monday-to-Friday days in the window; contacts per day = contacts / contact days;
- right-party rate = right-party calls / calls (a percentage);
- PTPs taken: promises taken in the window (count, and amount in the organization's base currency);
- PTPs kept / partially kept / broken: promises of the collector *resolved* in the window (a kept promise
  on the day it was fully paid, a broken or partial one the day after its deadline); kept rate by count
  = kept / (kept + partial + broken), by amount = promised amounts of the kept ones / of all three;
- cash collected: receipts dated in the window from the customers the collector holds now (not reversed
  by the end of the window);
- collected after contact: receipts dated in the window that came within `collected_after_days` days
  after a contact with that customer, credited to the collector of the latest such contact;
- follow-ups overdue: the collector's follow-ups due before `end` and not done by then.

Money is converted to the base currency at the latest rate on or before `end` (`ledger.selectors.fx_rate`,
as the KPI engine does). Rates: percentages and per-day figures rounded once to 0.01, half even
(`rules`); None when undefined.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, Sum

from ardesk.core.money import Money
from ardesk.ledger.models import Customer, Payment
from ardesk.ledger.selectors import fx_rate, organization

from . import rules
from .models import CONTACT_KINDS, Activity, Kind, Outcome, PromiseToPay

FEW_COLLECTORS = 2  # up to this many, collected-after-contact starts from the customers they contacted


@dataclass(frozen=True)
class CollectorMeasures:
    calls: int
    right_party_calls: int
    right_party_rate: Decimal | None
    emails_sent: int
    contacts: int
    contact_days: int
    contacts_per_day: Decimal
    ptps_taken: int
    ptps_taken_minor: int
    ptps_kept: int
    ptps_partial: int
    ptps_broken: int
    kept_rate_count: Decimal | None
    kept_rate_amount: Decimal | None
    cash_collected_minor: int
    collected_after_contact_minor: int
    follow_ups_overdue: int
    disputes_logged: int

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def build_measures(
    *,
    counts: dict[str, int],
    contact_days: int,
    kept_amount: int,
    partial_amount: int,
    broken_amount: int,
) -> CollectorMeasures:
    """Assemble the measures from raw counts and amounts (pure). `counts` holds calls, right_party_calls,
    emails_sent, contacts, ptps_taken, ptps_taken_minor, ptps_kept, ptps_partial, ptps_broken,
    cash_collected_minor, collected_after_contact_minor, follow_ups_overdue, disputes_logged."""
    c = defaultdict(int, counts)
    by_count, by_amount = rules.kept_rates(
        c["ptps_kept"], c["ptps_partial"], c["ptps_broken"], kept_amount, partial_amount, broken_amount
    )
    return CollectorMeasures(
        calls=c["calls"],
        right_party_calls=c["right_party_calls"],
        right_party_rate=rules.pct(c["right_party_calls"], c["calls"]),
        emails_sent=c["emails_sent"],
        contacts=c["contacts"],
        contact_days=contact_days,
        contacts_per_day=rules.per_day(c["contacts"], contact_days),
        ptps_taken=c["ptps_taken"],
        ptps_taken_minor=c["ptps_taken_minor"],
        ptps_kept=c["ptps_kept"],
        ptps_partial=c["ptps_partial"],
        ptps_broken=c["ptps_broken"],
        kept_rate_count=by_count,
        kept_rate_amount=by_amount,
        cash_collected_minor=c["cash_collected_minor"],
        collected_after_contact_minor=c["collected_after_contact_minor"],
        follow_ups_overdue=c["follow_ups_overdue"],
        disputes_logged=c["disputes_logged"],
    )


class _Base:
    """Converts (currency, minor) to the base currency at the rate on `on`, one rate lookup per currency."""

    def __init__(self, on: dt.date) -> None:
        self.on = on
        self.base = organization().base_currency
        self.rates: dict[str, Decimal] = {}

    def __call__(self, currency: str, minor: int) -> int:
        if currency == self.base:
            return int(minor)
        if currency not in self.rates:
            self.rates[currency] = fx_rate(currency, self.base, self.on)
        return Money(int(minor), currency).convert(self.rates[currency], self.base).minor


def collector_measures(
    *,
    collector_ids: list[int] | tuple[int, ...],
    start: dt.date,
    end: dt.date,
    collected_after_days: int = 14,
) -> dict[int, CollectorMeasures]:
    """The measures of each collector over start .. end (every id present, zeros when idle). About ten
    aggregate queries whatever the number of collectors."""
    ids = sorted(set(collector_ids))
    to_base = _Base(end)
    counts: dict[int, dict[str, int]] = {pk: defaultdict(int) for pk in ids}
    amounts: dict[int, dict[str, int]] = {pk: defaultdict(int) for pk in ids}
    if ids:
        _activity_counts(ids, start, end, counts)
        _promise_counts(ids, start, end, counts, amounts, to_base)
        _cash(ids, start, end, counts, to_base)
        _after_contact(ids, start, end, collected_after_days, counts, to_base)
        _overdue(ids, end, counts)
    days = rules.working_days(start, end)
    return {
        pk: build_measures(
            counts=counts[pk],
            contact_days=days,
            kept_amount=amounts[pk]["kept"],
            partial_amount=amounts[pk]["partial"],
            broken_amount=amounts[pk]["broken"],
        )
        for pk in ids
    }


def _activity_counts(ids: list[int], start: dt.date, end: dt.date, counts: dict[int, Any]) -> None:
    rows = (
        Activity.objects.filter(collector_id__in=ids, occurred_on__gte=start, occurred_on__lte=end)
        .order_by()
        .values("collector_id")
        .annotate(
            calls=Count("id", filter=Q(kind=Kind.CALL)),
            right_party_calls=Count("id", filter=Q(kind=Kind.CALL, outcome=Outcome.RIGHT_PARTY)),
            emails_sent=Count("id", filter=Q(kind=Kind.EMAIL_SENT)),
            contacts=Count("id", filter=Q(kind__in=CONTACT_KINDS)),
            disputes_logged=Count("id", filter=Q(kind=Kind.DISPUTE)),
        )
    )
    for r in rows:
        c = counts[r.pop("collector_id")]
        for k, v in r.items():
            c[k] += v


def _promise_counts(
    ids: list[int],
    start: dt.date,
    end: dt.date,
    counts: dict[int, Any],
    amounts: dict[int, Any],
    to_base: _Base,
) -> None:
    taken = (
        PromiseToPay.objects.filter(collector_id__in=ids, taken_on__gte=start, taken_on__lte=end)
        .order_by()
        .values("collector_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount_minor"))
    )
    for r in taken:
        c = counts[r["collector_id"]]
        c["ptps_taken"] += r["n"]
        c["ptps_taken_minor"] += to_base(r["currency"], r["total"])
    resolved = (
        PromiseToPay.objects.filter(
            collector_id__in=ids,
            status__in=[PromiseToPay.Status.KEPT, PromiseToPay.Status.PARTIAL, PromiseToPay.Status.BROKEN],
            resolved_on__gte=start,
            resolved_on__lte=end,
        )
        .order_by()
        .values("collector_id", "currency", "status")
        .annotate(n=Count("id"), total=Sum("amount_minor"))
    )
    for r in resolved:
        counts[r["collector_id"]][f"ptps_{r['status']}"] += r["n"]
        amounts[r["collector_id"]][r["status"]] += to_base(r["currency"], r["total"])


def _cash(ids: list[int], start: dt.date, end: dt.date, counts: dict[int, Any], to_base: _Base) -> None:
    """Receipts of the window not reversed by `end`, per (current collector of the customer, currency).
    Driven by the payment-date index (a window's receipts are few; a portfolio's history is not): CROSS
    JOIN keeps SQLite on that order, PostgreSQL plans it as an inner join."""
    id_in = ", ".join(["%s"] * len(ids))
    sql = f"""
        SELECT c.collector_id, p.currency, SUM(p.amount_minor)
        FROM {Payment._meta.db_table} p CROSS JOIN {Customer._meta.db_table} c
        WHERE p.payment_date >= %s AND p.payment_date <= %s
          AND (p.reversed_on IS NULL OR p.reversed_on > %s)
          AND c.id = p.customer_id AND c.collector_id IN ({id_in})
        GROUP BY c.collector_id, p.currency
    """  # noqa: S608 - table names from the models, values are parameters
    d = _sql_date
    with connection.cursor() as cur:
        cur.execute(sql, [d(start), d(end), d(end), *ids])
        rows = cur.fetchall()
    for collector, currency, total in rows:
        counts[collector]["cash_collected_minor"] += to_base(currency, int(total))


def _after_contact(
    ids: list[int], start: dt.date, end: dt.date, days: int, counts: dict[int, Any], to_base: _Base
) -> None:
    """One statement: each receipt of the window (not reversed by `end`) with the collector of the latest
    contact with that customer on or before the receipt and at most `days` days before it (ties on a day:
    the highest collector id, as `rules.credit_after_contact` over contacts sorted by (date, collector)),
    summed per (collector, currency, amount) so each receipt is converted on its own, exactly as one by
    one. Contacts with no collector credit nobody and are skipped."""
    act = Activity._meta.db_table
    pay = Payment._meta.db_table
    kinds = sorted(str(k) for k in CONTACT_KINDS)
    kind_in = ", ".join(["%s"] * len(kinds))
    id_in = ", ".join(["%s"] * len(ids))
    floor_arg: int | str
    if connection.vendor == "postgresql":
        floor, floor_arg = "p.payment_date - CAST(%s AS integer)", days
    else:  # SQLite stores dates as ISO text: date() shifts and compares them as the column does
        floor, floor_arg = "date(p.payment_date, %s)", f"-{days} days"
    # For one or two collectors, only the receipts of customers they contacted since `start - days` can be
    # theirs: reading those customers' receipts is quicker than every receipt of the window (for many
    # collectors it is not).
    few = ""
    few_params: list[Any] = []
    if len(ids) <= FEW_COLLECTORS:
        few = f"""AND p.customer_id IN (
                SELECT c.customer_id FROM {act} c
                WHERE c.collector_id IN ({id_in}) AND c.kind IN ({kind_in})
                  AND c.occurred_on >= %s AND c.occurred_on <= %s)"""  # noqa: S608 - as below
        few_params = [*ids, *kinds, _sql_date(start - dt.timedelta(days=days)), _sql_date(end)]
    # the receipts of the window (by the payment-date index) joined to the contacts of the `days` days
    # before each (by the (customer, day) index); the latest per receipt wins. CROSS JOIN keeps SQLite on
    # that order (PostgreSQL plans it as an inner join).
    sql = f"""
        SELECT w.collector_id, w.currency, w.amount_minor, COUNT(*)
        FROM (
            SELECT p.currency AS currency, p.amount_minor AS amount_minor, a.collector_id AS collector_id,
                   ROW_NUMBER() OVER (
                       PARTITION BY p.id ORDER BY a.occurred_on DESC, a.collector_id DESC
                   ) AS rn
            FROM {pay} p CROSS JOIN {act} a
            WHERE p.payment_date >= %s AND p.payment_date <= %s
              AND (p.reversed_on IS NULL OR p.reversed_on > %s)
              {few}
              AND a.customer_id = p.customer_id AND a.kind IN ({kind_in}) AND a.collector_id IS NOT NULL
              AND a.occurred_on <= p.payment_date AND a.occurred_on >= {floor}
        ) w
        WHERE w.rn = 1 AND w.collector_id IN ({id_in})
        GROUP BY w.collector_id, w.currency, w.amount_minor
    """  # noqa: S608 - table names from the models, values are parameters
    d = _sql_date
    params: list[Any] = [d(start), d(end), d(end), *few_params, *kinds, floor_arg, *ids]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    for collector, currency, minor, n in rows:
        counts[collector]["collected_after_contact_minor"] += to_base(currency, int(minor)) * int(n)


def _sql_date(day: dt.date) -> Any:
    """A date parameter for a raw statement: ISO text on SQLite (as the column stores it)."""
    return day if connection.vendor == "postgresql" else day.isoformat()


def _overdue(ids: list[int], end: dt.date, counts: dict[int, Any]) -> None:
    tz = zoneinfo.ZoneInfo(organization().time_zone)
    after_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    rows = (
        Activity.objects.filter(collector_id__in=ids, follow_up_on__lt=end)
        .filter(Q(follow_up_done_at__isnull=True) | Q(follow_up_done_at__gte=after_end))
        .order_by()
        .values("collector_id")
        .annotate(n=Count("id"))
    )
    for r in rows:
        counts[r["collector_id"]]["follow_ups_overdue"] += r["n"]
