"""The same seeded demo book gives the same figures, to the cent, on SQLite and PostgreSQL.

The figures were computed once and pinned; this file runs in both suites of `make test`, so a difference
between the databases fails one of them. On the same book, the figures as of 30 June do not move when
later payments, invoices and write-offs are posted.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from ardesk.core.money import Money
from ardesk.ledger import demo, services
from ardesk.ledger.models import Invoice, Payment
from ardesk.metrics.selectors import SYSTEM, kpis

AS_OF = dt.date(2026, 6, 30)
TOTAL_FIELDS = (
    "open_ar",
    "past_due",
    "over_90",
    "sales_window",
    "buckets",
    "dso",
    "countback_dso",
    "cei",
    "adp",
)

PINNED_CURRENCIES = ["CAD", "EUR", "USD"]
PINNED_TOTALS = {
    "CAD": {
        "open_ar": 13808264,
        "past_due": 11860890,
        "over_90": 9594829,
        "sales_window": 2760005,
        "buckets": (1947374, 505668, 132875, 1627518, 2338524, 7256305),
        "dso": Decimal("450.27"),
        "countback_dso": Decimal("202.68"),
        "cei": Decimal("24.68"),
        "adp": Decimal("59.00"),
    },
    "EUR": {
        "open_ar": 177702112,
        "past_due": 77995578,
        "over_90": 1993861,
        "sales_window": 176175082,
        "buckets": (99706534, 61561307, 12978074, 1462336, 0, 1993861),
        "dso": Decimal("90.78"),
        "countback_dso": Decimal("90.53"),
        "cei": Decimal("61.04"),
        "adp": Decimal("83.80"),
    },
    "USD": {
        "open_ar": 36901896,
        "past_due": 18556819,
        "over_90": 836326,
        "sales_window": 34718253,
        "buckets": (18345077, 8569274, 6958581, 2192638, 170187, 666139),
        "dso": Decimal("95.66"),
        "countback_dso": Decimal("86.03"),
        "cei": Decimal("58.03"),
        "adp": Decimal("67.36"),
    },
}
# (collector username, currency): (open AR, past due, over 90, sales in the 90-day window), minor units
PINNED_BY_COLLECTOR = {
    (None, "EUR"): (0, 0, 0, 0),
    (None, "USD"): (2648623, 962299, 0, 3397507),
    ("alice", "USD"): (2024140, 958405, 0, 5062287),
    ("bob", "USD"): (3805815, 2798298, 0, 1477008),
    ("carl", "USD"): (4892370, 1742810, 110756, 5088734),
    ("dana", "USD"): (20440189, 10784789, 426899, 16067172),
    ("eli", "USD"): (578041, 233567, 233567, 606814),
    ("fay", "USD"): (2067281, 951759, 65104, 2573294),
    ("gus", "CAD"): (2604920, 657546, 19003, 2760005),
    ("hana", "USD"): (445437, 124892, 0, 445437),
    ("ivan", "CAD"): (11203344, 11203344, 9575826, 0),
    ("jules", "EUR"): (177702112, 77995578, 1993861, 176175082),
}


@pytest.fixture
def seeded_book(db):
    demo.build(demo.DemoConfig(seed=7, customers=60, years=2, as_of=AS_OF))


def test_seeded_book_totals_are_pinned(seeded_book):
    rows = {r.currency: r for r in kpis(SYSTEM, AS_OF)}
    assert sorted(rows) == PINNED_CURRENCIES
    assert {c: {f: getattr(r, f) for f in TOTAL_FIELDS} for c, r in rows.items()} == PINNED_TOTALS


def test_seeded_book_by_collector_is_pinned(seeded_book):
    names = {str(u.pk): u.username for u in User.objects.all()}
    got = {
        (names.get(r.key), r.currency): (r.open_ar, r.past_due, r.over_90, r.sales_window)
        for r in kpis(SYSTEM, AS_OF, by="collector")
    }
    assert got == PINNED_BY_COLLECTOR


def test_as_of_figures_survive_later_history(seeded_book):
    before = [dataclasses.asdict(r) for r in kpis(SYSTEM, AS_OF, by="territory")]
    invoice = (
        Invoice.objects.filter(status="open", currency="USD", invoice_date__lte=AS_OF).order_by("id").first()
    )
    customer = invoice.customer
    pay = services.post_payment(
        actor=None,
        customer=customer,
        reference="LATE-1",
        payment_date=dt.date(2026, 7, 15),
        amount=Money(invoice.open_minor, "USD"),
    )
    services.apply(
        actor=None,
        invoice=invoice,
        payment=pay,
        amount=Money(invoice.open_minor, "USD"),
        applied_date=dt.date(2026, 7, 15),
    )
    services.post_invoice(
        actor=None,
        customer=customer,
        number="LATER-1",
        invoice_date=dt.date(2026, 8, 1),
        amount=Money(123456, "USD"),
    )
    other = (
        Invoice.objects.filter(status="open", currency="USD", invoice_date__lte=AS_OF).order_by("-id").first()
    )
    services.write_off(actor=None, invoice=other, on_date=dt.date(2026, 9, 1), reason="later")
    assert Payment.objects.filter(reference="LATE-1").exists()
    after = [dataclasses.asdict(r) for r in kpis(SYSTEM, AS_OF, by="territory")]
    assert after == before
    # ...while the figures of a later date did move: 1,234.56 invoiced, the paid and written-off ones gone
    usd = {d: next(r for r in kpis(SYSTEM, d) if r.currency == "USD") for d in (AS_OF, dt.date(2026, 9, 1))}
    assert (
        usd[dt.date(2026, 9, 1)].open_ar
        == usd[AS_OF].open_ar + 123456 - invoice.open_minor - other.open_minor
    )
