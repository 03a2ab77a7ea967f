"""The dispute services on a real database: opening, workflow, resolution and its ledger postings."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from ardesk.activities.models import Activity, Kind
from ardesk.core.errors import Conflict, InvalidInput
from ardesk.core.models import AuditLog
from ardesk.core.money import Money
from ardesk.disputes import selectors, services
from ardesk.disputes.models import Dispute, DisputeEvent
from ardesk.disputes.services import LineIn
from ardesk.ledger import services as ledger
from ardesk.ledger.models import Application, CreditMemo, Invoice, WriteOff
from tests.factories import ledger as lf

D = dt.date
USD = "USD"


def _open(book, inv, *lines, reason="pricing", on=D(2026, 2, 1), **kw):
    return services.open_dispute(
        actor=book.bob, customer=book.customers["beta"], lines=list(lines), reason=reason, opened_on=on, **kw
    )


def _open_minor(inv):
    return Invoice.objects.get(pk=inv.pk).open_minor


def test_open_sets_sla_department_amount_and_logs(book, inv):
    d = _open(book, inv, LineIn(inv["a"], Money(30000, USD)), LineIn(inv["b"]), customer_reference="RMA-7")
    assert (d.amount_minor, d.currency, d.due_on, d.department, d.status) == (
        70000,
        USD,
        D(2026, 3, 3),  # pricing: 30-day SLA
        "sales",
        "open",
    )
    assert [(ln.invoice.number, ln.amount_minor) for ln in d.lines.select_related("invoice")] == [
        ("INV-A", 30000),
        ("INV-B", 40000),
    ]
    act = Activity.objects.get(kind=Kind.DISPUTE)
    assert act.subject == f"{d.number}: dispute opened: Pricing, 700.00 USD"
    assert sorted(act.invoices.values_list("number", flat=True)) == ["INV-A", "INV-B"]
    assert act.collector == book.bob
    assert AuditLog.objects.filter(action="dispute.open", object_id=str(d.pk)).count() == 1
    assert list(DisputeEvent.objects.filter(dispute=d).values_list("action", flat=True)) == ["opened"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (lambda i: [], "at least one invoice"),
        (lambda i: [LineIn(i["g"])], "belongs to another customer"),
        (lambda i: [LineIn(i["a"]), LineIn(i["a"])], "named twice"),
        (lambda i: [LineIn(i["a"], Money(100001, USD))], "only 1,000.00 USD is open"),
        (lambda i: [LineIn(i["a"], Money(0, USD))], "must be positive"),
    ],
)
def test_open_refuses_bad_lines(book, inv, lines, message):
    with pytest.raises(InvalidInput, match=message):
        _open(book, inv, *lines(inv))
    assert Dispute.objects.count() == 0


def test_open_refuses_unknown_reason_and_owner_without_role(book, inv):
    with pytest.raises(InvalidInput, match="unknown reason code 'nope'"):
        _open(book, inv, LineIn(inv["a"]), reason="nope")
    with pytest.raises(InvalidInput, match="audrey cannot own disputes"):
        _open(book, inv, LineIn(inv["a"]), owner=book.audrey)


def test_workflow_transitions_are_enforced(book, inv):
    d = _open(book, inv, LineIn(inv["a"]))
    services.change_status(actor=book.bob, dispute=d, status="in_research", on_date=D(2026, 2, 2))
    services.change_status(actor=book.bob, dispute=d, status="waiting_customer", on_date=D(2026, 2, 3))
    with pytest.raises(Conflict, match="cannot go from waiting on customer to waiting on customer"):
        services.change_status(actor=book.bob, dispute=d, status="waiting_customer", on_date=D(2026, 2, 3))
    with pytest.raises(InvalidInput, match="use resolve, close or reopen"):
        services.change_status(actor=book.bob, dispute=d, status="resolved", on_date=D(2026, 2, 3))
    with pytest.raises(Conflict, match="only a resolved dispute can be closed"):
        services.close(actor=book.mona, dispute=d, on_date=D(2026, 2, 3))
    services.resolve(
        actor=book.mona, dispute=d, resolution="invalid", root_cause="customer_error", on_date=D(2026, 2, 9)
    )
    with pytest.raises(Conflict, match="cannot go from resolved"):
        services.change_status(actor=book.bob, dispute=d, status="in_research", on_date=D(2026, 2, 10))
    with pytest.raises(Conflict, match="reopen it to reassign"):
        services.assign(actor=book.bob, dispute=d, owner=book.rita, on_date=D(2026, 2, 10))
    services.close(actor=book.mona, dispute=d, on_date=D(2026, 2, 10))
    services.reopen(actor=book.mona, dispute=d, on_date=D(2026, 2, 11), reason="customer sent proof")
    d.refresh_from_db()
    assert (d.status, d.resolution, d.resolved_on, d.closed_on) == ("in_research", "", None, None)
    assert list(DisputeEvent.objects.filter(dispute=d).values_list("action", flat=True)) == [
        "opened",
        "status",
        "status",
        "resolved",
        "closed",
        "reopened",
    ]
    # every state change is an activity and audited
    assert Activity.objects.filter(kind=Kind.DISPUTE, customer=book.customers["beta"]).count() == 6
    assert AuditLog.objects.filter(action__startswith="dispute.", object_id=str(d.pk)).count() == 6


def test_assign_sets_owner_and_department(book, inv):
    d = _open(book, inv, LineIn(inv["a"]))
    services.assign(actor=book.bob, dispute=d, owner=book.rita, department="billing", on_date=D(2026, 2, 2))
    d.refresh_from_db()
    assert (d.owner, d.department) == (book.rita, "billing")
    act = Activity.objects.filter(kind=Kind.DISPUTE).order_by("-id").first()
    assert act.subject == f"{d.number}: assigned to rita (Billing)"
    # assigning the same owner again writes nothing
    n = AuditLog.objects.count()
    services.assign(actor=book.bob, dispute=d, owner=book.rita, department="billing", on_date=D(2026, 2, 2))
    assert AuditLog.objects.count() == n


def test_valid_resolution_posts_exactly_one_credit_memo(book, inv):
    d = _open(book, inv, LineIn(inv["a"], Money(30000, USD)), LineIn(inv["b"], Money(15000, USD)))
    services.resolve(
        actor=book.mona, dispute=d, resolution="valid", root_cause="pricing_error", on_date=D(2026, 2, 20)
    )
    d.refresh_from_db()
    memo = CreditMemo.objects.get()
    assert (memo.number, memo.amount_minor, memo.unapplied_minor, memo.memo_date) == (
        f"CM-{d.number}",
        45000,
        0,
        D(2026, 2, 20),
    )
    assert (d.status, d.resolution, d.valid_minor, d.invalid_minor, d.credit_memo, d.cycle_days()) == (
        "resolved",
        "valid",
        45000,
        0,
        memo,
        19,
    )
    assert (_open_minor(inv["a"]), _open_minor(inv["b"])) == (100000 - 30000, 40000 - 15000)
    assert sorted(Application.objects.values_list("invoice__number", "amount_minor")) == [
        ("INV-A", 30000),
        ("INV-B", 15000),
    ]
    assert selectors.held_amounts(invoice_ids=[inv["a"].pk, inv["b"].pk]) == {}
    # a second resolution is refused and posts nothing
    with pytest.raises(Conflict, match="already resolved"):
        services.resolve(
            actor=book.mona, dispute=d, resolution="valid", root_cause="pricing_error", on_date=D(2026, 2, 21)
        )
    assert CreditMemo.objects.count() == 1 and _open_minor(inv["a"]) == 70000
    # nor can it be reopened: the credit memo is posted
    with pytest.raises(Conflict, match="posted a credit memo"):
        services.reopen(actor=book.mona, dispute=d, on_date=D(2026, 2, 22), reason="again")


def test_stale_object_double_resolution_yields_one(book, inv):
    d = _open(book, inv, LineIn(inv["a"], Money(10000, USD)))
    stale = Dispute.objects.get(pk=d.pk)
    services.resolve(
        actor=book.mona, dispute=d, resolution="valid", root_cause="billing_error", on_date=D(2026, 2, 5)
    )
    with pytest.raises(Conflict):
        services.resolve(
            actor=book.rita,
            dispute=stale,
            resolution="written_off",
            root_cause="other",
            on_date=D(2026, 2, 5),
        )
    assert (CreditMemo.objects.count(), WriteOff.objects.count(), _open_minor(inv["a"])) == (1, 0, 90000)


def test_partial_resolution_credits_the_valid_part_in_line_order(book, inv):
    d = _open(book, inv, LineIn(inv["a"], Money(30000, USD)), LineIn(inv["b"], Money(15000, USD)))
    with pytest.raises(InvalidInput, match=r"less than 450\.00 USD"):
        services.resolve(
            actor=book.mona,
            dispute=d,
            resolution="partial",
            root_cause="pricing_error",
            on_date=D(2026, 2, 5),
            valid_amount=Money(45000, USD),
        )
    services.resolve(
        actor=book.mona,
        dispute=d,
        resolution="partial",
        root_cause="pricing_error",
        on_date=D(2026, 2, 5),
        valid_amount=Money(35000, USD),
    )
    d.refresh_from_db()
    assert (d.valid_minor, d.invalid_minor, d.written_off_minor) == (35000, 10000, 0)
    assert CreditMemo.objects.get().amount_minor == 35000
    assert (_open_minor(inv["a"]), _open_minor(inv["b"])) == (70000, 35000)


def test_written_off_resolution_writes_off_the_disputed_amount(book, inv):
    d = _open(book, inv, LineIn(inv["c"], Money(5000, USD)))
    services.resolve(
        actor=book.mona, dispute=d, resolution="written_off", root_cause="other", on_date=D(2026, 2, 5)
    )
    assert list(WriteOff.objects.values_list("invoice__number", "amount_minor")) == [("INV-C", 5000)]
    assert _open_minor(inv["c"]) == 20000 and CreditMemo.objects.count() == 0


def test_invalid_resolution_posts_nothing(book, inv):
    d = _open(book, inv, LineIn(inv["a"]))
    services.resolve(
        actor=book.mona, dispute=d, resolution="invalid", root_cause="customer_error", on_date=D(2026, 2, 5)
    )
    d.refresh_from_db()
    assert (d.valid_minor, d.invalid_minor) == (0, 100000)
    assert (CreditMemo.objects.count(), WriteOff.objects.count(), _open_minor(inv["a"])) == (0, 0, 100000)


def test_valid_resolution_refused_when_the_invoice_was_paid_meanwhile(book, inv):
    d = _open(book, inv, LineIn(inv["c"]))
    pay = lf.payment(book.customers["beta"], "P-9", "250.00", date=D(2026, 2, 3))
    ledger.apply(
        actor=None, invoice=inv["c"], payment=pay, amount=Money(25000, USD), applied_date=D(2026, 2, 3)
    )
    with pytest.raises(Conflict, match=r"only 0\.00 USD is still open"):
        services.resolve(
            actor=book.mona, dispute=d, resolution="valid", root_cause="billing_error", on_date=D(2026, 2, 5)
        )
    d.refresh_from_db()
    assert d.status == "open" and CreditMemo.objects.count() == 0  # the claim rolled back with the refusal


def test_deductions_from_short_payments_are_idempotent(book, inv):
    beta = book.customers["beta"]
    pay = lf.payment(beta, "P-1", "1380.00", date=D(2026, 2, 10))
    # INV-A paid 980.00 of 1,000.00 (20.00 short: a deduction); INV-B paid 400.00 in full
    ledger.apply(
        actor=None, invoice=inv["a"], payment=pay, amount=Money(98000, USD), applied_date=D(2026, 2, 10)
    )
    ledger.apply(
        actor=None, invoice=inv["b"], payment=pay, amount=Money(40000, USD), applied_date=D(2026, 2, 10)
    )
    # INV-C paid 100.00 of 250.00: 150.00 left is 60%, beyond the 10% tolerance
    pay2 = lf.payment(beta, "P-2", "100.00", date=D(2026, 2, 11))
    ledger.apply(
        actor=None, invoice=inv["c"], payment=pay2, amount=Money(10000, USD), applied_date=D(2026, 2, 11)
    )
    opened = services.detect_short_payments(as_of=D(2026, 2, 28))
    assert [(d.kind, d.channel, d.amount_minor, d.opened_on, d.payment, d.reason.code) for d in opened] == [
        ("deduction", "deduction", 2000, D(2026, 2, 10), pay, "shortage")
    ]
    assert services.detect_short_payments(as_of=D(2026, 2, 28)) == []
    assert Dispute.objects.count() == 1
    assert Activity.objects.get(kind=Kind.DISPUTE).source == "system"
    # opening the same deduction by hand returns the first one
    again = services.open_deduction(actor=book.bob, payment=pay, invoice=inv["a"], short=Money(2000, USD))
    assert again.pk == opened[0].pk and Dispute.objects.count() == 1


@pytest.mark.parametrize(
    ("residual", "amount", "ok"),
    [
        (0, 1000, False),
        (100, 1000, True),
        (101, 1000, False),
        (50_000, 500_000, True),
        (50_001, 10**7, False),
    ],
)
def test_short_payment_tolerance(residual, amount, ok):
    from decimal import Decimal

    assert (
        services.is_short_payment(
            residual_minor=residual, amount_minor=amount, max_minor=50_000, max_percent=Decimal(10)
        )
        is ok
    )


def test_attachments_are_checked_and_stored(book, inv, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    d = _open(book, inv, LineIn(inv["a"]))
    att = services.add_attachment(
        actor=book.bob,
        dispute=d,
        upload=SimpleUploadedFile("pod.pdf", b"%PDF-1.7 ..."),
        on_date=D(2026, 2, 2),
    )
    assert (att.name, att.content_type, att.size) == ("pod.pdf", "application/pdf", 12)
    assert (tmp_path / att.file.name).read_bytes() == b"%PDF-1.7 ..."
    with pytest.raises(InvalidInput, match=r"pod.pdf is not a valid \.pdf file"):
        services.add_attachment(
            actor=book.bob, dispute=d, upload=SimpleUploadedFile("pod.pdf", b"MZ..."), on_date=D(2026, 2, 2)
        )
    with pytest.raises(InvalidInput, match=r"files of type \.exe are not accepted"):
        services.add_attachment(
            actor=book.bob, dispute=d, upload=SimpleUploadedFile("x.exe", b"MZ"), on_date=D(2026, 2, 2)
        )
    with pytest.raises(InvalidInput, match="is empty"):
        services.add_attachment(
            actor=book.bob, dispute=d, upload=SimpleUploadedFile("a.txt", b""), on_date=D(2026, 2, 2)
        )
    assert d.attachments.count() == 1


def test_notes(book, inv):
    d = _open(book, inv, LineIn(inv["a"]))
    with pytest.raises(InvalidInput, match="needs some text"):
        services.add_note(actor=book.bob, dispute=d, body="  ", on_date=D(2026, 2, 2))
    services.add_note(actor=book.rita, dispute=d, body="POD requested from carrier", on_date=D(2026, 2, 2))
    assert list(d.notes.values_list("body", "author__username")) == [("POD requested from carrier", "rita")]
    # a resolver's step counts for the customer's collector, not for the resolver
    assert Activity.objects.filter(kind=Kind.DISPUTE).order_by("-id").first().collector == book.bob


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_resolutions_produce_one(book, inv):
    d = _open(book, inv, LineIn(inv["a"], Money(30000, USD)))
    barrier = threading.Barrier(2)
    results: list[str] = []

    def call(actor) -> None:
        try:
            barrier.wait()
            services.resolve(
                actor=actor,
                dispute=Dispute.objects.get(pk=d.pk),
                resolution="valid",
                root_cause="billing_error",
                on_date=D(2026, 2, 5),
            )
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(u,)) for u in (book.mona, book.ada)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert CreditMemo.objects.count() == 1
    assert _open_minor(inv["a"]) == 70000
