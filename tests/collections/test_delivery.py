"""The outbox against a real SMTP server (aiosmtpd in the test process): each message exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from ardesk.activities.models import Activity
from ardesk.collections import services as cs
from ardesk.collections.models import ContactPolicy, OutboxMessage
from ardesk.ledger.models import Contact
from tests.factories import ledger as lf

D = dt.date
UTC = dt.UTC
NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 2026-03-02 is one day after INV due 2026-03-01


def _invoices(book):
    # acme: two invoices due 2026-03-01 (step +1 on 03-02) -> one consolidated notice; beta: one
    a1 = lf.invoice(book.customers["acme"], "A-1", "100.00", date=D(2026, 1, 30), due=D(2026, 3, 1))
    a2 = lf.invoice(book.customers["acme"], "A-2", "250.00", date=D(2026, 2, 1), due=D(2026, 3, 1))
    b1 = lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=D(2026, 3, 1))
    return a1, a2, b1


def test_daily_run_twice_and_worker_twice_sends_each_message_once(book, dunning, smtp):
    a1, a2, b1 = _invoices(book)
    first = cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    second = cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    assert (first.created, second.created, second.decided) == (2, 0, 2)
    rows = list(OutboxMessage.objects.order_by("customer__account_number"))
    assert [(r.customer.account_number, r.action, r.invoice_ids, r.to_email) for r in rows] == [
        ("C-100", "email", sorted([a1.pk, a2.pk]), "ap@acme.example"),
        ("C-200", "email", [b1.pk], "ap@beta.example"),
    ]
    s1 = cs.send_pending(worker="w1", now=NOON)
    s2 = cs.send_pending(worker="w2", now=NOON + dt.timedelta(hours=1))
    assert (s1.sent, s2.claimed) == (2, 0)
    assert smtp.ids() == sorted(str(r.pk) for r in rows)
    acme_mail = next(m for m in smtp.messages if m["To"] == "ap@acme.example")
    assert acme_mail["Subject"] == "Past due: C-100"
    assert acme_mail["Message-ID"] == f"<ardesk.outbox.{rows[0].pk}.{rows[0].dedup_key[:16]}@ardesk.local>"
    assert acme_mail["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/collections/unsubscribe/")
    assert acme_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = acme_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "A-1 due 2026-03-01: 100.00 USD\nA-2 due 2026-03-01: 250.00 USD\nTotal 350.00 USD" in text
    names = sorted(p.get_filename() for p in acme_mail.iter_attachments())
    assert names == ["statement-C-100-2026-03-02.csv", "statement-C-100-2026-03-02.pdf"]
    # every sent message is an EMAIL_SENT activity of the dunning source, counted for the collector
    acts = Activity.objects.filter(kind="email_sent", source="dunning").order_by("customer__account_number")
    assert [(a.customer.account_number, a.collector.username, a.dedupe_key) for a in acts] == [
        ("C-100", "alice", f"outbox:{rows[0].pk}"),
        ("C-200", "bob", f"outbox:{rows[1].pk}"),
    ]


def test_worker_killed_after_claim_loses_nothing_and_duplicates_nothing(book, dunning, smtp, monkeypatch):
    _invoices(book)
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))

    def die(msg):
        raise SystemExit("worker killed")

    monkeypatch.setattr(cs, "before_handoff", die)
    with pytest.raises(SystemExit):
        cs.send_pending(worker="doomed", now=NOON)
    monkeypatch.setattr(cs, "before_handoff", None)
    assert smtp.messages == []
    claimed = OutboxMessage.objects.filter(claimed_by="doomed")
    assert claimed.count() == 2  # the batch claimed both; the first died before its handoff
    # inside the lease nobody takes the dead worker's rows
    assert cs.send_pending(worker="w2", now=NOON + dt.timedelta(minutes=9)).claimed == 0
    # after the lease the restarted worker sends each once
    after = cs.send_pending(worker="w2", now=NOON + dt.timedelta(minutes=11))
    assert (after.claimed, after.sent) == (2, 2)
    assert len(smtp.messages) == 2 and len(set(smtp.ids())) == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_crash_between_smtp_accept_and_commit_resends_with_the_same_message_id(
    book, dunning, smtp, monkeypatch
):
    """The stated guarantee: at-least-once handoff; a resend is detectable by its Message-ID."""
    lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=D(2026, 3, 1))
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    real = cs.activity_services.log_activity

    def crash(**kw):
        raise SystemExit("power cut after SMTP accepted")

    monkeypatch.setattr(cs.activity_services, "log_activity", crash)
    with pytest.raises(SystemExit):
        cs.send_pending(worker="w1", now=NOON)
    monkeypatch.setattr(cs.activity_services, "log_activity", real)
    row = OutboxMessage.objects.get()
    assert (row.status, row.handoff_at) == ("pending", NOON)
    cs.send_pending(worker="w2", now=NOON + dt.timedelta(minutes=11))
    row.refresh_from_db()
    assert row.status == "sent" and row.note == f"possibly sent before (handoff {NOON.isoformat()})"
    assert [m["Message-ID"] for m in smtp.messages] == [cs.message_id(row)] * 2
    assert Activity.objects.filter(kind="email_sent").count() == 1


def test_no_mail_to_an_opted_out_address_or_a_disputed_invoice(book, dunning, smtp):
    from ardesk.disputes import services as ds

    a1, _a2, _b1 = _invoices(book)
    gamma = book.customers["gamma"]
    g1 = lf.invoice(gamma, "G-1", "40.00", date=D(2026, 2, 1), due=D(2026, 3, 1))
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    cs.opt_out(email="AP@Beta.example")  # the unsubscribe link, after the decision
    ds.open_dispute(
        actor=None, customer=gamma, lines=[ds.LineIn(invoice=g1)], reason="pricing", opened_on=D(2026, 3, 2)
    )
    # acme disputes one of its two invoices: the message goes out for the other only
    ds.open_dispute(
        actor=None,
        customer=book.customers["acme"],
        lines=[ds.LineIn(invoice=a1)],
        reason="pricing",
        opened_on=D(2026, 3, 2),
    )
    summary = cs.send_pending(worker="w1", now=NOON)
    assert (summary.sent, summary.cancelled) == (1, 2)
    assert [m["To"] for m in smtp.messages] == ["ap@acme.example"]
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "A-2" in text and "A-1" not in text
    notes = dict(
        OutboxMessage.objects.filter(status="cancelled").values_list("customer__account_number", "note")
    )
    assert notes == {
        "C-200": "address suppressed (opted out)",
        "C-300": "nothing left to demand (paid, disputed, promised or blocked)",
    }
    # a later run does not even decide a step for gamma's disputed invoice (call tasks at day +10)
    assert cs.run_dunning(actor=None, as_of=D(2026, 3, 11)).by_action == {"call": 2}
    calls = OutboxMessage.objects.filter(run_date=D(2026, 3, 11))
    assert sorted(calls.values_list("customer__account_number", "status")) == [
        ("C-100", "open"),
        ("C-200", "open"),
    ]


def test_outside_allowed_hours_the_row_waits(book, dunning, smtp):
    lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=D(2026, 3, 1))
    Contact.objects.filter(customer=book.customers["beta"]).update(time_zone="America/New_York")
    ContactPolicy.objects.create(segment="", start_hour=8, end_hour=21, max_emails=3, period_days=7)
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    night = dt.datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # 02:30 in New York
    assert cs.send_pending(worker="w1", now=night).deferred == 1
    row = OutboxMessage.objects.get()
    assert row.not_before == dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert row.note == "outside allowed hours 8:00-21:00 America/New_York"
    assert cs.send_pending(worker="w1", now=dt.datetime(2026, 3, 2, 12, 59, tzinfo=UTC)).claimed == 0
    assert smtp.messages == []
    assert cs.send_pending(worker="w1", now=dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC)).sent == 1
    assert len(smtp.messages) == 1


def test_bounce_stops_further_mail(book, dunning, smtp):
    lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=D(2026, 3, 1))
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    cs.record_bounce(actor=None, email="ap@beta.example", detail="550 no such user")
    assert cs.send_pending(worker="w1", now=NOON).cancelled == 1
    assert smtp.messages == []
    assert OutboxMessage.objects.get().note == "address suppressed (bounced)"


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once(book, dunning, smtp):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises writers)")
    for i in range(30):
        c = lf.customer(f"C-9{i:02d}", f"Load {i}", collector=book.bob)
        from ardesk.ledger import services as ls

        ls.add_contact(actor=None, customer=c, name="AP", email=f"ap{i}@load.example")
        lf.invoice(c, f"L-{i}", "10.00", date=D(2026, 2, 1), due=D(2026, 3, 1))
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        from django.db import connection as conn

        try:
            while cs.send_pending(worker=name, now=NOON, limit=5).claimed:
                pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(smtp.messages) == 30 and len(set(smtp.ids())) == 30
    assert OutboxMessage.objects.filter(status="sent").count() == 30
    assert Activity.objects.filter(kind="email_sent").count() == 30


def test_email_cap_per_period_defers_the_next_message(book, dunning, smtp):
    beta = book.customers["beta"]
    lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE_NOTICE)
    ContactPolicy.objects.create(segment="", max_emails=1, period_days=7)
    cs.run_dunning(actor=None, as_of=D(2026, 3, 2))
    assert cs.send_pending(worker="w", now=NOON).sent == 1
    second = cs.queue_email(actor=book.bob, customer=beta, template_code="final", as_of=D(2026, 3, 4))
    later = dt.datetime(2026, 3, 4, 12, tzinfo=UTC)
    assert cs.send_pending(worker="w", now=later).deferred == 1
    second.refresh_from_db()
    assert (second.not_before, second.note) == (
        NOON + dt.timedelta(days=7),
        "cap of 1 emails in 7 days reached",
    )
    assert cs.send_pending(worker="w", now=NOON + dt.timedelta(days=7)).sent == 1
    assert len(smtp.messages) == 2


DUE_NOTICE = D(2026, 3, 1)


def test_commands_run_send_and_bounce(book, dunning, smtp):
    import io

    from django.core.management import call_command

    lf.invoice(book.customers["beta"], "B-1", "75.50", date=D(2026, 2, 1), due=D(2026, 3, 1))
    out = io.StringIO()
    call_command("dunning", "run", "--as-of", "2026-03-02", stdout=out)
    call_command("dunning", "run", "--as-of", "2026-03-02", stdout=out)
    assert out.getvalue().splitlines() == [
        "dunning 2026-03-02: 1 customers with a step due, 1 decisions (email 1): 1 new outbox rows, 0 already "
        "there; 0 blocked; 0 escalations/credit-hold recommendations raised",
        "dunning 2026-03-02: 1 customers with a step due, 1 decisions (email 1): 0 new outbox rows, 1 already "
        "there; 0 blocked; 0 escalations/credit-hold recommendations raised",
    ]
    out = io.StringIO()
    call_command("dunning", "send", "--once", "--worker", "cli", stdout=out)
    assert out.getvalue() == "claimed 1: sent 1, cancelled 0, deferred 0, failed 0\n"
    assert len(smtp.messages) == 1
    out = io.StringIO()
    call_command("dunning", "bounce", "AP@beta.example", "--detail", "550", stdout=out)
    assert out.getvalue() == "ap@beta.example: suppressed (bounced)\n"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="'nope' is not an email address"):
        call_command("dunning", "bounce", "nope")
