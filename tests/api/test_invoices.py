"""Invoices and write-offs: exact JSON, filters, server-owned fields, money parsing, capabilities, 405s."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.core.models import AuditLog
from ardesk.core.money import Money
from ardesk.ledger.models import Invoice, WriteOff
from ardesk.ledger.services import apply
from tests.api.conftest import NOW_JSON
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db
D = dt.date


def usd(amount: str, minor: int) -> dict:
    return {"amount": amount, "currency": "USD", "amount_minor": minor}


def invoice_body(book, **changes):
    body = {
        "customer_id": book.customers["acme"].pk,
        "number": "INV-100",
        "invoice_date": "2026-01-10",
        "amount": {"amount": "1234.50", "currency": "USD"},
        "tax": {"amount": "34.50", "currency": "USD"},
        "po_number": "PO-9",
    }
    return {**body, **changes}


def test_post_invoice_exact(api, book, keys):
    r = api.as_("mona").post("/invoices", invoice_body(book), key=keys())
    assert r.status_code == 201, r.json()
    inv = Invoice.objects.get(number="INV-100")
    acme = book.customers["acme"]
    expected = {
        "id": inv.pk,
        "number": "INV-100",
        "customer": {"id": acme.pk, "account_number": "C-100", "name": "Acme Corp"},
        "entity": "US01",
        "invoice_date": "2026-01-10",
        "due_date": "2026-02-09",
        "terms": "NET30",
        "amount": usd("1234.50", 123450),
        "tax": usd("34.50", 3450),
        "open": usd("1234.50", 123450),
        "status": "open",
        "po_number": "PO-9",
        "erp_reference": "",
        "closed_on": None,
        "cancelled_on": None,
        "created_at": NOW_JSON,
    }
    assert r.json() == expected
    assert api.as_("alice").get(f"/invoices/{inv.pk}").json() == expected
    assert (inv.amount_minor, inv.open_minor, inv.tax_minor) == (123450, 123450, 3450)
    assert AuditLog.objects.get(action="invoice.post").actor == book.mona


@pytest.mark.parametrize("field", ["open_minor", "status", "id", "open", "created_at", "amount_minor"])
def test_server_owned_fields_are_refused(api, book, keys, field):
    r = api.as_("ada").post("/invoices", invoice_body(book, **{field: 1}), key=keys())
    assert r.status_code == 422
    assert r.json() == {
        "code": "validation_error",
        "message": f"body.{field}: Extra inputs are not permitted",
        "details": {
            "errors": [
                {"loc": ["body", field], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
            ]
        },
    }
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("amount", "msg"),
    [
        ("12.345", "12.345 has more than 2 decimal places for USD"),
        ("1e3", "'1e3' is not a decimal amount such as '1234.50'"),
        ("-5.00", "'-5.00' is not a decimal amount such as '1234.50'"),
        ("1,234.50", "'1,234.50' is not a decimal amount such as '1234.50'"),
        (12.5, "Input should be a valid string"),
        (12.345, "Input should be a valid string"),
        (100, "Input should be a valid string"),
    ],
)
def test_amounts_must_be_exact_decimal_strings(api, book, keys, amount, msg):
    body = invoice_body(book, amount={"amount": amount, "currency": "USD"})
    r = api.as_("ada").post("/invoices", body, key=keys())
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0]["loc"] == ["body", "amount", "amount"]
    assert r.json()["details"]["errors"][0]["msg"] == msg


def test_currency_rules(api, book, keys):
    r = api.as_("ada").post(
        "/invoices", invoice_body(book, amount={"amount": "10", "currency": "XYZ"}), key=keys()
    )
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0] == {
        "loc": ["body", "amount", "currency"],
        "msg": "unknown currency code 'XYZ'",
        "type": "value_error",
    }
    body = invoice_body(book, amount={"amount": "1000", "currency": "JPY"}, tax=None)
    r = api.as_("ada").post("/invoices", body, key=keys())
    assert r.status_code == 201
    assert r.json()["amount"] == {"amount": "1000", "currency": "JPY", "amount_minor": 1000}
    body = invoice_body(book, number="INV-101", amount={"amount": "10.5", "currency": "JPY"}, tax=None)
    assert api.as_("ada").post("/invoices", body, key=keys()).status_code == 422
    body = invoice_body(book, number="INV-102", tax={"amount": "1.00", "currency": "EUR"})
    r = api.as_("ada").post("/invoices", body, key=keys())
    assert r.status_code == 422
    assert r.json() == {
        "code": "currency_mismatch",
        "message": "tax is in EUR but the invoice is in USD",
        "details": {},
    }


def test_business_rules_are_422_and_409(api, book, keys):
    r = api.as_("ada").post("/invoices", invoice_body(book, due_date="2026-01-01"), key=keys())
    assert r.status_code == 422
    assert r.json() == {
        "code": "invalid_input",
        "message": "due date is before the invoice date",
        "details": {"field": "due_date"},
    }
    assert api.as_("ada").post("/invoices", invoice_body(book), key=keys()).status_code == 201
    r = api.as_("ada").post("/invoices", invoice_body(book), key=keys())
    assert r.status_code == 409
    assert r.json() == {
        "code": "duplicate_key",
        "message": "invoice 'INV-100' already exists",
        "details": {"field": "number"},
    }


def test_invoice_permission_matrix(api, book, keys):
    acme, beta = book.customers["acme"], book.customers["beta"]
    inv_b = lf.invoice(beta, "INV-B", "10.00")
    assert api.as_(None).post("/invoices", invoice_body(book), key=keys()).status_code == 401
    r = api.as_("audrey").post("/invoices", invoice_body(book), key=keys())
    assert r.status_code == 403
    assert r.json() == {
        "code": "permission_denied",
        "message": "your role does not allow this",
        "details": {},
    }
    assert api.as_("alice").post("/invoices", invoice_body(book), key=keys()).status_code == 403
    assert api.as_("cash").post("/invoices", invoice_body(book), key=keys()).status_code == 403
    r = api.as_("alice").post("/invoices", invoice_body(book, customer_id=beta.pk), key=keys())
    assert r.status_code == 404
    assert api.as_("alice").get(f"/invoices/{inv_b.pk}").status_code == 404
    assert api.as_("bob").get(f"/invoices/{inv_b.pk}").status_code == 200
    assert (
        api.as_("walt").post("/invoices", invoice_body(book, customer_id=acme.pk), key=keys()).status_code
        == 404
    )
    assert api.as_("mona").post("/invoices", invoice_body(book), key=keys()).status_code == 201


def test_list_invoices_filters(api, book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    lf.invoice(acme, "A-1", "10.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    lf.invoice(acme, "A-2", "20.00", date=D(2026, 2, 1), due=D(2026, 3, 3), currency="EUR")
    lf.invoice(beta, "B-1", "30.00", date=D(2026, 1, 15), due=D(2026, 2, 14))
    paid = lf.invoice(beta, "B-2", "40.00", date=D(2026, 1, 20), due=D(2026, 2, 19))
    pay = lf.payment(beta, "CHK-1", "40.00")

    apply(actor=None, invoice=paid, amount=Money.of("40.00", "USD"), applied_date=D(2026, 2, 1), payment=pay)

    def numbers(persona="ada", **params):
        r = api.as_(persona).get("/invoices", params)
        assert r.status_code == 200, r.json()
        return [i["number"] for i in r.json()["items"]]

    assert numbers() == ["A-2", "B-2", "B-1", "A-1"]  # newest first
    assert numbers("alice") == ["A-2", "A-1"]
    assert numbers(customer=beta.pk) == ["B-2", "B-1"]
    assert numbers("alice", customer=beta.pk) == []
    assert numbers(status="paid") == ["B-2"]
    assert numbers(currency="EUR") == ["A-2"]
    assert numbers(entity="US01", number="B-1") == ["B-1"]
    assert numbers(due_before="2026-02-14") == ["A-1"]
    assert numbers(due_after="2026-02-14") == ["A-2", "B-2"]
    assert numbers(due_after="2026-01-31", due_before="2026-02-19") == ["B-1"]
    r = api.as_("ada").get("/invoices", {"due_before": "soon"})
    assert r.status_code == 422 and r.json()["details"]["errors"][0]["loc"] == ["query", "due_before"]


def test_cancel_invoice(api, book, keys):
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    body = {"on_date": "2026-01-05", "reason": "issued in error"}
    assert api.as_("alice").post(f"/invoices/{inv.pk}/cancel", body, key=keys()).status_code == 403
    r = api.as_("mona").post(f"/invoices/{inv.pk}/cancel", body, key=keys())
    assert r.status_code == 200
    j = r.json()
    assert (j["status"], j["cancelled_on"], j["closed_on"], j["open"]) == (
        "cancelled",
        "2026-01-05",
        "2026-01-05",
        usd("0.00", 0),
    )
    r = api.as_("mona").post(f"/invoices/{inv.pk}/cancel", body, key=keys())
    assert r.status_code == 409
    assert r.json() == {"code": "conflict", "message": "INV-1 is already cancelled", "details": {}}


def test_write_offs(api, book, keys):
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    body = {"on_date": "2026-06-30", "reason": "bankrupt", "amount": {"amount": "40.00", "currency": "USD"}}
    assert api.as_("alice").post(f"/invoices/{inv.pk}/write-offs", body, key=keys()).status_code == 403
    r = api.as_("ada").post(f"/invoices/{inv.pk}/write-offs", body, key=keys())
    assert r.status_code == 201, r.json()
    wo = WriteOff.objects.get()
    expected = {
        "id": wo.pk,
        "invoice_id": inv.pk,
        "amount": usd("40.00", 4000),
        "written_off_on": "2026-06-30",
        "reason": "bankrupt",
        "reverses_id": None,
        "created_at": NOW_JSON,
    }
    assert r.json() == expected
    assert api.as_("alice").get(f"/invoices/{inv.pk}/write-offs").json() == [expected]
    assert api.as_("alice").get(f"/invoices/{inv.pk}").json()["open"] == usd("60.00", 6000)

    over = {**body, "amount": {"amount": "60.01", "currency": "USD"}}
    r = api.as_("ada").post(f"/invoices/{inv.pk}/write-offs", over, key=keys())
    assert r.status_code == 409
    assert r.json()["message"] == "INV-1 has 60.00 USD open; cannot write off 60.01 USD"

    rest = {"on_date": "2026-07-01", "reason": "the rest"}
    r = api.as_("ada").post(f"/invoices/{inv.pk}/write-offs", rest, key=keys())
    assert r.status_code == 201 and r.json()["amount"] == usd("60.00", 6000)
    j = api.as_("ada").get(f"/invoices/{inv.pk}").json()
    assert (j["status"], j["open"], j["closed_on"]) == ("written_off", usd("0.00", 0), "2026-07-01")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_posted_records_cannot_be_edited_or_deleted(api, book, method):
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    pay = lf.payment(book.customers["acme"], "CHK-1", "10.00")
    for path in (f"/invoices/{inv.pk}", f"/payments/{pay.pk}", f"/invoices/{inv.pk}/cancel"):
        call = getattr(api.as_("ada"), method)
        r = call(path, {"status": "paid"}) if method != "delete" else call(path)
        assert r.status_code == 405, path
        assert r.json()["code"] == "method_not_allowed"
    r = api.as_("ada").delete(f"/invoices/{inv.pk}")
    assert r["Allow"] == "GET"
    assert r.json() == {
        "code": "method_not_allowed",
        "message": f"DELETE is not allowed on /api/v1/invoices/{inv.pk} (allowed: GET)",
        "details": {"allowed": ["GET"]},
    }
    inv.refresh_from_db()
    assert (inv.status, inv.open_minor) == ("open", 10000)


def test_write_off_reversal(api, book, keys):
    """A recovered debt: the reversal is a negative write-off, the invoice reopens, and only once."""
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    other = lf.invoice(book.customers["acme"], "INV-2", "10.00")
    r = api.as_("ada").post(
        f"/invoices/{inv.pk}/write-offs", {"on_date": "2026-06-30", "reason": "gone"}, key=keys()
    )
    wo_id = r.json()["id"]
    path = f"/invoices/{inv.pk}/write-offs/{wo_id}/reverse"
    body = {"on_date": "2026-08-01", "reason": "recovered"}
    assert (
        api.as_("alice").post(path, body, key=keys()).status_code == 403
    )  # collector: no reverse capability
    # the write-off exists, but not on that invoice
    assert (
        api.as_("ada").post(f"/invoices/{other.pk}/write-offs/{wo_id}/reverse", body, key=keys()).status_code
        == 404
    )
    r = api.as_("mona").post(path, body, key=keys())
    assert r.status_code == 201, r.json()
    rev = WriteOff.objects.get(reverses_id=wo_id)
    assert r.json() == {
        "id": rev.pk,
        "invoice_id": inv.pk,
        "amount": usd("-100.00", -10000),
        "written_off_on": "2026-08-01",
        "reason": "recovered",
        "reverses_id": wo_id,
        "created_at": NOW_JSON,
    }
    j = api.as_("ada").get(f"/invoices/{inv.pk}").json()
    assert (j["status"], j["open"], j["closed_on"]) == ("open", usd("100.00", 10000), None)
    again = api.as_("mona").post(path, body, key=keys())
    assert again.status_code == 409 and again.json()["code"] == "already_reversed"
    assert WriteOff.objects.filter(invoice=inv).count() == 2
