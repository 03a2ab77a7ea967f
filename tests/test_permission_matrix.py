"""The permission matrix: every page and every API operation, for anonymous, a user without the role,
a user with the role but outside the customer's scope, and the right user.

The two completeness tests fail when a route or an API operation is added without a row here, so no
endpoint ships unchecked.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ardesk.api.api import api as ninja_api
from ardesk.api.services import create_token
from ardesk.core.money import Money
from ardesk.ledger import services
from tests.factories import ledger as lf
from tests.matrix import APP_OPS, APP_PAGES, extend_objs
from tests.matrix.base import Op, Page

D = dt.date

# --- objects all belong to bob's customer C-200 --------------------------------------------------------


@pytest.fixture
def objs(book, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ardesk.imports.services import create_batch

    settings.MEDIA_ROOT = tmp_path
    header = "number,customer,invoice_date,due_date,amount\n"
    batch = create_batch(
        actor=None,
        kind="invoices",
        upload=SimpleUploadedFile("good.csv", (header + "INV-M1,C-200,2026-01-01,,1\n").encode()),
    )
    bad_batch = create_batch(
        actor=None,
        kind="invoices",
        upload=SimpleUploadedFile("bad.csv", (header + "INV-M2,C-999,2026-01-01,,1\n").encode()),
    )
    beta = book.customers["beta"]
    inv = lf.invoice(beta, "INV-B1", "100.00", date=D(2026, 1, 1))
    spare = lf.invoice(beta, "INV-B2", "50.00", date=D(2026, 1, 1))
    pay = lf.payment(beta, "PAY-B1", "100.00", date=D(2026, 2, 1))
    app = services.apply(
        actor=None, invoice=inv, payment=pay, amount=Money(4000, "USD"), applied_date=D(2026, 2, 1)
    )
    memo = services.post_credit_memo(
        actor=None, customer=beta, number="CM-B1", memo_date=D(2026, 2, 1), amount=Money(1000, "USD")
    )
    written = lf.invoice(beta, "INV-B3", "30.00", date=D(2026, 1, 1))
    write_off = services.write_off(actor=None, invoice=written, on_date=D(2026, 2, 1), reason="matrix")
    contact = services.add_contact(actor=None, customer=beta, name="Pat Payable", email="pat@beta.example")
    objs = {
        "batch": batch,
        "bad_batch": bad_batch,
        "customer": beta,
        "invoice": inv,
        "spare": spare,
        "payment": pay,
        "application": app,
        "memo": memo,
        "contact": contact,
        "written": written,
        "write_off": write_off,
    }
    extend_objs(objs, book)
    return objs


# --- web pages -----------------------------------------------------------------------------------------


CONTACT_FORM = {
    "name": "Sam Sender",
    "role": "ap_clerk",
    "email": "sam@beta.example",
    "phone": "",
    "preferred_channel": "email",
    "time_zone": "",
}

PAGES = [
    Page("dashboard:home", "get", lambda o: "/", "bob", "nobody", None),
    Page("dashboard:plotly_js", "get", lambda o: "/assets/plotly-1.min.js", "bob", None, None, public=True),
    Page("dashboard:trends", "get", lambda o: "/reports/trends/", "bob", "nobody", None),
    Page("dashboard:aging", "get", lambda o: "/reports/aging/", "bob", "nobody", None),
    Page("dashboard:aging_drill", "get", lambda o: "/reports/aging/drill/?cur=USD", "bob", "nobody", None),
    Page("dashboard:collectors", "get", lambda o: "/reports/collectors/", "bob", "nobody", None),
    Page(
        "dashboard:customer_kpis",
        "get",
        lambda o: f"/reports/customers/{o['customer'].pk}/kpis/",
        "bob",
        "nobody",
        "alice",
    ),
    Page("ledger:customers", "get", lambda o: "/customers/", "bob", "nobody", None),
    Page("ledger:customer", "get", lambda o: f"/customers/{o['customer'].pk}/", "bob", "nobody", "alice"),
    Page(
        "ledger:contact_add",
        "post",
        lambda o: f"/customers/{o['customer'].pk}/contacts/new/",
        "bob",
        "audrey",
        "alice",
        CONTACT_FORM,
    ),
    Page(
        "ledger:contact_edit",
        "post",
        lambda o: f"/contacts/{o['contact'].pk}/edit/",
        "bob",
        "audrey",
        "alice",
        {**CONTACT_FORM, "name": "Pat Payable"},
    ),
    Page("ledger:invoices", "get", lambda o: "/invoices/", "bob", "nobody", None),
    Page("ledger:invoice", "get", lambda o: f"/invoices/{o['invoice'].pk}/", "bob", "nobody", "alice"),
    Page("ledger:payments", "get", lambda o: "/payments/", "bob", "nobody", None),
    # imports need the import capability (AR manager, cash-application clerk, admin); a collector has it not
    Page("imports:upload", "get", lambda o: "/imports/", "mona", "alice", None),
    Page("imports:batch", "get", lambda o: f"/imports/{o['batch'].pk}/", "mona", "alice", None),
    Page(
        "imports:errors", "get", lambda o: f"/imports/{o['bad_batch'].pk}/errors.csv", "mona", "alice", None
    ),
    Page("imports:confirm", "post", lambda o: f"/imports/{o['batch'].pk}/confirm/", "mona", "alice", None),
    Page(
        "imports:recheck", "post", lambda o: f"/imports/{o['bad_batch'].pk}/recheck/", "mona", "alice", None
    ),
]
PAGES += APP_PAGES
EXEMPT_ROUTES = {"login", "logout"}  # Django's auth views (login throttling is tested in tests/web)


def _named_routes(resolver: Any = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            if p.app_name in ("admin",) or p.namespace in ("admin", "api"):
                continue
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            names |= _named_routes(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(f"{prefix}{p.name}")
    return names


def test_every_page_is_in_the_matrix():
    assert _named_routes() - EXEMPT_ROUTES == {p.name for p in PAGES}


def _send(client, page: Page, objs):
    url = page.path(objs)
    if page.method == "get":
        return client.get(url)
    return client.post(url, page.data or {})


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
@pytest.mark.parametrize("who", ["anonymous", "wrong", "other", "right"])
def test_page_matrix(client, book, objs, page, who):
    persona = {"anonymous": None, "wrong": page.wrong, "other": page.other, "right": page.right}[who]
    if who != "anonymous" and persona is None:
        pytest.skip("not applicable: every role may, or the page is not object-scoped")
    if persona:
        client.force_login(book.users[persona], backend="django.contrib.auth.backends.ModelBackend")
    resp = _send(client, page, objs)
    if who == "anonymous":
        if page.public:
            assert resp.status_code == 200
        else:
            assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    elif who == "wrong":
        assert resp.status_code == 403
    elif who == "other":
        assert resp.status_code == 404
    else:
        assert resp.status_code in (200, 302)


def test_get_never_changes_state(client, book, objs):
    from ardesk.core.models import AuditLog
    from ardesk.ledger.models import Contact

    client.force_login(book.bob, backend="django.contrib.auth.backends.ModelBackend")
    before = (AuditLog.objects.count(), Contact.objects.count())
    for page in PAGES:
        if page.method == "post":
            client.get(page.path(objs), page.data or {})
    assert (AuditLog.objects.count(), Contact.objects.count()) == before


# --- API -----------------------------------------------------------------------------------------------


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


REASON = {"on_date": "2026-02-10", "reason": "matrix"}
OPS = [
    Op("get", "/customers", "bob", "nobody", None),
    Op(
        "post",
        "/customers",
        "mona",
        "alice",
        None,
        lambda o: {"account_number": "C-900", "name": "New Co", "entity": "US01"},
    ),
    Op("get", "/customers/{customer_id}", "bob", "nobody", "alice"),
    # walt manages West: bob's C-200 is outside his scope (404); bob lacks the reassign capability (403)
    Op(
        "post",
        "/customers/reassign",
        "mona",
        "bob",
        "walt",
        lambda o: {"customer_ids": [o["customer"].pk], "collector": "alice", "reason": "matrix"},
    ),
    Op("patch", "/customers/{customer_id}", "bob", "audrey", "alice", lambda o: {"territory": "North"}),
    Op("get", "/customers/{customer_id}/contacts", "bob", "nobody", "alice"),
    Op(
        "post",
        "/customers/{customer_id}/contacts",
        "bob",
        "audrey",
        "alice",
        lambda o: {"name": "Kim Ledger"},
    ),
    Op("get", "/contacts/{contact_id}", "bob", "nobody", "alice"),
    Op("patch", "/contacts/{contact_id}", "bob", "audrey", "alice", lambda o: {"phone": "+1 555 0100"}),
    Op("get", "/invoices", "bob", "nobody", None),
    Op(
        "post",
        "/invoices",
        "mona",
        "bob",
        "walt",
        lambda o: {
            "customer_id": o["customer"].pk,
            "number": "INV-NEW",
            "invoice_date": "2026-02-01",
            "amount": _money("10.00"),
        },
    ),
    Op("get", "/invoices/{invoice_id}", "bob", "nobody", "alice"),
    Op("post", "/invoices/{invoice_id}/cancel", "mona", "bob", "walt", lambda o: REASON),
    Op("get", "/invoices/{invoice_id}/write-offs", "bob", "nobody", "alice"),
    Op("post", "/invoices/{invoice_id}/write-offs", "mona", "bob", "walt", lambda o: REASON),
    Op(
        "post",
        "/invoices/{invoice_id}/write-offs/{write_off_id}/reverse",
        "mona",
        "bob",
        "walt",
        lambda o: REASON,
        params=lambda o: {"invoice_id": o["written"].pk},
    ),
    Op("get", "/payments", "bob", "nobody", None),
    Op(
        "post",
        "/payments",
        "cash",
        "bob",
        "walt",
        lambda o: {
            "customer_id": o["customer"].pk,
            "reference": "PAY-NEW",
            "payment_date": "2026-02-01",
            "amount": _money("5.00"),
        },
    ),
    Op("get", "/payments/{payment_id}", "bob", "nobody", "alice"),
    Op("post", "/payments/{payment_id}/reverse", "cash", "bob", "walt", lambda o: REASON),
    Op("get", "/credit-memos", "bob", "nobody", None),
    Op(
        "post",
        "/credit-memos",
        "mona",
        "bob",
        "walt",
        lambda o: {
            "customer_id": o["customer"].pk,
            "number": "CM-NEW",
            "memo_date": "2026-02-01",
            "amount": _money("5.00"),
        },
    ),
    Op("get", "/credit-memos/{memo_id}", "bob", "nobody", "alice"),
    Op("get", "/applications", "bob", "nobody", None),
    Op(
        "post",
        "/applications",
        "cash",
        "bob",
        "walt",
        lambda o: {
            "invoice_id": o["spare"].pk,
            "payment_id": o["payment"].pk,
            "amount": _money("10.00"),
            "applied_date": "2026-02-02",
        },
    ),
    Op("get", "/applications/{application_id}", "bob", "nobody", "alice"),
    Op("post", "/applications/{application_id}/reverse", "cash", "bob", "walt", lambda o: REASON),
    Op("get", "/metrics/kpis", "bob", "nobody", None),
    Op("get", "/metrics/aging", "bob", "nobody", None),
]
OPS += APP_OPS


def test_every_api_operation_is_in_the_matrix():
    schema = ninja_api.get_openapi_schema()
    ops = {(m, p.removeprefix("/api/v1")) for p, methods in schema["paths"].items() for m in methods}
    assert ops == {(o.method, o.path) for o in OPS}


@pytest.mark.parametrize("op", OPS, ids=lambda o: f"{o.method} {o.path}")
@pytest.mark.parametrize("who", ["anonymous", "wrong", "other", "right"])
def test_api_matrix(client, book, objs, op, who):
    persona = {"anonymous": None, "wrong": op.wrong, "other": op.other, "right": op.right}[who]
    if who != "anonymous" and persona is None:
        pytest.skip("not applicable: a list is scoped by filtering, not by 404")
    headers: dict[str, str] = {"HTTP_IDEMPOTENCY_KEY": f"matrix-{who}"}
    if persona:
        token = create_token(actor=None, user=book.users[persona], name="matrix")[1]
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    url = op.url(objs)
    if op.method == "get":
        resp = client.get(url, **headers)
    else:
        body = json.dumps(op.body(objs) if op.body else {})
        resp = getattr(client, op.method)(url, body, content_type="application/json", **headers)
    expected = {"anonymous": {401}, "wrong": {403}, "other": {404}, "right": {200, 201}}[who]
    assert resp.status_code in expected, resp.content


def test_api_lists_hide_other_portfolios(client, book, objs):
    token = create_token(actor=None, user=book.alice, name="matrix")[1]
    for path in ("/customers", "/invoices", "/payments", "/credit-memos", "/applications"):
        body = client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
        assert all("C-200" not in json.dumps(item) for item in body["items"]), path
    # the metrics are scoped too: bob's C-200 (110.00 open: 60.00 + 50.00) counts for ada, not for alice
    for persona, open_minor, invoices in (("alice", 0, 0), ("ada", 11000, 2)):
        t = create_token(actor=None, user=book.users[persona], name="m")[1]
        row = client.get("/api/v1/metrics/aging?as_of=2026-03-01", HTTP_AUTHORIZATION=f"Bearer {t}").json()[
            "rows"
        ][0]
        assert (row["open_ar"]["minor"], row["open_invoices"]) == (open_minor, invoices), persona
