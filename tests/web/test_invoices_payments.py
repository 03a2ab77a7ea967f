"""Invoice and payment lists (filters, sort, exports, query count) and the invoice page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ardesk.core.money import Money
from ardesk.ledger import services
from tests.factories import ledger as lf

from .helpers import csv_rows, table_rows, xlsx_rows


def numbers(client: Any, url: str, table: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return [r[0] for r in table_rows(response.content.decode(), table) if len(r) > 1]


def test_invoice_list_rows_for_a_collector(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/invoices/").content.decode()
    assert table_rows(html, "invoice-table") == [
        [
            "INV-102",
            "C-100 Acme Corp",
            "US01",
            "2026-02-15",
            "2026-03-17",
            "–",
            "Open",
            "500.00 USD",
            "500.00 USD",
        ],
        [
            "INV-111",
            "C-110 Acme West",
            "US01",
            "2026-02-01",
            "2026-02-20",
            "9",
            "Open",
            "300.00 USD",
            "300.00 USD",
        ],
        [
            "INV-101",
            "C-100 Acme Corp",
            "US01",
            "2026-01-01",
            "2026-01-31",
            "29",
            "Open",
            "1,000.00 USD",
            "900.00 USD",
        ],
        [
            "INV-103",
            "C-100 Acme Corp",
            "US01",
            "2025-10-01",
            "2025-10-31",
            "121",
            "Open",
            "250.00 USD",
            "250.00 USD",
        ],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?overdue=on&sort=due", ["INV-103", "INV-201", "INV-101", "INV-301", "INV-111"]),
        ("?status=paid", ["INV-401"]),
        ("?currency=EUR", ["INV-301"]),
        ("?customer=delta", ["INV-402", "INV-401"]),
        ("?customer=C-110", ["INV-111"]),
        ("?date_from=2026-01-01&date_to=2026-01-31&sort=number", ["INV-101", "INV-301", "INV-401"]),
        (
            "?sort=-open&currency=USD&status=open",
            ["INV-201", "INV-101", "INV-102", "INV-111", "INV-103", "INV-402"],
        ),
        (
            "?date_from=not-a-date",
            ["INV-402", "INV-102", "INV-111", "INV-301", "INV-401", "INV-101", "INV-201", "INV-103"],
        ),
    ],
)
def test_invoice_filters(ar: Any, as_user: Any, query: str, expected: list[str]) -> None:
    assert numbers(as_user(ar.ada), f"/invoices/{query}", "invoice-table") == expected


def test_invoice_filter_by_collector_and_entity(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    assert numbers(client, f"/invoices/?collector={ar.bob.pk}", "invoice-table") == ["INV-201"]
    us = lf.entity()
    assert len(numbers(client, f"/invoices/?entity={us.pk}", "invoice-table")) == 8


def test_invoice_list_scope(ar: Any, as_user: Any) -> None:
    assert numbers(as_user(ar.bob), "/invoices/", "invoice-table") == ["INV-201"]
    got = numbers(as_user(ar.mona), "/invoices/?sort=number", "invoice-table")
    assert got == ["INV-101", "INV-102", "INV-103", "INV-111", "INV-201", "INV-401", "INV-402"]


def test_invoice_csv_export(ar: Any, as_user: Any) -> None:
    got = csv_rows(as_user(ar.bob).get("/invoices/?format=csv"))
    assert got == [
        [
            "Invoice",
            "Account",
            "Customer",
            "Entity",
            "Invoice date",
            "Due date",
            "Currency",
            "Amount",
            "Open",
            "Status",
            "Collector",
        ],
        [
            "INV-201",
            "C-200",
            "Beta LLC",
            "US01",
            "2025-12-01",
            "2025-12-31",
            "USD",
            "2000.00",
            "2000.00",
            "Open",
            "bob",
        ],
    ]


def test_invoice_xlsx_export(ar: Any, as_user: Any) -> None:
    sheet = xlsx_rows(as_user(ar.ada).get("/invoices/?format=xlsx&currency=EUR"))
    assert sheet[1] == [
        "INV-301",
        "C-300",
        "Gamma GmbH",
        "US01",
        dt.datetime(2026, 1, 20),
        dt.datetime(2026, 2, 10),
        "EUR",
        700,
        700,
        "Open",
        "carl",
    ]


def test_invoice_page(ar: Any, as_user: Any) -> None:
    inv = ar.invoices["101"]
    services.write_off(
        actor=ar.ada,
        invoice=inv,
        on_date=dt.date(2026, 2, 15),
        reason="small balance",
        amount=Money.of("50.00", "USD"),
    )
    html = as_user(ar.alice).get(f"/invoices/{inv.pk}/").content.decode()
    assert "Invoice INV-101" in html
    assert '<dd data-field="amount">1,000.00 USD</dd>' in html
    assert '<dd data-field="open"><strong>850.00 USD</strong></dd>' in html
    assert "(29 days past due on 2026-03-01)" in html
    assert table_rows(html, "applications") == [["2026-02-01", "Payment", "PAY-1", "", "100.00 USD"]]
    assert table_rows(html, "write-offs") == [["2026-02-15", "small balance", "", "50.00 USD"]]


def test_invoice_page_scope(ar: Any, as_user: Any) -> None:
    assert as_user(ar.alice).get(f"/invoices/{ar.invoices['201'].pk}/").status_code == 404
    assert as_user(ar.audrey).get(f"/invoices/{ar.invoices['201'].pk}/").status_code == 200


def test_payment_list(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/payments/").content.decode()
    assert table_rows(html, "payment-table") == [
        ["PAY-1", "C-100 Acme Corp", "US01", "2026-02-01", "ACH", "Unapplied", "300.00 USD", "200.00 USD"],
        ["PAY-2", "C-400 Delta Inc", "US01", "2026-01-20", "ACH", "Applied", "100.00 USD", "0.00 USD"],
    ]


@pytest.mark.parametrize(
    ("persona", "query", "expected"),
    [
        ("ada", "?status=unapplied", ["PAY-1"]),
        ("ada", "?status=applied", ["PAY-2"]),
        ("ada", "?date_to=2026-01-31", ["PAY-2"]),
        ("ada", "?customer=acme", ["PAY-1"]),
        ("ada", "?sort=-unapplied", ["PAY-1", "PAY-2"]),
        ("alice", "", ["PAY-1"]),
        ("bob", "", []),
        ("mona", "?sort=reference", ["PAY-1", "PAY-2"]),
    ],
)
def test_payment_filters_and_scope(
    ar: Any, as_user: Any, persona: str, query: str, expected: list[str]
) -> None:
    assert numbers(as_user(getattr(ar, persona)), f"/payments/{query}", "payment-table") == expected


def test_payment_csv_export(ar: Any, as_user: Any) -> None:
    got = csv_rows(as_user(ar.ada).get("/payments/?format=csv&sort=reference"))
    assert got == [
        [
            "Reference",
            "Account",
            "Customer",
            "Entity",
            "Payment date",
            "Currency",
            "Amount",
            "Unapplied",
            "Method",
            "Reversed on",
        ],
        ["PAY-1", "C-100", "Acme Corp", "US01", "2026-02-01", "USD", "300.00", "200.00", "ACH", ""],
        ["PAY-2", "C-400", "Delta Inc", "US01", "2026-01-20", "USD", "100.00", "0.00", "ACH", ""],
    ]


def _grow(ar: Any, n: int) -> None:
    for i in range(n):
        cust = lf.customer(f"G-{i:03}", f"Grown {i:03}", collector=ar.alice if i % 2 else ar.bob)
        lf.invoice(cust, f"G-INV-{i}", "10.00", date=dt.date(2026, 1, 1), due=dt.date(2026, 1, 31))
        lf.payment(cust, f"G-PAY-{i}", "5.00")


@pytest.mark.parametrize("persona", ["ada", "alice", "mona"])
@pytest.mark.parametrize(("url", "table"), [("/invoices/", "invoice-table"), ("/payments/", "payment-table")])
def test_list_query_count_does_not_grow_with_rows(
    ar: Any, as_user: Any, django_assert_num_queries: Any, persona: str, url: str, table: str
) -> None:
    client = as_user(getattr(ar, persona))
    # session, user, roles, count, page, entity choices, collector choices
    with django_assert_num_queries(7):
        client.get(url)
    _grow(ar, 110)
    with django_assert_num_queries(7):
        response = client.get(url)
    assert len(table_rows(response.content.decode(), table)) == 50
