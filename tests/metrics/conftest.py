"""A hand-built AR book for the KPI tests (on top of the `book` personas), with every figure worked out
by hand in test_kpis.py. As of 31 March 2026, window 90 days = 1 January to 31 March.

alice / C-100 Acme (USD, East)
  A1 2025-12-01 due 12-31  1,000.00  paid 2026-01-20 (P-A1; the check bounces on 04-25)
  A2 2026-01-10 due 02-09  2,000.00  500.00 paid 03-01 (P-A2); the rest on 04-05
  A3 2026-03-15 due 04-14  3,000.00  paid 04-10
  A4 2025-11-01 due 12-01    400.00  written off 02-15
  P-A3 2026-03-20 200.00 unapplied (applied to A2 on 04-05)
bob / C-200 Beta (USD, East)
  B1 2025-10-01 due 10-31    800.00  open; credit CM-B3 100.00 (03-05) applied 04-15, rest written off 04-20
  B2 2026-02-01 due 03-03  1,200.00  paid 03-13 (P-B2); that application is reversed 04-03
carl / C-500 Kappa KK (JPY, West, entity JP01)
  K1 2026-03-01 due 03-31  ¥100,000
  K2 2026-01-15 due 02-14   ¥50,000  paid 04-08
unassigned / C-400 Delta (USD, East)
  D2 2026-03-10 due 04-09    999.00  cancelled 04-02
  D1 2026-04-05 due 05-05    700.00  (posted with the April events: dated after 31 March)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from ardesk.core.money import Money
from ardesk.ledger import services
from tests.factories import ledger as lf

D = dt.date


@dataclass
class KpiBook:
    book: Any
    customers: dict[str, Any]
    inv: dict[str, Any] = field(default_factory=dict)
    pay: dict[str, Any] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    memos: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.book, name)

    def post_april(self) -> None:
        """Everything that happens after 31 March; none of it may change a figure as of 31 March."""
        acme, kappa, delta = (self.customers[k] for k in ("acme", "kappa", "delta"))
        usd = "USD"
        p4 = lf.payment(acme, "P-A4", "1300.00", date=D(2026, 4, 5))
        services.apply(
            actor=None,
            invoice=self.inv["A2"],
            payment=self.pay["P-A3"],
            amount=Money(20000, usd),
            applied_date=D(2026, 4, 5),
        )
        services.apply(
            actor=None,
            invoice=self.inv["A2"],
            payment=p4,
            amount=Money(130000, usd),
            applied_date=D(2026, 4, 5),
        )
        p5 = lf.payment(acme, "P-A5", "3000.00", date=D(2026, 4, 10))
        services.apply(
            actor=None,
            invoice=self.inv["A3"],
            payment=p5,
            amount=Money(300000, usd),
            applied_date=D(2026, 4, 10),
        )
        services.reverse_application(
            actor=None,
            application=self.apps["B2"],
            on_date=D(2026, 4, 3),
            reason="applied to the wrong invoice",
        )
        services.apply(
            actor=None,
            invoice=self.inv["B1"],
            credit_memo=self.memos["CM-B3"],
            amount=Money(10000, usd),
            applied_date=D(2026, 4, 15),
        )
        services.write_off(actor=None, invoice=self.inv["B1"], on_date=D(2026, 4, 20), reason="insolvent")
        services.cancel_invoice(
            actor=None, invoice=self.inv["D2"], on_date=D(2026, 4, 2), reason="billed twice"
        )
        self.inv["D1"] = lf.invoice(delta, "D1", "700.00", date=D(2026, 4, 5))
        pk = lf.payment(kappa, "P-K2", "50000", date=D(2026, 4, 8), currency="JPY")
        services.apply(
            actor=None,
            invoice=self.inv["K2"],
            payment=pk,
            amount=Money(50000, "JPY"),
            applied_date=D(2026, 4, 8),
        )
        services.reverse_payment(actor=None, payment=self.pay["P-A1"], on_date=D(2026, 4, 25), reason="NSF")


@pytest.fixture
def kbook(book: Any) -> KpiBook:
    acme, beta, delta = book.customers["acme"], book.customers["beta"], book.customers["delta"]
    kappa = lf.customer(
        "C-500",
        "Kappa KK",
        collector=book.carl,
        ent=lf.entity("JP01", "JPY"),
        territory="West",
        region="APAC",
    )
    kb = KpiBook(book=book, customers={**book.customers, "kappa": kappa})
    inv, pay = kb.inv, kb.pay

    def apply(invoice: str, payment: str, minor: int, on: dt.date, currency: str = "USD") -> Any:
        return services.apply(
            actor=None,
            invoice=inv[invoice],
            payment=pay[payment],
            amount=Money(minor, currency),
            applied_date=on,
        )

    inv["A1"] = lf.invoice(acme, "A1", "1000.00", date=D(2025, 12, 1), due=D(2025, 12, 31))
    inv["A2"] = lf.invoice(acme, "A2", "2000.00", date=D(2026, 1, 10), due=D(2026, 2, 9))
    inv["A3"] = lf.invoice(acme, "A3", "3000.00", date=D(2026, 3, 15), due=D(2026, 4, 14))
    inv["A4"] = lf.invoice(acme, "A4", "400.00", date=D(2025, 11, 1), due=D(2025, 12, 1))
    pay["P-A1"] = lf.payment(acme, "P-A1", "1000.00", date=D(2026, 1, 20))
    apply("A1", "P-A1", 100000, D(2026, 1, 20))
    pay["P-A2"] = lf.payment(acme, "P-A2", "500.00", date=D(2026, 3, 1))
    apply("A2", "P-A2", 50000, D(2026, 3, 1))
    services.write_off(actor=None, invoice=inv["A4"], on_date=D(2026, 2, 15), reason="small balance")
    pay["P-A3"] = lf.payment(acme, "P-A3", "200.00", date=D(2026, 3, 20))

    inv["B1"] = lf.invoice(beta, "B1", "800.00", date=D(2025, 10, 1), due=D(2025, 10, 31))
    inv["B2"] = lf.invoice(beta, "B2", "1200.00", date=D(2026, 2, 1), due=D(2026, 3, 3))
    pay["P-B2"] = lf.payment(beta, "P-B2", "1200.00", date=D(2026, 3, 13))
    kb.apps["B2"] = apply("B2", "P-B2", 120000, D(2026, 3, 13))
    kb.memos["CM-B3"] = services.post_credit_memo(
        actor=None, customer=beta, number="CM-B3", memo_date=D(2026, 3, 5), amount=Money(10000, "USD")
    )

    inv["K1"] = lf.invoice(kappa, "K1", "100000", date=D(2026, 3, 1), due=D(2026, 3, 31), currency="JPY")
    inv["K2"] = lf.invoice(kappa, "K2", "50000", date=D(2026, 1, 15), due=D(2026, 2, 14), currency="JPY")

    inv["D2"] = lf.invoice(delta, "D2", "999.00", date=D(2026, 3, 10), due=D(2026, 4, 9))
    return kb
