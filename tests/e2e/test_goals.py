"""End to end: a collector logs a call with a promise on the customer page, the promise is kept by a
payments file a manager imports through the import pages, and the collector's goals dashboard shows the
kept promise and the goal's progress moved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ardesk.goals import services as goal_services
from tests.factories import ledger as lf
from tests.factories.people import PASSWORD

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_kept_promise_moves_the_collectors_goal(page, chromium, live_server, book, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    today = timezone.localdate()
    acme = book.customers["acme"]
    lf.invoice(
        acme, "INV-G1", "1000.00", date=today - dt.timedelta(days=60), due=today - dt.timedelta(days=30)
    )
    goal = goal_services.create_goal(
        actor=book.mona,
        name="Collect after contact",
        metric="collected_after_contact",
        direction="increase",
        target_kind="absolute",
        target_amount=Decimal(50000),  # 500.00 USD in minor units
        scope_kind="collector",
        collector=book.alice,
        period_start=today - dt.timedelta(days=7),
        deadline=today + dt.timedelta(days=60),
        why="A call should bring cash",
    )

    # alice logs a right-party call with a promise of 500.00 in three days, from the customer page
    login(page, "alice", PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/customers/{acme.pk}/")
    panel = page.locator("#activities")
    panel.locator("summary", has_text="Log a call").click()
    panel.locator("input[name=promise_amount]").fill("500.00")
    panel.locator("input[name=promise_date]").fill((today + dt.timedelta(days=3)).isoformat())
    panel.get_by_role("button", name="Reached right party").click()
    page.wait_for_selector("#activities >> text=promise to pay")
    assert "Open" in page.locator("#promises").inner_text()

    # her dashboard: the goal has not moved, nothing kept yet
    page.goto("/goals/")
    row = page.locator(f"#my-goals tr[data-goal='{goal.pk}']")
    assert row.locator("[data-field=actual]").inner_text() == "0.00 USD"
    assert row.locator("[data-field=pct]").inner_text() == "0.00%"
    assert page.locator("#kept-promises").inner_text().strip() == "None yet."

    # mona imports the customer's payment through the import pages; the after-import hook keeps the promise
    pays = tmp_path / "payments.csv"
    pays.write_text(f"customer,reference,payment_date,amount\nC-100,CHK-G1,{today.isoformat()},500.00\n")
    manager = chromium.new_context(base_url=live_server.url)
    manager.set_default_timeout(15_000)
    mpage = manager.new_page()
    login(mpage, "mona", PASSWORD)
    mpage.wait_for_url("**/")
    mpage.goto("/imports/")
    mpage.select_option("select[name=kind]", "payments")
    mpage.set_input_files("input[name=file]", str(pays))
    mpage.click("text=Upload and check")
    mpage.click("#confirm")
    mpage.wait_for_selector("#batch-status")
    manager.close()

    # alice's dashboard now shows the kept promise and the goal reached
    page.goto("/goals/")
    row = page.locator(f"#my-goals tr[data-goal='{goal.pk}']")
    assert row.locator("[data-field=actual]").inner_text() == "500.00 USD"
    assert row.locator("[data-field=pct]").inner_text() == "100.00%"
    assert row.locator("[data-field=status]").inner_text() == "On track"
    kept = page.locator("#kept-promises").inner_text()
    assert "C-100 Acme Corp" in kept and "500.00" in kept
    assert "Calls" in page.locator("#today").inner_text()
