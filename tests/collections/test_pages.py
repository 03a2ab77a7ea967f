"""Pages and API through the Django test client: the worklist and its htmx actions, panels, management."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ardesk.activities.models import Activity, PromiseToPay
from ardesk.collections import selectors
from ardesk.collections import services as cs
from ardesk.collections.models import AccountState, OutboxMessage, Suppression, WorklistWeights
from ardesk.core.models import AuditLog
from tests.factories import ledger as lf

D = dt.date
TODAY = dt.datetime(2026, 3, 31, 10, tzinfo=dt.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def portfolio(book):
    """alice's book on 2026-03-31: three accounts with past-due invoices of different sizes and ages."""
    alice = book.alice
    big = lf.customer("C-110", "Big Late", collector=alice, risk_class="high")
    mid = lf.customer("C-120", "Mid Co", collector=alice)
    small = lf.customer("C-130", "Small Co", collector=alice, risk_class="low")
    lf.invoice(big, "BL-1", "30000.00", date=D(2026, 1, 1), due=D(2026, 1, 31))  # 59 days
    lf.invoice(mid, "MC-1", "8000.00", date=D(2026, 2, 1), due=D(2026, 3, 1))  # 30 days
    lf.invoice(small, "SC-1", "500.00", date=D(2026, 2, 15), due=D(2026, 3, 17))  # 14 days
    lf.invoice(book.customers["acme"], "AC-1", "100.00", date=D(2026, 3, 1), due=D(2026, 4, 30))  # not due
    return {"big": big, "mid": mid, "small": small}


def _login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


@time_machine.travel(TODAY, tick=False)
def test_worklist_order_reasons_and_query_count(client, book, portfolio, django_assert_max_num_queries):
    _login(client, book.alice)
    with django_assert_max_num_queries(20):
        resp = client.get("/collections/worklist/")
    assert resp.status_code == 200
    entries = resp.context["entries"]
    # big: 300 (30,000 past due) + 118 (59 days) + 60 (high risk) + 90 (never contacted: a third of the cap
    # of 90 days x 3) = 568; mid: 80 + 60 + 20 + 90 = 250; small: 5 + 28 + 0 + 90 = 123;
    # acme (nothing past due): 20 for its medium risk only
    assert [(e.facts.account_number, e.score) for e in entries] == [
        ("C-110", 568),
        ("C-120", 250),
        ("C-130", 123),
        ("C-100", 20),
    ]
    assert f'href="/disputes/open/?customer={portfolio["big"].pk}"' in resp.content.decode()
    assert entries[0].reasons == [
        "30,000.00 USD past due",
        "oldest item 59 days past due",
        "never contacted",
        "high risk",
    ]
    for n in range(5):  # more accounts, same number of queries (no N+1)
        c = lf.customer(f"C-15{n}", f"More {n}", collector=book.alice)
        lf.invoice(c, f"M-{n}", "10.00", date=D(2026, 2, 1), due=D(2026, 3, 3))
    with django_assert_max_num_queries(20):
        assert len(client.get("/collections/worklist/").context["entries"]) == 9
    csv = b"".join(client.get("/collections/worklist/?export=csv").streaming_content).decode()
    assert csv.splitlines()[1].startswith("1,C-110,Big Late,alice,568,30000.00,USD,")


@time_machine.travel(TODAY, tick=False)
def test_call_with_a_promise_drops_the_account_with_the_reason(client, book, portfolio):
    _login(client, book.alice)
    big = portfolio["big"]
    resp = client.post(
        f"/collections/worklist/{big.pk}/call/",
        {
            "outcome": "right_party",
            "notes": "will pay",
            "promise_amount": "30,000.00",
            "promise_date": "2026-04-10",
        },
        **HX,
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "promise of 30,000.00 USD by 2026-04-10 recorded" in html
    entries = resp.context["entries"]
    assert [e.facts.account_number for e in entries] == ["C-120", "C-130", "C-100", "C-110"]
    assert entries[-1].demoted == "promise to pay 30,000.00 USD by 2026-04-10"
    assert "Held back: promise to pay 30,000.00 USD by 2026-04-10" in html
    assert Activity.objects.filter(customer=big, kind="call", outcome="right_party").count() == 1
    assert PromiseToPay.objects.get(customer=big).amount_minor == 3_000_000
    # bad input: clear message, nothing written
    resp = client.post(
        f"/collections/worklist/{big.pk}/call/", {"outcome": "right_party", "promise_amount": "5"}, **HX
    )
    assert "C-110: a promise needs an amount and a date" in resp.content.decode()


@time_machine.travel(TODAY, tick=False)
def test_snooze_email_and_reassign_from_the_list(client, book, portfolio, dunning):
    _login(client, book.alice)
    mid = portfolio["mid"]
    resp = client.post(f"/collections/worklist/{mid.pk}/snooze/", {"until": "2026-04-03"}, **HX)
    assert [e.facts.account_number for e in resp.context["entries"]][-1] == "C-120"
    assert resp.context["entries"][-1].demoted == "snoozed until 2026-04-03"
    assert AccountState.objects.get(customer=mid).snoozed_until == D(2026, 4, 3)
    from ardesk.ledger import services as ls

    ls.add_contact(actor=None, customer=portfolio["big"], name="AP", email="ap@big.example")
    resp = client.post(f"/collections/worklist/{portfolio['big'].pk}/email/", {"template": "notice"}, **HX)
    row = OutboxMessage.objects.get(customer=portfolio["big"])
    assert f"Email notice to ap@big.example queued (outbox #{row.pk})." in resp.content.decode()
    # a collector may not reassign; a manager may
    assert client.post(f"/collections/worklist/{mid.pk}/reassign/", {"to": "bob"}, **HX).status_code == 403
    _login(client, book.mona)
    resp = client.post(
        f"/collections/worklist/{mid.pk}/reassign/", {"to": "bob", "collector_filter": "alice"}, **HX
    )
    assert "Mid Co moved to bob." in resp.content.decode()
    assert "C-120" not in [e.facts.account_number for e in resp.context["entries"]]


@time_machine.travel(TODAY, tick=False)
def test_customer_panel_and_management_pages(client, book, portfolio, dunning):
    _login(client, book.mona)
    big = portfolio["big"]
    assert (
        client.post(
            f"/collections/customers/{big.pk}/blocks/", {"reason": "legal", "until": "2026-04-30"}
        ).status_code
        == 302
    )
    html = client.get(f"/collections/customers/{big.pk}/panel/").content.decode()
    assert "Standard" in html and "account: legal until 2026-04-30" in html
    preview = client.get(f"/collections/templates/preview/?code=notice&customer={big.pk}")
    assert preview.context["subject"] == "Past due: C-110"
    assert "BL-1 due 2026-01-31: 30,000.00 USD" in preview.context["body"]
    resp = client.post("/collections/weights/", {**{f: "1" for f in cs.WEIGHT_FIELDS}, "risk_high": "x"})
    assert resp.context["error"] == "risk_high: 'x' is not a whole number >= 0"
    assert not WorklistWeights.objects.exists()
    client.post("/collections/weights/", {f: "1" for f in cs.WEIGHT_FIELDS})
    assert WorklistWeights.objects.get(pk=1).risk_high == 1
    resp = client.post(
        "/collections/templates/edit/",
        {"code": "evil", "language": "", "subject": "x", "body": "{% include 'base.html' %}"},
    )
    assert "body: the tag {% include %} is not allowed" in resp.content.decode()
    assert client.get("/collections/strategies/").status_code == 200
    assert client.get(f"/collections/strategies/{dunning['strategy'].pk}/").status_code == 200


def test_unsubscribe_is_public_and_only_a_post_opts_out(client, book):
    token = selectors.unsubscribe_token("AP@Example.com")
    resp = client.get(f"/collections/unsubscribe/{token}/")
    assert resp.status_code == 200 and not Suppression.objects.exists()
    assert client.post(f"/collections/unsubscribe/{token}/").status_code == 200  # one-click, no CSRF token
    assert Suppression.objects.get().email == "ap@example.com"
    assert client.get("/collections/unsubscribe/forged/").status_code == 404


def test_api_worklist_bounce_and_outbox(client, book, portfolio):
    from ardesk.api.services import create_token

    token = create_token(actor=None, user=book.alice, name="t")[1]
    with time_machine.travel(TODAY, tick=False):
        body = client.get("/api/v1/collections/worklist", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [(i["rank"], i["customer"]["account_number"], i["score"]) for i in body["items"]][:2] == [
        (1, "C-110", 568),
        (2, "C-120", 250),
    ]
    assert body["items"][0]["past_due"] == {"amount": "30000.00", "currency": "USD", "amount_minor": 3000000}
    mona = create_token(actor=None, user=book.mona, name="t")[1]
    resp = client.post(
        "/api/v1/collections/bounces",
        {"email": "X@Y.example", "detail": "550"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {mona}",
    )
    assert (resp.status_code, resp.json()) == (
        201,
        {"email": "x@y.example", "reason": "bounce", "detail": "550"},
    )
    resp = client.post(
        "/api/v1/collections/bounces",
        {"email": "x@y.example", "extra": 1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {mona}",
    )
    assert resp.status_code == 422
    assert AuditLog.objects.filter(action="suppression.bounce").count() == 1


@time_machine.travel(TODAY, tick=False)
def test_consumer_call_cap_holds_the_account_back(client, book, portfolio):
    from ardesk.activities import services as acts
    from ardesk.collections.models import ContactPolicy
    from ardesk.ledger import services as ls

    ls.update_customer(actor=None, customer=portfolio["big"], segment="Consumer")
    ContactPolicy.objects.create(segment="Consumer", start_hour=8, end_hour=21, max_calls=7, period_days=7)
    for day in range(25, 32):  # 7 calls on 03-25 .. 03-31: the 7 days up to 03-31
        acts.log_activity(
            actor=None,
            customer=portfolio["big"],
            kind="call",
            outcome="no_answer",
            occurred_at=dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC),
        )
    _login(client, book.alice)
    entries = client.get("/collections/worklist/").context["entries"]
    assert (entries[-1].facts.account_number, entries[-1].demoted) == (
        "C-110",
        "call cap reached (7 calls in 7 days)",
    )
    with time_machine.travel(dt.datetime(2026, 4, 1, 10, tzinfo=dt.UTC), tick=False):  # 03-25 left the window
        entries = client.get("/collections/worklist/").context["entries"]
        assert (entries[0].facts.account_number, entries[0].demoted) == ("C-110", "")


def test_outbox_and_blocks_lists_query_count_and_export(client, book, dunning, django_assert_max_num_queries):
    beta = book.customers["beta"]
    for n in range(3):
        lf.invoice(beta, f"B-{n}", "10.00", date=D(2026, 2, 1), due=D(2026, 3, 1 + n))
    for day in (2, 3, 4):
        cs.run_dunning(actor=None, as_of=D(2026, 3, day))
    cs.add_block(actor=book.mona, customer=beta, reason="legal", on_date=D(2026, 3, 1))
    cs.add_block(actor=book.mona, customer=book.customers["acme"], reason="audit", on_date=D(2026, 3, 1))
    _login(client, book.bob)
    with django_assert_max_num_queries(8):
        resp = client.get("/collections/outbox/")
    assert [(m.run_date, m.template_code) for m in resp.context["rows"]] == [
        (D(2026, 3, 4), "notice"),
        (D(2026, 3, 3), "notice"),
        (D(2026, 3, 2), "notice"),
    ]
    csv = b"".join(client.get("/collections/outbox/?export=csv&status=pending").streaming_content).decode()
    assert [line.split(",")[1:4] for line in csv.splitlines()[1:]] == [
        ["2026-03-04", "C-200", "Beta LLC"],
        ["2026-03-03", "C-200", "Beta LLC"],
        ["2026-03-02", "C-200", "Beta LLC"],
    ]
    _login(client, book.mona)
    with time_machine.travel(TODAY, tick=False), django_assert_max_num_queries(8):
        resp = client.get("/collections/blocks/")
    assert sorted(b.reason for b in resp.context["blocks"]) == ["audit", "legal"]


@time_machine.travel(TODAY, tick=False)
def test_management_links_only_for_those_who_may_manage_dunning(client, book, portfolio):
    for persona, shown in (("alice", False), ("mona", True)):
        _login(client, book.users[persona])
        page = client.get("/collections/worklist/").content.decode()
        assert ('href="/collections/strategies/"' in page) is shown, persona
        assert 'href="/collections/outbox/"' in page


@time_machine.travel(TODAY, tick=False)
def test_a_long_worklist_is_paged_and_the_export_has_every_account(client, book):
    """55 past-due accounts: page 1 shows ranks 1-50 of the full ranking, page 2 ranks 51-55; the CSV has
    all 55."""
    for n in range(55):
        cust = lf.customer(f"C-5{n:02}", f"Paged {n:02}", collector=book.alice)
        lf.invoice(cust, f"PG-{n:02}", f"{1000 + n * 10}.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    _login(client, book.alice)
    first = client.get("/collections/worklist/")
    ranking = [e.facts.account_number for e in first.context["entries"]]
    assert len(ranking) == 55
    assert [e.facts.account_number for e in first.context["page"].object_list] == ranking[:50]
    html = first.content.decode()
    assert "55 accounts · page 1 of 2" in html and 'href="?page=2"' in html
    second = client.get("/collections/worklist/?page=2")
    assert [e.facts.account_number for e in second.context["page"].object_list] == ranking[50:]
    page2 = second.content.decode()
    assert '<td class="num">51</td>' in page2 and '<td class="num">55</td>' in page2
    assert f'data-account="{ranking[50]}"' in page2 and f'data-account="{ranking[49]}"' not in page2
    export = client.get("/collections/worklist/?export=csv")
    csv_lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert len(csv_lines) == 1 + 55
