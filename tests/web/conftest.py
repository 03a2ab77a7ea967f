"""A small hand-built book for the page tests, on a fixed date (2026-03-01).

USD unless noted; aging on due date into the default buckets Current, 1-30, 31-60, 61-90, 91-120, 120+.

C-100 Acme Corp (alice), credit limit 5,000.00
    INV-101 1,000.00 due 2026-01-31, 100.00 applied from PAY-1 -> open 900.00, 29 days past due (1-30)
    INV-102   500.00 due 2026-03-17                            -> open 500.00, current
    INV-103   250.00 due 2025-10-31                            -> open 250.00, 121 days past due (120+)
    PAY-1     300.00 on 2026-02-01                             -> 200.00 unapplied
C-110 Acme West (alice), child of C-100
    INV-111   300.00 due 2026-02-20                            -> 9 days past due (1-30)
C-200 Beta LLC (bob)
    INV-201 2,000.00 due 2025-12-31                            -> 60 days past due (31-60)
C-300 Gamma GmbH (carl)
    INV-301 EUR 700.00 due 2026-02-10                          -> 19 days past due (1-30)
C-400 Delta Inc (unassigned)
    INV-401   100.00 due 2026-01-15, paid by PAY-2 (100.00)    -> paid
    INV-402    40.00 due 2026-03-01                            -> due today: current
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from ardesk.core.money import Money
from ardesk.ledger import services
from tests.factories import ledger as lf

AS_OF = dt.date(2026, 3, 1)
D = dt.date
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def ar(book: Any) -> Any:
    acme, beta, gamma, delta = (book.customers[k] for k in ("acme", "beta", "gamma", "delta"))
    acme = services.update_customer(actor=book.ada, customer=acme, credit_limit_minor=500_000)
    book.customers["acme"] = acme
    west = lf.customer("C-110", "Acme West", collector=book.alice, parent=acme, territory="East", region="NA")
    book.customers["west"] = west

    inv = {
        "101": lf.invoice(acme, "INV-101", "1000.00", date=D(2026, 1, 1), due=D(2026, 1, 31)),
        "102": lf.invoice(acme, "INV-102", "500.00", date=D(2026, 2, 15), due=D(2026, 3, 17)),
        "103": lf.invoice(acme, "INV-103", "250.00", date=D(2025, 10, 1), due=D(2025, 10, 31)),
        "111": lf.invoice(west, "INV-111", "300.00", date=D(2026, 2, 1), due=D(2026, 2, 20)),
        "201": lf.invoice(beta, "INV-201", "2000.00", date=D(2025, 12, 1), due=D(2025, 12, 31)),
        "301": lf.invoice(
            gamma, "INV-301", "700.00", date=D(2026, 1, 20), due=D(2026, 2, 10), currency="EUR"
        ),
        "401": lf.invoice(delta, "INV-401", "100.00", date=D(2026, 1, 1), due=D(2026, 1, 15)),
        "402": lf.invoice(delta, "INV-402", "40.00", date=D(2026, 2, 20), due=D(2026, 3, 1)),
    }
    pay1 = lf.payment(acme, "PAY-1", "300.00", date=D(2026, 2, 1))
    pay2 = lf.payment(delta, "PAY-2", "100.00", date=D(2026, 1, 20))
    services.apply(
        actor=book.ada,
        invoice=inv["101"],
        amount=Money.of("100.00", "USD"),
        applied_date=D(2026, 2, 1),
        payment=pay1,
    )
    services.apply(
        actor=book.ada,
        invoice=inv["401"],
        amount=Money.of("100.00", "USD"),
        applied_date=D(2026, 1, 20),
        payment=pay2,
    )
    book.invoices = inv
    book.payments = {"PAY-1": pay1, "PAY-2": pay2}
    return book


def login(client: Client, user: Any) -> Client:
    client.force_login(user, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def as_user(client: Client) -> Any:
    """`as_user(book.alice)` logs the test client in as that persona and returns it."""

    def _login(user: Any) -> Client:
        return login(client, user)

    return _login
