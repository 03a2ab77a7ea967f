"""The dispute pages and API through the Django test client (today frozen at 2026-03-01)."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
import time_machine
from django.test import Client

from ardesk.api.services import create_token
from ardesk.core.money import Money
from ardesk.disputes import services
from ardesk.disputes.models import Dispute
from ardesk.disputes.services import LineIn
from ardesk.ledger.models import CreditMemo, Invoice

D = dt.date
USD = "USD"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


def _text(resp) -> str:
    return b"".join(resp.streaming_content).decode("utf-8-sig")


def _client(user) -> Client:
    c = Client()
    c.force_login(user, backend=MODEL_BACKEND)
    return c


def _dispute(book, inv, **kw):
    return services.open_dispute(
        actor=book.bob,
        customer=book.customers["beta"],
        lines=[LineIn(inv["a"], Money(30000, USD))],
        reason="pricing",
        opened_on=D(2026, 2, 1),
        **kw,
    )


def test_open_from_an_invoice_then_assign_and_resolve_valid(book, inv):
    bob = _client(book.bob)
    page = bob.get(f"/disputes/open/?invoice={inv['a'].pk}")
    assert page.status_code == 200
    assert f'name="pick_{inv["a"].pk}" id="pick_{inv["a"].pk}" value="1" checked' in page.content.decode()
    resp = bob.post(
        "/disputes/open/",
        {
            "invoice": inv["a"].pk,
            f"pick_{inv['a'].pk}": "1",
            f"amount_{inv['a'].pk}": "250.00",
            "reason": "damaged",
            "channel": "customer_email",
            "customer_reference": "CLM-1",
        },
    )
    d = Dispute.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/disputes/{d.pk}/"
    assert (d.amount_minor, d.channel, d.department, d.due_on, d.customer_reference) == (
        25000,
        "customer_email",
        "shipping",
        D(2026, 3, 21),
        "CLM-1",
    )
    resp = bob.post(f"/disputes/{d.pk}/assign/", {"owner": book.rita.pk, "department": "billing"})
    assert resp.status_code == 302
    # rita, the owner, sees and resolves it
    rita = _client(book.rita)
    assert rita.get(f"/disputes/{d.pk}/").status_code == 200
    with time_machine.travel(dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC), tick=False):
        resp = rita.post(
            f"/disputes/{d.pk}/resolve/",
            {"resolution": "valid", "root_cause": "shipping_error", "on_date": ""},
        )
        assert resp.status_code == 302 and resp["Location"] == f"/disputes/{d.pk}/"
        detail = rita.get(f"/disputes/{d.pk}/").content.decode()
    assert f"CM-{d.number}" in detail and '<dd data-field="cycle">10 days</dd>' in detail
    assert Invoice.objects.get(pk=inv["a"].pk).open_minor == 75000
    assert CreditMemo.objects.count() == 1
    # rita sees no ledger link and the customer page stays closed to her
    assert f'href="/customers/{d.customer_id}/"' not in detail
    assert rita.get(f"/customers/{d.customer_id}/").status_code == 403


def test_open_form_reports_bad_amounts_and_keeps_input(book, inv):
    bob = _client(book.bob)
    resp = bob.post(
        "/disputes/open/",
        {
            "invoice": inv["a"].pk,
            f"pick_{inv['a'].pk}": "1",
            f"amount_{inv['a'].pk}": "5000.00",
            "reason": "pricing",
            "channel": "collector",
        },
    )
    assert resp.status_code == 422
    assert "cannot dispute 5,000.00 USD, only 1,000.00 USD is open" in resp.content.decode()
    assert Dispute.objects.count() == 0


def test_refused_step_shows_the_error(book, inv):
    d = _dispute(book, inv)
    mona = _client(book.mona)
    resp = mona.post(
        f"/disputes/{d.pk}/resolve/",
        {"resolution": "partial", "root_cause": "pricing_error", "valid_amount": "300.00"},
    )
    assert resp.status_code == 422
    assert "the valid part must be more than zero and less than 300.00 USD" in resp.content.decode()
    resp = mona.post(
        f"/disputes/{d.pk}/resolve/",
        {"resolution": "partial", "root_cause": "pricing_error", "valid_amount": "abc"},
    )
    assert resp.status_code == 422 and "is not an amount" in resp.content.decode()


def test_scope(book, inv):
    d = _dispute(book, inv, owner=book.rita)
    for who, code in (
        ("bob", 200),
        ("mona", 200),
        ("ada", 200),
        ("audrey", 200),
        ("rita", 200),
        ("alice", 404),
        ("walt", 404),
        ("carl", 404),
        ("sam", 404),
        ("nobody", 403),
    ):
        assert _client(book.users[who]).get(f"/disputes/{d.pk}/").status_code == code, who
    # rita sees the invoice her dispute names, not the customer's other invoices
    rita = _client(book.rita)
    assert rita.get(f"/disputes/panels/invoice/{inv['a'].pk}/").status_code == 200
    assert rita.get(f"/disputes/panels/invoice/{inv['b'].pk}/").status_code == 404
    assert rita.get(f"/invoices/{inv['a'].pk}/").status_code == 403
    # the queue lists only what is in scope
    assert d.number in _client(book.bob).get("/disputes/").content.decode()
    assert d.number not in _client(book.alice).get("/disputes/").content.decode()
    assert d.number not in _client(book.sam).get("/disputes/").content.decode()


def test_panels(book, inv):
    _dispute(book, inv)
    bob = _client(book.bob)
    panel = bob.get(f"/disputes/panels/customer/{book.customers['beta'].pk}/").content.decode()
    assert '<section class="card" id="disputes-panel"' in panel
    assert (
        '<strong data-field="open_disputes">1</strong>' in panel
        and '<strong data-field="held">300.00 USD</strong>' in panel
    )
    panel = bob.get(f"/disputes/panels/invoice/{inv['a'].pk}/").content.decode()
    assert '<strong data-field="held">300.00 USD</strong>' in panel and 'id="open-dispute"' in panel


def test_queue_overdue_first_filters_export_and_queries(book, inv, django_assert_max_num_queries):
    late = _dispute(book, inv)  # pricing, due 2026-03-03: not overdue on 03-01
    services.open_dispute(
        actor=book.bob,
        customer=book.customers["beta"],
        lines=[LineIn(inv["b"])],
        reason="duplicate",
        opened_on=D(2026, 1, 12),
    )  # due 01-22
    for i in range(12):
        services.open_dispute(
            actor=book.bob,
            customer=book.customers["beta"],
            lines=[LineIn(inv["c"], Money(100 + i, USD))],
            reason="other",
            opened_on=D(2026, 2, 20),
            owner=book.sam,
        )
    bob = _client(book.bob)
    with django_assert_max_num_queries(14):
        resp = bob.get("/disputes/")
    html = resp.content.decode()
    rows = html.split('id="dispute-table"')[1]
    first = rows.index("Duplicate billing")
    assert first < rows.index(late.number) and "2026-01-22 overdue" in rows
    assert late.number not in bob.get("/disputes/?owner=sam").content.decode()
    assert late.number in bob.get("/disputes/?department=sales").content.decode()
    csv = _text(bob.get("/disputes/?format=csv")).splitlines()
    assert csv[0].startswith("Dispute,Kind,Customer") and len(csv) == 15
    xlsx = openpyxl.load_workbook(io.BytesIO(bob.get("/disputes/?format=xlsx&owner=sam").content))
    assert xlsx.active.max_row == 13


def test_reports_page_and_exports(book, inv):
    d = _dispute(book, inv)
    services.resolve(
        actor=book.mona, dispute=d, resolution="valid", root_cause="billing_error", on_date=D(2026, 2, 15)
    )
    bob = _client(book.bob)
    html = bob.get("/disputes/reports/?as_of=2026-03-01&days=90").content.decode()
    assert '<dd data-field="median">14.0 days</dd>' in html and "plotly" in html
    assert 'id="pareto-data">{"labels": ["Billing error"], "counts": [1], "cumulative": ["100.00"]}' in html
    csv = _text(bob.get("/disputes/reports/?as_of=2026-03-01&days=90&export=cycle&format=csv")).splitlines()
    assert csv[:2] == ["By,Value,Resolved,Median days,Mean days", "all,,1,14.0,14.0"]
    assert bob.get("/disputes/reports/?export=pareto&format=xlsx").status_code == 200


def test_attachment_upload_and_download(book, inv, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    d = _dispute(book, inv)
    bob = _client(book.bob)
    resp = bob.post(
        f"/disputes/{d.pk}/attach/", {"file": SimpleUploadedFile("pod.png", b"\x89PNG\r\n\x1a\nxx")}
    )
    assert resp.status_code == 302
    att = d.attachments.get()
    got = bob.get(f"/disputes/attachments/{att.pk}/")
    assert b"".join(got.streaming_content) == b"\x89PNG\r\n\x1a\nxx"
    resp = bob.post(f"/disputes/{d.pk}/attach/", {"file": SimpleUploadedFile("evil.html", b"<script>")})
    assert resp.status_code == 422 and "files of type .html are not accepted" in resp.content.decode()


# --- API -------------------------------------------------------------------------------------------------


def _api(user):
    token = create_token(actor=None, user=user, name="t")[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_api_open_resolve_and_list(book, inv, client):
    h = _api(book.bob)
    body = {
        "customer_id": book.customers["beta"].pk,
        "lines": [{"invoice_id": inv["a"].pk, "amount": {"amount": "120.50", "currency": "USD"}}],
        "reason": "pricing",
        "opened_on": "2026-02-01",
        "owner": "rita",
    }
    resp = client.post("/api/v1/disputes", json.dumps(body), content_type="application/json", **h)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert (out["amount"], out["owner"], out["due_on"], out["status"]) == (
        {"amount": "120.50", "currency": "USD", "amount_minor": 12050},
        "rita",
        "2026-03-03",
        "open",
    )
    pk = out["id"]
    # bob may not resolve; rita may; a second resolution is a conflict
    res = {"resolution": "valid", "root_cause": "pricing_error", "on_date": "2026-02-11"}
    assert (
        client.post(
            f"/api/v1/disputes/{pk}/resolve", json.dumps(res), content_type="application/json", **h
        ).status_code
        == 403
    )
    r = _api(book.rita)
    got = client.post(f"/api/v1/disputes/{pk}/resolve", json.dumps(res), content_type="application/json", **r)
    assert (
        got.status_code == 200
        and got.json()["credit_memo"] == f"CM-D-{pk:06d}"
        and got.json()["cycle_days"] == 10
    )
    again = client.post(
        f"/api/v1/disputes/{pk}/resolve", json.dumps(res), content_type="application/json", **r
    )
    assert again.status_code == 409 and CreditMemo.objects.count() == 1
    assert client.get("/api/v1/disputes?status=resolved", **h).json()["count"] == 1
    assert client.get("/api/v1/disputes", **_api(book.alice)).json()["count"] == 0
    bad = dict(body, lines=[{"invoice_id": inv["a"].pk, "amount": 12.5}])
    assert (
        client.post("/api/v1/disputes", json.dumps(bad), content_type="application/json", **h).status_code
        == 422
    )
    extra = dict(body, status="resolved")
    assert (
        client.post("/api/v1/disputes", json.dumps(extra), content_type="application/json", **h).status_code
        == 422
    )


def test_note_with_htmx_swaps_the_notes_section(book, inv):
    d = _dispute(book, inv)
    bob = _client(book.bob)
    resp = bob.post(f"/disputes/{d.pk}/note/", {"body": "Asked for the POD"}, HTTP_HX_REQUEST="true")
    html = resp.content.decode()
    assert resp.status_code == 200 and html.startswith('<section class="card" id="notes"')
    assert "Asked for the POD" in html and "<!doctype" not in html
    resp = bob.post(f"/disputes/{d.pk}/note/", {"body": ""}, HTTP_HX_REQUEST="true")
    assert "This field is required." in resp.content.decode() and d.notes.count() == 1
