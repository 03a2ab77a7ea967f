"""The aging report: rows by a dimension whose buckets add up to open AR, unapplied cash and credits on
their own lines, the drill from a bucket to customers and invoices, exports, scope and query counts.
As of 2026-03-01 on the book of tests/web/conftest.py (see test_overview.py for the figures)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ardesk.ledger import services
from ardesk.ledger.models import Invoice
from tests.factories import ledger as lf

from .helpers import csv_rows, foot_rows, table_rows, xlsx_rows

ZERO3 = ["0.00", "0.00", "0.00"]
BY_CUSTOMER = [
    ["C-100 Acme Corp", "USD", "500.00", "900.00", *ZERO3, "250.00", "1,650.00", "-200.00", "0.00"],
    ["C-110 Acme West", "USD", "0.00", "300.00", *ZERO3, "0.00", "300.00", "0.00", "0.00"],
    ["C-200 Beta LLC", "USD", "0.00", "0.00", "2,000.00", "0.00", "0.00", "0.00", "2,000.00", "0.00", "0.00"],
    ["C-400 Delta Inc", "USD", "40.00", "0.00", *ZERO3, "0.00", "40.00", "0.00", "0.00"],
    ["C-300 Gamma GmbH", "EUR", "0.00", "700.00", *ZERO3, "0.00", "700.00", "0.00", "0.00"],
]
TOTALS = [
    ["Total", "USD", "540.00", "1,200.00", "2,000.00", "0.00", "0.00", "250.00", "3,990.00", "-200.00", "0.00"],
    ["Total", "EUR", "0.00", "700.00", *ZERO3, "0.00", "700.00", "0.00", "0.00"],
]  # fmt: skip


def test_by_customer_rows_totals_and_netting(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/aging/").content.decode()
    assert table_rows(html, "aging-report") == BY_CUSTOMER
    assert foot_rows(html, "aging-report") == TOTALS
    assert table_rows(html, "recon-USD") == [
        ["Open invoices in the buckets (6)", "3,990.00"],
        ["Unapplied cash", "-200.00"],
        ["Open credits", "0.00"],
        ["Net AR", "3,790.00"],
    ]
    assert "are <strong>not netted</strong> into the buckets" in html
    assert f'href="/customers/{ar.customers["acme"].pk}/"' in html


def test_buckets_add_up_to_open_ar(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/aging/").content.decode()
    for row in table_rows(html, "aging-report") + foot_rows(html, "aging-report"):
        amounts = [int(v.replace(",", "").replace(".", "")) for v in row[2:9]]
        assert sum(amounts[:6]) == amounts[6], row


def test_by_collector_and_drill_to_customers(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    html = client.get("/reports/aging/?by=collector").content.decode()
    assert [r[:2] + r[8:9] for r in table_rows(html, "aging-report")] == [
        ["(unassigned)", "USD", "40.00"],
        ["alice", "USD", "1,950.00"],
        ["bob", "USD", "2,000.00"],
        ["carl", "EUR", "700.00"],
    ]
    link = re.search(r'<a href="(\?[^"]*)" title="customers of this collector">alice</a>', html)
    assert link is not None
    assert link.group(1).replace("&amp;", "&") == f"?by=customer&collector={ar.alice.pk}"
    html = client.get(f"/reports/aging/?by=customer&collector={ar.alice.pk}").content.decode()
    assert table_rows(html, "aging-report") == BY_CUSTOMER[:2]
    html = client.get("/reports/aging/?by=collector").content.decode()
    assert (
        '<a href="?by=customer&amp;collector=none" title="customers of this collector">(unassigned)' in html
    )
    html = client.get("/reports/aging/?by=customer&collector=none").content.decode()
    assert table_rows(html, "aging-report") == [BY_CUSTOMER[3]]


def test_drill_from_a_bucket_to_invoices(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    html = client.get("/reports/aging/").content.decode()
    acme = ar.customers["acme"].pk
    url = f"/reports/aging/drill/?key={acme}&amp;cur=USD&amp;bucket=1"
    assert f'href="{url}" hx-get="{url}" hx-target="#drill"' in html
    response = client.get(url.replace("&amp;", "&"), HTTP_HX_REQUEST="true")
    part = response.content.decode()
    assert "<html" not in part
    assert "1-30 · 1 open invoice" in part
    assert table_rows(part, "drill-table") == [
        ["C-100 Acme Corp 1 invoice", "USD", "", "900.00"],
        ["INV-101", "2026-01-01", "2026-01-31", "29", "USD", "1,000.00", "900.00"],
    ]
    # the total row's bucket: every customer with an amount in it, largest first
    part = client.get("/reports/aging/drill/?key=*&cur=USD&bucket=1", HTTP_HX_REQUEST="true").content.decode()
    assert table_rows(part, "drill-table") == [
        ["C-100 Acme Corp 1 invoice", "USD", "", "900.00"],
        ["INV-101", "2026-01-01", "2026-01-31", "29", "USD", "1,000.00", "900.00"],
        ["C-110 Acme West 1 invoice", "USD", "", "300.00"],
        ["INV-111", "2026-02-01", "2026-02-20", "9", "USD", "300.00", "300.00"],
    ]
    part = client.get("/reports/aging/drill/?key=*&cur=EUR&bucket=1", HTTP_HX_REQUEST="true").content.decode()
    assert [r[0] for r in table_rows(part, "drill-table")] == ["C-300 Gamma GmbH 1 invoice", "INV-301"]
    # by collector: the unassigned slice ("~")
    part = client.get("/reports/aging/drill/?by=collector&key=~&cur=USD&bucket=0").content.decode()
    assert [r[0] for r in table_rows(part, "drill-table")] == ["C-400 Delta Inc 1 invoice", "INV-402"]
    assert "<html" in part  # without htmx: a page


def test_drill_is_scoped(ar: Any, as_user: Any) -> None:
    beta = ar.customers["beta"].pk
    part = as_user(ar.alice).get(f"/reports/aging/drill/?key={beta}&cur=USD&bucket=2").content.decode()
    assert "No open invoices in this bucket." in part and "INV-201" not in part
    part = as_user(ar.alice).get("/reports/aging/drill/?key=*&cur=USD&bucket=2").content.decode()
    assert "INV-201" not in part


def test_as_of_a_past_date_includes_later_payments(ar: Any, as_user: Any) -> None:
    # INV-101 was fully open on 2026-01-31 (PAY-1 applied 02-01), due that day: current; INV-103 was 92
    # days past due; PAY-1 did not exist yet
    html = as_user(ar.ada).get("/reports/aging/?as_of=2026-01-31").content.decode()
    assert table_rows(html, "aging-report")[0] == [
        "C-100 Acme Corp",
        "USD",
        "1,000.00",
        "0.00",
        "0.00",
        "0.00",
        "250.00",
        "0.00",
        "1,250.00",
        "0.00",
        "0.00",
    ]


def test_sort_by_open_ar(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/aging/?sort=-open_ar").content.decode()
    assert [r[0] for r in table_rows(html, "aging-report")] == [
        "C-200 Beta LLC",
        "C-100 Acme Corp",
        "C-110 Acme West",
        "C-400 Delta Inc",
        "C-300 Gamma GmbH",  # EUR rows after USD rows: amounts of two currencies are not compared
    ]
    html = as_user(ar.ada).get("/reports/aging/?sort=b1").content.decode()
    assert [r[0] for r in table_rows(html, "aging-report")][:2] == ["C-200 Beta LLC", "C-400 Delta Inc"]


def test_exports(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    response = client.get("/reports/aging/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="aging-2026-03-01.csv"'
    rows = csv_rows(response)
    head = ["2026-03-01", "due date", "each currency"]
    z = ["0.00", "0.00", "0.00"]
    assert rows == [
        [
            "As of",
            "Aging basis",
            "Currency mode",
            "Customer",
            "Currency",
            "Current",
            "1-30",
            "31-60",
            "61-90",
            "91-120",
            "120+",
            "Open AR",
            "Unapplied cash",
            "Open credits",
            "Net AR",
            "Open invoices",
        ],
        [*head, "C-100 Acme Corp", "USD", "500.00", "900.00", *z, "250.00", "1650.00", "200.00", "0.00", "1450.00", "3"],
        [*head, "C-110 Acme West", "USD", "0.00", "300.00", *z, "0.00", "300.00", "0.00", "0.00", "300.00", "1"],
        [*head, "C-200 Beta LLC", "USD", "0.00", "0.00", "2000.00", "0.00", "0.00", "0.00", "2000.00", "0.00", "0.00", "2000.00", "1"],
        [*head, "C-400 Delta Inc", "USD", "40.00", "0.00", *z, "0.00", "40.00", "0.00", "0.00", "40.00", "1"],
        [*head, "C-300 Gamma GmbH", "EUR", "0.00", "700.00", *z, "0.00", "700.00", "0.00", "0.00", "700.00", "1"],
        [*head, "Total", "USD", "540.00", "1200.00", "2000.00", "0.00", "0.00", "250.00", "3990.00", "200.00", "0.00", "3790.00", "6"],
        [*head, "Total", "EUR", "0.00", "700.00", *z, "0.00", "700.00", "0.00", "0.00", "700.00", "1"],
    ]  # fmt: skip
    sheet = xlsx_rows(client.get("/reports/aging/?format=xlsx&by=collector"))
    assert sheet[0][3] == "Collector"
    assert sheet[2][3:] == ["alice", "USD", 500, 1200, 0, 0, 0, 250, 1950, 200, 0, 1750, 4]


def test_collector_scope_and_roles(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/reports/aging/").content.decode()
    assert table_rows(html, "aging-report") == BY_CUSTOMER[:2]
    assert as_user(ar.nobody).get("/reports/aging/").status_code == 403


def test_query_count_does_not_grow_with_rows(
    ar: Any, as_user: Any, django_assert_max_num_queries: Any, settings: Any
) -> None:
    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0
    client = as_user(ar.ada)
    # session, user, roles, organization, three form choices, the aging (3) and its labels
    with django_assert_max_num_queries(11):
        client.get("/reports/aging/")
    with django_assert_max_num_queries(9):
        client.get("/reports/aging/drill/?key=*&cur=USD&bucket=1")
    for n in range(30):
        cust = lf.customer(f"X-{n:03}", f"Extra {n}", collector=ar.alice)
        inv = lf.invoice(cust, f"X-INV-{n}", "10.00", date=dt.date(2026, 1, 10), due=dt.date(2026, 2, 9))
        if n % 3 == 0:
            services.cancel_invoice(actor=None, invoice=inv, on_date=dt.date(2026, 2, 1), reason="test")
    assert Invoice.objects.filter(number__startswith="X-INV").count() == 30
    with django_assert_max_num_queries(11):
        html = client.get("/reports/aging/").content.decode()
    assert foot_rows(html, "aging-report")[0][8] == "4,190.00"  # + 20 open x 10.00
    with django_assert_max_num_queries(9):
        part = client.get("/reports/aging/drill/?key=*&cur=USD&bucket=1").content.decode()
    assert part.count("X-INV-") == 20
