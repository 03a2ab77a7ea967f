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


def test_manager_imports_invoices_through_the_web(page, book, settings, tmp_path):
    """Upload a file with a bad row, see the problem named, fix it, import it, see the invoice."""
    settings.MEDIA_ROOT = tmp_path
    bad = tmp_path / "invoices-bad.csv"
    bad.write_text(
        "number,customer,invoice_date,due_date,amount,currency\n"
        "INV-W1,C-100,2026-03-01,2026-03-31,1500.00,USD\n"
        "INV-W2,C-100,2026-03-05,2026-03-01,20.00,USD\n"
    )
    good = tmp_path / "invoices.csv"
    good.write_text(
        "number,customer,invoice_date,due_date,amount,currency\n"
        "INV-W1,C-100,2026-03-01,2026-03-31,1500.00,USD\n"
        "INV-W2,C-100,2026-03-05,2026-04-04,20.00,USD\n"
    )
    login(page, "mona", PASSWORD)
    page.wait_for_url("**/")
    page.goto("/imports/")
    page.select_option("select[name=kind]", "invoices")
    page.set_input_files("input[name=file]", str(bad))
    page.click("text=Upload and check")
    errors = page.locator("#errors").inner_text()
    assert "3" in errors and "due" in errors.lower()  # row 3, the due date before the invoice date
    assert page.locator("#confirm").count() == 0  # a file with errors cannot be imported

    page.goto("/imports/")
    page.select_option("select[name=kind]", "invoices")
    page.set_input_files("input[name=file]", str(good))
    page.click("text=Upload and check")
    page.click("#confirm")
    page.wait_for_selector("#batch-status")
    assert "Imported" in page.locator("#batch-status").inner_text()

    acme = book.customers["acme"]
    page.goto(f"/customers/{acme.pk}/")
    items = page.locator("#open-items").inner_text()
    assert "INV-W1" in items and "1,500.00" in items and "INV-W2" in items
