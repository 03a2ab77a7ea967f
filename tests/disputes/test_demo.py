"""The demo disputes agree with the demo ledger and are deterministic."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db.models import Sum

from ardesk.disputes import selectors
from ardesk.disputes.models import ACTIVE_STATUSES, Dispute, DisputeLine
from ardesk.ledger.models import Application

ARGS = ["--customers", "60", "--years", "2", "--seed", "7", "--as-of", "2026-03-31"]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def _rows():
    return sorted(
        Dispute.objects.values_list(
            "customer__account_number",
            "kind",
            "reason__code",
            "status",
            "resolution",
            "root_cause",
            "opened_on",
            "resolved_on",
            "amount_minor",
            "owner__username",
        )
    )


def test_demo_disputes(db):
    out = _run(*ARGS)
    assert "disputes: " in out
    first = _rows()
    kinds = {(k, s in ACTIVE_STATUSES, r) for _, k, _, s, r, *_ in first}
    assert {("deduction", False, "valid"), ("deduction", False, "invalid"), ("deduction", True, "")} <= kinds
    assert any(r[3] in ACTIVE_STATUSES and r[1] == "dispute" for r in first)
    # resolved valid: the credit memo in the ledger, applied to the disputed invoice for that amount
    for d in Dispute.objects.filter(resolution="valid"):
        line = DisputeLine.objects.get(dispute=d)
        applied = Application.objects.filter(
            credit_memo_id=d.credit_memo_id, invoice_id=line.invoice_id
        ).aggregate(s=Sum("amount_minor"))["s"]
        assert d.credit_memo_id and applied == d.valid_minor == d.amount_minor, d.pk
        assert d.opened_on <= d.resolved_on == d.credit_memo.memo_date
    # open ones never hold more than is open, and nothing is dated after the as-of date
    held = selectors.held_amounts(invoice_ids=DisputeLine.objects.values_list("invoice_id", flat=True))
    for line in DisputeLine.objects.filter(dispute__status__in=ACTIVE_STATUSES).select_related("invoice"):
        assert 0 < held[line.invoice_id] <= line.invoice.open_minor
    assert not Dispute.objects.filter(opened_on__gt="2026-03-31").exists()
    # deterministic: a rebuild gives the same disputes
    _run(*ARGS, "--reset")
    assert _rows() == first
