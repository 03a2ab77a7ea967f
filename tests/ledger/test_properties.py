"""Property: for any sequence of invoices, payments, applications, write-offs and reversals, every
invoice's cached open amount equals amount - applications - write-offs, never goes negative, and every
customer's balance is the sum of its parts."""

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ardesk.core.errors import ArdeskError
from ardesk.core.money import Money
from ardesk.ledger import services
from ardesk.ledger.models import Application, Customer, Invoice, Payment, WriteOff
from tests.factories import ledger as lf

D0 = dt.date(2026, 1, 1)

op = st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 1), st.integers(1, 50_000), st.integers(0, 60)),
    st.tuples(st.just("payment"), st.integers(0, 1), st.integers(1, 50_000), st.integers(0, 60)),
    st.tuples(st.just("apply"), st.integers(0, 20), st.integers(0, 20), st.integers(1, 60_000)),
    st.tuples(st.just("reverse"), st.integers(0, 20), st.just(0), st.just(0)),
    st.tuples(st.just("writeoff"), st.integers(0, 20), st.integers(1, 60_000), st.just(0)),
    st.tuples(st.just("reverse_payment"), st.integers(0, 20), st.just(0), st.just(0)),
)


def _pick(items, i):
    return items[i % len(items)] if items else None


def _run(customers, ops):
    invoices, payments = [], []
    for n, (kind, a, b, c) in enumerate(ops):
        try:
            with transaction.atomic():
                if kind == "invoice":
                    invoices.append(
                        services.post_invoice(
                            actor=None,
                            customer=customers[a],
                            number=f"I{n}",
                            invoice_date=D0 + dt.timedelta(c),
                            amount=Money(b, "USD"),
                        )
                    )
                elif kind == "payment":
                    payments.append(
                        services.post_payment(
                            actor=None,
                            customer=customers[a],
                            reference=f"P{n}",
                            payment_date=D0 + dt.timedelta(c),
                            amount=Money(b, "USD"),
                        )
                    )
                elif kind == "apply" and invoices and payments:
                    inv, pay = _pick(invoices, a), _pick(payments, b)
                    services.apply(
                        actor=None,
                        invoice=inv,
                        payment=pay,
                        amount=Money(c, "USD"),
                        applied_date=max(inv.invoice_date, pay.payment_date),
                    )
                elif kind == "reverse":
                    app = _pick(list(Application.objects.filter(reverses__isnull=True)), a)
                    if app:
                        services.reverse_application(
                            actor=None, application=app, on_date=app.applied_date, reason="test"
                        )
                elif kind == "writeoff" and invoices:
                    inv = _pick(invoices, a)
                    services.write_off(
                        actor=None,
                        invoice=inv,
                        on_date=inv.invoice_date,
                        reason="test",
                        amount=Money(b, "USD"),
                    )
                elif kind == "reverse_payment" and payments:
                    pay = _pick(payments, a)
                    services.reverse_payment(
                        actor=None, payment=pay, on_date=pay.payment_date + dt.timedelta(1), reason="test"
                    )
        except ArdeskError:
            pass  # refused operations must leave nothing behind; the invariants below prove it


def _check_invariants():
    for inv in Invoice.objects.all():
        applied = Application.objects.filter(invoice=inv).aggregate(s=Sum("amount_minor"))["s"] or 0
        written = WriteOff.objects.filter(invoice=inv).aggregate(s=Sum("amount_minor"))["s"] or 0
        assert inv.open_minor == inv.amount_minor - applied - written
        assert 0 <= inv.open_minor <= inv.amount_minor
        assert (inv.status == "open") == (inv.open_minor > 0)
    for pay in Payment.objects.all():
        applied = Application.objects.filter(payment=pay).aggregate(s=Sum("amount_minor"))["s"] or 0
        expected = 0 if pay.reversed_on else pay.amount_minor - applied
        assert pay.unapplied_minor == expected >= 0
        if pay.reversed_on:
            assert applied == 0
    for cust in Customer.objects.all():
        invoiced = Invoice.objects.filter(customer=cust).aggregate(s=Sum("amount_minor"))["s"] or 0
        applied = (
            Application.objects.filter(invoice__customer=cust).aggregate(s=Sum("amount_minor"))["s"] or 0
        )
        written = WriteOff.objects.filter(invoice__customer=cust).aggregate(s=Sum("amount_minor"))["s"] or 0
        open_total = Invoice.objects.filter(customer=cust).aggregate(s=Sum("open_minor"))["s"] or 0
        assert open_total == invoiced - applied - written >= 0


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_open_balances_always_derive_from_the_ledger(ops):
    with transaction.atomic():
        customers = [lf.customer("A-1"), lf.customer("A-2")]
        _run(customers, ops)
        _check_invariants()
        transaction.set_rollback(True)
