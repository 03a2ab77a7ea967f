"""End-to-end flows in a real browser."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.core.money import Money
from ardesk.ledger import services
from tests.factories import ledger as lf
from tests.factories.people import PASSWORD

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = dt.date


def test_collector_logs_in_and_opens_a_customer(page, book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-E2E-1", "1250.00", date=D(2026, 1, 1), due=D(2026, 1, 31))
    pay = lf.payment(acme, "CHK-E2E", "250.00", date=D(2026, 2, 1))
    services.apply(
        actor=None, invoice=inv, payment=pay, amount=Money(25000, "USD"), applied_date=D(2026, 2, 1)
    )

    login(page, "alice", PASSWORD)
    page.wait_for_url("**/")
    page.click("nav >> text=Customers")
    page.wait_for_url("**/customers/**")
    # alice's portfolio only: Acme, never Beta (bob's)
    assert page.locator("text=Acme Corp").count() >= 1
    assert page.locator("text=Beta LLC").count() == 0
    page.get_by_role("link", name="Acme Corp").click()
    page.wait_for_url(f"**/customers/{acme.pk}/")
    open_items = page.locator("#open-items")
    assert "INV-E2E-1" in open_items.inner_text()
    assert "1,000.00" in open_items.inner_text()


def test_wrong_password_is_refused_then_locked_out(page, book):
    for _ in range(5):
        login(page, "bob", "not-the-password")
    assert "locked" in page.content().lower()
    login(page, "bob", PASSWORD)  # even the right password is refused while locked
    assert "locked" in page.content().lower()
