"""Pages: the size cap, next_offset, and a constant number of queries per list (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from ardesk.core.money import Money
from ardesk.ledger.services import apply, post_credit_memo
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db


@override_settings(ARDESK_API_PAGE_MAX=2)
def test_limit_above_the_maximum_is_capped(api, book):
    r = api.as_("ada").get("/customers", {"limit": 1000})
    body = r.json()
    assert r.status_code == 200
    assert (body["count"], body["limit"], body["offset"], body["next_offset"]) == (4, 2, 0, 2)
    assert len(body["items"]) == 2
    body = api.as_("ada").get("/customers", {"limit": 1000, "offset": 2}).json()
    assert (body["limit"], body["next_offset"], [c["account_number"] for c in body["items"]]) == (
        2,
        None,
        ["C-400", "C-300"],
    )
    body = api.as_("ada").get("/customers", {"offset": 10}).json()
    assert (body["count"], body["next_offset"], body["items"]) == (4, None, [])


def test_default_page_and_bad_parameters(api, book):
    body = api.as_("ada").get("/customers").json()
    assert (body["limit"], body["offset"], body["next_offset"]) == (50, 0, None)
    for params, loc in (({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"limit": "ten"}, "limit")):
        r = api.as_("ada").get("/customers", params)
        assert r.status_code == 422
        assert r.json()["details"]["errors"][0]["loc"] == ["query", loc]


def _count_queries(api, path: str) -> int:
    api.as_("ada").get(path)  # the token's last_used_at is written on the first call only
    with CaptureQueriesContext(connection) as ctx:
        assert api.as_("ada").get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/customers", "/invoices", "/payments", "/credit-memos", "/applications"])
def test_lists_cost_the_same_for_one_row_or_many(api, book, path):
    acme = book.customers["acme"]

    def add(i: int) -> None:
        inv = lf.invoice(acme, f"INV-{i}", "10.00")
        pay = lf.payment(acme, f"P-{i}", "10.00")
        post_credit_memo(
            actor=None, customer=acme, number=f"CM-{i}", memo_date=inv.invoice_date, amount=inv.amount
        )
        apply(
            actor=None, invoice=inv, amount=Money.of("5", "USD"), applied_date=pay.payment_date, payment=pay
        )

    add(0)
    one = _count_queries(api, path)
    for i in range(1, 6):
        add(i)
    assert _count_queries(api, path) == one
    # token + roles + count + page
    assert one == 4
