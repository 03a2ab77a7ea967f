"""Invoice imports on a real database: the happy path, every kind of bad row (with the exact report and
an unchanged database), idempotency and settled history."""

from __future__ import annotations

import datetime as dt

from ardesk.core.models import AuditLog
from ardesk.imports.report import RowError
from ardesk.imports.services import run_import
from ardesk.ledger.models import Application, Invoice, Payment
from tests.factories import ledger as lf

from .conftest import ledger_counts

D = dt.date
HEAD = "number,customer,invoice_date,due_date,amount,currency\n"


def errors(report):
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_import_invoices_and_reimport_changes_nothing(book, write):
    path = write(
        "inv.csv",
        HEAD + "INV-1,C-100,2026-01-01,2026-01-31,100.00,USD\n"
        'INV-2,C-200,2026-01-02,,"1,250.5",\n'
        "INV-3,C-300,2026-01-03,2026-03-01,7,EUR\n",
    )
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert report.ok and report.imported
    assert report.counts == {"invoices": {"created": 3, "unchanged": 0}}
    inv2 = Invoice.objects.get(number="INV-2")
    assert (inv2.customer.account_number, inv2.amount_minor, inv2.open_minor, inv2.currency) == (
        "C-200",
        125050,
        125050,
        "USD",
    )
    assert inv2.due_date == D(2026, 2, 1)  # NET30 from the customer's terms
    assert inv2.status == "open" and inv2.closed_on is None
    assert Invoice.objects.get(number="INV-3").currency == "EUR"
    batch_audit = AuditLog.objects.get(action="import.invoices")
    assert batch_audit.actor == book.ada
    assert batch_audit.after["rows"] == 3
    assert batch_audit.after["counts"] == {"invoices": {"created": 3, "unchanged": 0}}

    before = ledger_counts()
    again = run_import(actor=book.ada, kind="invoices", path=path)
    assert again.ok and again.counts == {"invoices": {"created": 0, "unchanged": 3}}
    after = ledger_counts()
    assert after == before  # not even an audit row: nothing changed


def test_posted_invoice_with_other_values_is_an_error(book, write):
    lf.invoice(book.customers["acme"], "INV-1", "100.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    path = write(
        "inv.csv", HEAD + "INV-1,C-100,2026-01-01,2026-01-31,120.00,USD\nINV-9,C-100,2026-01-01,,5,USD\n"
    )
    before = ledger_counts()
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert errors(report) == [
        (
            2,
            "amount",
            "invoice INV-1 already exists with amount 100.00, file says 120.00; post a correction instead",
        )
    ]
    assert report.errors[0].value == "120.00"
    assert not report.imported
    assert ledger_counts() == before  # INV-9 was fine, but a file with any error imports nothing


def test_every_bad_row_is_reported_at_once(book, write):
    path = write(
        "bad.csv",
        HEAD + "INV-1,C-100,2026-02-30,2026-03-01,100.00,USD\n"  # 2 bad date
        "INV-2,C-100,2026-01-01,2026-01-31,12.345,USD\n"  # 3 decimals
        "INV-3,C-100,2026-01-01,2026-01-31,abc,USD\n"  # 4 bad number
        "INV-4,C-100,2026-01-01,2026-01-31,10,XYZ\n"  # 5 unknown currency
        "INV-5,C-100,2026-01-01,2026-01-31,-10,USD\n"  # 6 negative
        "INV-6,C-100,2026-01-01,2026-01-31,0,USD\n"  # 7 zero
        "INV-7,C-100,2026-02-01,2026-01-31,10,USD\n"  # 8 due before date
        "INV-8,C-999,2026-01-01,2026-01-31,10,USD\n"  # 9 unknown customer
        "INV-9,C-100,2026-01-01,2026-01-31,10,USD\n"
        "INV-9,C-200,2026-01-01,2026-01-31,11,USD\n"  # 11 duplicate
        "INV-10,C-100,2026-01-01,2026-01-31,10.5,JPY\n"  # 12 decimals for a zero-decimal currency
        ",C-100,2026-01-01,2026-01-31,10,USD\n",  # 13 missing number
    )
    before = ledger_counts()
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert errors(report) == [
        (2, "invoice_date", "'2026-02-30' is not a valid date in the format YYYY-MM-DD"),
        (3, "amount", "12.345 has more than 2 decimal places for USD"),
        (4, "amount", "'abc' is not a number in the format 1,234.56"),
        (5, "currency", "unknown currency code 'XYZ'"),
        (6, "amount", "amount must be positive, got -10"),
        (7, "amount", "amount must be positive, got 0"),
        (8, "due_date", "due date 2026-01-31 is before the invoice date 2026-02-01"),
        (9, "customer", "unknown customer account 'C-999'"),
        (11, "number", "duplicate invoice number INV-9 (first on row 10)"),
        (12, "amount", "10.5 has more than 0 decimal places for JPY"),
        (13, "number", "number is required"),
    ]
    assert report.errors[0] == RowError(2, "invoice_date", "2026-02-30", report.errors[0].reason)
    assert report.error_count == 11 and report.rows == 12
    assert ledger_counts() == before


def test_missing_column_is_one_error_naming_it_and_the_columns_found(book, write):
    path = write("inv.csv", "number;customer;date;amount\nINV-1;C-100;2026-01-01;5\n")
    before = ledger_counts()
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert errors(report) == [
        (
            1,
            "invoice_date",
            "missing column 'invoice_date' (for ardesk's invoice_date); the file has columns: "
            "'number', 'customer', 'date', 'amount'",
        )
    ]
    assert report.delimiter == ";"
    assert ledger_counts() == before


def test_due_date_needs_terms(book, write):
    lf.customer("C-500", "No Terms Co", payment_terms=None)
    path = write(
        "inv.csv", HEAD + "INV-1,C-500,2026-01-01,,10,USD\nINV-2,C-500,2026-01-01,2026-01-05,10,USD\n"
    )
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert errors(report) == [
        (2, "due_date", "no due date, and customer C-500 has no payment terms to compute it from")
    ]


def test_settled_history_imports_invoices_payments_and_applications(book, write):
    path = write(
        "history.csv",
        "number,customer,invoice_date,due_date,amount,paid_date,paid_amount,payment_reference\n"
        "H-1,C-100,2026-01-01,2026-01-31,100.00,2026-02-10,,\n"  # paid in full, own payment
        "H-2,C-100,2026-01-05,2026-02-04,200.00,2026-02-20,50.00,CHK-7\n"  # part paid by check 7
        "H-3,C-100,2026-01-06,2026-02-05,300.00,2026-02-21,300.00,CHK-7\n"  # the rest of check 7
        "H-4,C-200,2026-01-07,2026-02-06,80.00,,,\n",  # open
    )
    report = run_import(actor=book.ada, kind="invoices", path=path)
    assert report.ok, report.errors
    assert report.counts == {
        "invoices": {"created": 4, "unchanged": 0},
        "payments": {"created": 2},
        "applications": {"created": 3},
    }
    inv = {i.number: i for i in Invoice.objects.all()}
    assert [
        (n, inv[n].open_minor, inv[n].status, inv[n].closed_on) for n in ("H-1", "H-2", "H-3", "H-4")
    ] == [
        ("H-1", 0, "paid", D(2026, 2, 10)),
        ("H-2", 15000, "open", None),
        ("H-3", 0, "paid", D(2026, 2, 21)),
        ("H-4", 8000, "open", None),
    ]
    pays = {p.reference: p for p in Payment.objects.all()}
    assert sorted(pays) == ["CHK-7", "PAID-H-1"]
    assert (pays["CHK-7"].amount_minor, pays["CHK-7"].unapplied_minor, pays["CHK-7"].payment_date) == (
        35000,
        0,
        D(2026, 2, 20),
    )
    assert (pays["PAID-H-1"].amount_minor, pays["PAID-H-1"].method) == (10000, "other")
    apps = sorted(
        Application.objects.values_list(
            "invoice__number", "payment__reference", "amount_minor", "applied_date"
        )
    )
    assert apps == [
        ("H-1", "PAID-H-1", 10000, D(2026, 2, 10)),
        ("H-2", "CHK-7", 5000, D(2026, 2, 20)),
        ("H-3", "CHK-7", 30000, D(2026, 2, 21)),
    ]
    assert set(Application.objects.values_list("created_by__username", flat=True)) == {"ada"}

    before = ledger_counts()
    again = run_import(actor=book.ada, kind="invoices", path=path)
    assert again.ok
    assert again.counts == {
        "invoices": {"created": 0, "unchanged": 4},
        "payments": {"unchanged": 2, "created": 0},
        "applications": {"unchanged": 3, "created": 0},
    }
    assert ledger_counts() == before


def test_settled_history_later_payment_of_an_open_invoice(book, write):
    """The same export a month later: H-4 has been paid since; only that is new."""
    head = "number,customer,invoice_date,due_date,amount,paid_date\n"
    run_import(
        actor=None, kind="invoices", path=write("m1.csv", head + "H-4,C-200,2026-01-07,2026-02-06,80.00,\n")
    )
    report = run_import(
        actor=None,
        kind="invoices",
        path=write("m2.csv", head + "H-4,C-200,2026-01-07,2026-02-06,80.00,2026-03-01\n"),
    )
    assert report.ok, report.errors
    h4 = Invoice.objects.get(number="H-4")
    assert (h4.open_minor, h4.status, h4.closed_on) == (0, "paid", D(2026, 3, 1))
    assert Payment.objects.get().reference == "PAID-H-4"


def test_settled_history_errors(book, write):
    path = write(
        "history.csv",
        "number,customer,invoice_date,due_date,amount,paid_date,paid_amount\n"
        "H-1,C-100,2026-01-01,2026-01-31,100.00,2025-12-31,\n"  # paid before invoiced
        "H-2,C-100,2026-01-01,2026-01-31,100.00,2026-02-01,150.00\n"  # paid more than the amount
        "H-3,C-100,2026-01-01,2026-01-31,100.00,,40.00\n",  # paid amount without a date
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="invoices", path=path)
    assert errors(report) == [
        (2, "paid_date", "paid date 2025-12-31 is before the invoice date 2026-01-01"),
        (3, "paid_amount", "paid amount 150.00 is more than the invoice amount 100.00"),
        (
            4,
            "paid_date",
            "part of the invoice is paid but the row has no paid date "
            "(map paid_date, or set options.implied_payment_date in the profile)",
        ),
    ]
    assert ledger_counts() == before


def test_dry_run_writes_nothing(book, write):
    path = write("inv.csv", HEAD + "INV-1,C-100,2026-01-01,2026-01-31,100.00,USD\n")
    before = ledger_counts()
    report = run_import(actor=None, kind="invoices", path=path, dry_run=True)
    assert report.ok and not report.imported
    assert report.counts == {"invoices": {"created": 1, "unchanged": 0}}
    assert ledger_counts() == before


def test_too_many_errors_are_counted_all_and_listed_up_to_the_cap(book, write):
    rows = "".join(f"INV-{i},C-100,01/02/2026,2026-01-31,1.00,USD\n" for i in range(1500))
    report = run_import(actor=None, kind="invoices", path=write("many.csv", HEAD + rows))
    assert report.error_count == 1500
    assert len(report.errors) == 1000
    assert [e.row for e in report.errors[:2]] == [2, 3] and report.errors[-1].row == 1001
    assert report.errors_truncated


def test_progress_is_reported(book, write):
    calls = []
    path = write("inv.csv", HEAD + "INV-1,C-100,2026-01-01,2026-01-31,100.00,USD\n")
    run_import(actor=None, kind="invoices", path=path, progress=lambda *a: calls.append(a))
    assert ("reading", 1, 1) in calls
    assert ("writing invoices", 1, 1) in calls
