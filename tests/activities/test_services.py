"""Promise and activity services on a real database: take, evaluate (kept, partial, broken, grace days,
idempotent, one follow-up), cancel, payments received, follow-ups, scope, and the import hook."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.activities import services
from ardesk.activities.models import Activity, Kind, PromiseToPay, Source
from ardesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ardesk.core.models import AuditLog
from ardesk.core.money import Money
from ardesk.imports.services import run_import
from ardesk.ledger import services as ledger
from ardesk.ledger.models import Organization
from tests.factories import ledger as lf

D = dt.date
TAKEN_AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # promised 2026-03-10, deadline 03-13


@pytest.fixture
def beta(book):
    return book.customers["beta"]


@pytest.fixture
def inv(beta):
    return lf.invoice(beta, "INV-B1", "100.00", date=D(2026, 1, 1))


def promise(book, beta, inv=None, amount="100.00", **kw):
    return services.take_promise(
        actor=book.bob,
        customer=beta,
        amount=Money.of(amount, "USD"),
        promised_date=kw.pop("promised_date", D(2026, 3, 10)),
        invoices=[inv] if inv else [],
        occurred_at=kw.pop("occurred_at", TAKEN_AT),
        **kw,
    )


def pay(beta, inv, ref, amount, on):
    p = lf.payment(beta, ref, amount, date=on)
    ledger.apply(actor=None, invoice=inv, payment=p, amount=Money.of(amount, "USD"), applied_date=on)
    return p


def state(p):
    p.refresh_from_db()
    return (p.status, p.paid_minor, p.resolved_on)


def follow_ups():
    return list(
        Activity.objects.filter(dedupe_key__startswith="ptp:").values_list("dedupe_key", "follow_up_on")
    )


def test_take_promise_logs_the_activity_and_links_it(book, beta, inv):
    p = promise(book, beta, inv, notes="will pay Tuesday")
    assert (p.amount_minor, p.currency, p.taken_on, p.grace_days, p.status) == (
        10000,
        "USD",
        D(2026, 3, 2),
        3,
        "open",
    )
    assert p.collector == book.bob and list(p.invoices.all()) == [inv]
    a = p.activity
    assert (a.kind, a.source, a.customer, a.collector, a.actor, a.occurred_on) == (
        Kind.PROMISE,
        Source.MANUAL,
        beta,
        book.bob,
        book.bob,
        D(2026, 3, 2),
    )
    assert a.subject == "Promise to pay 100.00 USD by 2026-03-10"
    assert list(a.invoices.all()) == [inv]
    assert AuditLog.objects.filter(action="promise.take", object_id=str(p.pk)).count() == 1


def test_grace_days_default_to_the_organization(book, beta, inv):
    Organization.objects.create(pk=1, ptp_grace_days=5)
    assert promise(book, beta, inv).grace_days == 5
    assert promise(book, beta, inv, grace_days=0).grace_days == 0


def test_take_promise_refuses_bad_input(book, beta, inv):
    other = lf.invoice(book.customers["acme"], "INV-A1", "10.00")
    eur = lf.invoice(beta, "INV-E1", "10.00", currency="EUR")
    cases = [
        (dict(amount="0.00"), "amount"),
        (dict(promised_date=D(2026, 3, 1)), "promised_date"),
        (dict(inv=other), "invoices"),
        (dict(inv=eur), "invoices"),
        (dict(grace_days=99), "grace_days"),
    ]
    for kw, field in cases:
        with pytest.raises(InvalidInput) as exc:
            promise(book, beta, kw.pop("inv", inv), **kw)
        assert exc.value.details["field"] == field
    assert PromiseToPay.objects.count() == 0 and Activity.objects.count() == 0


def test_scope_and_capability(book, beta, inv):
    for who, error in (
        ("alice", NotFound),
        ("walt", NotFound),
        ("audrey", PermissionDenied),
        ("cora", PermissionDenied),
    ):
        with pytest.raises(error):
            services.take_promise(
                actor=book.users[who],
                customer=beta,
                amount=Money(100, "USD"),
                promised_date=D(2026, 3, 10),
                occurred_at=TAKEN_AT,
            )
    # the manager of bob's team and an admin may
    assert promise(book, beta, inv, amount="1.00").collector == book.bob
    p = services.take_promise(
        actor=book.mona,
        customer=beta,
        amount=Money(100, "USD"),
        promised_date=D(2026, 3, 10),
        occurred_at=TAKEN_AT,
    )
    assert p.collector == book.mona  # counts for who took it (log_activity's rule)


def test_kept_when_paid_in_full_within_grace(book, beta, inv):
    p = promise(book, beta, inv)
    pay(beta, inv, "P1", "60.00", D(2026, 3, 5))
    pay(beta, inv, "P2", "40.00", D(2026, 3, 13))  # the last grace day
    s = services.evaluate_promises(as_of=D(2026, 3, 12))
    assert (s.evaluated, s.kept, s.still_open) == (1, 0, 1)
    assert state(p) == ("open", 6000, None)
    s = services.evaluate_promises(as_of=D(2026, 3, 13))
    assert (s.kept, s.follow_ups) == (1, 0)
    assert state(p) == ("kept", 10000, D(2026, 3, 13))
    assert p.evaluated_on == D(2026, 3, 13)
    assert services.evaluate_promises(as_of=D(2026, 3, 30)).evaluated == 0  # kept is final


def test_partial_then_exactly_one_follow_up(book, beta, inv):
    p = promise(book, beta, inv)
    pay(beta, inv, "P1", "40.00", D(2026, 3, 5))
    pay(beta, inv, "P2", "60.00", D(2026, 3, 14))  # a day late: does not count
    s = services.evaluate_promises(as_of=D(2026, 3, 14))
    assert (s.partial, s.follow_ups) == (1, 1)
    assert state(p) == ("partial", 4000, D(2026, 3, 14))
    fu = Activity.objects.get(dedupe_key=f"ptp:{p.pk}:follow-up")
    assert (fu.kind, fu.source, fu.collector, fu.follow_up_on, fu.occurred_on) == (
        "note",
        "system",
        book.bob,
        D(2026, 3, 14),
        D(2026, 3, 14),
    )
    assert (
        fu.subject
        == "Promise partially kept: 40.00 USD of 100.00 USD received by 2026-03-10 (+3 grace days); follow up"
    )
    audits = AuditLog.objects.filter(action="promise.evaluate").count()
    again = services.evaluate_promises(as_of=D(2026, 3, 20))
    assert (again.partial, again.follow_ups) == (1, 0)
    assert (
        AuditLog.objects.filter(action="promise.evaluate").count() == audits
    )  # nothing changed, nothing written
    assert len(follow_ups()) == 1


def test_broken_and_late_money_upgrades_without_a_second_follow_up(book, beta, inv):
    p = promise(book, beta, inv)
    assert services.evaluate_promises(as_of=D(2026, 3, 14)).broken == 1
    assert state(p) == ("broken", 0, D(2026, 3, 14))
    # an earlier as-of does not reopen it
    services.evaluate_promises(as_of=D(2026, 3, 10))
    assert state(p) == ("broken", 0, D(2026, 3, 14))
    # a backdated payment (dated inside the window) arrives later: kept on its date
    pay(beta, inv, "P1", "100.00", D(2026, 3, 11))
    s = services.evaluate_promises(as_of=D(2026, 3, 20))
    assert (s.kept, s.follow_ups) == (1, 0)
    assert state(p) == ("kept", 10000, D(2026, 3, 11))
    assert follow_ups() == [(f"ptp:{p.pk}:follow-up", D(2026, 3, 14))]


def test_zero_grace_days(book, beta, inv):
    p = promise(book, beta, inv, grace_days=0)
    pay(beta, inv, "P1", "100.00", D(2026, 3, 11))
    services.evaluate_promises(as_of=D(2026, 3, 11))
    assert state(p) == ("broken", 0, D(2026, 3, 11))


def test_promise_without_invoices_counts_the_customers_receipts(book, beta):
    p = promise(book, beta, None, amount="50.00")
    lf.payment(beta, "OLD", "50.00", date=D(2026, 3, 1))  # before the promise
    lf.payment(beta, "EUR", "50.00", date=D(2026, 3, 3), currency="EUR")  # another currency
    lf.payment(book.customers["acme"], "ACME", "50.00", date=D(2026, 3, 3))  # another customer
    services.evaluate_promises(as_of=D(2026, 3, 9))
    assert state(p) == ("open", 0, None)
    r = lf.payment(beta, "P1", "30.00", date=D(2026, 3, 4))
    ledger.reverse_payment(actor=None, payment=r, on_date=D(2026, 3, 5), reason="bounced")
    lf.payment(beta, "P2", "20.00", date=D(2026, 3, 8))
    services.evaluate_promises(as_of=D(2026, 3, 9))
    assert state(p) == ("open", 2000, None)
    lf.payment(beta, "P3", "30.00", date=D(2026, 3, 9))
    services.evaluate_promises(as_of=D(2026, 3, 9))
    assert state(p) == ("kept", 5000, D(2026, 3, 9))


def test_customer_filter(book, beta, inv):
    p = promise(book, beta, inv)
    s = services.evaluate_promises(as_of=D(2026, 3, 14), customer_ids=[book.customers["acme"].pk])
    assert s.evaluated == 0 and state(p) == ("open", 0, None)
    assert services.evaluate_promises(as_of=D(2026, 3, 14), customer_ids=[beta.pk]).broken == 1


def test_cancel(book, beta, inv):
    p = promise(book, beta, inv)
    with pytest.raises(InvalidInput):
        services.cancel_promise(actor=book.bob, promise=p, reason="  ")
    services.cancel_promise(actor=book.bob, promise=p, reason="customer disputes it", on_date=D(2026, 3, 3))
    assert state(p) == ("cancelled", 0, D(2026, 3, 3))
    assert p.notes == "Cancelled: customer disputes it"
    with pytest.raises(Conflict):
        services.cancel_promise(actor=book.bob, promise=p, reason="again")
    with pytest.raises(NotFound):
        services.cancel_promise(actor=book.alice, promise=p, reason="not mine")
    assert services.evaluate_promises(as_of=D(2026, 4, 1)).evaluated == 0
    assert AuditLog.objects.filter(action="promise.cancel").count() == 1


def test_payments_received_once_each_for_the_customers_collector(book, beta):
    p1 = lf.payment(beta, "P1", "10.00", date=D(2026, 3, 1))
    lf.payment(beta, "P2", "20.00", date=D(2026, 3, 5))
    lf.payment(book.customers["delta"], "P3", "5.00", date=D(2026, 3, 2))
    assert services.record_payments_received(since=D(2026, 3, 1), until=D(2026, 3, 4)) == 2
    a = Activity.objects.get(dedupe_key=f"payment:{p1.pk}")
    assert (a.kind, a.source, a.collector, a.actor, a.occurred_on, a.subject) == (
        "payment",
        "system",
        book.bob,
        None,
        D(2026, 3, 1),
        "Payment P1 10.00 USD",
    )
    assert services.record_payments_received(since=D(2026, 3, 1), until=D(2026, 3, 4)) == 0
    assert services.record_payments_received(since=None, until=D(2026, 3, 31)) == 1
    assert Activity.objects.filter(kind="payment").count() == 3


def test_complete_follow_up_once(book, beta):
    a = services.log_activity(
        actor=book.bob, customer=beta, kind="call", outcome="no_answer", follow_up_on=D(2026, 3, 5)
    )
    with pytest.raises(NotFound):
        services.complete_follow_up(actor=book.alice, activity=a)
    done = services.complete_follow_up(actor=book.bob, activity=a)
    assert done.follow_up_done_at is not None
    with pytest.raises(Conflict):
        services.complete_follow_up(actor=book.bob, activity=a)
    plain = services.log_activity(actor=book.bob, customer=beta, kind="note")
    with pytest.raises(InvalidInput):
        services.complete_follow_up(actor=book.bob, activity=plain)


def test_importing_the_payment_that_settles_a_promise_marks_it_kept(book, beta, inv, tmp_path):
    p = promise(book, beta, inv)
    pays = tmp_path / "pay.csv"
    pays.write_text("customer,reference,payment_date,amount\nC-200,CHK-9,2026-03-09,100.00\n")
    report = run_import(actor=book.cash, kind="payments", path=pays)
    assert report.ok, report.errors
    # the receipt alone is not applied to the invoice the promise names: still open, but recorded
    assert state(p) == ("open", 0, None)
    assert Activity.objects.filter(kind="payment", customer=beta, occurred_on=D(2026, 3, 9)).count() == 1
    apps = tmp_path / "apps.csv"
    apps.write_text("invoice,payment_reference,applied_date,amount\nINV-B1,CHK-9,2026-03-09,100.00\n")
    report = run_import(actor=book.cash, kind="applications", path=apps)
    assert report.ok, report.errors
    assert state(p) == ("kept", 10000, D(2026, 3, 9))
    assert Activity.objects.filter(kind="payment").count() == 1


def test_importing_a_receipt_keeps_a_promise_without_invoices(book, beta, tmp_path):
    p = promise(book, beta, None, amount="25.00")
    pays = tmp_path / "pay.csv"
    pays.write_text("customer,reference,payment_date,amount\nC-200,CHK-9,2026-03-12,25.00\n")
    assert run_import(actor=book.cash, kind="payments", path=pays).ok
    assert state(p) == ("kept", 2500, D(2026, 3, 12))
