"""Payments, credit memos and applications: natural keys, posted-record conflicts, over-application
across the whole file."""

from __future__ import annotations

import datetime as dt

from ardesk.core.money import Money
from ardesk.imports.services import run_import
from ardesk.ledger import services as ledger
from ardesk.ledger.models import Application, CreditMemo, Invoice, Payment
from tests.factories import ledger as lf

from .conftest import ledger_counts

D = dt.date


def errors(report):
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_payments_and_credits_import_and_reimport(book, write):
    lf.invoice(book.customers["acme"], "INV-1", "100.00", date=D(2026, 1, 1))
    pays = write(
        "pay.csv",
        "customer,reference,payment_date,amount,method\nC-100,CHK-1,2026-02-01,150.00,check\n"
        "C-200,CHK-1,2026-02-02,20,wire\n",
    )
    report = run_import(actor=book.cash, kind="payments", path=pays)
    assert report.counts == {"payments": {"created": 2, "unchanged": 0}}
    p = Payment.objects.get(customer__account_number="C-100")
    assert (p.amount_minor, p.unapplied_minor, p.method, p.payment_date) == (
        15000,
        15000,
        "check",
        D(2026, 2, 1),
    )
    credits = write(
        "cm.csv",
        "number,customer,memo_date,amount,reason,original_invoice\nCM-1,C-100,2026-02-03,10.00,Damaged,INV-1\n",
    )
    report = run_import(actor=book.cash, kind="credits", path=credits)
    assert report.counts == {"credit memos": {"created": 1, "unchanged": 0}}
    cm = CreditMemo.objects.get()
    assert (cm.amount_minor, cm.unapplied_minor, cm.original_invoice.number, cm.reason) == (
        1000,
        1000,
        "INV-1",
        "Damaged",
    )
    before = ledger_counts()
    assert run_import(actor=None, kind="payments", path=pays).counts == {
        "payments": {"created": 0, "unchanged": 2}
    }
    assert run_import(actor=None, kind="credits", path=credits).counts == {
        "credit memos": {"created": 0, "unchanged": 1}
    }
    assert ledger_counts() == before


def test_payment_errors(book, write):
    lf.payment(book.customers["acme"], "CHK-1", "150.00", date=D(2026, 2, 1))
    path = write(
        "pay.csv",
        "customer,reference,payment_date,amount,method\n"
        "C-100,CHK-1,2026-02-01,160.00,\n"  # posted with another amount
        "C-100,CHK-2,2026-02-01,10,bitcoin\n"  # unknown method
        "C-100,CHK-3,2026-02-01,10,\n"
        "C-100,CHK-3,2026-02-01,10,\n",  # duplicate key
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="payments", path=path)
    assert errors(report) == [
        (
            2,
            "amount",
            "payment CHK-1 of customer C-100 already exists with amount 150.00, file says 160.00; "
            "post a correction instead",
        ),
        (3, "method", "'bitcoin' is not one of: check, ach, wire, card, other"),
        (5, "reference", "duplicate payment CHK-3 of customer C-100 (first on row 4)"),
    ]
    assert ledger_counts() == before


def test_credit_errors(book, write):
    lf.invoice(book.customers["beta"], "INV-B", "100.00", date=D(2026, 1, 1))
    path = write(
        "cm.csv",
        "number,customer,memo_date,amount,original_invoice\n"
        "CM-1,C-100,2026-02-03,10.00,INV-B\n"  # another customer's invoice
        "CM-2,C-100,2026-02-03,10.00,INV-404\n",  # unknown invoice
    )
    report = run_import(actor=None, kind="credits", path=path)
    assert errors(report) == [
        (2, "original_invoice", "invoice INV-B belongs to customer C-200, not C-100"),
        (3, "original_invoice", "unknown invoice 'INV-404'"),
    ]


def _book_for_applications(book):
    acme = book.customers["acme"]
    lf.invoice(acme, "INV-1", "100.00", date=D(2026, 1, 1))
    lf.invoice(acme, "INV-2", "50.00", date=D(2026, 1, 2))
    lf.payment(acme, "CHK-1", "120.00", date=D(2026, 2, 1))
    ledger.post_credit_memo(
        actor=None, customer=acme, number="CM-1", memo_date=D(2026, 2, 2), amount=Money.of("30.00", "USD")
    )


def test_applications_settle_invoices_and_reimport_changes_nothing(book, write):
    _book_for_applications(book)
    path = write(
        "apps.csv",
        "invoice,payment_reference,credit_number,applied_date,amount\n"
        "INV-1,CHK-1,,2026-02-05,100.00\n"
        "INV-2,CHK-1,,2026-02-05,20.00\n"
        "INV-2,,CM-1,2026-02-06,30.00\n",
    )
    report = run_import(actor=book.cash, kind="applications", path=path)
    assert report.ok, report.errors
    assert report.counts == {"applications": {"created": 3, "unchanged": 0}}
    inv = {i.number: i for i in Invoice.objects.all()}
    assert (inv["INV-1"].open_minor, inv["INV-1"].status, inv["INV-1"].closed_on) == (
        0,
        "paid",
        D(2026, 2, 5),
    )
    assert (inv["INV-2"].open_minor, inv["INV-2"].status, inv["INV-2"].closed_on) == (
        0,
        "paid",
        D(2026, 2, 6),
    )
    assert Payment.objects.get().unapplied_minor == 0
    assert CreditMemo.objects.get().unapplied_minor == 0
    assert Application.objects.count() == 3
    before = ledger_counts()
    again = run_import(actor=book.cash, kind="applications", path=path)
    assert again.counts == {"applications": {"created": 0, "unchanged": 3}}
    assert ledger_counts() == before


def test_over_application_across_the_file(book, write):
    _book_for_applications(book)
    path = write(
        "apps.csv",
        "invoice,payment_reference,applied_date,amount\n"
        "INV-1,CHK-1,2026-02-05,60.00\n"
        "INV-1,CHK-1,2026-02-06,60.00\n"  # INV-1 has 40.00 left
        "INV-2,CHK-1,2026-02-06,50.00\n",  # CHK-1 has 60.00 left: fine
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="applications", path=path)
    assert errors(report) == [
        (3, "amount", "invoice INV-1 has 40.00 open after the rows above; cannot apply 60.00"),
    ]
    path2 = write(
        "apps2.csv",
        "invoice,payment_reference,applied_date,amount\nINV-1,CHK-1,2026-02-05,100.00\nINV-2,CHK-1,2026-02-05,30.00\n",
    )
    report = run_import(actor=None, kind="applications", path=path2)
    assert errors(report) == [
        (3, "amount", "payment CHK-1 has 20.00 unapplied after the rows above; cannot apply 30.00"),
    ]
    assert ledger_counts() == before


def test_application_errors(book, write):
    _book_for_applications(book)
    lf.payment(book.customers["beta"], "CHK-B", "10.00", date=D(2026, 2, 1))
    path = write(
        "apps.csv",
        "invoice,payment_reference,credit_number,payer,applied_date,amount\n"
        "INV-404,CHK-1,,,2026-02-05,1\n"  # unknown invoice
        "INV-1,CHK-404,,,2026-02-05,1\n"  # unknown payment
        "INV-1,,CM-404,,2026-02-05,1\n"  # unknown credit
        "INV-1,CHK-1,CM-1,,2026-02-05,1\n"  # both sources
        "INV-1,,,,2026-02-05,1\n"  # no source
        "INV-1,CHK-1,,,2026-01-31,1\n"  # before the payment
        "INV-1,CHK-B,,C-200,2026-02-05,1\n"  # another customer's cash
        "INV-1,CHK-1,,,2026-02-05,1\n"
        "INV-1,CHK-1,,,2026-02-05,1\n",  # duplicate application
    )
    before = ledger_counts()
    report = run_import(actor=None, kind="applications", path=path)
    assert errors(report) == [
        (2, "invoice", "unknown invoice 'INV-404'"),
        (3, "payment_reference", "unknown payment 'CHK-404' of customer C-100"),
        (4, "credit_number", "unknown credit memo 'CM-404'"),
        (5, "payment_reference", "give either a payment reference or a credit memo number, not both"),
        (6, "payment_reference", "give either a payment reference or a credit memo number"),
        (7, "applied_date", "applied date 2026-01-31 is before the date of payment CHK-1 (2026-02-01)"),
        (
            8,
            "payment_reference",
            "payment CHK-B is from another customer than C-100 or its parent, so it cannot pay invoice INV-1",
        ),
        (10, "amount", "duplicate application of payment CHK-1 to INV-1 on 2026-02-05 (first on row 9)"),
    ]
    assert ledger_counts() == before


def test_parent_pays_a_childs_invoice(book, write):
    parent = lf.customer("P-1", "Parent Group")
    child = lf.customer("K-1", "Child Co", parent=parent)
    lf.invoice(child, "INV-K", "40.00", date=D(2026, 1, 1))
    lf.payment(parent, "WIRE-1", "40.00", date=D(2026, 2, 1))
    path = write("apps.csv", "invoice,payment_reference,applied_date,amount\nINV-K,WIRE-1,2026-02-02,40\n")
    report = run_import(actor=None, kind="applications", path=path)
    assert report.ok, report.errors
    assert Invoice.objects.get(number="INV-K").status == "paid"
