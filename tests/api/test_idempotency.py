"""Idempotency-Key: a replay returns the first answer byte for byte and does the work once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from ardesk.api.idempotency import STALE_AFTER, LeaseLost, claim, complete, prune, request_hash
from ardesk.api.models import IdempotencyRecord
from ardesk.core.models import AuditLog
from ardesk.ledger.models import Customer, Invoice
from tests.api.conftest import NOW
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db


def invoice_body(book, number="INV-1", amount="100.00"):
    return {
        "customer_id": book.customers["acme"].pk,
        "number": number,
        "invoice_date": "2026-01-10",
        "amount": {"amount": amount, "currency": "USD"},
    }


def test_replay_returns_identical_answer_and_posts_once(api, book):
    first = api.as_("ada").post("/invoices", invoice_body(book), key="key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = api.as_("ada").post("/invoices", invoice_body(book), key="key-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Invoice.objects.count() == 1
    assert AuditLog.objects.filter(action="invoice.post").count() == 1
    rec = IdempotencyRecord.objects.get()
    assert (rec.user, rec.key, rec.method, rec.path, rec.response_status) == (
        book.ada,
        "key-1",
        "POST",
        "/api/v1/invoices",
        201,
    )
    assert rec.response_body == first.content.decode()
    assert rec.request_hash == request_hash(json.dumps(invoice_body(book)).encode())


def test_replay_ignores_key_order_and_whitespace(api, book):
    first = api.as_("ada").post("/invoices", invoice_body(book), key="key-1")
    reordered = json.dumps(dict(reversed(list(invoice_body(book).items()))), indent=2)
    again = api.as_("ada").post("/invoices", reordered, key="key-1")
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"


def test_same_key_other_body_or_path_is_refused(api, book):
    api.as_("ada").post("/invoices", invoice_body(book), key="key-1")
    r = api.as_("ada").post("/invoices", invoice_body(book, number="INV-2"), key="key-1")
    assert r.status_code == 422
    assert r.json() == {
        "code": "idempotency_key_reused",
        "message": "Idempotency-Key 'key-1' was already used for another request "
        "(POST /api/v1/invoices with a different body); use a new key",
        "details": {"key": "key-1"},
    }
    pay = {"customer_id": book.customers["acme"].pk, "reference": "R", "payment_date": "2026-02-01"}
    pay["amount"] = {"amount": "1.00", "currency": "USD"}
    r = api.as_("ada").post("/payments", pay, key="key-1")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert Invoice.objects.count() == 1


def test_keys_belong_to_their_user(api, book):
    assert api.as_("ada").post("/invoices", invoice_body(book), key="same").status_code == 201
    r = api.as_("mona").post("/invoices", invoice_body(book, number="INV-2"), key="same")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r
    assert Invoice.objects.count() == 2


def test_key_required_when_posting_records(api, book):
    r = api.as_("ada").post("/invoices", invoice_body(book))
    assert r.status_code == 422
    assert r.json()["details"]["errors"] == [
        {"loc": ["header", "Idempotency-Key"], "msg": "Field required", "type": "missing"}
    ]
    assert not Invoice.objects.exists()
    for bad in ("x" * 256, "has space", ""):
        r = api.as_("ada").post("/invoices", invoice_body(book), key=bad)
        assert r.status_code == 422, bad
        assert r.json()["details"]["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert not IdempotencyRecord.objects.exists()


def test_key_header_is_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    header = [p for p in paths["/api/v1/invoices"]["post"]["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in header] == [("Idempotency-Key", True)]
    header = [p for p in paths["/api/v1/customers"]["post"]["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in header] == [("Idempotency-Key", False)]


def test_key_optional_on_customers(api, book):
    body = {"account_number": "C-900", "name": "Omega", "entity": "US01"}
    assert api.as_("ada").post("/customers", body).status_code == 201
    body2 = {**body, "account_number": "C-901"}
    first = api.as_("ada").post("/customers", body2, key="c-1")
    again = api.as_("ada").post("/customers", body2, key="c-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert Customer.objects.filter(account_number__in=["C-900", "C-901"]).count() == 2


def test_business_errors_are_the_first_answer(api, book):
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    pay = lf.payment(book.customers["acme"], "CHK-1", "500.00")
    body = {
        "invoice_id": inv.pk,
        "payment_id": pay.pk,
        "amount": {"amount": "150.00", "currency": "USD"},
        "applied_date": "2026-02-02",
    }
    first = api.as_("cash").post("/applications", body, key="app-1")
    assert first.status_code == 409 and first.json()["code"] == "over_application"
    again = api.as_("cash").post("/applications", body, key="app-1")
    assert (again.status_code, again.content, again["Idempotent-Replayed"]) == (409, first.content, "true")
    assert IdempotencyRecord.objects.get().response_status == 409


def test_invalid_requests_store_nothing(api, book):
    r = api.as_("ada").post("/invoices", {**invoice_body(book), "status": "paid"}, key="k")
    assert r.status_code == 422
    assert not IdempotencyRecord.objects.exists()
    assert api.as_("ada").post("/invoices", invoice_body(book), key="k").status_code == 201


def test_a_crash_frees_the_key(api, book, monkeypatch):
    from ardesk.ledger import services

    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "post_invoice", boom)
    with pytest.raises(RuntimeError):
        api.as_("ada").post("/invoices", invoice_body(book), key="k")
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    assert api.as_("ada").post("/invoices", invoice_body(book), key="k").status_code == 201


def _pending(book, body, claimed_at):
    return IdempotencyRecord.objects.create(
        user=book.ada,
        key="k",
        method="POST",
        path="/api/v1/invoices",
        request_hash=request_hash(json.dumps(body).encode()),
        lease=uuid.uuid4(),
        claimed_at=claimed_at,
    )


def test_in_flight_key_is_409_then_stale_key_is_taken_over(api, book):
    body = invoice_body(book)
    rec = _pending(book, body, claimed_at=NOW)
    r = api.as_("ada").post("/invoices", body, key="k")
    assert r.status_code == 409
    assert r.json() == {
        "code": "idempotency_in_progress",
        "message": "a request with Idempotency-Key 'k' is still running; retry in a moment",
        "details": {"key": "k"},
    }
    assert not Invoice.objects.exists()

    IdempotencyRecord.objects.filter(pk=rec.pk).update(claimed_at=NOW - STALE_AFTER - dt.timedelta(seconds=1))
    r = api.as_("ada").post("/invoices", body, key="k")
    assert r.status_code == 201
    assert Invoice.objects.count() == 1
    rec.refresh_from_db()
    assert rec.response_status == 201 and rec.claimed_at == NOW


def test_a_lost_lease_cannot_complete(book):
    rec, owner = claim(user=book.ada, key="k", method="POST", path="/p", digest="d")
    assert owner
    IdempotencyRecord.objects.filter(pk=rec.pk).update(lease=uuid.uuid4())  # taken over by a retry
    with pytest.raises(LeaseLost):
        complete(rec, 201, "{}")
    assert IdempotencyRecord.objects.get().response_status is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_post_once(book):
    from ardesk.api.services import create_token

    _, token = create_token(actor=None, user=book.ada, name="t")
    body = json.dumps(invoice_body(book))
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def call() -> None:
        try:
            barrier.wait()
            r = Client().post(
                "/api/v1/invoices",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
                HTTP_IDEMPOTENCY_KEY="race",
            )
            statuses.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Invoice.objects.count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert IdempotencyRecord.objects.get().response_status == 201


def test_session_posts_are_idempotent_too(book):
    browser = Client()
    browser.force_login(book.ada)
    body = json.dumps(invoice_body(book))
    first = browser.post("/api/v1/invoices", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s")
    again = browser.post("/api/v1/invoices", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s")
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert IdempotencyRecord.objects.get().user == book.ada
    assert Invoice.objects.count() == 1


def test_prune_keeps_recent_and_pending_records(api, book):
    api.as_("ada").post("/invoices", invoice_body(book), key="done")
    _pending(book, invoice_body(book, number="INV-2"), claimed_at=NOW)
    assert prune(older_than=NOW) == 0
    assert prune(older_than=NOW + dt.timedelta(days=1)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", "response_status")) == [("k", None)]
