"""Customers and contacts: exact JSON, filters, scoping and capabilities."""

from __future__ import annotations

import pytest

from ardesk.core.models import AuditLog
from ardesk.ledger.models import Contact, Customer
from ardesk.ledger.services import add_contact
from tests.api.conftest import NOW_JSON

pytestmark = pytest.mark.django_db


def acme_json(book, **changes):
    acme = book.customers["acme"]
    data = {
        "id": acme.pk,
        "account_number": "C-100",
        "name": "Acme Corp",
        "entity": "US01",
        "parent_id": None,
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "country": "",
        "tax_id": "",
        "territory": "East",
        "region": "NA",
        "industry": "",
        "segment": "",
        "payment_terms": "NET30",
        "currency": "USD",
        "credit_limit": None,
        "risk_class": "medium",
        "status": "active",
        "collector": "alice",
        "erp_reference": "",
        "created_at": NOW_JSON,
        "updated_at": NOW_JSON,
    }
    return {**data, **changes}


def test_get_customer_exact(api, book):
    r = api.as_("alice").get(f"/customers/{book.customers['acme'].pk}")
    assert r.status_code == 200
    assert r.json() == acme_json(book)


def test_list_customers_page_and_filters(api, book):
    r = api.as_("ada").get("/customers", {"limit": 2})
    body = r.json()
    assert (body["count"], body["limit"], body["offset"], body["next_offset"]) == (4, 2, 0, 2)
    assert [c["account_number"] for c in body["items"]] == ["C-100", "C-200"]
    assert body["items"][0] == acme_json(book)

    def accounts(**params):
        r = api.as_("ada").get("/customers", params)
        assert r.status_code == 200, r.json()
        return [c["account_number"] for c in r.json()["items"]]

    assert accounts(q="gmbh") == ["C-300"]
    assert accounts(q="C-4") == ["C-400"]
    assert accounts(region="EU") == ["C-300"]
    assert accounts(territory="East", collector="bob") == ["C-200"]
    assert accounts(entity="US01", status="active") == ["C-100", "C-200", "C-400", "C-300"]  # by name
    assert accounts(entity="XX") == []
    assert accounts(risk_class="high") == []
    r = api.as_("ada").get("/customers", {"status": "gone"})
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0]["loc"] == ["query", "status"]


def test_collector_cannot_see_other_portfolios(api, book):
    beta = book.customers["beta"]
    r = api.as_("alice").get(f"/customers/{beta.pk}")
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "message": f"customer {beta.pk} not found", "details": {}}
    r = api.as_("alice").patch(f"/customers/{beta.pk}", {"city": "Paris"})
    assert r.status_code == 404
    assert api.as_("alice").get("/customers/999999").status_code == 404
    assert api.as_("mona").get(f"/customers/{beta.pk}").status_code == 200
    assert api.as_("walt").get(f"/customers/{beta.pk}").status_code == 404


def test_patch_customer(api, book):
    acme = book.customers["acme"]
    parent = book.customers["delta"]
    r = api.as_("mona").patch(
        f"/customers/{acme.pk}",
        {
            "city": "Boston",
            "country": "US",
            "parent_id": parent.pk,
            "payment_terms": None,
            "status": "dormant",
        },
    )
    assert r.status_code == 200, r.json()
    assert r.json() == acme_json(
        book, city="Boston", country="US", parent_id=parent.pk, payment_terms=None, status="dormant"
    )
    log = AuditLog.objects.get(action="customer.update")
    assert log.actor == book.mona and log.after["city"] == "Boston"


def test_patch_customer_capabilities(api, book):
    acme = book.customers["acme"]
    limit = {"credit_limit": {"amount": "50000.00", "currency": "USD"}, "risk_class": "high"}
    # a collector edits addresses, not credit
    assert api.as_("alice").patch(f"/customers/{acme.pk}", {"city": "Boston"}).status_code == 200
    r = api.as_("alice").patch(f"/customers/{acme.pk}", limit)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    # a credit analyst sets credit, not addresses
    r = api.as_("cora").patch(f"/customers/{acme.pk}", limit)
    assert r.status_code == 200
    assert r.json()["credit_limit"] == {"amount": "50000.00", "currency": "USD", "amount_minor": 5000000}
    assert r.json()["risk_class"] == "high"
    assert api.as_("cora").patch(f"/customers/{acme.pk}", {"city": "X"}).status_code == 403
    assert api.as_("audrey").patch(f"/customers/{acme.pk}", {"city": "X"}).status_code == 403
    # clearing the limit
    r = api.as_("cora").patch(f"/customers/{acme.pk}", {"credit_limit": None})
    assert r.json()["credit_limit"] is None


def test_patch_customer_rejects_bad_input(api, book):
    acme = book.customers["acme"]

    def patch(body):
        r = api.as_("ada").patch(f"/customers/{acme.pk}", body)
        assert r.status_code == 422, r.json()
        return r.json()

    assert patch({"collector": "bob"})["details"]["errors"] == [
        {"loc": ["body", "collector"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    for field in ("id", "account_number", "created_at", "currency"):
        assert patch({field: "x"})["details"]["errors"][0]["type"] == "extra_forbidden"
    assert patch({"name": None})["message"] == "body: name cannot be null"
    assert patch({"credit_limit": {"amount": "10.00", "currency": "EUR"}}) == {
        "code": "currency_mismatch",
        "message": "the credit limit must be in the customer's currency USD, not EUR",
        "details": {"field": "credit_limit"},
    }
    assert patch({"payment_terms": "NET999"})["message"] == "unknown payment terms 'NET999'"
    assert patch({"parent_id": acme.pk})["message"] == "a customer cannot be its own ancestor"


def test_create_customer(api, book, keys):
    body = {
        "account_number": "C-500",
        "name": "Epsilon SA",
        "entity": "US01",
        "currency": "EUR",
        "collector": "carl",
        "city": "Lyon",
        "country": "FR",
        "payment_terms": "NET30",
        "credit_limit": {"amount": "1000.00", "currency": "EUR"},
        "risk_class": "low",
    }
    r = api.as_("mona").post("/customers", body)
    assert r.status_code == 201, r.json()
    new = Customer.objects.get(account_number="C-500")
    assert r.json() == {
        "id": new.pk,
        "account_number": "C-500",
        "name": "Epsilon SA",
        "entity": "US01",
        "parent_id": None,
        "address_line1": "",
        "address_line2": "",
        "city": "Lyon",
        "state": "",
        "postal_code": "",
        "country": "FR",
        "tax_id": "",
        "territory": "",
        "region": "",
        "industry": "",
        "segment": "",
        "payment_terms": "NET30",
        "currency": "EUR",
        "credit_limit": {"amount": "1000.00", "currency": "EUR", "amount_minor": 100000},
        "risk_class": "low",
        "status": "active",
        "collector": "carl",
        "erp_reference": "",
        "created_at": NOW_JSON,
        "updated_at": NOW_JSON,
    }
    assert new.assignments.get().collector == book.carl
    # carl is on walt's team: the customer left mona's scope as it was created
    assert api.as_("mona").get(f"/customers/{new.pk}").status_code == 404
    assert api.as_("walt").get(f"/customers/{new.pk}").status_code == 200
    # duplicates are a conflict
    r = api.as_("mona").post("/customers", body)
    assert r.status_code == 409 and r.json()["code"] == "duplicate_key"


def test_create_customer_capabilities(api, book):
    body = {"account_number": "C-600", "name": "Zeta", "entity": "US01"}
    assert api.as_("alice").post("/customers", body).status_code == 403
    assert api.as_("audrey").post("/customers", body).status_code == 403
    assert api.as_("cash").post("/customers", {**body, "collector": "alice"}).status_code == 403
    r = api.as_("cash").post("/customers", body)
    assert r.status_code == 201 and r.json()["collector"] is None
    r = api.as_("ada").post("/customers", {**body, "account_number": "C-601", "entity": "ZZ"})
    assert r.status_code == 422 and r.json()["details"] == {"field": "entity"}
    limit = {"amount": "5.00", "currency": "USD"}
    r = api.as_("ada").post(
        "/customers", {**body, "account_number": "C-603", "currency": "EUR", "credit_limit": limit}
    )
    assert r.status_code == 422 and r.json()["code"] == "currency_mismatch"
    r = api.as_("ada").post("/customers", {**body, "account_number": "C-602", "status": "closed"})
    assert r.status_code == 422 and r.json()["details"]["errors"][0]["loc"] == ["body", "status"]


# --- contacts ---------------------------------------------------------------------------------------


def test_contacts_list_create_patch(api, book):
    acme = book.customers["acme"]
    add_contact(actor=None, customer=acme, name="Pat Payable", email="pat@acme.test")
    r = api.as_("alice").post(
        f"/customers/{acme.pk}/contacts",
        {"name": "Cleo CFO", "role": "cfo", "email": "cleo@acme.test", "is_primary": True},
    )
    assert r.status_code == 201, r.json()
    cleo = Contact.objects.get(name="Cleo CFO")
    cleo_json = {
        "id": cleo.pk,
        "customer_id": acme.pk,
        "name": "Cleo CFO",
        "role": "cfo",
        "email": "cleo@acme.test",
        "phone": "",
        "preferred_channel": "email",
        "time_zone": "",
        "is_primary": True,
        "opt_out_email": False,
        "opt_out_phone": False,
        "opt_out_sms": False,
        "created_at": NOW_JSON,
    }
    assert r.json() == cleo_json

    r = api.as_("alice").get(f"/customers/{acme.pk}/contacts")
    assert r.json()["count"] == 2
    assert [c["name"] for c in r.json()["items"]] == ["Cleo CFO", "Pat Payable"]  # primary first

    r = api.as_("alice").patch(f"/contacts/{cleo.pk}", {"phone": "+1 555 0100", "opt_out_sms": True})
    assert r.status_code == 200
    assert r.json() == {**cleo_json, "phone": "+1 555 0100", "opt_out_sms": True}
    assert api.as_("alice").get(f"/contacts/{cleo.pk}").json()["phone"] == "+1 555 0100"

    r = api.as_("alice").patch(f"/contacts/{cleo.pk}", {"name": "Pat Payable"})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_key"
    r = api.as_("alice").patch(f"/contacts/{cleo.pk}", {"email": "not-an-email"})
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0] == {
        "loc": ["body", "email"],
        "msg": "'not-an-email' is not an email address",
        "type": "value_error",
    }


def test_contacts_scoping_and_capabilities(api, book):
    beta = book.customers["beta"]
    contact = add_contact(actor=None, customer=beta, name="Bea")
    assert api.as_("alice").get(f"/customers/{beta.pk}/contacts").status_code == 404
    assert api.as_("alice").post(f"/customers/{beta.pk}/contacts", {"name": "X"}).status_code == 404
    assert api.as_("alice").get(f"/contacts/{contact.pk}").status_code == 404
    assert api.as_("alice").patch(f"/contacts/{contact.pk}", {"phone": "1"}).status_code == 404
    assert api.as_("audrey").get(f"/contacts/{contact.pk}").status_code == 200
    assert api.as_("audrey").patch(f"/contacts/{contact.pk}", {"phone": "1"}).status_code == 403
    assert api.as_("audrey").post(f"/customers/{beta.pk}/contacts", {"name": "X"}).status_code == 403
    assert api.as_("bob").post(f"/customers/{beta.pk}/contacts", {"name": "X"}).status_code == 201


def test_customer_delete_is_405(api, book):
    r = api.as_("ada").delete(f"/customers/{book.customers['acme'].pk}")
    assert r.status_code == 405
    assert r["Allow"] in {"GET, PATCH", "PATCH, GET"}
    assert r.json()["code"] == "method_not_allowed"


def test_reassign_customers(api, book):
    """An AR manager moves customers of their team to a collector of their team; all or nothing."""
    from ardesk.ledger.models import Customer, PortfolioAssignment

    acme, beta, gamma = (book.customers[k] for k in ("acme", "beta", "gamma"))
    body = {"customer_ids": [acme.pk, beta.pk], "collector": "bob", "reason": "holiday cover"}
    assert api.as_("bob").post("/customers/reassign", body).status_code == 403
    r = api.as_("mona").post("/customers/reassign", body)
    assert r.status_code == 200, r.json()
    assert r.json() == {"moved": 1, "collector": "bob"}  # beta was bob's already
    assert Customer.objects.get(pk=acme.pk).collector == book.bob
    assert list(
        PortfolioAssignment.objects.filter(customer=acme)
        .order_by("id")
        .values_list("collector__username", "ended_at")
    )[-1] == ("bob", None)
    # carl is walt's (West): not a collector mona may assign to; nothing moves
    r = api.as_("mona").post("/customers/reassign", {"customer_ids": [acme.pk], "collector": "carl"})
    assert r.status_code == 422 and r.json()["details"]["field"] == "collector"
    # gamma is outside mona's scope: 404 and beta does not move either
    r = api.as_("mona").post(
        "/customers/reassign", {"customer_ids": [beta.pk, gamma.pk], "collector": "alice"}
    )
    assert r.status_code == 404
    assert Customer.objects.get(pk=beta.pk).collector == book.bob
    # unassigning is allowed: the customer stays in the manager's scope
    r = api.as_("mona").post("/customers/reassign", {"customer_ids": [beta.pk], "collector": None})
    assert r.json() == {"moved": 1, "collector": None}
    assert Customer.objects.get(pk=beta.pk).collector is None
    # an admin may assign to any collector
    assert (
        api.as_("ada")
        .post("/customers/reassign", {"customer_ids": [gamma.pk], "collector": "alice"})
        .json()["moved"]
        == 1
    )
