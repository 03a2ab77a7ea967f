"""Deduction measures read from the disputes app, per collector, over the trailing window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from ardesk.disputes.models import Dispute, ReasonCode
from ardesk.goals import services
from ardesk.goals.measures import FactCache, dispute_facts
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db
day = dt.date


def deduction(customer, opened, resolved=None, paid=None, ref="D"):
    payment = lf.payment(customer, f"PAY-{ref}", "10.00", date=paid) if paid else None
    return Dispute.objects.create(
        customer=customer,
        kind="deduction",
        reason=ReasonCode.objects.get_or_create(code="goals-test", defaults={"name": "Pricing"})[0],
        currency="USD",
        amount_minor=1000,
        department="billing",
        opened_on=opened,
        due_on=opened + dt.timedelta(days=30),
        status="resolved" if resolved else "open",
        resolved_on=resolved,
        payment=payment,
    )


def test_dispute_facts_and_the_template(book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    deduction(acme, day(2026, 3, 3), day(2026, 3, 11), paid=day(2026, 2, 22), ref="1")  # 8 days, lag 9
    deduction(acme, day(2026, 3, 5), day(2026, 3, 25), ref="2")  # 20 days
    deduction(acme, day(2026, 1, 1), day(2026, 2, 1), ref="3")  # resolved before the window
    deduction(beta, day(2026, 3, 20), paid=day(2026, 3, 2), ref="4")  # open; lag 18
    facts = dispute_facts([book.alice.pk, book.bob.pk], day(2026, 3, 31), 30)
    assert facts[book.alice.pk] == {
        "deductions_resolved": 2,
        "deduction_cycle_days": 28,
        "deductions_logged": 1,
        "deduction_log_lag_days": 9,
    }
    assert facts[book.bob.pk] == {
        "deductions_resolved": 0,
        "deduction_cycle_days": 0,
        "deductions_logged": 1,
        "deduction_log_lag_days": 18,
    }
    cache = FactCache()
    assert cache.value("deduction_cycle_time", [book.alice.pk, book.bob.pk], day(2026, 3, 31), 30) == D(
        "14.00"
    )
    goal = services.create_from_template(
        actor=book.mona,
        template="cut_deduction_cycle_time",
        scope_kind="collector",
        collector=book.alice,
        period_start=day(2026, 3, 31),
        deadline=day(2026, 6, 30),
    )[0]
    assert (goal.metric, goal.baseline_value, goal.target_amount) == (
        "deduction_cycle_time",
        D("14.00"),
        D(-25),
    )
