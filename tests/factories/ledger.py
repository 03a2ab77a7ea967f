"""Small builders for ledger rows; each goes through the services, so tests exercise the real path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ardesk.core.money import Money
from ardesk.ledger import services
from ardesk.ledger.models import Customer, Invoice, LegalEntity, Payment, PaymentTerms

D = dt.date


def entity(code: str = "US01", currency: str = "USD") -> LegalEntity:
    return LegalEntity.objects.get_or_create(
        code=code, defaults={"name": f"Entity {code}", "functional_currency": currency}
    )[0]


def terms(code: str = "NET30", days: int = 30) -> PaymentTerms:
    return PaymentTerms.objects.get_or_create(code=code, defaults={"name": f"Net {days}", "net_days": days})[
        0
    ]


def customer(
    account: str,
    name: str | None = None,
    *,
    collector: Any = None,
    actor: Any = None,
    ent: LegalEntity | None = None,
    **fields: Any,
) -> Customer:
    fields.setdefault("payment_terms", terms())
    return services.create_customer(
        actor=actor,
        entity=ent or entity(),
        account_number=account,
        name=name or f"Customer {account}",
        collector=collector,
        **fields,
    )


def invoice(
    cust: Customer,
    number: str,
    amount: str,
    *,
    date: dt.date = D(2026, 1, 1),
    due: dt.date | None = None,
    currency: str = "USD",
    actor: Any = None,
) -> Invoice:
    return services.post_invoice(
        actor=actor,
        customer=cust,
        number=number,
        invoice_date=date,
        due_date=due,
        amount=Money.of(amount, currency),
    )


def payment(
    cust: Customer,
    reference: str,
    amount: str,
    *,
    date: dt.date = D(2026, 2, 1),
    currency: str = "USD",
    actor: Any = None,
) -> Payment:
    return services.post_payment(
        actor=actor, customer=cust, reference=reference, payment_date=date, amount=Money.of(amount, currency)
    )
