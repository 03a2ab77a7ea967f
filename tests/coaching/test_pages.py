"""Coaching on a real database and through the test client: findings, percentiles, sessions, scope."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ardesk.activities.services import log_activity
from ardesk.coaching import selectors, services
from ardesk.coaching.models import CoachingSession
from ardesk.core.errors import InvalidInput, NotFound, PermissionDenied

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 31)
NOW = dt.datetime(2026, 3, 31, 17, 0, tzinfo=dt.UTC)


def calls(user, customer, day, n, right_party):
    for i in range(n):
        log_activity(
            actor=user,
            customer=customer,
            kind="call",
            outcome="right_party" if i < right_party else "no_answer",
            occurred_at=dt.datetime(day.year, day.month, day.day, 9, i % 60, tzinfo=dt.UTC),
        )


@pytest.fixture
def activity(book):
    # bob: 10 calls before the 16th (1 right party), 20 after (2); alice: 10 calls, 8 right party
    calls(book.bob, book.customers["beta"], dt.date(2026, 3, 5), 10, 1)
    calls(book.bob, book.customers["beta"], dt.date(2026, 3, 20), 20, 2)
    calls(book.alice, book.customers["acme"], dt.date(2026, 3, 20), 10, 8)
    return book


def login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


def test_analysis_finds_the_caller_who_does_not_reach_anyone(activity):
    book = activity
    found = selectors.analyse([book.alice, book.bob], AS_OF, detail=True)
    bob, alice = found[book.bob.pk], found[book.alice.pk]
    assert [f.code for f in bob.findings] == ["calls_without_right_party"]
    assert bob.findings[0].evidence == (
        "30 calls, 3 reached the right party: 10.00%",
        "team median: 20 calls",
        "team right-party rate: 27.50%",  # 11 / 40
    )
    assert alice.findings == []
    rows = {r.key: r for r in bob.rows}
    # within East (alice, bob): bob makes more calls (100th) but reaches fewer (0th)
    assert (rows["calls"].team, rows["right_party_rate"].team) == (100, 0)
    assert rows["calls"].title is None  # bob is the only AR Analyst
    assert rows["calls"].trend == ["0", "0", "30"]
    assert bob.peers == {"team": 2, "title": 1, "tier": 1}


def test_large_past_due_account_left_alone(book):
    from tests.factories import ledger as lf

    lf.invoice(book.customers["acme"], "INV-PD", "1000.00", date=dt.date(2026, 1, 1))  # past due since Feb
    current = lf.customer("C-150", "Current Co", collector=book.alice)
    lf.invoice(current, "INV-CU", "300.00", date=dt.date(2026, 3, 20))  # not due yet
    calls(book.alice, current, dt.date(2026, 3, 25), 6, 5)
    found = selectors.analyse([book.alice], AS_OF)[book.alice.pk]
    assert [f.code for f in found.findings] == ["past_due_untouched"]
    assert found.findings[0].evidence == (
        "6 of 6 contacts (100.00%) were with accounts that have nothing past due",
        "C-100 Acme Corp: 1,000.00 USD past due, never contacted",
    )
    # a call on Acme within 30 days clears it
    calls(book.alice, book.customers["acme"], dt.date(2026, 3, 2), 1, 1)
    assert selectors.analyse([book.alice], AS_OF)[book.alice.pk].findings == []


def test_sessions(activity):
    book = activity
    with pytest.raises(PermissionDenied):
        services.record_session(
            actor=book.bob, collector=book.bob, held_on=AS_OF, focus=["calls"], agreed_actions="x"
        )
    with pytest.raises(NotFound):
        services.record_session(
            actor=book.walt, collector=book.bob, held_on=AS_OF, focus=["calls"], agreed_actions="x"
        )
    with pytest.raises(InvalidInput) as exc:
        services.record_session(
            actor=book.mona,
            collector=book.bob,
            held_on=AS_OF,
            focus=["nope"],
            agreed_actions=" ",
            follow_up_on=AS_OF - dt.timedelta(days=1),
        )
    assert exc.value.details["errors"] == [
        "focus: unknown measures nope",
        "agreed_actions: write down what was agreed",
        "follow_up_on: must not be before the session",
    ]
    s = services.record_session(
        actor=book.mona,
        collector=book.bob,
        held_on=dt.date(2026, 3, 16),
        focus=["calls", "right_party_rate"],
        agreed_actions="Call AP contacts before 10am",
    )
    c = selectors.before_after(s, AS_OF)
    assert (c.before, c.after) == (
        (dt.date(2026, 2, 28), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 16), AS_OF),
    )
    assert c.rows == [("Calls", "10", "20"), ("Right-party rate (%)", "10.00%", "10.00%")]


@time_machine.travel(NOW, tick=False)
def test_pages(client, activity, django_assert_max_num_queries):
    book = activity
    login(client, book.mona)
    with django_assert_max_num_queries(80):
        html = client.get("/coaching/").content.decode()
    assert 'data-collector="bob"' in html and 'data-finding="calls_without_right_party"' in html
    assert html.count("data-finding=") == 1
    resp = client.post(
        f"/coaching/collectors/{book.bob.pk}/sessions/new/",
        {
            "held_on": "2026-03-16",
            "focus": ["calls"],
            "agreed_actions": "Call AP first",
            "follow_up_on": "2026-04-15",
        },
    )
    assert resp.status_code == 302
    assert CoachingSession.objects.get().follow_up_on == dt.date(2026, 4, 15)
    bad = client.post(
        f"/coaching/collectors/{book.bob.pk}/sessions/new/", {"held_on": "", "agreed_actions": ""}
    )
    assert bad.status_code == 422 and CoachingSession.objects.count() == 1
    # bob sees his own page with the session, read only; alice does not see bob's
    login(client, book.bob)
    html = client.get(f"/coaching/collectors/{book.bob.pk}/").content.decode()
    assert "Call AP first" in html and "Record a session" not in html
    assert "30 calls, 3 reached the right party: 10.00%" in html
    assert client.get("/coaching/").status_code == 403
    login(client, book.alice)
    assert client.get(f"/coaching/collectors/{book.bob.pk}/").status_code == 404
    assert client.get(f"/coaching/collectors/{book.alice.pk}/").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_overview_queries_do_not_grow_with_collectors(client, activity):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ardesk.core.models import Team
    from tests.factories import ledger as lf
    from tests.factories.people import make_collector

    book = activity
    login(client, book.mona)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/coaching/").status_code == 200
        return len(ctx)

    before = count()
    east = Team.objects.get(name="East")
    for n in range(4):
        u = make_collector(f"extra{n}", team=east, manager=book.mona)
        c = lf.customer(f"C-9{n}", collector=u)
        calls(u, c, dt.date(2026, 3, 20), 2, 1)
    assert count() == before
