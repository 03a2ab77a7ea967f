"""A small book for goal tests: alice (C-100) 1,000.00 and bob (C-200) 500.00 past due on 2026-02-15."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from ardesk.core.models import Team
from ardesk.core.money import Money
from ardesk.goals import services
from ardesk.ledger import services as ledger_services
from tests.factories import ledger as lf

BASE = dt.date(2026, 2, 15)
DEADLINE = dt.date(2026, 4, 15)  # 59 days after BASE


@pytest.fixture
def goal_book(book: Any) -> Any:
    lf.invoice(book.customers["acme"], "INV-A1", "1000.00", date=dt.date(2026, 1, 1))
    lf.invoice(book.customers["beta"], "INV-B9", "500.00", date=dt.date(2026, 1, 1))
    return book


def pay_alice(book: Any, amount: str, on: dt.date) -> None:
    acme = book.customers["acme"]
    inv = acme.invoices.get(number="INV-A1")
    pay = lf.payment(acme, f"PAY-A-{on}", amount, date=on)
    ledger_services.apply(
        actor=None, invoice=inv, payment=pay, amount=Money.of(amount, "USD"), applied_date=on
    )


def east_past_due_goal(book: Any, **kw: Any):
    return services.create_goal(
        actor=book.mona,
        name="Cut past-due 25%",
        metric="past_due",
        direction="decrease",
        target_kind="relative",
        target_amount=D(-25),
        scope_kind="team",
        team=Team.objects.get(name="East"),
        period_start=BASE,
        deadline=DEADLINE,
        why="cash",
        **kw,
    )
