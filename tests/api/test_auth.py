"""API tokens (create, verify, revoke, the command) and the two ways in: bearer token and session."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from ardesk.api.models import ApiToken
from ardesk.api.services import authenticate_token, create_token, revoke_token, split_token
from ardesk.core.errors import AlreadyReversed, DuplicateKey, NotFound
from ardesk.core.models import AuditLog
from tests.api.conftest import NOW

pytestmark = pytest.mark.django_db


def test_create_token_stores_only_the_hash(book):
    row, token = create_token(actor=book.ada, user=book.alice, name="ERP sync")
    prefix, secret = split_token(token)
    assert token == f"ard_{row.prefix}_{secret}"
    assert prefix == row.prefix and len(prefix) == 8 and len(secret) >= 43
    assert row.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert secret not in row.secret_hash and token not in str(ApiToken.objects.values().get())
    log = AuditLog.objects.get(action="api_token.create")
    assert log.actor == book.ada and "secret_hash" not in log.after
    assert log.after["name"] == "ERP sync" and log.after["prefix"] == prefix


def test_authenticate_token_and_last_used(book):
    row, token = create_token(actor=None, user=book.alice, name="t")
    assert authenticate_token(token) == book.alice
    row.refresh_from_db()
    assert row.last_used_at == NOW
    later = NOW + dt.timedelta(seconds=30)
    assert authenticate_token(token, now=later) == book.alice
    row.refresh_from_db()
    assert row.last_used_at == NOW  # written at most once a minute
    assert authenticate_token(token, now=NOW + dt.timedelta(minutes=2)) == book.alice
    row.refresh_from_db()
    assert row.last_used_at == NOW + dt.timedelta(minutes=2)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "ard_00000000_" + t.split("_", 2)[2],  # unknown prefix
        lambda t: t.replace("ard_", "xyz_"),  # not a token
        lambda t: "",
    ],
)
def test_authenticate_token_refuses_bad_tokens(book, mangle):
    _, token = create_token(actor=None, user=book.alice, name="t")
    assert authenticate_token(mangle(token)) is None


def test_revoke_token(book):
    row, token = create_token(actor=None, user=book.alice, name="t")
    revoke_token(actor=book.ada, prefix=row.prefix)
    row.refresh_from_db()
    assert row.revoked_at == NOW
    assert authenticate_token(token) is None
    with pytest.raises(AlreadyReversed):
        revoke_token(actor=book.ada, prefix=row.prefix)
    with pytest.raises(NotFound):
        revoke_token(actor=book.ada, prefix="nope")
    assert AuditLog.objects.filter(action="api_token.revoke", actor=book.ada).count() == 1


def test_live_token_names_are_unique_per_user(book):
    row, _ = create_token(actor=None, user=book.alice, name="t")
    with pytest.raises(DuplicateKey):
        create_token(actor=None, user=book.alice, name="t")
    create_token(actor=None, user=book.bob, name="t")
    revoke_token(actor=None, prefix=row.prefix)
    create_token(actor=None, user=book.alice, name="t")  # the name is free again


def test_inactive_user_token_refused(book):
    _, token = create_token(actor=None, user=book.alice, name="t")
    book.alice.is_active = False
    book.alice.save()
    assert authenticate_token(token) is None


def test_token_command_create_list_revoke(book):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "alice", "--name", "ERP sync", stdout=out, stderr=err)
    token = out.getvalue().strip()
    row = ApiToken.objects.get()
    assert token.startswith(f"ard_{row.prefix}_") and authenticate_token(token) == book.alice
    assert "not shown again" in err.getvalue()

    out = io.StringIO()
    call_command("token", "list", "alice", stdout=out)
    assert out.getvalue() == (
        f"{row.prefix}  alice                ERP sync                       last used 2026-03-02 09:30 active\n"
    )
    assert token.split("_", 2)[2] not in out.getvalue()

    out = io.StringIO()
    call_command("token", "revoke", row.prefix, stdout=out)
    assert out.getvalue() == f"revoked {row.prefix} (ERP sync) of alice\n"
    assert authenticate_token(token) is None
    with pytest.raises(CommandError, match="was revoked"):
        call_command("token", "revoke", row.prefix, stdout=io.StringIO())
    with pytest.raises(CommandError, match="no user 'zed'"):
        call_command("token", "create", "zed", "--name", "x", stdout=io.StringIO())


# --- over HTTP ---------------------------------------------------------------------------------------


def test_anonymous_is_401_with_json(api):
    r = api.as_(None).get("/customers")
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == 'Bearer realm="ardesk"'
    assert r.json() == {
        "code": "not_authenticated",
        "message": "authentication required: send 'Authorization: Bearer <token>' or log in",
        "details": {},
    }


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer ard_deadbeef_nope", "the API token is invalid or revoked"),
        ("Token abc", "the Authorization header must read 'Bearer <token>'"),
        ("Bearer ", "the Authorization header must read 'Bearer <token>'"),
    ],
)
def test_bad_credentials_are_401(api, header, message):
    r = api.as_(None).get("/customers", HTTP_AUTHORIZATION=header)
    assert r.status_code == 401
    assert r.json()["message"] == f"{message}: send 'Authorization: Bearer <token>' or log in"


def test_revoked_token_is_401_over_http(api, book):
    row, token = create_token(actor=None, user=book.alice, name="t")
    assert api.as_(None).get("/customers", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    revoke_token(actor=None, prefix=row.prefix)
    assert api.as_(None).get("/customers", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_bad_token_is_401_even_with_a_session(api, book, client):
    client.force_login(book.alice)
    assert api.as_(None).get("/customers").status_code == 200
    assert api.as_(None).get("/customers", HTTP_AUTHORIZATION="Bearer ard_x_y").status_code == 401


def test_token_is_scoped_like_its_user(api, book):
    names = [c["account_number"] for c in api.as_("alice").get("/customers").json()["items"]]
    assert names == ["C-100"]
    names = [c["account_number"] for c in api.as_("mona").get("/customers").json()["items"]]
    assert names == ["C-100", "C-200", "C-400"]  # by name: Acme, Beta, Delta
    refused = api.as_("nobody").get("/customers")
    assert refused.status_code == 403
    assert refused.json()["message"] == "this account has no ardesk role; ask an administrator to grant one"


def test_session_auth_with_csrf_for_unsafe_methods(book):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(book.alice)
    acme = book.customers["acme"]
    r = browser.get(f"/api/v1/customers/{acme.pk}")
    assert r.status_code == 200 and r.json()["account_number"] == "C-100"

    r = browser.patch(f"/api/v1/customers/{acme.pk}", '{"city": "Boston"}', content_type="application/json")
    assert r.status_code == 403
    assert r.json() == {
        "code": "permission_denied",
        "message": "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken",
        "details": {},
    }

    csrf = "a" * 32  # what the csrftoken cookie of a page would hold
    browser.cookies["csrftoken"] = csrf
    r = browser.patch(
        f"/api/v1/customers/{acme.pk}",
        '{"city": "Boston"}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert r.status_code == 200 and r.json()["city"] == "Boston"


def test_token_calls_need_no_csrf(api, book):
    api.client = Client(enforce_csrf_checks=True)
    acme = book.customers["acme"]
    r = api.as_("alice").patch(f"/customers/{acme.pk}", {"city": "Boston"})
    assert r.status_code == 200


def test_token_last_used_over_http(api, book):
    api.as_("alice").get("/customers")
    assert ApiToken.objects.get(user=book.alice).last_used_at == NOW
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        api.as_("alice").get("/customers")
    assert ApiToken.objects.get(user=book.alice).last_used_at == NOW + dt.timedelta(minutes=5)


def test_openapi_and_docs_are_served(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "ardesk API"
    assert {"/api/v1/invoices", "/api/v1/applications/{application_id}/reverse"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/invoices/{invoice_id}"]) == {"get"}
    invoice_in = schema["components"]["schemas"]["InvoiceIn"]
    assert invoice_in["additionalProperties"] is False
    assert "open" not in invoice_in["properties"] and "status" not in invoice_in["properties"]
    assert client.get("/api/v1/docs").status_code == 200
