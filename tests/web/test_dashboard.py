"""The dashboard: exact figures per persona, per currency, in a fixed number of queries."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from ardesk.ledger.models import Organization


def kpis(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-kpi="(\w+)">([^<]*)<', html)


def aging_rows(html: str) -> list[list[str]]:
    tables = re.findall(
        r'<table class="table table-compact aging-table">.*?<tbody><tr>(.*?)</tr>', html, re.S
    )
    return [re.findall(r'<td class="num">([^<]*)</td>', t) for t in tables]


def top_rows(html: str) -> list[list[str]]:
    body = re.findall(r'<table class="table table-compact top-past-due">.*?<tbody>(.*?)</tbody>', html, re.S)
    out = []
    for table in body:
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            out.append(
                [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            )
    return out


def test_admin_sees_the_whole_book_per_currency(ar: Any, as_user: Any) -> None:
    response = as_user(ar.ada).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    # Base currency (USD) first; EUR is never added to it.
    assert kpis(html) == [
        ("open_ar", "3,990.00 USD"),
        ("past_due", "3,450.00 USD"),
        ("past_due_pct", "86.5%"),
        ("unapplied_cash", "200.00 USD"),
        ("open_invoices", "6"),
        ("open_ar", "700.00 EUR"),
        ("past_due", "700.00 EUR"),
        ("past_due_pct", "100.0%"),
        ("unapplied_cash", "0.00 EUR"),
        ("open_invoices", "1"),
    ]
    assert aging_rows(html) == [
        ["540.00", "1,200.00", "2,000.00", "0.00", "0.00", "250.00"],
        ["0.00", "700.00", "0.00", "0.00", "0.00", "0.00"],
    ]
    assert top_rows(html) == [
        ["C-200", "Beta LLC", "1", "2025-12-31", "2,000.00"],
        ["C-100", "Acme Corp", "2", "2025-10-31", "1,150.00"],
        ["C-110", "Acme West", "1", "2026-02-20", "300.00"],
        ["C-300", "Gamma GmbH", "1", "2026-02-10", "700.00"],
    ]
    match = re.search(r'<script id="aging-data" type="application/json">(.*?)</script>', html)
    assert match is not None
    chart = match.group(1)
    assert '"values": ["540.00", "1200.00", "2000.00", "0.00", "0.00", "250.00"]' in chart
    assert '"labels": ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]' in chart
    assert "/assets/plotly-" in html


def test_collector_sees_only_her_portfolio(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/").content.decode()
    assert kpis(html) == [
        ("open_ar", "1,950.00 USD"),
        ("past_due", "1,450.00 USD"),
        ("past_due_pct", "74.4%"),
        ("unapplied_cash", "200.00 USD"),
        ("open_invoices", "4"),
    ]
    assert aging_rows(html) == [["500.00", "1,200.00", "0.00", "0.00", "0.00", "250.00"]]
    assert top_rows(html) == [
        ["C-100", "Acme Corp", "2", "2025-10-31", "1,150.00"],
        ["C-110", "Acme West", "1", "2026-02-20", "300.00"],
    ]
    assert "Beta LLC" not in html and "EUR" not in html


def test_manager_sees_her_team_and_unassigned(ar: Any, as_user: Any) -> None:
    html = as_user(ar.mona).get("/").content.decode()
    assert kpis(html)[:2] == [("open_ar", "3,990.00 USD"), ("past_due", "3,450.00 USD")]
    assert [r[0] for r in top_rows(html)] == ["C-200", "C-100", "C-110"]
    assert "Gamma" not in html


def test_user_without_a_role_is_refused(ar: Any, as_user: Any) -> None:
    resp = as_user(ar.nobody).get("/")
    assert resp.status_code == 403
    assert "Acme" not in resp.content.decode()


def test_organization_buckets_are_used(ar: Any, as_user: Any) -> None:
    Organization.objects.create(pk=1, aging_buckets=[0, 60, 120])
    html = as_user(ar.ada).get("/").content.decode()
    assert aging_rows(html)[0] == ["540.00", "3,200.00", "0.00", "250.00"]
    assert '"labels": ["Current", "1-60", "61-120", "120+"]' in html


def test_dashboard_does_not_write(ar: Any, as_user: Any) -> None:
    as_user(ar.ada).get("/")
    assert not Organization.objects.exists()


def test_dashboard_query_count_is_fixed(ar: Any, as_user: Any, django_assert_num_queries: Any) -> None:
    from tests.factories import ledger as lf

    client: Client = as_user(ar.ada)
    # session, user, organization, roles, 3 balance aggregates, aging, top 10 for each of 2 currencies
    with django_assert_num_queries(10):
        client.get("/")
    for n in range(30):
        cust = lf.customer(f"X-{n:03}", f"Extra {n}", collector=ar.alice)
        lf.invoice(cust, f"X-INV-{n}", "10.00")
    with django_assert_num_queries(10):
        client.get("/")
