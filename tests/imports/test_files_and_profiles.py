"""Files as ERPs write them: delimiters, encodings, quoted newlines, XLSX, preambles, and the shipped
SAP and QuickBooks profiles; and files that are not tables at all."""

from __future__ import annotations

import datetime as dt
import io
import json

from openpyxl import Workbook

from ardesk.imports.services import run_import
from ardesk.ledger.models import Application, CreditMemo, Customer, Invoice, Payment
from tests.factories import ledger as lf

from .conftest import ledger_counts

D = dt.date


def errors(report):
    return [(e.row, e.column, e.reason) for e in report.errors]


def test_semicolon_cp1252_with_quoted_newlines(book, write):
    text = 'number;customer;invoice_date;due_date;amount;po_number\r\nINV-1;C-100;2026-01-01;2026-01-31;10;"PO ä\r\nline 2; Zürich"\r\nINV-2;C-100;2026-01-01;2026-01-31;x;\r\n'
    report = run_import(actor=None, kind="invoices", path=write("cp.csv", text, encoding="cp1252"))
    assert report.encoding == "cp1252" and report.delimiter == ";"
    assert report.warnings == [
        "the file is not UTF-8 (first bad byte at offset 97); it was read as Windows-1252"
    ]
    assert errors(report) == [
        (3, "amount", "'x' is not a number in the format 1,234.56")
    ]  # a record with a quoted newline is one row


def test_utf8_bom_tab_and_pipe(book, write):
    for name, sep in (("tab.tsv", "\t"), ("pipe.csv", "|")):
        text = "\ufeff" + sep.join(["number", "customer", "invoice_date", "due_date", "amount"]) + "\n"
        text += sep.join([f"INV-{name}", "C-100", "2026-01-01", "2026-01-31", "10"]) + "\n"
        report = run_import(actor=None, kind="invoices", path=write(name, text))
        assert report.ok, report.errors
        assert (report.delimiter, report.encoding) == (sep, "utf-8-sig")
    assert Invoice.objects.filter(number__startswith="INV-").count() == 2


def test_xlsx_with_typed_cells(book, write):
    wb = Workbook()
    ws = wb.active
    ws.append(["Invoice report"])  # a title above the header
    ws.append([])
    ws.append(["number", "customer", "invoice_date", "due_date", "amount"])
    ws.append(["X-1", "C-100", dt.date(2026, 1, 1), dt.datetime(2026, 1, 31), 1234.5])
    ws.append([1001, "C-200", dt.date(2026, 1, 2), dt.date(2026, 2, 1), 7])
    ws.append(["X-3", "C-200", dt.date(2026, 1, 2), dt.date(2026, 2, 1), 0.125])
    buf = io.BytesIO()
    wb.save(buf)
    report = run_import(actor=None, kind="invoices", path=write("inv.xlsx", buf.getvalue()))
    assert errors(report) == [(6, "amount", "0.125 has more than 2 decimal places for USD")]
    assert report.preview_rows[:2] == [
        ["4", "X-1", "C-100", "2026-01-01", "2026-01-31", "1234.5"],
        ["5", "1001", "C-200", "2026-01-02", "2026-02-01", "7"],
    ]


def test_files_that_are_not_tables(book, write):
    before = ledger_counts()
    cases = {
        "empty.csv": b"",
        "blank.csv": b"\xef\xbb\xbf\r\n\r\n",
        "binary.csv": bytes(range(256)) * 4,
        "broken.xlsx": b"PK\x03\x04garbage",
    }
    got = {
        name: errors(run_import(actor=None, kind="invoices", path=write(name, data)))
        for name, data in cases.items()
    }
    assert got["empty.csv"] == [(0, "", "the file is empty")]
    assert got["blank.csv"] == [(0, "", "the file is empty")]
    assert got["binary.csv"] == [
        (0, "", "the file is not a CSV or XLSX file (binary content at character 0)")
    ]
    assert got["broken.xlsx"][0][2].startswith("the spreadsheet cannot be opened: ")
    header_only = run_import(
        actor=None, kind="invoices", path=write("h.csv", "number,customer,invoice_date,due_date,amount\n")
    )
    assert errors(header_only) == [(1, "", "the file has a header but no data rows")]
    assert ledger_counts() == before


def test_huge_fields(book, write):
    head = "number,customer,invoice_date,due_date,amount,po_number\n"
    big = "x" * 20_000
    report = run_import(
        actor=None,
        kind="invoices",
        path=write("big.csv", head + f"INV-1,C-100,2026-01-01,2026-01-31,1,{big}\n"),
    )
    assert errors(report) == [(2, "po_number", "the value is 20,000 characters long; the limit is 10,000")]
    assert report.errors[0].value == "x" * 80 + "… (20,000 characters)"
    huge = "y" * 200_000
    report = run_import(
        actor=None,
        kind="invoices",
        path=write("huge.csv", head + f"INV-1,C-100,2026-01-01,2026-01-31,1,{huge}\n"),
    )
    assert errors(report) == [(2, "", "a field is longer than 131,072 characters (the limit is 10,000)")]
    long_number = run_import(
        actor=None,
        kind="invoices",
        path=write("n.csv", head + f"{'N' * 41},C-100,2026-01-01,2026-01-31,1,\n"),
    )
    assert errors(long_number) == [(2, "number", "number is 41 characters long; at most 40")]


def test_row_with_more_values_than_the_header(book, write):
    path = write(
        "x.csv", "number,customer,invoice_date,due_date,amount\nINV-1,C-100,2026-01-01,2026-01-31,1,234.50\n"
    )
    report = run_import(actor=None, kind="invoices", path=path)
    assert errors(report) == [
        (
            2,
            "",
            "the row has 6 values but the header has 5 columns (a delimiter inside a value that is not quoted?)",
        )
    ]


SAP = (
    "Account;Document Number;Document Type;Document Date;Net due date;Amount in local currency;"
    "Local Currency;Reference;Clearing date;Clearing Document\n"
    "C-100;1800000001;RV;15.01.2026;14.02.2026;1.234,50;EUR;4711;;\n"
    "C-100;1800000002;RV;16.01.2026;15.02.2026;500,00;EUR;4712;20.02.2026;1400000009\n"
    "C-200;1800000003;RV;17.01.2026;16.02.2026;99,99;EUR;;;\n"
)


def test_sap_fbl5n_export(book, write):
    report = run_import(actor=None, kind="invoices", path=write("fbl5n.csv", SAP), profile="sap")
    assert report.ok, report.errors
    inv = Invoice.objects.get(number="1800000001")
    assert (inv.amount_minor, inv.currency, inv.invoice_date, inv.due_date, inv.erp_reference) == (
        123450,
        "EUR",
        D(2026, 1, 15),
        D(2026, 2, 14),
        "4711",
    )
    cleared = Invoice.objects.get(number="1800000002")
    assert (cleared.open_minor, cleared.status, cleared.closed_on) == (0, "paid", D(2026, 2, 20))
    assert Payment.objects.get().reference == "1400000009"
    bad = SAP.replace("99,99", "99.99").replace("17.01.2026", "2026-17-01")
    report = run_import(actor=None, kind="invoices", path=write("bad.csv", bad), profile="sap")
    assert errors(report) == [
        (
            4,
            "Document Date",
            "'2026-17-01' is not a valid date in the format DD.MM.YYYY or YYYYMMDD or YYYY-MM-DD",
        ),
        (4, "Amount in local currency", "'99.99' is not a number in the format 1.234,56"),
    ]


def test_sap_payments_with_trailing_minus(book, write):
    text = (
        "Account;Document Number;Posting Date;Amount in local currency;Local Currency\n"
        "C-100;1400000001;20.02.2026;1.000,00-;EUR\n"
    )
    report = run_import(actor=None, kind="payments", path=write("pay.csv", text), profile="sap")
    assert report.ok, report.errors
    assert Payment.objects.get().amount_minor == 100000


QUICKBOOKS = (
    '"Acme Books Inc"\n"A/R Aging Detail"\n"As of February 28, 2026"\n\n'
    '"","Date","Transaction Type","Num","Customer","Due Date","Amount","Open Balance"\n'
    '"Current","","","","","","",""\n'
    '"","01/15/2026","Invoice","1001","Hudson Hardware","02/14/2026","1,200.00","1,200.00"\n'
    '"","01/20/2026","Invoice","1002","Hudson Hardware","02/19/2026","800.00","300.00"\n'
    '"","01/22/2026","Payment","77","Hudson Hardware","01/22/2026","-50.00","-50.00"\n'
    '"","01/25/2026","Credit Memo","CM9","River Cafe","01/25/2026","-25.00","-25.00"\n'
    '"Total for Current","","","","","","2,000.00","1,500.00"\n'
    '"TOTAL","","","","","","2,000.00","1,500.00"\n'
)


def test_quickbooks_aging_detail(book, write):
    path = write("aging.csv", QUICKBOOKS)
    report = run_import(actor=None, kind="invoices", path=path, profile="quickbooks")
    assert report.ok, report.errors
    assert (report.rows, report.skipped) == (2, 5)  # the payment, the credit, the section and total lines
    assert report.counts == {
        "customers": {"created": 1},
        "invoices": {"created": 2, "unchanged": 0},
        "payments": {"created": 1},
        "applications": {"created": 1},
    }
    hudson = Customer.objects.get(account_number="Hudson Hardware")
    assert (hudson.name, hudson.currency, hudson.entity.code) == ("Hudson Hardware", "USD", "US01")
    part = Invoice.objects.get(number="1002")
    assert (part.amount_minor, part.open_minor, part.status) == (80000, 30000, "open")
    app = Application.objects.get()
    assert (app.amount_minor, app.applied_date, app.payment.reference) == (50000, D(2026, 2, 19), "PAID-1002")
    credits = run_import(actor=None, kind="credits", path=path, profile="quickbooks")
    assert credits.ok, credits.errors
    assert CreditMemo.objects.get().amount_minor == 2500
    again = run_import(actor=None, kind="invoices", path=path, profile="quickbooks")
    assert again.counts["invoices"] == {"created": 0, "unchanged": 2}


def test_custom_json_profile_with_constants_values_and_defaults(book, write):
    profile = write(
        "erp.json",
        json.dumps(
            {
                "name": "erp",
                "dates": ["%m/%d/%Y"],
                "numbers": {"decimal": ".", "thousands": ","},
                "kinds": {
                    "payments": {
                        "columns": {
                            "customer": "Cust",
                            "reference": "Ref",
                            "payment_date": "Date",
                            "amount": "Amt",
                            "method": "Method",
                        },
                        "values": {"method": {"CHQ": "check"}},
                        "defaults": {"method": "wire"},
                        "constants": {"currency": "CAD"},
                    }
                },
            }
        ),
    )
    path = write(
        "p.csv",
        "Cust,Ref,Date,Amt,method\nC-100,R1,02/03/2026,(12.00),\nC-100,R2,02/03/2026,5,chq\nC-100,R3,02/03/2026,6,\n",
    )
    report = run_import(actor=None, kind="payments", path=path, profile=str(profile))
    assert errors(report) == [(2, "Amt", "amount must be positive, got -12.00")]
    path = write("p2.csv", "Cust,Ref,Date,Amt,method\nC-100,R2,02/03/2026,5,chq\nC-100,R3,02/03/2026,6,\n")
    report = run_import(actor=None, kind="payments", path=path, profile=str(profile))
    assert report.ok, report.errors
    assert sorted(Payment.objects.values_list("reference", "method", "currency", "payment_date")) == [
        ("R2", "check", "CAD", D(2026, 2, 3)),
        ("R3", "wire", "CAD", D(2026, 2, 3)),
    ]


def test_create_customers_needs_an_entity(book, write):
    lf.entity("DE01", "EUR")  # two entities now: no implicit default
    path = write("aging.csv", QUICKBOOKS)
    before = ledger_counts()
    report = run_import(actor=None, kind="invoices", path=path, profile="quickbooks")
    assert errors(report) == [
        (
            row,
            "Customer",
            "unknown customer account 'Hudson Hardware', and no legal entity to create it in "
            "(set defaults.entity in the mapping profile)",
        )
        for row in (7, 8)
    ]
    assert ledger_counts() == before
