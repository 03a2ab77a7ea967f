"""End to end: open a dispute from an invoice, assign it, resolve it valid, see the credit memo and the
cycle time."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ardesk.disputes.models import Dispute
from ardesk.ledger.models import Invoice
from tests.factories import ledger as lf
from tests.factories.people import PASSWORD

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = dt.date


def _logout(page) -> None:
    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/**")


def test_open_assign_resolve_valid(page, book):
    inv = lf.invoice(book.customers["beta"], "INV-E2E-D1", "1200.00", date=D(2026, 1, 15), due=D(2026, 2, 14))
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=True):
        login(page, "bob", PASSWORD)
        page.wait_for_url("**/")
        page.goto(f"/invoices/{inv.pk}/")
        page.click("#open-dispute")  # in the disputes panel, loaded by htmx
        page.wait_for_url("**/disputes/open/**")
        assert page.locator(f"#pick_{inv.pk}").is_checked()
        page.fill(f"input[name=amount_{inv.pk}]", "400.00")
        page.select_option("select[name=reason]", "pricing")
        page.fill("input[name=customer_reference]", "CLM-77")
        page.click("text=Open dispute")
        page.wait_for_selector("#assign-form")
        dispute = Dispute.objects.get()
        assert page.locator("[data-field=amount]").inner_text() == "400.00 USD"
        page.select_option("#assign-form select[name=owner]", label="rita")
        page.select_option("#assign-form select[name=department]", "billing")
        page.click("#assign-form button[type=submit]")
        page.wait_for_selector(f"text={dispute.number} assigned to rita.")
        assert "rita" in page.locator("[data-field=owner]").inner_text()
        _logout(page)

    with time_machine.travel(dt.datetime(2026, 3, 12, 10, 0, tzinfo=dt.UTC), tick=True):
        login(page, "rita", PASSWORD)
        page.wait_for_url("**/")
        page.goto("/disputes/?owner=me")
        page.click(f"text={dispute.number}")
        page.select_option("#resolve-form select[name=resolution]", "valid")
        page.select_option("#resolve-form select[name=root_cause]", "pricing_error")
        page.click("#resolve-form button[type=submit]")
        page.wait_for_selector("[data-field=credit_memo]")
        memo = f"CM-{dispute.number}"
        assert page.locator("[data-field=credit_memo]").inner_text() == memo
        assert page.locator("[data-field=cycle]").inner_text() == "10 days"
        assert page.locator("[data-field=status]").inner_text() == "Resolved"
        _logout(page)

        login(page, "bob", PASSWORD)
        page.wait_for_url("**/")
        page.goto(f"/invoices/{inv.pk}/")
        assert memo in page.locator("#applications").inner_text()
        assert page.locator("[data-field=open]").inner_text() == "800.00 USD"
    assert Invoice.objects.get(pk=inv.pk).open_minor == 80000
