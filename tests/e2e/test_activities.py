"""A collector logs a call with a promise to pay in two clicks from the customer page (htmx), and sees it
in the customer's activity timeline."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.activities.models import Activity, PromiseToPay
from tests.factories import ledger as lf
from tests.factories.people import PASSWORD

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = dt.date


def test_collector_logs_a_call_with_a_promise_in_two_clicks(page, book):
    beta = book.customers["beta"]
    lf.invoice(beta, "INV-P1", "800.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    login(page, "bob", PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/customers/{beta.pk}/")
    panel = page.locator("#activities")
    panel.wait_for()
    assert "No activity logged yet." in panel.inner_text()

    page.click("#activities summary:has-text('Log a call')")  # click 1: open the form
    page.fill("input[name=promise_amount]", "800.00")
    page.fill("input[name=promise_date]", "2030-01-15")
    page.check("input[name=promise_invoices] >> nth=0")
    page.click("#activities button[value=right_party]")  # click 2: the outcome posts it

    page.locator("#activities .message-success").wait_for()
    panel = page.locator("#activities")
    assert "Call logged: reached right party; promise to pay 800.00 USD by 2030-01-15." in panel.inner_text()
    timeline = page.locator("#activity-timeline").inner_text()
    assert "Promise to pay 800.00 USD by 2030-01-15" in timeline
    assert "Call: reached right party" in timeline
    assert "Open" in page.locator("#promises").inner_text()
    assert page.url.endswith(f"/customers/{beta.pk}/")  # htmx swapped the panel in place
    promise = PromiseToPay.objects.get()
    assert (promise.amount_minor, promise.promised_date, promise.collector) == (
        80000,
        D(2030, 1, 15),
        book.bob,
    )
    assert list(promise.invoices.values_list("number", flat=True)) == ["INV-P1"]
    assert Activity.objects.filter(kind="call", outcome="right_party", actor=book.bob).count() == 1
