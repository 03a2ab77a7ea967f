"""Ledger services on a real database: posting, applying, reversing, writing off, scoping."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from ardesk.core.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    DuplicateKey,
    ImmutableRecord,
    InvalidInput,
    NotFound,
    OverApplication,
    PermissionDenied,
)
from ardesk.core.models import AuditLog
from ardesk.core.money import Money
from ardesk.ledger import selectors, services
from ardesk.ledger.models import Application, Invoice, Payment, PortfolioAssignment
from tests.factories import ledger as lf

D = dt.date
USD = "USD"


def test_invoice_due_date_from_terms_and_audit(book):
    inv = lf.invoice(book.customers["acme"], "INV-1", "1000.00", date=D(2026, 1, 10), actor=book.ada)
    assert (inv.due_date, inv.open_minor, inv.status) == (D(2026, 2, 9), 100000, "open")
    row = AuditLog.objects.get(action="invoice.post")
    assert (row.actor, row.object_id, row.after["amount_minor"]) == (book.ada, str(inv.pk), 100000)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"amount": Money(0, USD)}, InvalidInput, "invoice amount must be positive"),
        ({"due_date": D(2025, 12, 1)}, InvalidInput, "due date is before the invoice date"),
        ({"tax": Money(200000, USD)}, InvalidInput, "tax must be between zero and the invoice amount"),
        ({"tax": Money(100, "EUR")}, CurrencyMismatch, "tax is in EUR"),
        ({"number": "  "}, InvalidInput, "invoice number is required"),
    ],
)
def test_invoice_bad_input(book, kwargs, error, message):
    args = {
        "customer": book.customers["acme"],
        "number": "INV-X",
        "invoice_date": D(2026, 1, 1),
        "amount": Money(100000, USD),
        **kwargs,
    }
    with pytest.raises(error, match=message):
        services.post_invoice(actor=book.ada, **args)
    assert Invoice.objects.count() == 0


def test_duplicate_invoice_number_is_refused(book):
    lf.invoice(book.customers["acme"], "INV-1", "10.00")
    with pytest.raises(DuplicateKey, match="invoice 'INV-1' already exists"):
        lf.invoice(book.customers["beta"], "INV-1", "20.00")


def test_partial_then_full_application(book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "1000.00")
    pay = lf.payment(acme, "CHK-1", "1500.00", date=D(2026, 2, 1))
    services.apply(
        actor=book.cash, invoice=inv, payment=pay, amount=Money(40000, USD), applied_date=D(2026, 2, 1)
    )
    inv.refresh_from_db()
    assert (inv.open_minor, inv.status, inv.closed_on) == (60000, "open", None)
    services.apply(
        actor=book.cash, invoice=inv, payment=pay, amount=Money(60000, USD), applied_date=D(2026, 2, 3)
    )
    inv.refresh_from_db()
    pay.refresh_from_db()
    assert (inv.open_minor, inv.status, inv.closed_on) == (0, "paid", D(2026, 2, 3))
    assert pay.unapplied_minor == 50000


def test_over_application_is_refused_and_changes_nothing(book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pay = lf.payment(acme, "CHK-1", "500.00")
    with pytest.raises(OverApplication, match=r"INV-1 has 100.00 USD open \(Open\); cannot apply 100.01 USD"):
        services.apply(
            actor=book.cash, invoice=inv, payment=pay, amount=Money(10001, USD), applied_date=D(2026, 2, 1)
        )
    small = lf.payment(acme, "CHK-2", "50.00")
    with pytest.raises(OverApplication, match=r"Payment has 50\.00 USD unapplied; cannot apply 60\.00 USD"):
        services.apply(
            actor=book.cash, invoice=inv, payment=small, amount=Money(6000, USD), applied_date=D(2026, 2, 1)
        )
    inv.refresh_from_db()
    small.refresh_from_db()
    assert (inv.open_minor, small.unapplied_minor, Application.objects.count()) == (10000, 5000, 0)


def test_application_rules(book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    inv = lf.invoice(acme, "INV-1", "100.00", date=D(2026, 1, 1))
    eur = lf.payment(acme, "EUR-1", "100.00", currency="EUR")
    with pytest.raises(CurrencyMismatch, match="cannot apply EUR payment to a USD invoice"):
        services.apply(
            actor=None, invoice=inv, payment=eur, amount=Money(100, "EUR"), applied_date=D(2026, 2, 1)
        )
    other = lf.payment(beta, "B-1", "100.00")
    with pytest.raises(InvalidInput, match="INV-1 belongs to C-100, not to C-200"):
        services.apply(
            actor=None, invoice=inv, payment=other, amount=Money(100, USD), applied_date=D(2026, 2, 1)
        )
    pay = lf.payment(acme, "CHK-1", "100.00", date=D(2026, 2, 1))
    with pytest.raises(InvalidInput, match="before the Payment of 2026-02-01"):
        services.apply(
            actor=None, invoice=inv, payment=pay, amount=Money(100, USD), applied_date=D(2026, 1, 31)
        )


def test_parent_pays_child_invoice(book):
    parent = lf.customer("P-1", "Parent Holdings")
    child = services.update_customer(actor=book.ada, customer=book.customers["acme"], parent=parent)
    inv = lf.invoice(child, "INV-1", "100.00")
    pay = lf.payment(parent, "P-CHK", "100.00")
    services.apply(actor=None, invoice=inv, payment=pay, amount=Money(10000, USD), applied_date=D(2026, 2, 1))
    assert Invoice.objects.get(pk=inv.pk).status == "paid"
    bal = selectors.exposure(parent, D(2026, 3, 1))
    assert bal == {}  # everything paid, nothing open below the parent
    lf.invoice(child, "INV-2", "70.00", date=D(2026, 1, 1))
    assert selectors.exposure(parent, D(2026, 3, 1))[USD].open_ar == 7000
    with pytest.raises(InvalidInput, match="cannot be its own ancestor"):
        services.update_customer(actor=book.ada, customer=parent, parent=child)


def test_reverse_application_reopens_and_cannot_repeat(book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pay = lf.payment(acme, "CHK-1", "100.00")
    app = services.apply(
        actor=None, invoice=inv, payment=pay, amount=Money(10000, USD), applied_date=D(2026, 2, 1)
    )
    rev = services.reverse_application(
        actor=book.cash, application=app, on_date=D(2026, 2, 5), reason="keyed wrong"
    )
    inv.refresh_from_db()
    pay.refresh_from_db()
    assert (rev.amount_minor, inv.open_minor, inv.status, inv.closed_on, pay.unapplied_minor) == (
        -10000,
        10000,
        "open",
        None,
        10000,
    )
    with pytest.raises(AlreadyReversed):
        services.reverse_application(actor=None, application=app, on_date=D(2026, 2, 6), reason="again")
    with pytest.raises(ImmutableRecord):
        services.reverse_application(actor=None, application=rev, on_date=D(2026, 2, 6), reason="again")


def test_write_off_and_its_reversal(book):
    inv = lf.invoice(book.customers["gamma"], "INV-9", "250.00")
    wo = services.write_off(actor=book.mona, invoice=inv, on_date=D(2026, 6, 30), reason="bankrupt")
    inv.refresh_from_db()
    assert (wo.amount_minor, inv.open_minor, inv.status, inv.closed_on) == (
        25000,
        0,
        "written_off",
        D(2026, 6, 30),
    )
    with pytest.raises(InvalidInput, match="needs a reason"):
        services.write_off(actor=None, invoice=inv, on_date=D(2026, 7, 1), reason=" ", amount=Money(1, USD))
    services.reverse_write_off(actor=book.mona, write_off=wo, on_date=D(2026, 7, 3), reason="customer paid")
    inv.refresh_from_db()
    assert (inv.open_minor, inv.status) == (25000, "open")


def test_reverse_payment_unwinds_every_application(book):
    acme = book.customers["acme"]
    i1, i2 = lf.invoice(acme, "INV-1", "60.00"), lf.invoice(acme, "INV-2", "40.00")
    pay = lf.payment(acme, "CHK-NSF", "100.00")
    for inv, amt in ((i1, 6000), (i2, 4000)):
        services.apply(
            actor=None, invoice=inv, payment=pay, amount=Money(amt, USD), applied_date=D(2026, 2, 1)
        )
    services.reverse_payment(actor=book.cash, payment=pay, on_date=D(2026, 2, 10), reason="NSF")
    pay.refresh_from_db()
    assert (pay.reversed_on, pay.unapplied_minor) == (D(2026, 2, 10), 0)
    assert sorted(Invoice.objects.values_list("number", "open_minor", "status")) == [
        ("INV-1", 6000, "open"),
        ("INV-2", 4000, "open"),
    ]
    with pytest.raises(AlreadyReversed):
        services.reverse_payment(actor=None, payment=pay, on_date=D(2026, 2, 11), reason="NSF")


def test_cancel_only_untouched_invoices(book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pay = lf.payment(acme, "CHK-1", "10.00")
    services.apply(actor=None, invoice=inv, payment=pay, amount=Money(1000, USD), applied_date=D(2026, 2, 1))
    with pytest.raises(ImmutableRecord, match="reverse them first"):
        services.cancel_invoice(actor=None, invoice=inv, on_date=D(2026, 2, 2), reason="error")
    fresh = lf.invoice(acme, "INV-2", "100.00")
    services.cancel_invoice(actor=book.ada, invoice=fresh, on_date=D(2026, 2, 2), reason="billed twice")
    fresh.refresh_from_db()
    assert (fresh.status, fresh.open_minor) == ("cancelled", 0)


def test_open_amount_as_of_reproduces_the_past(book):
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00", date=D(2026, 3, 1))
    pay = lf.payment(acme, "CHK-1", "100.00", date=D(2026, 4, 10))
    services.apply(actor=None, invoice=inv, payment=pay, amount=Money(3000, USD), applied_date=D(2026, 4, 10))
    services.write_off(
        actor=None, invoice=inv, on_date=D(2026, 5, 1), reason="small balance", amount=Money(7000, USD)
    )
    inv.refresh_from_db()
    assert [
        selectors.open_amount_as_of(inv, d)
        for d in (D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 10), D(2026, 5, 1))
    ] == [0, 10000, 7000, 0]


def test_constraints_hold_at_the_database(book):
    inv = lf.invoice(book.customers["acme"], "INV-1", "100.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(open_minor=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(open_minor=10001)
    pay = lf.payment(book.customers["acme"], "CHK-1", "1.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=pay.pk).update(unapplied_minor=-5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(invoice=inv, payment=pay, amount_minor=-5, applied_date=D(2026, 2, 1))


def test_reassignment_keeps_history(book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    moved = services.reassign_customers(
        actor=book.mona, customers=[acme, beta], collector=book.carl, reason="cover"
    )
    assert moved == 2
    assert services.reassign_customers(actor=book.mona, customers=[acme], collector=book.carl) == 0
    hist = list(
        PortfolioAssignment.objects.filter(customer=acme)
        .order_by("started_at", "id")
        .values_list("collector__username", "ended_at")
    )
    assert [h[0] for h in hist] == ["alice", "carl"]
    assert hist[0][1] is not None and hist[1][1] is None
    assert AuditLog.objects.filter(action="customer.reassign").count() == 2
    assert list(selectors.customers_for_user(book.alice)) == []


def test_update_customer_audits_only_changes(book):
    acme = book.customers["acme"]
    services.update_customer(actor=book.mona, customer=acme, credit_limit_minor=5000000, territory="East")
    row = AuditLog.objects.get(action="customer.update")
    assert (row.before, row.after) == ({"credit_limit_minor": None}, {"credit_limit_minor": 5000000})
    with pytest.raises(InvalidInput, match="cannot be changed here: account_number"):
        services.update_customer(actor=book.mona, customer=acme, account_number="X")


def test_scoped_getters(book):
    acme, beta = book.customers["acme"], book.customers["beta"]
    assert selectors.get_customer_for_user(book.alice, acme.pk) == acme
    with pytest.raises(NotFound):
        selectors.get_customer_for_user(book.alice, beta.pk)
    with pytest.raises(NotFound):
        selectors.get_customer_for_user(book.alice, "not-a-number")
    with pytest.raises(PermissionDenied):
        selectors.get_customer_for_user(book.audrey, acme.pk, write=True)
    assert selectors.get_customer_for_user(book.mona, beta.pk, write=True) == beta
    with pytest.raises(NotFound):
        selectors.get_customer_for_user(book.walt, beta.pk)
    inv = lf.invoice(beta, "INV-B", "5.00")
    with pytest.raises(NotFound):
        selectors.get_invoice_for_user(book.alice, inv.pk)


def test_balances_and_aging(book):
    acme = book.customers["acme"]
    as_of = D(2026, 6, 30)
    lf.invoice(acme, "CUR", "100.00", date=D(2026, 6, 20), due=D(2026, 7, 20))
    lf.invoice(acme, "D15", "200.00", date=D(2026, 5, 1), due=D(2026, 6, 15))
    lf.invoice(acme, "D45", "300.00", date=D(2026, 4, 1), due=D(2026, 5, 16))
    lf.invoice(acme, "D200", "400.00", date=D(2025, 11, 1), due=D(2025, 12, 12))
    lf.payment(acme, "UNAPP", "50.00", date=D(2026, 6, 1))
    bal = selectors.balances([acme.pk], as_of)[USD]
    assert (bal.open_ar, bal.past_due, bal.unapplied_cash, bal.open_invoices, bal.net) == (
        100000,
        90000,
        5000,
        4,
        95000,
    )
    bounds = [0, 30, 60, 90, 120]
    assert selectors.bucket_labels(bounds) == ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
    assert selectors.customer_aging([acme.pk], as_of, bounds) == {USD: [10000, 20000, 30000, 0, 0, 40000]}


def test_concurrent_applications_never_over_apply(transactional_db, book):
    """Two clerks apply 60.00 each to a 100.00 invoice at the same moment: exactly one wins."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the conditional update is exercised in the tests above")
    acme = book.customers["acme"]
    inv = lf.invoice(acme, "INV-1", "100.00")
    pays = [lf.payment(acme, f"CHK-{i}", "60.00") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work(pay):
        try:
            barrier.wait()
            services.apply(
                actor=None, invoice=inv, payment=pay, amount=Money(6000, USD), applied_date=D(2026, 2, 1)
            )
            outcomes.append("ok")
        except OverApplication:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(p,)) for p in pays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inv.refresh_from_db()
    assert sorted(outcomes) == ["ok", "refused"]
    assert inv.open_minor == 4000


def test_fx_conversion_for_reporting(book):
    services.set_fx_rate(actor=book.ada, rate_date=D(2026, 1, 1), base="EUR", quote="USD", rate="1.10")
    services.set_fx_rate(actor=book.ada, rate_date=D(2026, 2, 1), base="EUR", quote="USD", rate="1.20")
    assert selectors.to_base(Money(10000, "EUR"), D(2026, 1, 15), "USD") == Money(11000, USD)
    assert selectors.to_base(Money(10000, "EUR"), D(2026, 3, 1), "USD") == Money(12000, USD)
    assert selectors.to_base(Money(12000, USD), D(2026, 3, 1), "EUR") == Money(10000, "EUR")
    with pytest.raises(InvalidInput, match="no FX rate EUR->USD on or before 2025-12-31"):
        selectors.to_base(Money(1, "EUR"), D(2025, 12, 31), "USD")
    with pytest.raises(InvalidInput, match="two different currencies"):
        services.set_fx_rate(actor=None, rate_date=D(2026, 1, 1), base="USD", quote="USD", rate="1")
