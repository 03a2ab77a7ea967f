"""Escalations and credit-hold recommendations raised by the daily run: the manager's email through the
outbox, the activity, the Escalations and Credit-hold lists, their decisions, the customer panel."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ardesk.activities.models import Activity
from ardesk.collections import services as cs
from ardesk.collections.models import AccountState, OutboxMessage, Referral
from ardesk.core.errors import Conflict, InvalidInput
from ardesk.core.models import AuditLog
from tests.factories import ledger as lf

D = dt.date
DUE = D(2026, 3, 1)
ESC_DAY = D(2026, 3, 31)  # +30
HOLD_DAY = D(2026, 4, 15)  # +45
NOON = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)


@pytest.fixture
def escalated(book, dunning):
    beta, gamma, delta = (book.customers[k] for k in ("beta", "gamma", "delta"))
    invs = {
        "beta": lf.invoice(beta, "B-1", "75.50", date=D(2026, 2, 1), due=DUE),
        "gamma": lf.invoice(gamma, "G-1", "20.00", date=D(2026, 2, 1), due=DUE),
        "delta": lf.invoice(delta, "D-1", "10.00", date=D(2026, 2, 1), due=DUE),
    }
    first = cs.run_dunning(actor=None, as_of=ESC_DAY)
    second = cs.run_dunning(actor=None, as_of=ESC_DAY)
    return first, second, invs


def _login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


def test_daily_run_twice_raises_one_escalation_each_with_one_manager_email(book, escalated):
    first, second, invs = escalated
    assert (first.referrals, second.referrals) == (3, 0)
    refs = Referral.objects.order_by("customer__account_number")
    assert [
        (r.customer.account_number, r.kind, r.status, r.manager and r.manager.username) for r in refs
    ] == [
        ("C-200", "escalation", "open", "mona"),
        ("C-300", "escalation", "open", "walt"),
        ("C-400", "escalation", "open", None),
    ]
    mails = OutboxMessage.objects.filter(step_key__startswith="escalation:").order_by(
        "customer__account_number"
    )
    assert [(m.customer.account_number, m.action, m.to_email, m.status, m.note) for m in mails] == [
        ("C-200", "email", "mona@example.com", "pending", ""),
        ("C-300", "email", "walt@example.com", "pending", ""),
        ("C-400", "email", "", "cancelled", "no manager for the collector"),
    ]
    assert mails[0].invoice_ids == [invs["beta"].pk]
    acts = Activity.objects.filter(customer=book.customers["beta"], source="dunning")
    assert [(a.kind, a.subject) for a in acts] == [("note", "Escalated to mona")]
    # a later day with a new escalation step row does not raise a second one while one is open
    lf.invoice(book.customers["beta"], "B-2", "5.00", date=D(2026, 2, 2), due=D(2026, 3, 2))
    third = cs.run_dunning(actor=None, as_of=D(2026, 4, 1))
    assert third.referrals == 0
    assert Referral.objects.filter(customer=book.customers["beta"]).count() == 1


def test_the_worker_sends_the_manager_the_escalation_once(book, escalated, smtp):
    mona_mail = OutboxMessage.objects.get(to_email="mona@example.com")
    s1 = cs.send_pending(worker="w1", now=NOON)
    s2 = cs.send_pending(worker="w1", now=NOON)
    assert (s1.sent, s2.claimed) == (2, 0)
    msg = next(m for m in smtp.messages if m["To"] == "mona@example.com")
    assert msg["X-Ardesk-Outbox"] == str(mona_mail.pk)
    assert msg["List-Unsubscribe"] is None
    assert msg["Subject"] == "Escalation: C-200 Beta LLC"
    body = msg.get_content()
    assert "B-1 due 2026-03-01 (30 days past due): 75.50 USD" in body
    assert "Dunning history:" in body and "Escalate to manager: Open task" in body
    assert f"Customer page: http://127.0.0.1:8000/customers/{book.customers['beta'].pk}/" in body
    # no EMAIL_SENT activity to the customer for an internal email
    assert not Activity.objects.filter(customer=book.customers["beta"], kind="email_sent").exists()


def test_escalation_email_is_cancelled_when_resolved_before_sending(book, escalated, smtp):
    ref = Referral.objects.get(customer=book.customers["beta"])
    cs.resolve_escalation(actor=book.mona, referral=ref, on_date=ESC_DAY, note="called them")
    cs.send_pending(worker="w1", now=NOON)
    assert [m["To"] for m in smtp.messages] == ["walt@example.com"]
    assert OutboxMessage.objects.get(pk=ref.email_id).note == "the escalation is no longer open"


def test_acknowledge_resolve_and_conflicts(book, escalated):
    ref = Referral.objects.get(customer=book.customers["beta"])
    cs.acknowledge_escalation(actor=book.mona, referral=ref, on_date=ESC_DAY)
    assert ref.status == "acknowledged"
    with pytest.raises(Conflict):
        cs.acknowledge_escalation(actor=book.mona, referral=ref, on_date=ESC_DAY)
    cs.resolve_escalation(actor=book.mona, referral=ref, on_date=D(2026, 4, 1), note="plan agreed")
    assert (ref.status, ref.decided_by, ref.decided_on, ref.reason) == (
        "resolved",
        book.mona,
        D(2026, 4, 1),
        "plan agreed",
    )
    assert list(
        AuditLog.objects.filter(action__startswith="dunning.escalation.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["dunning.escalation.acknowledged", "dunning.escalation.resolved"]
    with pytest.raises(Conflict):
        cs.accept_credit_hold(actor=book.mona, referral=ref, on_date=ESC_DAY)


def test_credit_hold_recommendation_once_accept_and_dismiss(book, escalated):
    assert cs.run_dunning(actor=None, as_of=HOLD_DAY).referrals == 3
    assert cs.run_dunning(actor=None, as_of=HOLD_DAY).referrals == 0
    holds = {r.customer.account_number: r for r in Referral.objects.filter(kind="credit_hold")}
    assert sorted(holds) == ["C-200", "C-300", "C-400"]
    assert OutboxMessage.objects.filter(step_key__startswith="escalation:").count() == 3  # no mail for holds
    with pytest.raises(InvalidInput):
        cs.dismiss_credit_hold(actor=book.cora, referral=holds["C-300"], on_date=HOLD_DAY, reason=" ")
    cs.dismiss_credit_hold(actor=book.cora, referral=holds["C-300"], on_date=HOLD_DAY, reason="insured")
    cs.accept_credit_hold(actor=book.cora, referral=holds["C-200"], on_date=HOLD_DAY, note="over limit")
    st = AccountState.objects.get(customer=book.customers["beta"])
    assert (st.credit_hold, st.credit_hold_since) == (True, HOLD_DAY)
    assert not AccountState.objects.filter(customer=book.customers["gamma"], credit_hold=True).exists()
    assert [(r.status, r.reason) for r in (holds["C-200"], holds["C-300"])] == [
        ("accepted", "over limit"),
        ("dismissed", "insured"),
    ]
    assert AuditLog.objects.filter(action="dunning.credit_hold.flag").count() == 1
    with pytest.raises(Conflict):
        cs.dismiss_credit_hold(actor=book.cora, referral=holds["C-200"], on_date=HOLD_DAY, reason="x")


def test_escalations_page_scoped_to_the_team_and_post_only(
    client, book, escalated, django_assert_max_num_queries
):
    _login(client, book.mona)
    with django_assert_max_num_queries(12):
        resp = client.get("/collections/escalations/")
    assert resp.status_code == 200
    assert sorted(r.customer.account_number for r in resp.context["rows"]) == ["C-200", "C-400"]
    gamma_ref = Referral.objects.get(customer=book.customers["gamma"])
    beta_ref = Referral.objects.get(customer=book.customers["beta"])
    assert client.post(f"/collections/escalations/{gamma_ref.pk}/ack/").status_code == 404
    assert client.get(f"/collections/escalations/{beta_ref.pk}/ack/").status_code == 405
    assert client.post(f"/collections/escalations/{beta_ref.pk}/ack/").status_code == 302
    beta_ref.refresh_from_db()
    assert beta_ref.status == "acknowledged"
    resp = client.post(f"/collections/escalations/{beta_ref.pk}/resolve/", {"note": "paid soon"})
    assert resp.status_code == 302
    assert sorted(
        r.customer.account_number for r in client.get("/collections/escalations/").context["rows"]
    ) == ["C-400"]
    _login(client, book.bob)
    assert client.get("/collections/escalations/").status_code == 403


def test_holds_page_accept_dismiss_and_panel(client, book, escalated, django_assert_max_num_queries):
    cs.run_dunning(actor=None, as_of=HOLD_DAY)
    _login(client, book.cora)
    with django_assert_max_num_queries(12):
        resp = client.get("/collections/holds/")
    assert sorted(r.customer.account_number for r in resp.context["rows"]) == ["C-200", "C-300", "C-400"]
    beta_hold = Referral.objects.get(customer=book.customers["beta"], kind="credit_hold")
    gamma_hold = Referral.objects.get(customer=book.customers["gamma"], kind="credit_hold")
    resp = client.post(f"/collections/holds/{gamma_hold.pk}/dismiss/", {"reason": ""})
    assert resp.status_code == 422
    gamma_hold.refresh_from_db()
    assert gamma_hold.status == "open"
    with time_machine.travel(dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC), tick=False):
        assert client.post(f"/collections/holds/{beta_hold.pk}/accept/").status_code == 302
    assert AccountState.objects.get(customer=book.customers["beta"]).credit_hold_since == HOLD_DAY
    _login(client, book.walt)  # a manager sees only his team's (and unassigned) recommendations
    assert sorted(r.customer.account_number for r in client.get("/collections/holds/").context["rows"]) == [
        "C-300",
        "C-400",
    ]
    assert client.post(f"/collections/holds/{beta_hold.pk}/accept/").status_code == 404
    _login(client, book.bob)
    assert client.get("/collections/holds/").status_code == 403
    with time_machine.travel(dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC), tick=False):
        html = client.get(f"/collections/customers/{book.customers['beta'].pk}/panel/").content.decode()
    assert "on hold</span> since 2026-04-15" in html
    assert "Escalation (open) raised 2026-03-31 to mona" in html


def test_a_credit_hold_is_lifted_with_a_reason(client, book, escalated, django_assert_max_num_queries):
    cs.run_dunning(actor=None, as_of=HOLD_DAY)
    beta = book.customers["beta"]
    cs.accept_credit_hold(
        actor=book.cora, referral=Referral.objects.get(customer=beta, kind="credit_hold"), on_date=HOLD_DAY
    )
    _login(client, book.cora)
    with django_assert_max_num_queries(12):
        resp = client.get("/collections/holds/")
    assert [st.customer.account_number for st in resp.context["on_hold"]] == ["C-200"]
    url = f"/collections/holds/customers/{beta.pk}/lift/"
    assert client.post(url, {"reason": " "}).status_code == 422  # a reason is required; nothing changes
    assert AccountState.objects.get(customer=beta).credit_hold
    _login(client, book.walt)  # beta is not in walt's team: 404, and the hold stays
    assert client.post(url, {"reason": "paid"}).status_code == 404
    _login(client, book.cora)
    assert client.post(url, {"reason": "paid up in full"}).status_code == 302
    st = AccountState.objects.get(customer=beta)
    assert (st.credit_hold, st.credit_hold_since) == (False, None)
    lift = AuditLog.objects.get(action="dunning.credit_hold.lift")
    assert (lift.before["credit_hold_since"], lift.after["reason"]) == ("2026-04-15", "paid up in full")
    assert client.get("/collections/holds/").context["on_hold"] == []
    with pytest.raises(Conflict):  # lifting twice
        cs.lift_credit_hold(actor=book.cora, customer=beta, on_date=HOLD_DAY, reason="again")
