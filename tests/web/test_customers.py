"""The customer list: scope, filters, sort, paging, exports, htmx partials and a fixed query count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from ardesk.ledger import services
from tests.factories import ledger as lf

from .helpers import csv_rows, table_rows, xlsx_rows

ACME = [
    "C-100",
    "Acme Corp",
    "US01",
    "East",
    "NA",
    "alice",
    "Active",
    "Medium",
    "1,650.00 USD",
    "1,150.00 USD",
]
WEST = ["C-110", "Acme West", "US01", "East", "NA", "alice", "Active", "Medium", "300.00 USD", "300.00 USD"]
BETA = ["C-200", "Beta LLC", "US01", "East", "NA", "bob", "Active", "Medium", "2,000.00 USD", "2,000.00 USD"]
DELTA = ["C-400", "Delta Inc", "US01", "East", "NA", "–", "Active", "Medium", "40.00 USD", "0.00 USD"]
# Gamma's only open invoice is in EUR: its USD figures stay 0.00 and the EUR item is flagged, never added.
GAMMA = [
    "C-300",
    "Gamma GmbH",
    "US01",
    "West",
    "EU",
    "carl",
    "Active",
    "Medium",
    "0.00 USD +1 FX",
    "0.00 USD",
]


def rows(client: Client, query: str = "") -> list[list[str]]:
    response = client.get(f"/customers/{query}")
    assert response.status_code == 200
    return table_rows(response.content.decode(), "customer-table")


def test_admin_sees_every_customer_with_balances(ar: Any, as_user: Any) -> None:
    assert rows(as_user(ar.ada)) == [ACME, WEST, BETA, DELTA, GAMMA]


def test_collector_sees_her_portfolio_only(ar: Any, as_user: Any) -> None:
    assert rows(as_user(ar.alice)) == [ACME, WEST]


def test_manager_sees_her_team_and_unassigned(ar: Any, as_user: Any) -> None:
    assert rows(as_user(ar.mona)) == [ACME, WEST, BETA, DELTA]


def test_auditor_sees_everything(ar: Any, as_user: Any) -> None:
    assert [r[0] for r in rows(as_user(ar.audrey))] == ["C-100", "C-110", "C-200", "C-400", "C-300"]


def test_user_without_role_is_refused(ar: Any, as_user: Any) -> None:
    response = as_user(ar.nobody).get("/customers/")
    assert response.status_code == 403
    assert "error.html" in [t.name for t in response.templates]


@pytest.mark.parametrize(
    ("query", "accounts"),
    [
        ("?q=acme", ["C-100", "C-110"]),
        ("?q=c-2", ["C-200"]),
        ("?territory=West", ["C-300"]),
        ("?region=NA", ["C-100", "C-110", "C-200", "C-400"]),
        ("?has_past_due=on", ["C-100", "C-110", "C-200"]),
        ("?status=dormant", []),
        ("?risk_class=medium&q=delta", ["C-400"]),
        ("?sort=-past_due", ["C-200", "C-100", "C-110", "C-400", "C-300"]),
        ("?sort=open_ar", ["C-300", "C-400", "C-110", "C-100", "C-200"]),
        ("?sort=-account", ["C-400", "C-300", "C-200", "C-110", "C-100"]),
        ("?sort=bogus", ["C-100", "C-110", "C-200", "C-400", "C-300"]),
    ],
)
def test_filters_and_sort(ar: Any, as_user: Any, query: str, accounts: list[str]) -> None:
    got = [r[0] for r in rows(as_user(ar.ada), query) if len(r) > 1]
    assert got == accounts


def test_filter_by_collector_and_entity(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    assert [r[0] for r in rows(client, f"?collector={ar.bob.pk}")] == ["C-200"]
    eu = lf.entity("EU01", "EUR")
    lf.customer("C-900", "Euro AG", ent=eu, collector=ar.carl)
    assert [r[0] for r in rows(client, f"?entity={eu.pk}")] == ["C-900"]


def test_collector_choices_are_scoped(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/customers/").content.decode()
    assert f'<option value="{ar.alice.pk}">alice</option>' in html
    assert ">bob</option>" not in html


def test_pagination_50_per_page(ar: Any, as_user: Any) -> None:
    for n in range(55):
        lf.customer(f"P-{n:03}", f"Paged {n:03}", collector=ar.alice)
    client = as_user(ar.alice)
    first = rows(client, "?q=paged")
    assert len(first) == 50 and first[0][0] == "P-000"
    second = rows(client, "?q=paged&page=2")
    assert [r[0] for r in second] == ["P-050", "P-051", "P-052", "P-053", "P-054"]
    html = client.get("/customers/?q=paged").content.decode()
    assert "55 rows · page 1 of 2" in html
    assert 'href="?q=paged&amp;page=2" rel="next"' in html


def test_htmx_request_gets_the_table_only(ar: Any, as_user: Any) -> None:
    response = as_user(ar.ada).get("/customers/?q=beta", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and 'id="customer-table"' in html
    assert table_rows(html, "customer-table") == [BETA]
    assert 'id="sort-input" value="name" hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]


def test_full_page_has_filter_form_wired_for_htmx(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/customers/").content.decode()
    assert 'hx-get="/customers/" hx-target="#results" hx-push-url="true"' in html
    assert '<button type="submit" class="btn btn-primary">Apply</button>' in html  # works without JS


def test_csv_export_exact_rows(ar: Any, as_user: Any) -> None:
    response = as_user(ar.mona).get("/customers/?format=csv&sort=-past_due")
    assert response["Content-Disposition"] == 'attachment; filename="customers.csv"'
    assert csv_rows(response) == [
        [
            "Account",
            "Name",
            "Entity",
            "Territory",
            "Region",
            "Status",
            "Risk class",
            "Collector",
            "Currency",
            "Credit limit",
            "Open AR",
            "Past due",
        ],
        [
            "C-200",
            "Beta LLC",
            "US01",
            "East",
            "NA",
            "Active",
            "Medium",
            "bob",
            "USD",
            "",
            "2000.00",
            "2000.00",
        ],
        [
            "C-100",
            "Acme Corp",
            "US01",
            "East",
            "NA",
            "Active",
            "Medium",
            "alice",
            "USD",
            "5000.00",
            "1650.00",
            "1150.00",
        ],
        [
            "C-110",
            "Acme West",
            "US01",
            "East",
            "NA",
            "Active",
            "Medium",
            "alice",
            "USD",
            "",
            "300.00",
            "300.00",
        ],
        ["C-400", "Delta Inc", "US01", "East", "NA", "Active", "Medium", "", "USD", "", "40.00", "0.00"],
    ]


def test_exports_neutralise_formulas(ar: Any, as_user: Any) -> None:
    evil = lf.customer("=cmd()", "=cmd()", collector=ar.alice, territory="+East")
    lf.invoice(evil, "EVIL-1", "12.34", date=dt.date(2026, 2, 1), due=dt.date(2026, 2, 2))
    client = as_user(ar.alice)
    got = csv_rows(client.get("/customers/?format=csv&q=cmd"))
    assert got[1] == [
        "'=cmd()",
        "'=cmd()",
        "US01",
        "'+East",
        "",
        "Active",
        "Medium",
        "alice",
        "USD",
        "",
        "12.34",
        "12.34",
    ]
    sheet = xlsx_rows(client.get("/customers/?format=xlsx&q=cmd"))
    assert sheet[1][:4] == ["'=cmd()", "'=cmd()", "US01", "'+East"]
    assert sheet[1][10:] == [12.34, 12.34]


def test_xlsx_export_exact_rows(ar: Any, as_user: Any) -> None:
    response = as_user(ar.alice).get("/customers/?format=xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = xlsx_rows(response)
    assert sheet[0][0] == "Account" and sheet[0][-1] == "Past due"
    assert sheet[1:] == [
        ["C-100", "Acme Corp", "US01", "East", "NA", "Active", "Medium", "alice", "USD", 5000, 1650, 1150],
        ["C-110", "Acme West", "US01", "East", "NA", "Active", "Medium", "alice", "USD", None, 300, 300],
    ]


def test_export_respects_scope(ar: Any, as_user: Any) -> None:
    got = csv_rows(as_user(ar.alice).get("/customers/?format=csv"))
    assert [r[0] for r in got[1:]] == ["C-100", "C-110"]


def _grow(ar: Any, n: int) -> None:
    for i in range(n):
        cust = lf.customer(f"G-{i:03}", f"Grown {i:03}", collector=ar.alice, territory=f"T{i % 3}")
        lf.invoice(cust, f"G-INV-{i}", "10.00", date=dt.date(2026, 1, 1), due=dt.date(2026, 1, 31))
        lf.payment(cust, f"G-PAY-{i}", "5.00")
    services.update_customer(actor=None, customer=ar.customers["beta"], region="EU")


@pytest.mark.parametrize("persona", ["ada", "alice", "mona"])
def test_list_query_count_does_not_grow_with_rows(
    ar: Any, as_user: Any, django_assert_num_queries: Any, persona: str
) -> None:
    client = as_user(getattr(ar, persona))
    # session, user, roles, territory/region choices, count, page, entity choices, collector choices
    with django_assert_num_queries(8):
        client.get("/customers/?sort=-open_ar")
    _grow(ar, 60)
    with django_assert_num_queries(8):
        response = client.get("/customers/?sort=-open_ar")
    assert len(table_rows(response.content.decode(), "customer-table")) == 50
