"""Coaching findings and percentiles: pure functions, exact values, the thresholds at their edges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from ardesk.coaching import analysis as a

day = dt.date


def test_percentile():
    # beats 2 of 4, ties 1: (2 + 0.5) / 4 = 62.5 -> 62 (half even)
    assert a.percentile(D(30), [D(10), D(20), D(30), D(40)], higher_is_better=True) == 62
    # lower is better (DSO): beats 40 and 50 of 3 peers -> 66.67 -> 67
    assert a.percentile(D(35), [D(40), D(50), D(30)], higher_is_better=False) == 67
    assert a.percentile(D(5), [None, D(5)], higher_is_better=True) == 50
    assert a.percentile(None, [D(1)], higher_is_better=True) is None
    assert a.percentile(D(1), [], higher_is_better=True) is None
    assert a.percentile(D(1), [None], higher_is_better=True) is None


def test_median():
    assert a.median([3, 1, 2]) == D(2)
    assert a.median([4, 1, 2, None, 3]) == D("2.5")
    assert a.median([None]) is None


def test_calls_without_right_party():
    f = a.calls_without_right_party(
        calls=60, right_party_calls=9, team_median_calls=D(30), team_rate=D("41.30")
    )
    assert f is not None and f.code == "calls_without_right_party"
    assert f.evidence == (
        "60 calls, 9 reached the right party: 15.00%",
        "team median: 30 calls",
        "team right-party rate: 41.30%",
    )
    assert "(60)" in f.text and "15.00%" in f.text
    # 19 calls is not "many"; fewer than the team median is not either
    assert (
        a.calls_without_right_party(calls=19, right_party_calls=0, team_median_calls=None, team_rate=None)
        is None
    )
    assert (
        a.calls_without_right_party(calls=25, right_party_calls=0, team_median_calls=D(26), team_rate=None)
        is None
    )
    # 25% exactly is not below the floor; below half the team's 60% is
    assert (
        a.calls_without_right_party(calls=40, right_party_calls=10, team_median_calls=D(40), team_rate=D(40))
        is None
    )
    assert (
        a.calls_without_right_party(calls=40, right_party_calls=11, team_median_calls=D(40), team_rate=D(60))
        is not None
    )


def test_promises_not_kept():
    f = a.promises_not_kept(kept=2, partial=1, broken=3)
    assert f is not None
    assert f.evidence == ("kept 2, partially kept 1, broken 3", "kept rate 33.33% (by count)")
    assert a.promises_not_kept(kept=0, partial=0, broken=4) is None  # 4 resolved: not "many"
    assert a.promises_not_kept(kept=3, partial=1, broken=2) is None  # 50% is not low


def test_past_due_untouched():
    as_of = day(2026, 3, 31)
    accounts = [
        a.Account("C-1 Big Co", 800000, day(2026, 2, 1), 0),  # 58 days
        a.Account("C-2 Mid Co", 150000, None, 0),  # never
        a.Account("C-3 Tiny Co", 50000, None, 0),  # 5% of past due: not large
        a.Account("C-4 Current Co", 0, day(2026, 3, 30), 7),
        a.Account("C-5 Recent Co", 0, day(2026, 3, 29), 2),
        a.Account("C-6 Touched Co", 0, day(2026, 3, 20), 1),
    ]
    f = a.past_due_untouched(accounts=accounts, as_of=as_of, money=lambda m: f"{m / 100:.2f}")
    assert f is not None
    assert f.evidence == (
        "10 of 10 contacts (100.00%) were with accounts that have nothing past due",
        "C-1 Big Co: 8000.00 past due, last contact 58 days ago",
        "C-2 Mid Co: 1500.00 past due, never contacted",
    )
    assert "2 large past-due accounts" in f.text
    # touched within 30 days: nothing to say
    recent = [a.Account("C-1 Big Co", 800000, day(2026, 3, 1), 3), a.Account("C-4", 0, None, 3)]
    assert a.past_due_untouched(accounts=recent, as_of=as_of) is None
    # most effort already on past-due accounts
    busy = [
        a.Account("C-1 Big Co", 800000, None, 0),
        a.Account("C-7 Due Co", 100000, as_of, 6),
        a.Account("C-4", 0, None, 5),
    ]
    assert a.past_due_untouched(accounts=busy, as_of=as_of) is None


def test_follow_ups_overdue():
    assert a.follow_ups_overdue(overdue=4, team_median=None) is None
    f = a.follow_ups_overdue(overdue=5, team_median=None, oldest=["C-1: due 2026-03-01"])
    assert f is not None and f.evidence == ("5 overdue follow-ups", "C-1: due 2026-03-01")
    # against the team: 60 is twice a median of 30; 59 is not
    assert a.follow_ups_overdue(overdue=59, team_median=D(30)) is None
    f = a.follow_ups_overdue(overdue=60, team_median=D(30))
    assert f is not None and f.evidence == ("60 overdue follow-ups", "team median: 30")


def test_few_contacts():
    f = a.few_contacts(contacts=4, team_median=D("58.5"))
    assert f is not None and f.evidence == ("4 contacts", "team median: 58.5")
    assert a.few_contacts(contacts=28, team_median=D(58)) is not None
    assert a.few_contacts(contacts=29, team_median=D(58)) is None  # exactly half is not below half
    assert a.few_contacts(contacts=0, team_median=D(9)) is None  # a quiet team: nothing to compare
    assert a.few_contacts(contacts=0, team_median=None) is None


def test_window_pair():
    # a session 10 days ago: 10-day windows on either side
    assert a.window_pair(day(2026, 3, 22), day(2026, 3, 31), 30) == (
        (day(2026, 3, 12), day(2026, 3, 21)),
        (day(2026, 3, 22), day(2026, 3, 31)),
    )
    assert a.window_pair(day(2026, 1, 1), day(2026, 3, 31), 30) == (
        (day(2025, 12, 2), day(2025, 12, 31)),
        (day(2026, 1, 1), day(2026, 1, 30)),
    )
    assert a.window_pair(day(2026, 4, 1), day(2026, 3, 31), 30) is None


def test_slow_to_log_deductions():
    f = a.slow_to_log_deductions(logged=4, lag_days=50, team_lag=D("5.10"))
    assert f is not None and f.evidence == (
        "4 deductions logged, on average 12.50 days after the short payment",
        "team: 5.10 days",
    )
    assert a.slow_to_log_deductions(logged=2, lag_days=60, team_lag=None) is None  # too few to judge
    assert a.slow_to_log_deductions(logged=4, lag_days=36, team_lag=None) is None  # 9 days: not slow
    assert a.slow_to_log_deductions(logged=4, lag_days=50, team_lag=D("6.26")) is None  # under twice the team
