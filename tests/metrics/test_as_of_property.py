"""Property: for any sequence of ledger events (invoices, payments, applications, reversals, write-offs,
cancellations, bounced payments, all with their own dates), the SQL as-of figures equal a brute-force
recomputation from the dated rows (`ledger.selectors.open_amount_as_of` + the pure aging) on every date."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ardesk.core.errors import ArdeskError
from ardesk.core.money import Money
from ardesk.ledger import selectors as ls
from ardesk.ledger import services
from ardesk.ledger.models import Application, Invoice, Payment
from ardesk.metrics import definitions as d
from ardesk.metrics import selectors as ms
from tests.factories import ledger as lf

D0 = dt.date(2026, 1, 1)
BOUNDS = [0, 10, 20, 40]
DATES = [
    D0 - dt.timedelta(1),
    D0,
    D0 + dt.timedelta(20),
    D0 + dt.timedelta(45),
    D0 + dt.timedelta(90),
    D0 + dt.timedelta(200),
]

day = st.integers(0, 120)
invoice_op = st.tuples(st.just("invoice"), st.integers(0, 1), st.integers(1, 50_000), day, st.integers(0, 40))
payment_op = st.tuples(st.just("payment"), st.integers(0, 1), st.integers(1, 50_000), day, st.just(0))
action_op = st.one_of(
    st.tuples(
        st.just("apply"), st.integers(0, 20), st.integers(0, 20), st.integers(1, 100), st.integers(0, 30)
    ),
    st.tuples(st.just("apply"), st.integers(0, 20), st.integers(0, 20), st.just(100), st.integers(0, 30)),
    st.tuples(st.just("reverse"), st.integers(0, 20), st.just(0), st.just(0), st.integers(0, 30)),
    st.tuples(st.just("writeoff"), st.integers(0, 20), st.integers(1, 100), st.just(0), st.integers(0, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0), st.integers(0, 30)),
    st.tuples(st.just("bounce"), st.integers(0, 20), st.just(0), st.just(0), st.integers(0, 30)),
)
ledger_ops = st.tuples(
    st.lists(invoice_op, min_size=2, max_size=8),
    st.lists(payment_op, max_size=4),
    st.lists(action_op, min_size=2, max_size=20),
).map(lambda t: t[0] + t[1] + t[2])


def _pick(items, i):
    return items[i % len(items)] if items else None


def _run(customers, ops):
    invoices, payments = [], []
    for n, (kind, a, b, c, lag) in enumerate(ops):
        later = dt.timedelta(lag)
        try:
            with transaction.atomic():
                if kind == "invoice":
                    date = D0 + dt.timedelta(c)
                    invoices.append(
                        lf.invoice(
                            customers[a], f"I{n}", str(Money(b, "USD").amount), date=date, due=date + later
                        )
                    )
                elif kind == "payment":
                    payments.append(
                        lf.payment(
                            customers[a], f"P{n}", str(Money(b, "USD").amount), date=D0 + dt.timedelta(c)
                        )
                    )
                elif kind == "apply" and invoices:
                    # c% of what can be applied (the invoice's open amount, the payment's unapplied cash);
                    # with no live payment of that customer, it pays by a new one
                    inv = Invoice.objects.get(pk=_pick(invoices, a).pk)
                    own = list(
                        Payment.objects.filter(
                            customer_id=inv.customer_id, reversed_on__isnull=True, unapplied_minor__gt=0
                        ).order_by("id")
                    )
                    pay = _pick(own, b)
                    if pay is None and inv.open_minor > 0:
                        pay = lf.payment(
                            inv.customer, f"P{n}", str(inv.open_amount.amount), date=inv.invoice_date + later
                        )
                        payments.append(pay)
                    amount = min(inv.open_minor, pay.unapplied_minor) * c // 100 if pay else 0
                    if amount > 0:
                        on = max(inv.invoice_date, pay.payment_date) + later
                        services.apply(
                            actor=None, invoice=inv, payment=pay, amount=Money(amount, "USD"), applied_date=on
                        )
                elif kind == "reverse":
                    app = _pick(list(Application.objects.filter(reverses__isnull=True).order_by("id")), a)
                    if app:
                        services.reverse_application(
                            actor=None, application=app, on_date=app.applied_date + later, reason="t"
                        )
                elif kind == "writeoff" and invoices:
                    inv = Invoice.objects.get(pk=_pick(invoices, a).pk)
                    amount = inv.open_minor * b // 100
                    if amount > 0:
                        services.write_off(
                            actor=None,
                            invoice=inv,
                            on_date=inv.invoice_date + later,
                            reason="t",
                            amount=Money(amount, "USD"),
                        )
                elif kind == "cancel" and invoices:
                    inv = _pick(invoices, a)
                    services.cancel_invoice(
                        actor=None, invoice=inv, on_date=inv.invoice_date + later, reason="t"
                    )
                elif kind == "bounce" and payments:
                    pay = _pick(payments, a)
                    services.reverse_payment(
                        actor=None, payment=pay, on_date=pay.payment_date + later, reason="t"
                    )
        except ArdeskError:
            pass


def _brute_force(as_of, window_days=30):
    aging, cash, sales, paid = {}, {}, {}, {}
    start = as_of - dt.timedelta(window_days)
    for inv in Invoice.objects.order_by("id"):
        key = str(inv.customer_id)
        item = (inv.invoice_date, inv.due_date, ls.open_amount_as_of(inv, as_of))
        aging.setdefault(key, []).append(item)
        live = inv.cancelled_on is None or inv.cancelled_on > as_of
        if start < inv.invoice_date <= as_of and live:
            sales[key] = sales.get(key, 0) + inv.amount_minor
        apps = [a for a in inv.applications.all() if a.applied_date <= as_of]
        paid_on = max((a.applied_date for a in apps), default=None)
        if live and apps and sum(a.amount_minor for a in apps) == inv.amount_minor and paid_on > start:
            n, days = paid.get(key, (0, 0))
            paid[key] = (n + 1, days + (paid_on - inv.invoice_date).days)
    for pay in Payment.objects.order_by("id"):
        if pay.payment_date > as_of or (pay.reversed_on is not None and pay.reversed_on <= as_of):
            continue
        applied = sum(a.amount_minor for a in pay.applications.all() if a.applied_date <= as_of)
        key = str(pay.customer_id)
        cash[key] = cash.get(key, 0) + pay.amount_minor - applied
    buckets = {k: d.aging(items, as_of, BOUNDS) for k, items in aging.items()}
    return buckets, {k: v for k, v in cash.items() if v}, sales, paid


@pytest.mark.django_db
@settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=ledger_ops)
def test_sql_as_of_equals_brute_force(ops):
    with transaction.atomic():
        customers = [lf.customer("A-1"), lf.customer("A-2")]
        _run(customers, ops)
        for as_of in DATES:
            buckets, cash, sales, paid = _brute_force(as_of)
            rows = ms.kpis(ms.SYSTEM, as_of, "customer", bounds=BOUNDS, window_days=30)
            got_buckets = {r.key: list(r.buckets) for r in rows if any(r.buckets)}
            assert got_buckets == {k: v for k, v in buckets.items() if any(v)}, as_of
            assert {r.key: r.unapplied_cash for r in rows if r.unapplied_cash} == cash, as_of
            assert {r.key: r.sales_window for r in rows if r.sales_window} == sales, as_of
            got_paid = {r.key: (r.paid_invoices, r.adp) for r in rows if r.paid_invoices}
            assert got_paid == {k: (n, d.average_days_to_pay(days, n)) for k, (n, days) in paid.items()}, (
                as_of
            )
            for r in rows:
                assert sum(r.buckets) == r.open_ar
        transaction.set_rollback(True)
