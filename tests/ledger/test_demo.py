"""The demo book: deterministic, internally consistent, all behaviours and aging buckets, working logins."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import RequestFactory

from ardesk.core.models import AuditLog, CollectorProfile
from ardesk.core.roles import Role
from ardesk.ledger import demo
from ardesk.ledger.models import (
    Application,
    Contact,
    CreditMemo,
    Customer,
    FxRate,
    Invoice,
    Payment,
    PortfolioAssignment,
    WriteOff,
)
from ardesk.ledger.selectors import customer_aging

AS_OF = dt.date(2026, 3, 31)
CFG = demo.DemoConfig(seed=7, customers=60, years=2, as_of=AS_OF)
ARGS = ["--customers", "60", "--years", "2", "--seed", "7", "--as-of", "2026-03-31"]

# Pinned for seed 7, 60 customers, 2 years, as of 2026-03-31: a regression guard on the generator.
EXPECTED_COUNTS = {
    "customers": 60,
    "assignments": 71,
    "contacts": 180,
    "invoices": 965,
    "payments": 794,
    "credit_memos": 52,
    "applications": 920,
    "write_offs": 14,
    "fx_rates": 50,
}
EXPECTED_OPEN_USD = 37_209_639
EXPECTED_AGING_USD = [18_539_585, 8_444_382, 7_196_708, 2_192_638, 170_187, 666_139]
EXPECTED_UNASSIGNED = 3


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def flat(cfg: demo.DemoConfig, chunk: int = demo.CHUNK_CUSTOMERS) -> dict[str, list[tuple[Any, ...]]]:
    """The generated rows without chunk positions (invoices keyed by number), for comparing runs."""
    out: dict[str, list[tuple[Any, ...]]] = {"customers": [], "invoices": [], "payments": [], "memos": []}
    for ch in demo.generate(cfg, chunk_customers=chunk):
        accounts = [c.account_number for c in ch.customers]
        out["customers"] += [
            (c.account_number, c.entity, None if c.parent is None else accounts[c.parent], *c[2:])
            for c in ch.customers
        ]
        out["invoices"] += [(accounts[v.customer], *v[1:]) for v in ch.invoices]
        out["payments"] += [(accounts[p.customer], *p[1:]) for p in ch.payments]
        out["memos"] += [(accounts[m.customer], *m[2:]) for m in ch.credit_memos]
    return out


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """The book in the database by natural keys (ids and clocks left out)."""
    return {
        "customers": list(
            Customer.objects.order_by("account_number").values_list(
                "account_number", "name", "parent__account_number", "entity__code", "payment_terms__code",
                "collector__username", "credit_limit_minor", "risk_class", "status", "city", "segment",
            )
        ),
        "assignments": list(
            PortfolioAssignment.objects.order_by("customer__account_number", "started_at").values_list(
                "customer__account_number", "collector__username", "started_at", "ended_at", "reason"
            )
        ),
        "contacts": list(
            Contact.objects.order_by("customer__account_number", "name").values_list(
                "customer__account_number", "name", "role", "email", "phone", "opt_out_email"
            )
        ),
        "invoices": list(
            Invoice.objects.order_by("number").values_list(
                "number", "customer__account_number", "invoice_date", "due_date", "amount_minor", "tax_minor",
                "open_minor", "status", "closed_on", "currency",
            )
        ),
        "payments": list(
            Payment.objects.order_by("customer__account_number", "reference").values_list(
                "customer__account_number", "reference", "payment_date", "amount_minor", "unapplied_minor"
            )
        ),
        "memos": list(
            CreditMemo.objects.order_by("number").values_list(
                "number", "memo_date", "amount_minor", "unapplied_minor", "original_invoice__number"
            )
        ),
        "applications": sorted(
            Application.objects.values_list(
                "invoice__number", "payment__reference", "credit_memo__number", "amount_minor", "applied_date"
            ),
            key=repr,
        ),
        "write_offs": list(
            WriteOff.objects.order_by("invoice__number").values_list(
                "invoice__number", "amount_minor", "written_off_on"
            )
        ),
    }  # fmt: skip


# --- the generator, without a database ---------------------------------------------------------------


def test_same_seed_same_book_and_another_seed_another_book() -> None:
    first = flat(CFG)
    assert first == flat(CFG)
    assert first != flat(dataclasses.replace(CFG, seed=8))
    assert first != flat(dataclasses.replace(CFG, as_of=AS_OF - dt.timedelta(days=1)))


def test_chunking_does_not_change_the_book_and_families_stay_together() -> None:
    assert flat(CFG, chunk=7) == flat(CFG)
    for ch in demo.generate(CFG, chunk_customers=7):
        assert len(ch.customers) <= 7 + 5  # a family of up to six is never split
        assert all(c.parent is None or c.parent < n for n, c in enumerate(ch.customers))


def test_every_behaviour_and_every_kind_of_event_is_present() -> None:
    chunks = list(demo.generate(CFG))
    customers = [c for ch in chunks for c in ch.customers]
    invoices = [v for ch in chunks for v in ch.invoices]
    memos = [m for ch in chunks for m in ch.credit_memos]
    assert set(Counter(c.behaviour for c in customers)) == set(demo.BEHAVIOURS)
    assert {"open", "paid", "written_off"} == {v.status for v in invoices}
    assert any(c.parent is not None for c in customers)
    assert any(c.collector is None for c in customers)
    assert {c.entity for c in customers} == {"US01", "CA01", "DE01"}
    assert {c.terms for c in customers} == {"NET30", "NET45", "NET60", "2-10N30"}
    assert {"Early-payment discount", "Volume rebate"} <= {m.reason for m in memos}
    # partial payments: an invoice with more than one application
    apps = Counter((id(ch), a.invoice) for ch in chunks for a in ch.applications)
    assert max(apps.values()) >= 2
    # receipts covering several invoices
    per_payment = Counter(
        (id(ch), a.payment) for ch in chunks for a in ch.applications if a.payment is not None
    )
    assert max(per_payment.values()) >= 2
    # nothing dated after as_of
    assert max(v.invoice_date for v in invoices) <= AS_OF
    assert all(v.closed_on is None or v.closed_on <= AS_OF for v in invoices)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        demo.DemoConfig(seed=1, customers=0, years=2, as_of=AS_OF)
    with pytest.raises(ValueError):
        demo.DemoConfig(seed=1, customers=10, years=0, as_of=AS_OF)


# --- the command and the database --------------------------------------------------------------------


@pytest.fixture
def built(db: Any) -> str:
    return run(*ARGS)


def test_pinned_counts_and_open_ar(built: str) -> None:
    counts = {
        "customers": Customer.objects.count(),
        "assignments": PortfolioAssignment.objects.count(),
        "contacts": Contact.objects.count(),
        "invoices": Invoice.objects.count(),
        "payments": Payment.objects.count(),
        "credit_memos": CreditMemo.objects.count(),
        "applications": Application.objects.count(),
        "write_offs": WriteOff.objects.count(),
        "fx_rates": FxRate.objects.count(),
    }
    assert counts == EXPECTED_COUNTS
    usd = Invoice.objects.filter(currency="USD").aggregate(s=Sum("open_minor"))["s"]
    assert usd == EXPECTED_OPEN_USD
    ids = list(Customer.objects.values_list("id", flat=True))
    aging = customer_aging(ids, AS_OF, [0, 30, 60, 90, 120])
    assert aging["USD"] == EXPECTED_AGING_USD
    assert all(total > 0 for total in aging["USD"])  # every bucket, Current to 120+


def test_derived_amounts_hold_for_every_row(built: str) -> None:
    def sums(qs: Any, key: str) -> dict[int, int]:
        return dict(qs.values(key).annotate(s=Sum("amount_minor")).values_list(key, "s"))

    applied = sums(Application.objects.all(), "invoice")
    written = sums(WriteOff.objects.all(), "invoice")
    last_event: dict[int, dt.date] = {}
    for inv, on in Application.objects.values_list("invoice", "applied_date"):
        last_event[inv] = max(on, last_event.get(inv, on))
    for inv, on in WriteOff.objects.values_list("invoice", "written_off_on"):
        last_event[inv] = max(on, last_event.get(inv, on))
    rows = Invoice.objects.values_list(
        "id", "amount_minor", "open_minor", "status", "closed_on", "invoice_date"
    )
    for pk, amount, open_minor, status, closed_on, invoice_date in rows:
        assert open_minor == amount - applied.get(pk, 0) - written.get(pk, 0)
        assert invoice_date <= AS_OF
        if open_minor == 0:
            assert status == ("written_off" if pk in written else "paid")
            assert closed_on == last_event[pk]
        else:
            assert status == "open" and closed_on is None
    for model, key in ((Payment, "payment"), (CreditMemo, "credit_memo")):
        used = sums(Application.objects.filter(**{f"{key}__isnull": False}), key)
        for pk, amount, unapplied in model.objects.values_list("id", "amount_minor", "unapplied_minor"):
            assert 0 <= unapplied == amount - used.get(pk, 0)
    for app in Application.objects.select_related("invoice", "payment", "credit_memo"):
        source_date = app.payment.payment_date if app.payment else app.credit_memo.memo_date
        assert app.invoice.invoice_date <= source_date <= app.applied_date <= AS_OF
        assert (app.payment or app.credit_memo).customer_id == app.invoice.customer_id
    assert not Payment.objects.filter(payment_date__gt=AS_OF).exists()
    assert not WriteOff.objects.filter(written_off_on__gt=AS_OF).exists()


def test_people_portfolios_and_logins(built: str) -> None:
    collectors = User.objects.filter(groups__name=Role.COLLECTOR.value)
    assert collectors.count() >= 8
    assert CollectorProfile.objects.filter(user__in=collectors).count() == collectors.count()
    profiles = CollectorProfile.objects.all()
    assert {p.title for p in profiles} == {
        "AR Specialist",
        "AR Analyst",
        "Senior Collector",
        "Collections Lead",
    }
    assert {p.tier for p in profiles} == {"top", "core", "developing", "new"}
    assert all(p.team and p.team.manager and p.manager == p.team.manager for p in profiles)
    for role in Role:
        assert User.objects.filter(groups__name=role.value).exists(), role
    # one open assignment per assigned customer, naming its collector; a few customers unassigned
    open_rows = dict(
        PortfolioAssignment.objects.filter(ended_at__isnull=True).values_list("customer", "collector")
    )
    assigned = dict(Customer.objects.filter(collector__isnull=False).values_list("id", "collector"))
    assert open_rows == assigned
    for started, ended in PortfolioAssignment.objects.values_list("started_at", "ended_at"):
        assert started.date() <= AS_OF and (ended is None or started < ended)
    assert Customer.objects.filter(collector__isnull=True).count() == EXPECTED_UNASSIGNED
    assert Contact.objects.filter(opt_out_sms=True).exists()
    assert set(Contact.objects.values_list("role", flat=True)) == {"ap_clerk", "ap_manager", "controller"}
    # every printed login works with the published password
    request = RequestFactory().post("/login/")
    for username, _role, _label in demo.logins():
        assert f" {username} " in built
        assert authenticate(request, username=username, password=demo.PASSWORD) is not None, username
    assert demo.PASSWORD in built
    # one audit row per batch
    assert AuditLog.objects.filter(action="demo.load").count() == 9


def test_second_run_changes_nothing(built: str) -> None:
    before = snapshot()
    audit_rows = AuditLog.objects.count()
    out = run(*ARGS)
    assert "already loaded" in out
    assert snapshot() == before
    assert AuditLog.objects.count() == audit_rows


def test_reset_rebuilds_the_same_book_and_a_new_seed_changes_it(built: str) -> None:
    before = snapshot()
    run(*ARGS, "--reset")
    assert snapshot() == before
    assert User.objects.filter(username=demo.ADMIN_USERNAME).count() == 1
    run("--customers", "60", "--years", "2", "--seed", "8", "--as-of", "2026-03-31", "--reset")
    after = snapshot()
    assert after != before
    assert len(after["customers"]) == 60


def test_refuses_to_mix_with_other_ledger_data(db: Any) -> None:
    from tests.factories import ledger as lf

    lf.customer("X-1", "Someone Real")
    with pytest.raises(CommandError, match="already holds ledger data"):
        run(*ARGS)
    assert Customer.objects.count() == 1
    run(*ARGS, "--reset")
    assert Customer.objects.count() == 60


def test_a_failed_rebuild_keeps_the_old_book(built: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot()

    def boom(self: Any, ch: demo.Chunk) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo._Writer, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        run(*ARGS, "--reset")
    assert snapshot() == before
