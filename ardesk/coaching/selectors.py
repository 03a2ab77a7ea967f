"""Reads of the coaching app: each collector's strengths and weaknesses against peers, findings, sessions.

Who sees what: a manager (COACH) sees the collectors they manage (team members and direct reports; admin:
everyone). A collector sees their **own** coaching page (their analysis and the sessions recorded with
them; read only), because coaching works when the collector sees the same evidence as the manager; never
another collector's (404).

All figures come from `ardesk.goals.measures` (activity measures over the trailing window, default 30
days; KPI measures as of the date), so goals and coaching never disagree about a number.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet

from ardesk.core.errors import NotFound, PermissionDenied
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap
from ardesk.goals import selectors as goal_selectors
from ardesk.goals.measures import MEASURES, FactCache, add_facts, fmt

from . import analysis as a
from .models import CoachingSession

WINDOW_DAYS = 30
PERIODS = 3
COACHING_MEASURES = (
    "contacts",
    "calls",
    "emails",
    "right_party_rate",
    "ptps_taken",
    "ptp_kept_rate",
    "cash_collected",
    "collected_after_contact",
    "past_due",
    "pct_past_due",
    "dso",
    "deduction_cycle_time",
    "deduction_log_lag",
)


def coachable(user: Any) -> QuerySet[Any]:
    """Collectors whose coaching page `user` may open."""
    if has_cap(user, Cap.COACH):
        return goal_selectors.managed_collectors(user)
    if has_cap(user, Cap.LOG_ACTIVITY):
        return goal_selectors.collectors().filter(pk=user.pk)
    raise PermissionDenied("coaching pages are for collectors and their managers")


def get_collector_for_user(user: Any, pk: int) -> Any:
    found = coachable(user).select_related("collector", "collector__team").filter(pk=pk).first()
    if found is None:
        raise NotFound(f"collector {pk} not found")
    return found


def sessions_of(collector: Any) -> list[CoachingSession]:
    return list(CoachingSession.objects.filter(collector=collector).select_related("coach"))


@dataclass
class MeasureRow:
    key: str
    label: str
    value: Decimal | None
    shown: str
    team: int | None
    title: int | None
    tier: int | None
    trend: list[str]


@dataclass
class Analysis:
    collector: Any
    as_of: dt.date
    window_days: int
    rows: list[MeasureRow]
    findings: list[a.Finding]
    peers: dict[str, int] = field(default_factory=dict)


def _higher_is_better(key: str) -> bool:
    return MEASURES[key].better == "increase"


def analyse(
    targets: list[Any], as_of: dt.date, *, window_days: int = WINDOW_DAYS, detail: bool = False
) -> dict[int, Analysis]:
    """The analysis of each collector in `targets`, against every active collector as peers. A fixed
    number of query batches whatever the number of collectors. `detail` (the collector's own page) adds
    the trend over the previous windows and the oldest overdue follow-ups."""
    from ardesk.ledger.selectors import organization

    currency = organization().base_currency
    everyone = list(goal_selectors.collectors().select_related("collector"))
    prof = {u.pk: u.collector for u in everyone}
    all_ids = sorted(prof)
    target_ids = sorted(u.pk for u in targets)
    groups_of = {u.pk: _peer_groups(prof, all_ids, u.pk) for u in targets}
    # the facts of the targets and of their peers only: a collector no target is compared with is not read
    needed = sorted(set(target_ids).union(*(c for g in groups_of.values() for c in g.values())))
    cache = FactCache()
    act = cache.facts("activity", needed, as_of, window_days)
    kpi = cache.facts("kpi", needed, as_of, window_days)
    disp = cache.facts("disputes", needed, as_of, window_days)

    def facts(cid: int) -> dict[str, int]:
        return {**kpi[cid], **act[cid], **disp[cid]}

    values = {k: {cid: MEASURES[k].value(facts(cid)) for cid in needed} for k in COACHING_MEASURES}
    # trend (the collector's page only): the same measures over the previous windows, oldest first
    ends = [as_of - dt.timedelta(days=window_days * i) for i in range(PERIODS - 1, -1, -1)] if detail else []
    trend_facts: dict[dt.date, dict[int, dict[str, int]]] = {
        end: {cid: {} for cid in target_ids} for end in ends
    }
    for end in ends:
        for source in ("activity", "kpi", "disputes"):
            for cid, f in cache.facts(source, target_ids, end, window_days).items():
                trend_facts[end][cid].update(f)
    accounts = _accounts(target_ids, as_of, window_days)
    out: dict[int, Analysis] = {}
    for u in targets:
        groups = groups_of[u.pk]
        rows = []
        for k in COACHING_MEASURES:
            pct = {
                g: a.percentile(
                    values[k][u.pk],
                    [values[k][c] for c in ids if c != u.pk],
                    higher_is_better=_higher_is_better(k),
                )
                for g, ids in groups.items()
            }
            trend = [fmt(k, MEASURES[k].value(trend_facts[e][u.pk]), currency) for e in ends]
            rows.append(
                MeasureRow(
                    k,
                    MEASURES[k].label,
                    values[k][u.pk],
                    fmt(k, values[k][u.pk], currency),
                    pct["team"],
                    pct["title"],
                    pct["tier"],
                    trend,
                )
            )
        team = groups["team"] or [u.pk]
        team_sum = add_facts(act[c] for c in team)
        mine = act[u.pk]
        findings = [
            a.calls_without_right_party(
                calls=mine["calls"],
                right_party_calls=mine["right_party_calls"],
                team_median_calls=a.median([act[c]["calls"] for c in team]),
                team_rate=MEASURES["right_party_rate"].value(team_sum),
            ),
            a.promises_not_kept(
                kept=mine["ptps_kept"], partial=mine["ptps_partial"], broken=mine["ptps_broken"]
            ),
            a.past_due_untouched(
                accounts=accounts.get(u.pk, []),
                as_of=as_of,
                money=lambda m: str(Money(int(m), currency)),
            ),
            a.follow_ups_overdue(
                overdue=mine["follow_ups_overdue"],
                team_median=a.median([act[c]["follow_ups_overdue"] for c in team]),
                oldest=_oldest(u.pk, as_of) if detail else (),
            ),
            a.slow_to_log_deductions(
                logged=disp[u.pk]["deductions_logged"],
                lag_days=disp[u.pk]["deduction_log_lag_days"],
                team_lag=MEASURES["deduction_log_lag"].value(add_facts(disp[c] for c in team)),
            ),
            a.few_contacts(
                contacts=mine["contacts"], team_median=a.median([act[c]["contacts"] for c in team])
            ),
        ]
        out[u.pk] = Analysis(
            u,
            as_of,
            window_days,
            rows,
            [f for f in findings if f is not None],
            {g: len(ids) for g, ids in groups.items()},
        )
    return out


def _peer_groups(prof: dict[int, Any], all_ids: list[int], pk: int) -> dict[str, list[int]]:
    """The collectors `pk` is compared with (itself included): same team, same title, same tier."""
    p = prof[pk]
    return {
        "team": [c for c in all_ids if prof[c].team_id is not None and prof[c].team_id == p.team_id],
        "title": [c for c in all_ids if p.title and prof[c].title == p.title],
        "tier": [c for c in all_ids if prof[c].tier == p.tier],
    }


def _accounts(collector_ids: list[int], as_of: dt.date, window_days: int) -> dict[int, list[a.Account]]:
    """Each collector's customers with their past due at the end of `as_of` (base currency, from the
    aging) and their contacts in the window; the last contact is looked up only for the *large* past-due
    accounts (the only ones `analysis.past_due_untouched` asks about), so a big book costs a few queries."""
    from ardesk.activities.models import CONTACT_KINDS, Activity
    from ardesk.activities.selectors import last_touch_by_customer
    from ardesk.ledger.models import Customer

    if not collector_ids:
        return {}
    customers = list(
        Customer.objects.filter(collector_id__in=collector_ids).values_list(
            "pk", "collector_id", "account_number", "name"
        )
    )
    past_due = _past_due_by_customer(collector_ids, as_of)
    start = as_of - dt.timedelta(days=window_days - 1)
    contacts: dict[tuple[int, int], int] = {}
    for r in (
        Activity.objects.filter(
            collector_id__in=collector_ids,
            kind__in=CONTACT_KINDS,
            occurred_on__gte=start,
            occurred_on__lte=as_of,
        )
        .order_by()
        .values("collector_id", "customer_id")
        .annotate(n=Count("id"))
    ):
        contacts[(r["collector_id"], r["customer_id"])] = r["n"]
    totals: dict[int, int] = defaultdict(int)
    for pk, cid, _acct, _name in customers:
        totals[cid] += max(0, past_due.get(pk, 0))
    large = [
        pk
        for pk, cid, _acct, _name in customers
        if past_due.get(pk, 0) > 0 and Decimal(past_due[pk]) * 100 >= a.LARGE_SHARE * totals[cid]
    ]
    touched = last_touch_by_customer(customer_ids=large, as_of=as_of)
    out: dict[int, list[a.Account]] = defaultdict(list)
    for pk, cid, acct, name in customers:
        out[cid].append(
            a.Account(f"{acct} {name}", past_due.get(pk, 0), touched.get(pk), contacts.get((cid, pk), 0))
        )
    return out


def _past_due_by_customer(collector_ids: list[int], as_of: dt.date) -> dict[int, int]:
    """Each customer's past due at the end of `as_of` in the base currency: the aging by customer
    (`metrics.selectors.aging`'s buckets, read through `metrics.selectors.portfolio`, which skips the
    aging's unapplied cash and credits) less its first bucket (not yet due), as the base-currency aging
    gives it.

    The aging is read per currency and only the past-due buckets are translated, the way the aging's
    base mode translates a row (each bucket at the as-of rate, rounded once, half to even; the open AR is
    then the sum of the translated buckets, so open AR - first bucket = the other buckets), then added up
    over the customer's currencies: the same integers without translating every field of every customer."""
    from ardesk.ledger.selectors import fx_rate, organization
    from ardesk.metrics.definitions import translate_minor
    from ardesk.metrics.selectors import SYSTEM, portfolio

    base = organization().base_currency
    rates: dict[str, Decimal] = {}
    out: dict[int, int] = defaultdict(int)
    # the aging's buckets without its unapplied amounts, beginning AR or sales: the items open at the date
    for row in portfolio(
        SYSTEM,
        as_of,
        "customer",
        filters={"collector": collector_ids},
        currency_mode="currency",
        beginning=False,
        sales=False,
    ):
        if not row.key:
            continue
        cur = row.currency
        if cur not in rates:
            rates[cur] = fx_rate(cur, base, as_of)
        out[int(row.key)] += sum(translate_minor(b, cur, base, rates[cur]) for b in row.buckets[1:])
    return out


def _oldest(collector_id: int, as_of: dt.date) -> tuple[str, ...]:
    from ardesk.activities.selectors import overdue_follow_ups

    rows = overdue_follow_ups(collector_ids=[collector_id], as_of=as_of)[:3]
    return tuple(
        f"{r.customer.account_number} {r.customer.name}: due {r.follow_up_on.isoformat()}"
        for r in rows
        if r.follow_up_on
    )


@dataclass
class Comparison:
    session: CoachingSession
    before: tuple[dt.date, dt.date] | None
    after: tuple[dt.date, dt.date] | None
    rows: list[tuple[str, str, str]]


def before_after(session: CoachingSession, as_of: dt.date, cache: FactCache | None = None) -> Comparison:
    """The session's focus measures in the window before it and the same-length window after it
    (activity measures summed over each window; KPI measures as of each window's last day)."""
    from ardesk.ledger.selectors import organization

    currency = organization().base_currency
    pair = a.window_pair(session.held_on, as_of, WINDOW_DAYS)
    if pair is None:
        return Comparison(session, None, None, [])
    cache = cache or FactCache()
    (b0, b1), (a0, a1) = pair
    length = (b1 - b0).days + 1
    rows = []
    for key in session.focus:
        m = MEASURES.get(key)
        if m is None:
            continue
        ids = [session.collector_id]
        before = cache.value(key, ids, b1, length)
        after = cache.value(key, ids, a1, length)
        rows.append((m.label, fmt(key, before, currency), fmt(key, after, currency)))
    return Comparison(session, (b0, b1), (a0, a1), rows)
