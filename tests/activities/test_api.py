"""The activities API: scoped lists with filters, logging, promises (take, list, cancel), errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from ardesk.api.services import create_token

D = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def auth(book, who):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_token(actor=None, user=book.users[who], name='t')[1]}"}


def post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_list_is_scoped_and_filtered(client, book, week, django_assert_max_num_queries):
    h = auth(book, "bob")
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/activities?kind=call&date_from=2026-03-03&date_to=2026-03-05", **h).json()
    assert body["count"] == 3
    assert [(a["occurred_on"], a["outcome"], a["collector"]) for a in body["items"]] == [
        ("2026-03-05", "right_party", "mona"),
        ("2026-03-04", "no_answer", "bob"),
        ("2026-03-03", "voicemail", "bob"),
    ]
    body = client.get("/api/v1/activities?collector=mona", **h).json()
    assert body["count"] == 1
    body = client.get("/api/v1/activities?kind=promise", **h).json()
    assert [a["invoices"] for a in body["items"]] == [
        ["INV-B2"],
        ["INV-B1"],
        [],
    ]  # same time: newest id first
    assert client.get("/api/v1/activities", **auth(book, "alice")).json()["count"] == 0
    assert client.get("/api/v1/activities", **auth(book, "rita")).status_code == 403


def test_log_an_activity(client, book, week):
    h = auth(book, "bob")
    body = {
        "customer_id": week["beta"].pk,
        "kind": "call",
        "outcome": "right_party",
        "duration_seconds": 120,
        "invoice_ids": [week["inv2"].pk],
        "notes": "will pay Friday",
        "follow_up_on": "2026-03-13",
    }
    resp = post(client, "/api/v1/activities", body, h)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert {
        k: out[k]
        for k in ("kind", "outcome", "collector", "actor", "invoices", "occurred_on", "follow_up_on")
    } == {
        "kind": "call",
        "outcome": "right_party",
        "collector": "bob",
        "actor": "bob",
        "invoices": ["INV-B2"],
        "occurred_on": "2026-03-09",
        "follow_up_on": "2026-03-13",
    }
    bad = post(client, "/api/v1/activities", {**body, "kind": "email_sent"}, h)
    assert (bad.status_code, bad.json()["message"]) == (422, "only a call has an outcome")
    other = post(client, "/api/v1/activities", {**body, "invoice_ids": [999999]}, h)
    assert other.status_code == 422 and other.json()["details"]["field"] == "invoice_ids"
    extra = post(client, "/api/v1/activities", {**body, "collector": "alice"}, h)
    assert extra.status_code == 422
    assert post(client, "/api/v1/activities", {**body, "kind": "payment"}, h).status_code == 422


def test_take_list_and_cancel_a_promise(client, book, week):
    h = auth(book, "bob")
    body = {
        "customer_id": week["beta"].pk,
        "amount": {"amount": "50.00", "currency": "USD"},
        "promised_date": "2026-03-16",
        "invoice_ids": [week["inv2"].pk],
    }
    resp = post(client, "/api/v1/activities/promises", body, h)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert (out["amount"], out["paid"]["amount_minor"], out["deadline"], out["status"], out["invoices"]) == (
        {"amount": "50.00", "currency": "USD", "amount_minor": 5000},
        0,
        "2026-03-19",
        "open",
        ["INV-B2"],
    )
    listed = client.get("/api/v1/activities/promises?status=broken", **h).json()
    assert [(p["amount"]["amount"], p["resolved_on"]) for p in listed["items"]] == [
        ("50.00", "2026-03-04"),
        ("30.00", "2026-02-28"),
    ]
    url = f"/api/v1/activities/promises/{out['id']}/cancel"
    assert post(client, url, {"reason": "customer withdrew"}, auth(book, "alice")).status_code == 404
    assert post(client, url, {"reason": "customer withdrew"}, auth(book, "audrey")).status_code == 403
    resp = post(client, url, {"reason": "customer withdrew"}, h)
    assert (resp.status_code, resp.json()["status"], resp.json()["resolved_on"]) == (
        200,
        "cancelled",
        "2026-03-09",
    )
    again = post(client, url, {"reason": "again"}, h)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    eur = post(
        client, "/api/v1/activities/promises", {**body, "amount": {"amount": "5", "currency": "EUR"}}, h
    )
    assert eur.status_code == 422 and eur.json()["details"]["field"] == "invoices"
