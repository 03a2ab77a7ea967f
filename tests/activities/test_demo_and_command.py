"""The demo activity history (deterministic, collectors that differ, promises judged by the real payments,
reset) and the `ardesk promises` command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction

from ardesk.activities import demo as activities_demo
from ardesk.activities.measures import collector_measures
from ardesk.activities.models import Activity, PromiseToPay
from ardesk.ledger import demo
from ardesk.ledger.models import Customer

D = dt.date
AS_OF = D(2026, 3, 31)
CFG = demo.DemoConfig(seed=7, customers=60, years=2, as_of=AS_OF)


def build() -> str:
    demo.build(CFG)
    with transaction.atomic():
        return activities_demo.build(cfg=CFG, console=None, verbose=False)


def fingerprint() -> list[tuple[Any, ...]]:
    return list(
        Activity.objects.order_by("customer__account_number", "occurred_at", "kind", "subject").values_list(
            "customer__account_number", "occurred_at", "kind", "outcome", "collector__username", "subject"
        )
    )


@pytest.mark.django_db(transaction=True)
def test_demo_history_is_deterministic_and_collectors_differ():
    summary = build()
    assert summary == PINNED
    first = fingerprint()
    promises = sorted(
        PromiseToPay.objects.values_list("customer__account_number", "taken_on", "status", "paid_minor")
    )
    assert all(p[2] != "open" or p[1] >= AS_OF - dt.timedelta(days=15) for p in promises)
    users = {u.username: u.pk for u in User.objects.filter(collector__isnull=False)}
    m = collector_measures(
        collector_ids=list(users.values()), start=AS_OF - dt.timedelta(days=364), end=AS_OF
    )
    alice, eli, bob = m[users["alice"]], m[users["eli"]], m[users["bob"]]
    assert alice.right_party_rate > eli.right_party_rate * 3  # the star reaches people; eli dials
    held = {name: Customer.objects.filter(collector_id=pk).count() for name, pk in users.items()}
    assert eli.calls / held["eli"] > 1.5 * alice.calls / held["alice"]  # calls per account held
    assert bob.calls / held["bob"] < alice.calls / held["alice"] / 3
    assert alice.kept_rate_count is not None and alice.kept_rate_count >= 70
    # the same seed again, after a reset, gives the same history
    demo.reset()
    assert Activity.objects.count() == 0 and PromiseToPay.objects.count() == 0
    assert build() == summary
    assert fingerprint() == first


PINNED = (
    "activities: 837 activities, 95 payments received, 101 promises "
    "(65 kept, 9 partially kept, 24 broken, 3 open)"
)


def test_promises_command_records_payments_and_evaluates(book, week):
    out = StringIO()
    call_command("promises", "--as-of", "2026-03-20", "--all-payments", stdout=out)
    assert out.getvalue().strip() == (
        "As of 2026-03-20: 2 payments recorded; 2 promises evaluated: 0 kept, 0 partially kept, 2 broken, "
        "0 open; 0 follow-ups created."
    )
    out = StringIO()
    call_command("promises", "--as-of", "2026-03-20", "--all-payments", stdout=out)
    assert out.getvalue().startswith("As of 2026-03-20: 0 payments recorded;")
