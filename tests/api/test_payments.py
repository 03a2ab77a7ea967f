"""Payments, credit memos and applications: exact JSON, over-application, reversals, capabilities."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.core.money import Money
from ardesk.ledger.models import Application, CreditMemo, Payment
from ardesk.ledger.services import apply, post_credit_memo, reverse_payment
from tests.api.conftest import NOW_JSON
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db
D = dt.date


def usd(amount: str, minor: int) -> dict:
    return {"amount": amount, "currency": "USD", "amount_minor": minor}


def acme_ref(book) -> dict:
    return {"id": book.customers["acme"].pk, "account_number": "C-100", "name": "Acme Corp"}


def test_post_and_get_payment(api, book, keys):
    body = {
        "customer_id": book.customers["acme"].pk,
        "reference": "CHK-1001",
        "payment_date": "2026-02-01",
        "amount": {"amount": "500.00", "currency": "USD"},
        "method": "check",
    }
    assert api.as_("alice").post("/payments", body, key=keys()).status_code == 403
    assert api.as_("audrey").post("/payments", body, key=keys()).status_code == 403
    r = api.as_("cash").post("/payments", body, key=keys())
    assert r.status_code == 201, r.json()
    pay = Payment.objects.get()
    expected = {
        "id": pay.pk,
        "reference": "CHK-1001",
        "customer": acme_ref(book),
        "entity": "US01",
        "payment_date": "2026-02-01",
        "amount": usd("500.00", 50000),
        "unapplied": usd("500.00", 50000),
        "method": "check",
        "erp_reference": "",
        "reversed_on": None,
        "reversal_reason": "",
        "created_at": NOW_JSON,
    }
    assert r.json() == expected
    assert api.as_("alice").get(f"/payments/{pay.pk}").json() == expected
    assert api.as_("bob").get(f"/payments/{pay.pk}").status_code == 404
    r = api.as_("cash").post(
        "/payments", {**body, "unapplied": {"amount": "0", "currency": "USD"}}, key=keys()
    )
    assert r.status_code == 422
    r = api.as_("cash").post("/payments", {**body, "method": "barter"}, key=keys())
    assert r.status_code == 422 and r.json()["details"]["errors"][0]["loc"] == ["body", "method"]


def test_list_payments_filters(api, book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    lf.payment(acme, "P-1", "10.00", date=D(2026, 2, 1))
    p2 = lf.payment(acme, "P-2", "20.00", date=D(2026, 2, 10))
    lf.payment(beta, "P-3", "30.00", date=D(2026, 2, 5), currency="EUR")

    reverse_payment(actor=None, payment=p2, on_date=D(2026, 2, 11), reason="NSF")

    def refs(persona="ada", **params):
        r = api.as_(persona).get("/payments", params)
        assert r.status_code == 200, r.json()
        return [p["reference"] for p in r.json()["items"]]

    assert refs() == ["P-2", "P-3", "P-1"]
    assert refs("alice") == ["P-2", "P-1"]
    assert refs(customer=beta.pk) == ["P-3"]
    assert refs(currency="EUR") == ["P-3"]
    assert refs(paid_from="2026-02-05", paid_to="2026-02-09") == ["P-3"]
    assert refs(reversed="true") == ["P-2"]
    assert refs(reversed="false") == ["P-3", "P-1"]
    assert refs(unapplied="true") == ["P-3", "P-1"]
    assert refs(unapplied="false") == ["P-2"]


def test_credit_memos(api, book, keys):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    body = {
        "customer_id": acme.pk,
        "number": "CM-1",
        "memo_date": "2026-01-20",
        "amount": {"amount": "25.00", "currency": "USD"},
        "reason": "damaged goods",
        "original_invoice_id": inv.pk,
    }
    assert api.as_("cash").post("/credit-memos", body, key=keys()).status_code == 403
    r = api.as_("mona").post("/credit-memos", body, key=keys())
    assert r.status_code == 201, r.json()
    memo = CreditMemo.objects.get()
    expected = {
        "id": memo.pk,
        "number": "CM-1",
        "customer": acme_ref(book),
        "entity": "US01",
        "memo_date": "2026-01-20",
        "amount": usd("25.00", 2500),
        "unapplied": usd("25.00", 2500),
        "reason": "damaged goods",
        "original_invoice_id": inv.pk,
        "erp_reference": "",
        "created_at": NOW_JSON,
    }
    assert r.json() == expected
    assert api.as_("alice").get(f"/credit-memos/{memo.pk}").json() == expected
    assert api.as_("bob").get(f"/credit-memos/{memo.pk}").status_code == 404
    page = api.as_("alice").get("/credit-memos", {"unapplied": "true"}).json()
    assert (page["count"], page["items"]) == (1, [expected])
    assert api.as_("alice").get("/credit-memos", {"unapplied": "false"}).json()["count"] == 0
    # the original invoice must be in scope too
    other = lf.invoice(book.customers["beta"], "INV-B", "5.00")
    r = api.as_("mona").post(
        "/credit-memos", {**body, "number": "CM-2", "original_invoice_id": other.pk}, key=keys()
    )
    assert r.status_code == 422
    assert r.json()["message"] == "the original invoice belongs to another customer"


def test_apply_and_reverse(api, book, keys):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pay = lf.payment(acme, "CHK-1", "150.00")
    body = {
        "invoice_id": inv.pk,
        "payment_id": pay.pk,
        "amount": {"amount": "60.00", "currency": "USD"},
        "applied_date": "2026-02-02",
    }
    assert api.as_("alice").post("/applications", body, key=keys()).status_code == 403
    r = api.as_("cash").post("/applications", body, key=keys())
    assert r.status_code == 201, r.json()
    app = Application.objects.get()
    expected = {
        "id": app.pk,
        "invoice_id": inv.pk,
        "invoice_number": "INV-1",
        "payment_id": pay.pk,
        "credit_memo_id": None,
        "amount": usd("60.00", 6000),
        "applied_date": "2026-02-02",
        "reverses_id": None,
        "reversed_by_id": None,
        "created_at": NOW_JSON,
    }
    assert r.json() == expected
    assert api.as_("alice").get(f"/applications/{app.pk}").json() == expected
    assert api.as_("alice").get(f"/invoices/{inv.pk}").json()["open"] == usd("40.00", 4000)
    assert api.as_("alice").get(f"/payments/{pay.pk}").json()["unapplied"] == usd("90.00", 9000)

    # over-application: 409 naming the open amount; nothing changes
    over = {**body, "amount": {"amount": "40.01", "currency": "USD"}}
    r = api.as_("cash").post("/applications", over, key=keys())
    assert r.status_code == 409
    assert r.json() == {
        "code": "over_application",
        "message": "INV-1 has 40.00 USD open (Open); cannot apply 40.01 USD",
        "details": {"open": 4000, "requested": 4001},
    }
    assert api.as_("alice").get(f"/invoices/{inv.pk}").json()["open"] == usd("40.00", 4000)

    # reversal: a new negative application; the invoice reopens
    rev_body = {"on_date": "2026-02-03", "reason": "wrong invoice"}
    assert api.as_("alice").post(f"/applications/{app.pk}/reverse", rev_body, key=keys()).status_code == 403
    r = api.as_("cash").post(f"/applications/{app.pk}/reverse", rev_body, key=keys())
    assert r.status_code == 201, r.json()
    rev = Application.objects.get(reverses=app)
    assert r.json() == {
        "id": rev.pk,
        "invoice_id": inv.pk,
        "invoice_number": "INV-1",
        "payment_id": pay.pk,
        "credit_memo_id": None,
        "amount": usd("-60.00", -6000),
        "applied_date": "2026-02-03",
        "reverses_id": app.pk,
        "reversed_by_id": None,
        "created_at": NOW_JSON,
    }
    assert api.as_("alice").get(f"/applications/{app.pk}").json()["reversed_by_id"] == rev.pk
    assert api.as_("alice").get(f"/invoices/{inv.pk}").json()["open"] == usd("100.00", 10000)
    r = api.as_("cash").post(f"/applications/{app.pk}/reverse", rev_body, key=keys())
    assert r.status_code == 409
    assert r.json() == {
        "code": "already_reversed",
        "message": f"application {app.pk} is already reversed",
        "details": {},
    }
    page = api.as_("alice").get("/applications", {"invoice": inv.pk}).json()
    assert [a["id"] for a in page["items"]] == [app.pk, rev.pk]
    assert api.as_("bob").get("/applications").json()["count"] == 0
    assert api.as_("bob").get(f"/applications/{app.pk}").status_code == 404


def test_apply_credit_memo_and_validation(api, book, keys):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")

    memo = post_credit_memo(
        actor=None, customer=acme, number="CM-1", memo_date=D(2026, 1, 5), amount=Money.of("30", "USD")
    )
    body = {
        "invoice_id": inv.pk,
        "credit_memo_id": memo.pk,
        "amount": {"amount": "30", "currency": "USD"},
        "applied_date": "2026-01-06",
    }
    r = api.as_("cash").post("/applications", body, key=keys())
    assert r.status_code == 201 and r.json()["credit_memo_id"] == memo.pk
    assert api.as_("cash").get(f"/credit-memos/{memo.pk}").json()["unapplied"] == usd("0.00", 0)

    both = {**body, "payment_id": 1}
    r = api.as_("cash").post("/applications", both, key=keys())
    assert r.status_code == 422
    assert r.json()["message"] == "body: give exactly one of payment_id and credit_memo_id"


def test_reverse_payment(api, book, keys):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pay = lf.payment(acme, "CHK-1", "100.00")

    apply(actor=None, invoice=inv, amount=Money.of("100", "USD"), applied_date=D(2026, 2, 1), payment=pay)
    body = {"on_date": "2026-02-15", "reason": "NSF"}
    assert api.as_("alice").post(f"/payments/{pay.pk}/reverse", body, key=keys()).status_code == 403
    assert api.as_("audrey").post(f"/payments/{pay.pk}/reverse", body, key=keys()).status_code == 403
    r = api.as_("cash").post(f"/payments/{pay.pk}/reverse", body, key=keys())
    assert r.status_code == 200, r.json()
    j = r.json()
    assert (j["reversed_on"], j["reversal_reason"], j["unapplied"]) == ("2026-02-15", "NSF", usd("0.00", 0))
    inv_json = api.as_("alice").get(f"/invoices/{inv.pk}").json()
    assert (inv_json["status"], inv_json["open"]) == ("open", usd("100.00", 10000))
    r = api.as_("cash").post(f"/payments/{pay.pk}/reverse", body, key=keys())
    assert r.status_code == 409 and r.json()["code"] == "already_reversed"
