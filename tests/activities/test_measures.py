"""Collector measures on a real database, with exact values (see conftest.week)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from ardesk.activities.measures import CollectorMeasures, collector_measures

D = dt.date
START, END = D(2026, 3, 2), D(2026, 3, 6)


def test_the_week_of_bob(book, week, django_assert_max_num_queries):
    assert [(p.status, p.resolved_on) for p in (week["p1"], week["p2"], week["p3"])] == [
        ("open", None),
        ("open", None),
        ("open", None),
    ]  # the fixture's instances are stale; the database holds the verdicts
    with django_assert_max_num_queries(12):
        m = collector_measures(collector_ids=[book.bob.pk, book.alice.pk, book.mona.pk], start=START, end=END)
    assert m[book.bob.pk] == CollectorMeasures(
        calls=4,
        right_party_calls=2,
        right_party_rate=Decimal("50.00"),
        emails_sent=1,
        contacts=5,
        contact_days=5,
        contacts_per_day=Decimal("1.00"),
        ptps_taken=2,
        ptps_taken_minor=15000,
        ptps_kept=1,
        ptps_partial=0,
        ptps_broken=1,
        kept_rate_count=Decimal("50.00"),
        kept_rate_amount=Decimal("66.67"),
        cash_collected_minor=11100,
        collected_after_contact_minor=10000,
        follow_ups_overdue=3,  # the 03-04 call, P2's (03-04) and P3's (02-28) follow-ups
        disputes_logged=1,
    )
    alice = m[book.alice.pk]
    assert (alice.calls, alice.right_party_rate, alice.contacts_per_day, alice.kept_rate_count) == (
        0,
        None,
        Decimal("0.00"),
        None,
    )
    mona = m[book.mona.pk]
    assert (
        mona.calls,
        mona.right_party_calls,
        mona.collected_after_contact_minor,
        mona.cash_collected_minor,
    ) == (1, 1, 1100, 0)


def test_window_edges(book, week):
    # P3 was broken on 02-28: inside a window that reaches back to it, outside the week
    m = collector_measures(collector_ids=[book.bob.pk], start=D(2026, 2, 16), end=D(2026, 2, 28))[book.bob.pk]
    assert (m.ptps_taken, m.ptps_taken_minor, m.ptps_broken, m.calls, m.contact_days) == (1, 3000, 1, 0, 10)
    # the day after the window, the 03-06 follow-up is overdue too; the done one never is
    from ardesk.activities import services

    with time_machine.travel(dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC), tick=False):
        services.complete_follow_up(actor=book.bob, activity=week["calls"][2])
    m = collector_measures(collector_ids=[book.bob.pk], start=START, end=D(2026, 3, 7))[book.bob.pk]
    assert m.follow_ups_overdue == 3  # P2's, P3's and the 03-06 call; the 03-04 call was done on 03-05
    # a follow-up done during the window's last day is not overdue at its end
    m = collector_measures(collector_ids=[book.bob.pk], start=START, end=D(2026, 3, 5))[book.bob.pk]
    assert m.follow_ups_overdue == 2  # P2's and P3's
    # collected after contact over 0 days: only same-day contacts count (bob called on 03-03, mona on 03-05)
    m = collector_measures(
        collector_ids=[book.bob.pk, book.mona.pk], start=START, end=END, collected_after_days=0
    )
    assert (m[book.bob.pk].collected_after_contact_minor, m[book.mona.pk].collected_after_contact_minor) == (
        10000,
        1100,
    )
    # without contacts within the window: nothing, though the cash still counts
    m = collector_measures(
        collector_ids=[book.bob.pk], start=D(2026, 3, 5), end=D(2026, 3, 5), collected_after_days=0
    )
    assert (m[book.bob.pk].collected_after_contact_minor, m[book.bob.pk].cash_collected_minor) == (0, 1100)
