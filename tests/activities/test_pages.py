"""Activity pages through the Django test client: the customer panel and two-click call log (htmx and
without JS), the invoice panel, the list (filters, export, query cap), follow-ups, the report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine

from ardesk.activities.models import Activity, PromiseToPay

D = dt.date
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_bob(client, book):
    client.force_login(book.bob, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_customer_panel_shows_timeline_and_promises(as_bob, week):
    resp = as_bob.get(f"/activities/customers/{week['beta'].pk}/panel/", **HX)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert html.lstrip().startswith('<section class="card" id="activities"')
    assert html.count('class="badge ptp-kept"') == 2  # the promise row and its timeline entry
    assert html.count('class="badge ptp-broken"') == 4  # P2 and P3, each in both places
    assert "Promise to pay 100.00 USD by 2026-03-03" in html
    assert "Log a call" in html


def test_log_a_call_with_a_promise_returns_the_refreshed_panel(as_bob, book, week):
    beta, inv2 = week["beta"], week["inv2"]
    data = {
        "outcome": "right_party",
        "duration_minutes": "4",
        "follow_up_on": "2026-03-12",
        "promise_amount": "50.00",
        "promise_date": "2026-03-13",
        "promise_invoices": [str(inv2.pk)],
    }
    resp = as_bob.post(f"/activities/customers/{beta.pk}/calls/", data, **HX)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Call logged: reached right party; promise to pay 50.00 USD by 2026-03-13." in html
    call = Activity.objects.filter(kind="call").latest("id")
    assert (call.outcome, call.duration_seconds, call.follow_up_on, call.actor, call.occurred_on) == (
        "right_party",
        240,
        D(2026, 3, 12),
        book.bob,
        D(2026, 3, 9),
    )
    p = PromiseToPay.objects.latest("id")
    assert (p.amount_minor, p.promised_date, p.taken_on, p.grace_days, p.status) == (
        5000,
        D(2026, 3, 13),
        D(2026, 3, 9),
        3,
        "open",
    )
    assert list(p.invoices.values_list("number", flat=True)) == ["INV-B2"]
    assert "Promise to pay 50.00 USD by 2026-03-13" in html


def test_log_a_call_without_js_redirects_and_errors_keep_the_input(as_bob, week):
    beta = week["beta"]
    resp = as_bob.post(
        f"/activities/customers/{beta.pk}/calls/", {"outcome": "voicemail", "notes": "left msg"}
    )
    assert (resp.status_code, resp["Location"]) == (302, f"/customers/{beta.pk}/#activities")
    before = Activity.objects.count()
    bad = {
        "outcome": "voicemail",
        "promise_amount": "10.00",
        "promise_date": "2026-03-20",
        "notes": "kept text",
    }
    resp = as_bob.post(f"/activities/customers/{beta.pk}/calls/", bad)
    assert resp.status_code == 422
    html = resp.content.decode()
    assert "a promise is taken from the right party: pick that outcome" in html
    assert "kept text" in html
    resp = as_bob.post(
        f"/activities/customers/{beta.pk}/calls/", {"outcome": "right_party", "promise_amount": "10.00"}, **HX
    )
    assert resp.status_code == 200 and "a promise needs both an amount and a date" in resp.content.decode()
    assert Activity.objects.count() == before


def test_invoice_panel(as_bob, week):
    html = as_bob.get(f"/activities/invoices/{week['inv2'].pk}/panel/", **HX).content.decode()
    assert "Promise of 50.00 USD by 2026-03-03, taken 2026-03-02" in html
    assert html.count('class="badge ptp-broken"') == 1


def test_activity_list_filters_export_and_query_cap(as_bob, book, week, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        resp = as_bob.get("/activities/?kind=call&date_from=2026-03-02&date_to=2026-03-06")
    assert resp.status_code == 200
    # header + five calls: bob's four and mona's, all on bob's customer
    assert resp.content.decode().count("<tr>") == 1 + 5
    resp = as_bob.get("/activities/?kind=call&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(resp.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Occurred", "Date", "Account", "Customer", "Kind"]
    assert [(r[1], r[5], r[7], r[9]) for r in rows[1:]] == [
        ("2026-03-06", "Reached right party", "bob", ""),
        ("2026-03-05", "Reached right party", "mona", ""),
        ("2026-03-04", "No answer", "bob", ""),
        ("2026-03-03", "Left voicemail", "bob", ""),
        ("2026-03-02", "Reached right party", "bob", "5"),
    ]
    # more rows, same number of queries
    from ardesk.activities import services

    for _ in range(5):
        services.log_activity(
            actor=book.bob, customer=week["beta"], kind="call", outcome="no_answer", invoices=[week["inv1"]]
        )
    with django_assert_max_num_queries(10):
        assert as_bob.get("/activities/?kind=call").status_code == 200


def test_activity_list_hides_other_portfolios(client, book, week):
    client.force_login(book.alice, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get("/activities/").content.decode()
    assert "C-200" not in html and "No activities match these filters." in html


def test_follow_ups_and_mark_done(as_bob, book, week):
    html = as_bob.get("/activities/follow-ups/").content.decode()
    assert html.count('<tr id="follow-up-') == 4  # the 03-04 and 03-06 calls, P2's and P3's follow-ups
    call = week["calls"][2]
    resp = as_bob.post(f"/activities/follow-ups/{call.pk}/done/", **HX)
    assert (resp.status_code, resp.content) == (200, b"")
    call.refresh_from_db()
    assert call.follow_up_done_at == dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC)
    assert as_bob.post(f"/activities/follow-ups/{call.pk}/done/").status_code == 409
    assert as_bob.get("/activities/follow-ups/").content.decode().count('<tr id="follow-up-') == 3


def test_report_for_a_manager_with_median_and_export(client, book, week, django_assert_max_num_queries):
    client.force_login(book.mona, backend="django.contrib.auth.backends.ModelBackend")
    url = "/activities/report/?date_from=2026-03-02&date_to=2026-03-06"
    with django_assert_max_num_queries(20):
        resp = client.get(url)
    html = resp.content.decode()
    assert resp.status_code == 200
    assert (
        'data-collector="alice"' in html
        and 'data-collector="bob"' in html
        and 'data-collector="carl"' not in html
    )
    resp = client.get(url + "&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(resp.streaming_content).decode("utf-8-sig"))))
    head = rows[0]
    by = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    assert list(by) == ["alice", "bob", "Team median"]
    bob = by["bob"]
    assert (
        bob["Calls"],
        bob["Right-party rate %"],
        bob["Contacts per day"],
        bob["Kept rate % (amount)"],
    ) == ("4", "50.00", "1.00", "66.67")
    assert (bob["Cash collected"], bob["Collected after contact"], bob["PTP amount taken"]) == (
        "111.00",
        "100.00",
        "150.00",
    )
    med = by["Team median"]
    assert (med["Calls"], med["Right-party rate %"], med["Contacts per day"], med["Cash collected"]) == (
        "2.00",
        "50.00",
        "0.50",
        "55.50",
    )
    assert Decimal(med["Kept rate % (count)"]) == Decimal("50.00")  # alice has none: bob's alone


def test_report_collector_sees_only_themselves(as_bob, week):
    html = as_bob.get("/activities/report/?date_from=2026-03-02&date_to=2026-03-06").content.decode()
    assert 'data-collector="bob"' in html and 'data-collector="alice"' not in html
    resp = as_bob.get("/activities/report/?date_from=2026-03-02&date_to=2026-03-06&format=xlsx")
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
