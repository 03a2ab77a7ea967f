"""A small week of activity on bob's customer C-200 (Beta LLC), Monday 2026-03-02 .. Friday 03-06.

bob: four calls (two right party, a voicemail, no answer), a dunning email, a note, a dispute; promises
P1 100.00 on INV-B1 (kept 03-03), P2 50.00 on INV-B2 (broken, found 03-04), P3 30.00 taken 02-20 (broken
before the week). Receipts: 100.00 USD on 03-03 (applied to INV-B1), 10.00 EUR on 03-05 (11.00 USD at
1.10). mona calls Beta on 03-05. Promises evaluated as of 03-06.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

D = dt.date


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture
def week(book: Any) -> dict[str, Any]:
    from ardesk.activities import services
    from ardesk.core.money import Money
    from ardesk.ledger import services as ledger
    from ardesk.ledger.models import FxRate
    from tests.factories import ledger as lf

    beta = book.customers["beta"]
    inv1 = lf.invoice(beta, "INV-B1", "100.00", date=D(2026, 1, 1))
    inv2 = lf.invoice(beta, "INV-B2", "50.00", date=D(2026, 1, 1))
    FxRate.objects.create(rate_date=D(2026, 3, 1), base="EUR", quote="USD", rate=Decimal("1.10"))
    log = services.log_activity
    bob = book.bob
    calls = [
        log(
            actor=bob,
            customer=beta,
            kind="call",
            outcome="right_party",
            occurred_at=at(2),
            duration_seconds=300,
        ),
        log(actor=bob, customer=beta, kind="call", outcome="voicemail", occurred_at=at(3)),
        log(
            actor=bob,
            customer=beta,
            kind="call",
            outcome="no_answer",
            occurred_at=at(4),
            follow_up_on=D(2026, 3, 4),
        ),
        log(
            actor=bob,
            customer=beta,
            kind="call",
            outcome="right_party",
            occurred_at=at(6),
            follow_up_on=D(2026, 3, 6),
        ),
    ]
    log(
        actor=None,
        customer=beta,
        kind="email_sent",
        source="dunning",
        occurred_at=at(4, 6),
        dedupe_key="dun:1",
    )
    log(actor=bob, customer=beta, kind="note", occurred_at=at(5), notes="AP moved to a new system")
    log(actor=bob, customer=beta, kind="dispute", occurred_at=at(5), subject="price dispute INV-B2")
    log(actor=book.mona, customer=beta, kind="call", outcome="right_party", occurred_at=at(5, 9))
    p1 = services.take_promise(
        actor=bob,
        customer=beta,
        amount=Money.of("100.00", "USD"),
        promised_date=D(2026, 3, 3),
        invoices=[inv1],
        grace_days=0,
        occurred_at=at(2, 11),
    )
    p2 = services.take_promise(
        actor=bob,
        customer=beta,
        amount=Money.of("50.00", "USD"),
        promised_date=D(2026, 3, 3),
        invoices=[inv2],
        grace_days=0,
        occurred_at=at(2, 11),
    )
    p3 = services.take_promise(
        actor=bob,
        customer=beta,
        amount=Money.of("30.00", "USD"),
        promised_date=D(2026, 2, 27),
        grace_days=0,
        occurred_at=dt.datetime(2026, 2, 20, 10, tzinfo=dt.UTC),
    )
    pay1 = lf.payment(beta, "CHK-1", "100.00", date=D(2026, 3, 3))
    ledger.apply(
        actor=None, invoice=inv1, payment=pay1, amount=Money(10000, "USD"), applied_date=D(2026, 3, 3)
    )
    lf.payment(beta, "EUR-1", "10.00", date=D(2026, 3, 5), currency="EUR")
    services.evaluate_promises(as_of=D(2026, 3, 6))
    return {"beta": beta, "inv1": inv1, "inv2": inv2, "calls": calls, "p1": p1, "p2": p2, "p3": p3}
