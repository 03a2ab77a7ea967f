"""A customer's own KPI panel (an htmx fragment loaded into the customer page). As of 2026-03-01.

C-100 Acme (its own figures, not C-110's): open 1,650 = INV-101 900 (1-30) + 102 500 (current) + 103 250
  (120+); past due 1,150 = 69.70%; sales in the window 101 1,000 + 102 500 = 1,500 -> DSO 99.00;
  nothing paid in full in the window -> ADP and days late undefined.
C-400 Delta: INV-402 40 current; sales 100 + 40 = 140 -> DSO 25.71; INV-401 paid 01-20, invoiced
  01-01, due 01-15 -> ADP 19.00, 5.00 days late.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.factories import ledger as lf

from .helpers import table_rows


def ckpis(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-ckpi="(\w+)">([^<]*)<', html))


def test_acme_panel(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    response = as_user(ar.alice).get(f"/reports/customers/{acme.pk}/kpis/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert ckpis(html) == {
        "open_ar": "1,650.00 USD",
        "pct_past_due": "69.70%",
        "dso": "99.00",
        "adp": "–",
        "avg_days_late": "–",
    }
    assert table_rows(html, "customer-aging-USD") == [
        ["Aging", "500.00", "900.00", "0.00", "0.00", "0.00", "250.00", "1,650.00"]
    ]
    trend = table_rows(html, "customer-trend-USD")
    assert len(trend) == 12
    # 2025-11-30: INV-103 250 past due, sales 250 -> DSO 90.00, 100% past due
    assert trend[7] == ["2025-11-30", "90.00", "–", "–", "100.00"]
    # 2026-01-31: 101 1,000 current + 103 250; sales 1,000 -> DSO 112.50, 20.00% past due
    assert trend[9] == ["2026-01-31", "112.50", "–", "–", "20.00"]
    assert trend[11] == ["2026-03-01", "99.00", "–", "–", "69.70"]
    assert '<svg class="sparkline"' in html


def test_paying_behaviour(ar: Any, as_user: Any) -> None:
    delta = ar.customers["delta"]
    html = as_user(ar.mona).get(f"/reports/customers/{delta.pk}/kpis/").content.decode()
    assert ckpis(html) == {
        "open_ar": "40.00 USD",
        "pct_past_due": "0.00%",
        "dso": "25.71",
        "adp": "19.00",
        "avg_days_late": "5.00",
    }


def test_scope(ar: Any, as_user: Any, client: Any) -> None:
    beta = ar.customers["beta"]
    url = f"/reports/customers/{beta.pk}/kpis/"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert as_user(ar.alice).get(url).status_code == 404  # bob's customer
    assert as_user(ar.walt).get(url).status_code == 404  # another team's
    assert as_user(ar.nobody).get(url).status_code == 403
    assert as_user(ar.bob).get(url).status_code == 200
    assert as_user(ar.bob).get("/reports/customers/999999/kpis/").status_code == 404


def test_customer_page_loads_the_panel(ar: Any, as_user: Any) -> None:
    acme = ar.customers["acme"]
    html = as_user(ar.alice).get(f"/customers/{acme.pk}/").content.decode()
    assert f'hx-get="/reports/customers/{acme.pk}/kpis/" hx-trigger="load"' in html


def test_query_count(ar: Any, as_user: Any, django_assert_max_num_queries: Any, settings: Any) -> None:
    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0
    acme = ar.customers["acme"]
    # session, user, roles, the customer, organization; 12 monthly kpis (7 each; a month with nothing
    # in it reads the organization's base currency as well)
    client = as_user(ar.alice)
    with django_assert_max_num_queries(116):
        client.get(f"/reports/customers/{acme.pk}/kpis/")
    for n in range(20):
        lf.invoice(acme, f"X-INV-{n}", "10.00", date=dt.date(2025, 6 + n % 7, 10))
    with django_assert_max_num_queries(116):
        html = client.get(f"/reports/customers/{acme.pk}/kpis/").content.decode()
    assert ckpis(html)["open_ar"] == "1,850.00 USD"
