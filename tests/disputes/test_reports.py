"""Dispute reports: pure statistics, and exact figures for a hand-built set on a real database.

The set (as of 2026-03-31, 30-day window 2026-03-02 .. 2026-03-31):

| dispute | invoices         | kind      | opened | resolved | resolution          | root cause     | by   | days |
|---------|------------------|-----------|--------|----------|---------------------|----------------|------|------|
| d1      | INV-A 300.00     | dispute   | 02-01  | 03-03    | valid               | pricing error  | mona | 30   |
| d2      | M1 + M2 (300.00) | dispute   | 03-06  | 03-20    | valid               | billing error  | mona | 14   |
| d3      | INV-B 400.00     | dispute   | 02-15  | 03-31    | invalid             | customer error | rita | 44   |
| d4      | M3 300.00        | dispute   | 03-10  | 03-15    | partial (100.00)    | pricing error  | rita | 5    |
| ded3    | INV-G 20.00      | deduction | 03-20  | 03-25    | invalid             | customer error | mona | 5    |
| ded1    | INV-C 50.00      | deduction | 02-20  | open     |                     |                |      |      |
| ded2    | M4 40.00         | deduction | 03-15  | open     |                     |                |      |      |
| d6      | INV-A 100.00     | dispute   | 01-15  | open (sam, overdue)                                      |

Cycle times [30, 14, 44, 5, 5]: median 14.0, mean 19.6. DDO: open deductions 90.00, new in window
60.00 over 30 days: 90 x 30 / 60 = 45.0 days. Invoice error rate: M1..M4 issued in the window, M1 and M2
in a billing-error dispute: 2 / 4 = 50.00 %.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ardesk.core.money import Money
from ardesk.disputes import reports, services
from ardesk.disputes.services import LineIn
from tests.factories import ledger as lf

D = dt.date
USD = "USD"
AS_OF = D(2026, 3, 31)


# --- pure -----------------------------------------------------------------------------------------------


def test_pure_statistics():
    assert reports.median_days([5, 5, 14, 30, 44]) == Decimal("14.0")
    assert reports.median_days([5, 30]) == Decimal("17.5")
    assert reports.mean_days([30, 14, 5]) == Decimal("16.3")
    assert reports.mean_days([1, 2]) == Decimal("1.5")
    assert reports.mean_days([0, 0, 1, 0]) == Decimal("0.3")  # 0.25 rounds half up
    assert reports.median_days([]) is None and reports.mean_days([]) is None
    assert reports.ddo(open_minor=9000, new_minor=6000, days=30) == Decimal("45.0")
    assert reports.ddo(open_minor=9000, new_minor=0, days=30) is None
    assert reports.percent(2, 4) == Decimal("50.00")
    assert reports.percent(1, 3) == Decimal("33.33")
    assert reports.percent(2, 3) == Decimal("66.67")
    assert reports.percent(1, 0) is None
    assert [reports.age_bucket(n) for n in (0, 30, 31, 60, 61, 90, 91, 400)] == [
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
        "90+",
    ]
    assert reports.pareto({"b": 1, "a": 2, "c": 2}) == [
        ("a", 2, Decimal("40.00")),
        ("c", 2, Decimal("80.00")),
        ("b", 1, Decimal("100.00")),
    ]
    assert reports.window_start(AS_OF, 30) == D(2026, 3, 2)


# --- the hand-built set ---------------------------------------------------------------------------------


@pytest.fixture
def hand_set(book, inv):
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        beta, gamma = book.customers["beta"], book.customers["gamma"]
        m = {
            n: lf.invoice(beta, f"M{n}", amt, date=D(2026, 3, day))
            for n, amt, day in ((1, "100.00", 5), (2, "200.00", 6), (3, "300.00", 10), (4, "400.00", 12))
        }

        def opn(cust, lines, on, reason="pricing", **kw):
            return services.open_dispute(
                actor=book.bob, customer=cust, lines=lines, reason=reason, opened_on=on, **kw
            )

        def ded(cust, invoice, minor, on):
            return opn(
                cust,
                [LineIn(invoice, Money(minor, USD))],
                on,
                reason="shortage",
                kind="deduction",
                channel="deduction",
            )

        def res(d, how, cause, on, by, valid=None):
            services.resolve(
                actor=by, dispute=d, resolution=how, root_cause=cause, on_date=on, valid_amount=valid
            )

        d1 = opn(beta, [LineIn(inv["a"], Money(30000, USD))], D(2026, 2, 1))
        d2 = opn(beta, [LineIn(m[1]), LineIn(m[2])], D(2026, 3, 6), reason="duplicate")
        d3 = opn(beta, [LineIn(inv["b"])], D(2026, 2, 15), reason="shortage")
        d4 = opn(beta, [LineIn(m[3])], D(2026, 3, 10))
        ded3 = ded(gamma, inv["g"], 2000, D(2026, 3, 20))
        ded(beta, inv["c"], 5000, D(2026, 2, 20))
        ded(beta, m[4], 4000, D(2026, 3, 15))
        opn(beta, [LineIn(inv["a"], Money(10000, USD))], D(2026, 1, 15), reason="damaged", owner=book.sam)
        res(d1, "valid", "pricing_error", D(2026, 3, 3), book.mona)
        res(d2, "valid", "billing_error", D(2026, 3, 20), book.mona)
        res(d3, "invalid", "customer_error", D(2026, 3, 31), book.rita)
        res(d4, "partial", "pricing_error", D(2026, 3, 15), book.rita, Money(10000, USD))
        res(ded3, "invalid", "customer_error", D(2026, 3, 25), book.mona)
    return book


def test_cycle_times(hand_set):
    c = reports.cycle_times(hand_set.ada, AS_OF, 30)
    assert (c["resolved"], c["median"], c["mean"]) == (5, Decimal("14.0"), Decimal("19.6"))
    assert [(r.label, r.resolved, r.median, r.mean) for r in c["by_reason"]] == [
        ("Pricing", 2, Decimal("17.5"), Decimal("17.5")),
        ("Quantity / shortage", 2, Decimal("24.5"), Decimal("24.5")),
        ("Duplicate billing", 1, Decimal("14.0"), Decimal("14.0")),
    ]
    assert [(r.label, r.resolved, r.median, r.mean) for r in c["by_owner"]] == [
        ("mona", 3, Decimal("14.0"), Decimal("16.3")),
        ("rita", 2, Decimal("24.5"), Decimal("24.5")),
    ]
    # a shorter window: only what was resolved 03-22 .. 03-31 (d3 44 days, ded3 5 days)
    c10 = reports.cycle_times(hand_set.ada, AS_OF, 10)
    assert (c10["resolved"], c10["median"], c10["mean"]) == (2, Decimal("24.5"), Decimal("24.5"))
    # scope: alice sees none of C-200 / C-300; carl sees only gamma's deduction
    assert reports.cycle_times(hand_set.alice, AS_OF, 30)["resolved"] == 0
    assert reports.cycle_times(hand_set.carl, AS_OF, 30)["resolved"] == 1


def test_ddo(hand_set):
    assert reports.ddo_report(hand_set.ada, AS_OF, 30) == [
        {
            "currency": USD,
            "open_minor": 9000,
            "open_count": 2,
            "new_minor": 6000,
            "days": 30,
            "ddo": Decimal("45.0"),
        }
    ]
    # as of 03-24 ded3 is still open: 110.00 open, 60.00 new (02-23 .. 03-24) -> 55.0 days
    assert reports.ddo_report(hand_set.ada, D(2026, 3, 24), 30)[0]["ddo"] == Decimal("55.0")
    assert reports.ddo_report(hand_set.bob, AS_OF, 30)[0]["ddo"] == Decimal("67.5")  # 90.00 open, 40.00 new


def test_invoice_error_rate(hand_set):
    assert reports.invoice_error_rate(hand_set.ada, AS_OF, 30) == {
        "issued": 4,
        "errors": 2,
        "rate": Decimal("50.00"),
        "days": 30,
    }
    # before d2 was resolved the billing error was not known
    assert reports.invoice_error_rate(hand_set.ada, D(2026, 3, 15), 30)["rate"] == Decimal("0.00")
    assert reports.invoice_error_rate(hand_set.alice, AS_OF, 30)["rate"] is None


def test_root_cause_pareto(hand_set):
    assert [
        (r["key"], r["count"], r["cumulative"]) for r in reports.root_cause_pareto(hand_set.ada, AS_OF, 30)
    ] == [
        ("customer_error", 2, Decimal("40.00")),
        ("pricing_error", 2, Decimal("80.00")),
        ("billing_error", 1, Decimal("100.00")),
    ]


def test_validity_rates(hand_set):
    v = reports.validity_rates(hand_set.ada, AS_OF, 30)
    assert [
        (r.key, r.resolved, r.valid, r.partial, r.invalid, r.valid_rate, r.invalid_rate)
        for r in v["by_reason"]
    ] == [
        ("pricing", 2, 1, 1, 0, Decimal("100.00"), Decimal("0.00")),
        ("shortage", 2, 0, 0, 2, Decimal("0.00"), Decimal("100.00")),
        ("duplicate", 1, 1, 0, 0, Decimal("100.00"), Decimal("0.00")),
    ]
    assert [(r.key, r.resolved, r.valid_rate) for r in v["by_customer"]] == [
        ("C-200", 4, Decimal("75.00")),
        ("C-300", 1, Decimal("0.00")),
    ]


def test_open_breakdown(hand_set):
    o = reports.open_breakdown(hand_set.ada, AS_OF)
    flat = {
        dim: [(r.label, r.count, r.deductions, r.overdue, r.amounts) for r in rows] for dim, rows in o.items()
    }
    assert flat == {
        "age": [
            ("0-30", 1, 1, 0, {USD: 4000}),
            ("31-60", 1, 1, 1, {USD: 5000}),
            ("61-90", 1, 0, 1, {USD: 10000}),
            ("90+", 0, 0, 0, {}),
        ],
        "reason": [("Quantity / shortage", 2, 2, 1, {USD: 9000}), ("Damaged goods", 1, 0, 1, {USD: 10000})],
        "owner": [("(unassigned)", 2, 2, 1, {USD: 9000}), ("sam", 1, 0, 1, {USD: 10000})],
        "department": [("Shipping", 3, 2, 2, {USD: 19000})],
    }
    # sam, a resolver, sees only the dispute assigned to him
    assert [(r.label, r.count) for r in reports.open_breakdown(hand_set.sam, AS_OF)["owner"]] == [("sam", 1)]
