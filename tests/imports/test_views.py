"""The import pages: upload -> preview with every error -> confirm; who may; no change on GET."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ardesk.core.models import AuditLog
from ardesk.imports.models import ImportBatch
from ardesk.ledger.models import Invoice

from .conftest import ledger_counts

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
GOOD = b"number,customer,invoice_date,due_date,amount\nINV-1,C-100,2026-01-01,2026-01-31,100.00\n"
BAD = (
    b"number,customer,invoice_date,due_date,amount\n"
    b"INV-1,C-100,2026-01-01,2026-01-31,100.00\n"
    b"INV-2,C-100,31/01/2026,,1\n"
    b"INV-3,C-999,2026-01-01,,1\n"
)


def _upload(client, content: bytes, name: str = "inv.csv", kind: str = "invoices", profile: str = "ardesk"):
    return client.post(
        "/imports/", {"kind": kind, "profile": profile, "file": SimpleUploadedFile(name, content, "text/csv")}
    )


@pytest.fixture
def manager(client, book, media):
    client.force_login(book.mona, backend=MODEL_BACKEND)
    return client


def test_upload_preview_confirm(manager, book, media):
    page = manager.get("/imports/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content and b"sap: SAP FBL5N" in page.content
    before = ledger_counts()
    resp = _upload(manager, GOOD)
    batch = ImportBatch.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/imports/{batch.pk}/"
    assert (batch.status, batch.rows, batch.error_count, batch.created_by) == ("validated", 1, 0, book.mona)
    stored = Path(batch.stored_file.path)
    assert stored.is_relative_to(media / "imports") and stored.read_bytes() == GOOD
    assert Invoice.objects.count() == 0  # checked, not imported
    assert ledger_counts()["AuditLog"] == before["AuditLog"] + 1  # the upload's audit row

    page = manager.get(f"/imports/{batch.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ready to import" in html and "Import 1 rows" in html
    assert (
        "<td>INV-1</td><td>C-100</td><td>2026-01-01</td><td>2026-01-31</td><td>100.00</td>"
        in html.replace("\n", "")
    )

    assert manager.get(f"/imports/{batch.pk}/confirm/").status_code == 405  # no change on GET
    assert Invoice.objects.count() == 0
    resp = manager.post(f"/imports/{batch.pk}/confirm/")
    assert resp.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.imported_by, batch.counts) == (
        "imported",
        book.mona,
        {"invoices": {"created": 1, "unchanged": 0}},
    )
    assert Invoice.objects.get().amount_minor == 10000
    assert AuditLog.objects.filter(action="import.invoices").get().after["batch"] == batch.pk
    page = manager.get(f"/imports/{batch.pk}/", follow=True)
    assert b"Imported" in page.content

    again = manager.post(f"/imports/{batch.pk}/confirm/")  # a double click
    assert again.status_code == 409
    assert Invoice.objects.count() == 1


def test_preview_lists_every_error_and_confirm_is_refused(manager, book):
    before = ledger_counts()
    _upload(manager, BAD)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.error_count) == ("invalid", 2)
    assert batch.errors == [
        {
            "row": 3,
            "column": "invoice_date",
            "value": "31/01/2026",
            "reason": "'31/01/2026' is not a valid date in the format YYYY-MM-DD",
        },
        {"row": 4, "column": "customer", "value": "C-999", "reason": "unknown customer account 'C-999'"},
    ]
    html = manager.get(f"/imports/{batch.pk}/").content.decode()
    assert "&#x27;31/01/2026&#x27; is not a valid date in the format YYYY-MM-DD" in html
    assert "unknown customer account &#x27;C-999&#x27;" in html
    assert 'id="confirm"' not in html
    resp = manager.post(f"/imports/{batch.pk}/confirm/")
    assert resp.status_code == 409
    assert ledger_counts() == {**before, "AuditLog": before["AuditLog"] + 1}  # the upload
    csv = manager.get(f"/imports/{batch.pk}/errors.csv")
    assert csv.status_code == 200
    body = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "file,row,column,value,reason"
    assert "inv.csv,3,invoice_date,31/01/2026," in body


def test_recheck_after_fixing_master_data(manager, book):
    from tests.factories import ledger as lf

    _upload(manager, b"number,customer,invoice_date,due_date,amount\nINV-1,C-999,2026-01-01,2026-01-31,1\n")
    batch = ImportBatch.objects.get()
    assert batch.status == "invalid"
    lf.customer("C-999", "Late Arrival")
    resp = manager.post(f"/imports/{batch.pk}/recheck/")
    assert resp.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.error_count) == ("validated", 0)


def test_bad_upload_form(manager):
    resp = manager.post("/imports/", {"kind": "invoices", "profile": "ardesk"})
    assert resp.status_code == 422
    assert b"This field is required." in resp.content
    resp = manager.post(
        "/imports/",
        {
            "kind": "invoices",
            "profile": "ardesk",
            "file": SimpleUploadedFile("a.csv", GOOD),
            "profile_file": SimpleUploadedFile("p.yaml", b"kinds: {invoices: {columns: {nope: X}}}"),
        },
    )
    assert resp.status_code == 422
    assert b"nope is not an ardesk invoices field" in resp.content
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("url", ["/imports/", "/imports/1/", "/imports/1/errors.csv"])
def test_anonymous_is_sent_to_login(client, db, url):
    resp = client.get(url)
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_collector_is_refused(client, book, media):
    client.force_login(book.alice, backend=MODEL_BACKEND)
    assert client.get("/imports/").status_code == 403
    assert _upload(client, GOOD).status_code == 403
    assert ImportBatch.objects.count() == 0
    client.force_login(book.mona, backend=MODEL_BACKEND)
    _upload(client, GOOD)
    pk = ImportBatch.objects.get().pk
    client.force_login(book.alice, backend=MODEL_BACKEND)
    assert client.get(f"/imports/{pk}/").status_code == 403
    assert client.post(f"/imports/{pk}/confirm/").status_code == 403
    assert Invoice.objects.count() == 0


def test_cash_clerk_may_import(client, book, media):
    client.force_login(book.cash, backend=MODEL_BACKEND)
    assert _upload(client, GOOD).status_code == 302
    assert client.get("/imports/999/").status_code == 404


def test_forms_need_the_csrf_token(book, media):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(book.mona, backend=MODEL_BACKEND)
    resp = _upload(strict, GOOD)
    assert resp.status_code == 403
    assert ImportBatch.objects.count() == 0
