"""held_amounts and open_dispute_totals: the contract the collections app builds on."""

from __future__ import annotations

import datetime as dt

from ardesk.core.money import Money
from ardesk.disputes import selectors, services
from ardesk.disputes.services import LineIn
from ardesk.ledger import services as ledger
from tests.factories import ledger as lf

D = dt.date
USD = "USD"


def test_held_amounts_and_totals(book, inv):
    beta, gamma = book.customers["beta"], book.customers["gamma"]
    d1 = services.open_dispute(
        actor=book.bob,
        customer=beta,
        lines=[LineIn(inv["a"], Money(30000, USD)), LineIn(inv["b"])],
        reason="pricing",
        opened_on=D(2026, 2, 1),
    )
    services.open_dispute(
        actor=book.bob,
        customer=beta,
        lines=[LineIn(inv["a"], Money(5000, USD))],
        reason="tax",
        opened_on=D(2026, 2, 2),
    )
    services.open_dispute(
        actor=book.carl, customer=gamma, lines=[LineIn(inv["g"])], reason="damaged", opened_on=D(2026, 2, 1)
    )
    ids = [i.pk for i in inv.values()]
    assert selectors.held_amounts(invoice_ids=ids) == {
        inv["a"].pk: 35000,
        inv["b"].pk: 40000,
        inv["g"].pk: 30000,
    }
    assert selectors.open_dispute_totals(customer_ids=[beta.pk, gamma.pk, book.customers["acme"].pk]) == {
        beta.pk: (2, 75000),
        gamma.pk: (1, 30000),
    }
    # the hold is capped at the open amount: pay 380.00 of INV-B, 20.00 stays open
    pay = lf.payment(beta, "P-1", "380.00", date=D(2026, 2, 3))
    ledger.apply(
        actor=None, invoice=inv["b"], payment=pay, amount=Money(38000, USD), applied_date=D(2026, 2, 3)
    )
    assert selectors.held_amounts(invoice_ids=[inv["b"].pk]) == {inv["b"].pk: 2000}
    assert selectors.open_dispute_totals(customer_ids=[beta.pk]) == {beta.pk: (2, 37000)}
    # resolving invalid ends the hold of d1 (nothing posted)
    services.resolve(
        actor=book.mona, dispute=d1, resolution="invalid", root_cause="customer_error", on_date=D(2026, 2, 10)
    )
    assert selectors.held_amounts(invoice_ids=ids) == {inv["a"].pk: 5000, inv["g"].pk: 30000}
    assert selectors.open_dispute_totals(customer_ids=[beta.pk]) == {beta.pk: (1, 5000)}
    assert selectors.held_amounts(invoice_ids=[]) == {}
