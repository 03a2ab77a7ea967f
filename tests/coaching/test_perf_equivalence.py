"""The faster reads of the coaching analysis give the same figures as the straightforward ones.

- the past due per customer: the aging read per currency with only the past-due buckets translated equals
  the base-currency aging's open AR less its first bucket (`aging(..., currency_mode="base")`), on a book
  with several currencies per customer and amounts whose translation rounds;
- the analysis of one collector (its facts and its peers' only) equals that collector's analysis within
  the analysis of everyone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from ardesk.coaching import selectors
from ardesk.ledger.models import FxRate
from ardesk.metrics.selectors import SYSTEM, aging
from tests.factories import ledger as lf

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 31)
D = dt.date


@pytest.fixture
def mixed(book):
    FxRate.objects.create(rate_date=D(2026, 1, 1), base="EUR", quote="USD", rate=Decimal("1.0837"))
    FxRate.objects.create(rate_date=D(2026, 1, 1), base="GBP", quote="USD", rate=Decimal("1.2651"))
    acme, beta, gamma = (book.customers[k] for k in ("acme", "beta", "gamma"))
    # past due in several buckets and currencies; odd amounts so each translation rounds
    lf.invoice(acme, "A-USD-1", "1000.01", date=D(2025, 11, 1))
    lf.invoice(acme, "A-EUR-1", "333.33", date=D(2026, 1, 10), currency="EUR")
    lf.invoice(acme, "A-EUR-2", "77.77", date=D(2025, 12, 5), currency="EUR")
    lf.invoice(acme, "A-GBP-1", "12.34", date=D(2026, 2, 1), currency="GBP")
    lf.invoice(acme, "A-EUR-3", "55.55", date=D(2026, 3, 25), currency="EUR")  # not yet due
    lf.invoice(beta, "B-EUR-1", "0.05", date=D(2026, 1, 2), currency="EUR")
    lf.invoice(beta, "B-EUR-2", "0.05", date=D(2025, 10, 2), currency="EUR")
    lf.invoice(beta, "B-GBP-1", "999.99", date=D(2025, 6, 30), currency="GBP")
    lf.invoice(gamma, "G-USD-1", "10.00", date=D(2026, 3, 20))  # nothing past due
    return book


def test_past_due_by_customer_equals_the_base_currency_aging(mixed):
    book = mixed
    ids = [book.alice.pk, book.bob.pk, book.carl.pk]
    expected: dict[int, int] = {}
    for row in aging(SYSTEM, AS_OF, "customer", filters={"collector": ids}, currency_mode="base"):
        if row.key:
            expected[int(row.key)] = expected.get(int(row.key), 0) + row.open_ar - row.buckets[0]
    got = selectors._past_due_by_customer(ids, AS_OF)
    assert {k: v for k, v in got.items() if v or k in expected} == expected
    acme, beta, gamma = (book.customers[k].pk for k in ("acme", "beta", "gamma"))
    assert expected[gamma] == 0
    assert expected[acme] > 100001 and expected[beta] > 0  # the case is not trivial


def test_one_collector_analysed_alone_equals_the_analysis_of_everyone(mixed):
    book = mixed
    from ardesk.activities.services import log_activity

    for who, cust, n in ((book.alice, "acme", 3), (book.bob, "beta", 5), (book.carl, "gamma", 2)):
        for i in range(n):
            log_activity(
                actor=who,
                customer=book.customers[cust],
                kind="call",
                outcome="right_party" if i % 2 else "voicemail",
                occurred_at=dt.datetime(2026, 3, 10 + i, 9, tzinfo=dt.UTC),
            )
    people = [book.alice, book.bob, book.carl]
    together = selectors.analyse(people, AS_OF, detail=True)
    for u in people:
        alone = selectors.analyse([u], AS_OF, detail=True)[u.pk]
        assert dataclasses.asdict(alone) == dataclasses.asdict(together[u.pk])
