"""Coaching analytics: pure functions over a collector's measures and their peers'. No database.

**Percentile** of a collector within a peer group (team, title, tier) for one measure: the share of the
*other* peers with a value this collector beats, ties counting half:
`(beaten + ties / 2) / (peers - 1) x 100`, rounded to a whole percent half to even. "Beats" means higher
for measures where more is better and lower for the others (past due, % past due, DSO). Undefined (None)
when the collector has no value or no peer has one.

**Findings**, each with the evidence behind it, over one window (default the last 30 days):

- `calls_without_right_party`: at least `CALLS_MIN` (20) calls and at least the team median of calls,
  while the right-party rate is below `RIGHT_PARTY_FLOOR` (25%) or below half the team's right-party rate.
- `promises_not_kept`: at least `PROMISES_MIN` (5) promises resolved (kept + partially kept + broken) and
  a kept rate by count below `KEPT_RATE_FLOOR` (50%).
- `past_due_untouched`: at least one *large* past-due account (its past due is at least
  `LARGE_SHARE` = 10% of the collector's past due) with no contact for more than `UNTOUCHED_DAYS` (30)
  days (or never), while at least `CURRENT_EFFORT_SHARE` (50%) of the collector's contacts in the window
  went to accounts with nothing past due.
- `follow_ups_overdue`: at least `FOLLOW_UPS_MIN` (5) follow-ups due before the date and not done, and
  at least `FOLLOW_UPS_TEAM_FACTOR` (2) times the team median.
- `slow_to_log_deductions`: at least `LAG_MIN_DEDUCTIONS` (3) deductions opened in the window from a short
  payment, with a mean logging lag (short payment to deduction opened) of at least `LAG_MIN_DAYS` (10)
  days and at least `LAG_TEAM_FACTOR` (2) times the team's lag.
- `few_contacts`: contacts in the window below `FEW_CONTACTS_SHARE` (50%) of the team median, when that
  median is at least `FEW_CONTACTS_MIN_MEDIAN` (10): typical of a new team member still ramping up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

CALLS_MIN = 20
RIGHT_PARTY_FLOOR = Decimal(25)
PROMISES_MIN = 5
KEPT_RATE_FLOOR = Decimal(50)
UNTOUCHED_DAYS = 30
LARGE_SHARE = Decimal(10)
CURRENT_EFFORT_SHARE = Decimal(50)
FOLLOW_UPS_MIN = 5
FOLLOW_UPS_TEAM_FACTOR = 2
LAG_MIN_DEDUCTIONS = 3
LAG_MIN_DAYS = Decimal(10)
LAG_TEAM_FACTOR = 2
FEW_CONTACTS_SHARE = Decimal(50)
FEW_CONTACTS_MIN_MEDIAN = 10


def percentile(
    value: Decimal | None, others: Sequence[Decimal | None], *, higher_is_better: bool
) -> int | None:
    """The percentile of `value` among `others` (the peers, without the collector)."""
    vals = [v for v in others if v is not None]
    if value is None or not vals:
        return None
    beaten = sum(1 for v in vals if (value > v if higher_is_better else value < v))
    ties = sum(1 for v in vals if v == value)
    frac = (Fraction(beaten) + Fraction(ties, 2)) / len(vals) * 100
    return int(
        (Decimal(frac.numerator) / Decimal(frac.denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )


def median(values: Sequence[Decimal | int | None]) -> Decimal | None:
    vals = sorted(Decimal(v) for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def _pct(num: int, den: int) -> Decimal | None:
    if den == 0:
        return None
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    text: str
    evidence: tuple[str, ...] = field(default=())


def calls_without_right_party(
    *, calls: int, right_party_calls: int, team_median_calls: Decimal | None, team_rate: Decimal | None
) -> Finding | None:
    if calls < CALLS_MIN or (team_median_calls is not None and calls < team_median_calls):
        return None
    rate = _pct(right_party_calls, calls)
    assert rate is not None
    half_team = (
        None if team_rate is None else (team_rate / 2).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    )
    if not (rate < RIGHT_PARTY_FLOOR or (half_team is not None and rate < half_team)):
        return None
    evidence = [f"{calls} calls, {right_party_calls} reached the right party: {rate}%"]
    if team_median_calls is not None:
        evidence.append(f"team median: {team_median_calls} calls")
    if team_rate is not None:
        evidence.append(f"team right-party rate: {team_rate}%")
    return Finding(
        "calls_without_right_party",
        "Many calls, few right-party contacts",
        f"Makes many calls ({calls}) but reaches the person who can pay on only {rate}% of them. "
        "Check the contact data (AP and decision makers), call times, and use email for the rest.",
        tuple(evidence),
    )


def promises_not_kept(*, kept: int, partial: int, broken: int) -> Finding | None:
    resolved = kept + partial + broken
    if resolved < PROMISES_MIN:
        return None
    rate = _pct(kept, resolved)
    assert rate is not None
    if rate >= KEPT_RATE_FLOOR:
        return None
    return Finding(
        "promises_not_kept",
        "Many promises, low kept rate",
        f"Takes promises to pay, but only {kept} of {resolved} came due kept ({rate}%). "
        "Confirm amount, date and who pays when taking one, and follow up the day before.",
        (f"kept {kept}, partially kept {partial}, broken {broken}", f"kept rate {rate}% (by count)"),
    )


@dataclass(frozen=True)
class Account:
    label: str
    past_due_minor: int
    last_touch: dt.date | None
    contacts: int  # contacts in the window


def past_due_untouched(
    *, accounts: Sequence[Account], as_of: dt.date, money: object = None
) -> Finding | None:
    """`accounts`: the collector's customers; `money(minor) -> str` formats amounts for the evidence."""
    fmt = money if callable(money) else (lambda m: str(m))
    total_past_due = sum(a.past_due_minor for a in accounts if a.past_due_minor > 0)
    contacts = sum(a.contacts for a in accounts)
    if total_past_due == 0 or contacts == 0:
        return None
    on_current = sum(a.contacts for a in accounts if a.past_due_minor <= 0)
    share = _pct(on_current, contacts)
    assert share is not None
    if share < CURRENT_EFFORT_SHARE:
        return None
    cutoff = as_of - dt.timedelta(days=UNTOUCHED_DAYS)
    large = [
        a
        for a in accounts
        if a.past_due_minor > 0 and Decimal(a.past_due_minor) * 100 >= LARGE_SHARE * total_past_due
    ]
    untouched = [a for a in large if a.last_touch is None or a.last_touch < cutoff]
    if not untouched:
        return None
    untouched.sort(key=lambda a: (-a.past_due_minor, a.label))
    evidence = [
        f"{on_current} of {contacts} contacts ({share}%) were with accounts that have nothing past due"
    ]
    for a in untouched[:5]:
        since = (
            "never contacted"
            if a.last_touch is None
            else f"last contact {(as_of - a.last_touch).days} days ago"
        )
        evidence.append(f"{a.label}: {fmt(a.past_due_minor)} past due, {since}")
    return Finding(
        "past_due_untouched",
        "Effort on current accounts, large past-due accounts untouched",
        f"Spends {share}% of contacts on accounts that owe nothing overdue while {len(untouched)} large "
        f"past-due account{'s' if len(untouched) != 1 else ''} had no contact "
        f"for over {UNTOUCHED_DAYS} days. "
        "Work the worklist by past-due amount first.",
        tuple(evidence),
    )


def follow_ups_overdue(
    *, overdue: int, team_median: Decimal | None, oldest: Sequence[str] = ()
) -> Finding | None:
    if overdue < FOLLOW_UPS_MIN:
        return None
    if team_median is not None and overdue < FOLLOW_UPS_TEAM_FACTOR * team_median:
        return None
    evidence = [f"{overdue} overdue follow-ups"]
    if team_median is not None:
        evidence.append(f"team median: {team_median}")
    return Finding(
        "follow_ups_overdue",
        "Follow-ups overdue",
        f"{overdue} follow-ups are past their date and not done: promised call-backs that did not happen. "
        "Clear them from the oldest, or close the ones no longer needed.",
        (*evidence, *oldest),
    )


def slow_to_log_deductions(*, logged: int, lag_days: int, team_lag: Decimal | None) -> Finding | None:
    """`logged` deductions opened in the window from a short payment, `lag_days` their summed lags."""
    if logged < LAG_MIN_DEDUCTIONS:
        return None
    lag = (Decimal(lag_days) / logged).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    if lag < LAG_MIN_DAYS or (team_lag is not None and lag < LAG_TEAM_FACTOR * team_lag):
        return None
    evidence = [f"{logged} deductions logged, on average {lag} days after the short payment"]
    if team_lag is not None:
        evidence.append(f"team: {team_lag} days")
    return Finding(
        "slow_to_log_deductions",
        "Slow to log deductions",
        f"Opens deductions {lag} days after the short payment on average; the sooner one is logged, the "
        "sooner its backup is requested and the cash recovered.",
        tuple(evidence),
    )


def few_contacts(*, contacts: int, team_median: Decimal | None) -> Finding | None:
    if team_median is None or team_median < FEW_CONTACTS_MIN_MEDIAN:
        return None
    if Decimal(contacts) * 100 >= FEW_CONTACTS_SHARE * team_median:
        return None
    return Finding(
        "few_contacts",
        "Few contacts",
        f"Made {contacts} contacts, under half the team median of {team_median}. "
        "Agree a daily contact target and work the worklist from the top.",
        (f"{contacts} contact{'' if contacts == 1 else 's'}", f"team median: {team_median}"),
    )


def window_pair(
    held_on: dt.date, as_of: dt.date, length: int
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]] | None:
    """Same-length windows before and after a session: after = the session day and the days following,
    up to `length` days but no later than `as_of`; before = as many days ending the day before the
    session. None when the session is after `as_of` (nothing to compare yet)."""
    days = min(length, (as_of - held_on).days + 1)
    if days <= 0:
        return None
    after = (held_on, held_on + dt.timedelta(days=days - 1))
    before = (held_on - dt.timedelta(days=days), held_on - dt.timedelta(days=1))
    return before, after
