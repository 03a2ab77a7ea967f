"""Smaller corners: preambles skipped by count, filters without their column, profile value maps for
master data, the concurrency guard, a stored file that went missing."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.core.errors import Conflict
from ardesk.imports.kinds import settle_invoices
from ardesk.imports.profiles import parse_profile
from ardesk.imports.services import run_import
from ardesk.ledger.models import Customer, Invoice
from tests.factories import ledger as lf

from .conftest import ledger_counts

D = dt.date


def errors(report):
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_skip_rows_counts_rows_before_the_header(book, write):
    profile = parse_profile({"format": {"skip_rows": 2}}, default_name="skip")
    path = write(
        "inv.csv",
        "Open items\nprinted 2026-03-01\nnumber,customer,invoice_date,due_date,amount\nINV-1,C-100,2026-01-01,,x\n",
    )
    report = run_import(actor=None, kind="invoices", path=path, profile=profile)
    assert errors(report) == [(4, "amount", "'x' is not a number in the format 1,234.56")]


def test_filter_column_missing_reads_every_row(book, write):
    text = "Num,Customer,Date,Due Date,Amount\n1001,C-100,01/15/2026,02/14/2026,10.00\n"
    report = run_import(actor=None, kind="invoices", path=write("list.csv", text), profile="quickbooks")
    assert report.ok, report.errors
    assert report.warnings == ["the filter column 'Transaction Type' is not in the file; every row is read"]
    assert Invoice.objects.get().number == "1001"


def test_quickbooks_customer_list_maps_country_names(book, write):
    text = "Customer,Billing City,Billing Country,Terms\nHudson Hardware,Albany,USA,NET30\n"
    report = run_import(actor=None, kind="customers", path=write("cust.csv", text), profile="quickbooks")
    assert report.ok, report.errors
    hudson = Customer.objects.get(account_number="Hudson Hardware")
    assert (hudson.name, hudson.city, hudson.country, hudson.payment_terms.code) == (
        "Hudson Hardware",
        "Albany",
        "US",
        "NET30",
    )


def test_bad_profile_constant_is_a_file_error(book, write):
    profile = parse_profile({"kinds": {"invoices": {"constants": {"currency": "EURO"}}}}, default_name="p")
    path = write("inv.csv", "number,customer,invoice_date,due_date,amount\nINV-1,C-100,2026-01-01,,1\n")
    report = run_import(actor=None, kind="invoices", path=path, profile=profile)
    assert errors(report) == [
        (0, "currency", "the profile's constant for currency is invalid: unknown currency code 'EURO'")
    ]


def test_profile_without_a_mapping_for_the_kind_warns(book, write):
    path = write("c.csv", "customer,name\nC-100,Ann\n")
    report = run_import(actor=None, kind="contacts", path=path, profile="sap")
    assert report.ok
    assert report.warnings == []  # sap maps contacts
    report = run_import(actor=None, kind="applications", path=path, profile="sap", dry_run=True)
    assert report.warnings == ["the profile 'sap' does not map applications; ardesk's column names are used"]


def test_settle_guard_refuses_a_stale_open_amount(book):
    inv = lf.invoice(book.customers["acme"], "INV-1", "10.00", date=D(2026, 1, 1))
    with pytest.raises(Conflict, match="changed while the file was being imported"):
        settle_invoices({inv.pk: (1001, D(2026, 2, 1))})
    settle_invoices({inv.pk: (1000, D(2026, 2, 1))})
    inv.refresh_from_db()
    assert (inv.open_minor, inv.status, inv.closed_on) == (0, "paid", D(2026, 2, 1))


def test_missing_file_is_reported(book, tmp_path):
    report = run_import(actor=None, kind="invoices", path=tmp_path / "gone.csv")
    assert errors(report) == [(0, "", "the file cannot be read: it does not exist")]


def test_unchanged_database_after_credit_and_terms_errors(book, write):
    lf.customer("C-500", "No Terms Co", payment_terms=None)
    before = ledger_counts()
    report = run_import(
        actor=None,
        kind="invoices",
        path=write(
            "i.csv", "number,customer,invoice_date,due_date,amount,terms\nI-1,C-500,2026-01-01,,1,NET99\n"
        ),
    )
    assert errors(report) == [(2, "terms", "unknown payment terms 'NET99' (known: NET30)")]
    assert ledger_counts() == before


def test_large_batches_read_the_table_once(book, write, monkeypatch):
    """From SCAN_FROM keys on, existing rows are found by one table scan instead of IN lists; the
    results are the same (here with the threshold lowered to one key)."""
    from ardesk.imports import kinds

    monkeypatch.setattr(kinds, "SCAN_FROM", 1)
    lf.invoice(book.customers["acme"], "INV-1", "100.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    path = write(
        "inv.csv",
        "number,customer,invoice_date,due_date,amount\n"
        "INV-1,C-100,2026-01-01,2026-01-31,100.00\nINV-2,C-200,2026-01-01,2026-01-31,5\n",
    )
    report = run_import(actor=None, kind="invoices", path=path)
    assert report.counts == {"invoices": {"created": 1, "unchanged": 1}}
    bad = write(
        "bad.csv", "number,customer,invoice_date,due_date,amount\nINV-2,C-300,2026-01-01,2026-01-31,5\n"
    )
    assert errors(run_import(actor=None, kind="invoices", path=bad)) == [
        (
            2,
            "customer",
            "invoice INV-2 already exists with customer C-200, file says C-300; post a correction instead",
        )
    ]
