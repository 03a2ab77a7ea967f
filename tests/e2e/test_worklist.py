"""A collector works the top of the worklist in a real browser."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ledger as lf
from tests.factories.people import PASSWORD

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_collector_logs_a_call_with_a_promise_and_the_account_drops(page, book):
    today = timezone.localdate()
    big = lf.customer("C-110", "Big Late", collector=book.alice, risk_class="high")
    mid = lf.customer("C-120", "Mid Co", collector=book.alice)
    lf.invoice(big, "BL-1", "30000.00", date=today - dt.timedelta(days=90), due=today - dt.timedelta(days=60))
    lf.invoice(mid, "MC-1", "8000.00", date=today - dt.timedelta(days=60), due=today - dt.timedelta(days=30))
    promised = today + dt.timedelta(days=10)

    login(page, "alice", PASSWORD)
    page.wait_for_url("**/")
    page.goto("/collections/worklist/")
    rows = page.locator("#worklist-table tbody tr")
    assert rows.first.get_attribute("data-account") == "C-110"
    top = rows.first
    top.locator("summary").click()
    form = top.locator("form[data-form=call]")
    form.locator("select[name=outcome]").select_option("right_party")
    form.locator("input[name=promise_amount]").fill("30000.00")
    form.locator("input[name=promise_date]").fill(promised.isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=recorded.")
    rows = page.locator("#worklist-table tbody tr")
    assert rows.first.get_attribute("data-account") == "C-120"
    last = page.locator("#worklist-table tbody tr[data-account='C-110']")
    assert f"Held back: promise to pay 30,000.00 USD by {promised.isoformat()}" in last.inner_text()
    assert page.url.endswith("/collections/worklist/")  # swapped in place by htmx, no reload
