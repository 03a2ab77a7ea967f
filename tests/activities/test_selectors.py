"""The read contracts other apps build on, with exact values (see conftest.week)."""

from __future__ import annotations

import datetime as dt

from ardesk.activities import selectors
from ardesk.activities.models import Activity

D = dt.date


def test_open_and_broken_promises_by_customer(book, week):
    beta, acme = week["beta"], book.customers["acme"]
    from ardesk.activities import services
    from ardesk.core.money import Money

    later = services.take_promise(
        actor=book.bob,
        customer=beta,
        amount=Money(700, "USD"),
        promised_date=D(2026, 3, 20),
        occurred_at=dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC),
    )
    assert selectors.open_promises_by_customer(customer_ids=[beta.pk, acme.pk], as_of=D(2026, 3, 9)) == {
        beta.pk: [later]
    }
    assert selectors.open_promises_by_customer(customer_ids=[beta.pk], as_of=D(2026, 3, 8)) == {}
    ids = [beta.pk, acme.pk]
    assert selectors.broken_promises_by_customer(
        customer_ids=ids, since=D(2026, 2, 1), as_of=D(2026, 3, 6)
    ) == {beta.pk: 2}
    assert selectors.broken_promises_by_customer(
        customer_ids=ids, since=D(2026, 3, 1), as_of=D(2026, 3, 6)
    ) == {beta.pk: 1}
    assert (
        selectors.broken_promises_by_customer(customer_ids=ids, since=D(2026, 3, 5), as_of=D(2026, 3, 6))
        == {}
    )


def test_last_touch_counts_contacts_only(book, week):
    beta, acme = week["beta"], book.customers["acme"]
    assert selectors.last_touch_by_customer(customer_ids=[beta.pk, acme.pk]) == {beta.pk: D(2026, 3, 6)}
    assert selectors.last_touch_by_customer(customer_ids=[beta.pk], as_of=D(2026, 3, 5)) == {
        beta.pk: D(2026, 3, 5)
    }
    # the note (03-05) and the promises are not contacts; mona's call on 03-05 is
    Activity.objects.filter(collector=book.mona).delete()
    assert selectors.last_touch_by_customer(customer_ids=[beta.pk], as_of=D(2026, 3, 5)) == {
        beta.pk: D(2026, 3, 4)
    }


def test_overdue_follow_ups(book, week):
    rows = selectors.overdue_follow_ups(collector_ids=[book.bob.pk], as_of=D(2026, 3, 6))
    assert [(a.follow_up_on, a.kind, a.source) for a in rows] == [
        (D(2026, 2, 28), "note", "system"),
        (D(2026, 3, 4), "call", "manual"),
        (D(2026, 3, 4), "note", "system"),
    ]
    assert list(selectors.overdue_follow_ups(collector_ids=[book.alice.pk], as_of=D(2026, 3, 6))) == []


def test_activities_for_user_scope(book, week):
    counts = {
        who: selectors.activities_for_user(book.users[who]).count()
        for who in ("bob", "alice", "mona", "walt", "ada", "audrey", "nobody")
    }
    assert counts == {"bob": 13, "alice": 0, "mona": 13, "walt": 0, "ada": 13, "audrey": 13, "nobody": 0}
    assert selectors.activities_for_user(book.bob, kind="call", outcome="right_party").count() == 3
    assert (
        selectors.activities_for_user(book.bob, customer_search="beta", date_from=D(2026, 3, 5)).count() == 4
    )
