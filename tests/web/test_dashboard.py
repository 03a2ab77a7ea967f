"""The home page (the AR overview): exact figures per persona, per currency, in a fixed number of queries.
The KPI pages are tested in full in tests/dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from ardesk.ledger.models import Organization
from tests.web.helpers import table_rows


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()  # the dashboard caches its reads; no figure may cross from one test's rows to another's
    yield
    cache.clear()


def kpis(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-kpi="(\w+)" title="([^"]*)"', html)


def aging_rows(html: str, currency: str) -> list[str]:
    return [row[1] for row in table_rows(html, f"aging-{currency}")[:-4]]


def top_rows(html: str, currency: str) -> list[list[str]]:
    return [[r[0], r[-2]] for r in table_rows(html, f"top-{currency}")]


def test_admin_sees_the_whole_book_per_currency(ar: Any, as_user: Any) -> None:
    response = as_user(ar.ada).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    # Base currency (USD) first; EUR is never added to it.
    found = kpis(html)
    assert [kv for kv in found if kv[0] in ("open_ar", "past_due", "pct_past_due", "unapplied_cash")] == [
        ("open_ar", "3,990.00 USD"),
        ("past_due", "3,450.00 USD"),
        ("pct_past_due", "86.47%"),
        ("unapplied_cash", "200.00 USD"),
        ("open_ar", "700.00 EUR"),
        ("past_due", "700.00 EUR"),
        ("pct_past_due", "100.00%"),
        ("unapplied_cash", "0.00 EUR"),
    ]
    assert aging_rows(html, "USD") == ["540.00", "1,200.00", "2,000.00", "0.00", "0.00", "250.00"]
    assert aging_rows(html, "EUR") == ["0.00", "700.00", "0.00", "0.00", "0.00", "0.00"]
    assert top_rows(html, "USD") == [
        ["C-200 Beta LLC", "2,000.00"],
        ["C-100 Acme Corp", "1,150.00"],
        ["C-110 Acme West", "300.00"],
    ]
    assert top_rows(html, "EUR") == [["C-300 Gamma GmbH", "700.00"]]
    match = re.search(r'<script id="overview-charts" type="application/json">(.*?)</script>', html)
    assert match is not None
    chart = match.group(1)
    assert '"values": ["540.00", "1200.00", "2000.00", "0.00", "0.00", "250.00"]' in chart
    assert '"labels": ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]' in chart
    assert "/assets/plotly-" in html


def test_collector_sees_only_her_portfolio(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/").content.decode()
    assert kpis(html)[:3] == [
        ("open_ar", "1,950.00 USD"),
        ("past_due", "1,450.00 USD"),
        ("pct_past_due", "74.36%"),
    ]
    assert aging_rows(html, "USD") == ["500.00", "1,200.00", "0.00", "0.00", "0.00", "250.00"]
    assert top_rows(html, "USD") == [["C-100 Acme Corp", "1,150.00"], ["C-110 Acme West", "300.00"]]
    assert "Beta LLC" not in html and "EUR" not in html


def test_manager_sees_her_team_and_unassigned(ar: Any, as_user: Any) -> None:
    html = as_user(ar.mona).get("/").content.decode()
    assert kpis(html)[:2] == [("open_ar", "3,990.00 USD"), ("past_due", "3,450.00 USD")]
    assert [r[0] for r in top_rows(html, "USD")] == ["C-200 Beta LLC", "C-100 Acme Corp", "C-110 Acme West"]
    assert "Gamma" not in html


def test_user_without_a_role_is_refused(ar: Any, as_user: Any) -> None:
    resp = as_user(ar.nobody).get("/")
    assert resp.status_code == 403
    assert "Acme" not in resp.content.decode()


def test_organization_buckets_are_used(ar: Any, as_user: Any) -> None:
    Organization.objects.create(pk=1, aging_buckets=[0, 60, 120])
    html = as_user(ar.ada).get("/").content.decode()
    assert aging_rows(html, "USD") == ["540.00", "3,200.00", "0.00", "250.00"]
    assert '"labels": ["Current", "1-60", "61-120", "120+"]' in html


def test_dashboard_does_not_write(ar: Any, as_user: Any) -> None:
    as_user(ar.ada).get("/")
    assert not Organization.objects.exists()


def test_dashboard_query_count_is_fixed(
    ar: Any, as_user: Any, django_assert_num_queries: Any, settings: Any
) -> None:
    from tests.factories import ledger as lf

    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0
    client: Client = as_user(ar.ada)
    # session, user, roles, organization, entities, collectors, facets, the snapshot periods; then the
    # KPI facts now and a window earlier (open items with the aging by customer in one pass, unapplied
    # cash, credits, sales, paid invoices...) and the top customers' labels: 23, whatever the book's size
    # and the database (PostgreSQL groups the open items both ways by GROUPING SETS in one statement).
    expected = 23
    with django_assert_num_queries(expected):
        client.get("/")
    for n in range(30):
        cust = lf.customer(f"X-{n:03}", f"Extra {n}", collector=ar.alice)
        lf.invoice(cust, f"X-INV-{n}", "10.00")
    with django_assert_num_queries(expected):
        client.get("/")


def test_a_dispute_owner_lands_on_their_dispute_queue(ar: Any, as_user: Any) -> None:
    """rita (billing) has no ledger access: the start page sends her to her queue instead of a 403."""
    from ardesk.core.roles import Role
    from tests.factories.people import make_user

    rita = make_user("rita-home", Role.RESOLVER)
    resp = as_user(rita).get("/")
    assert (resp.status_code, resp["Location"]) == (302, "/disputes/")
    assert as_user(rita).get("/reports/aging/").status_code == 403  # the rest of the ledger stays closed
    assert as_user(make_user("nobody-home")).get("/").status_code == 403
