"""Demo disputes and deductions, read off the demo ledger so that the two agree.

- Every credit memo the ledger demo issued for a dispute (pricing, damaged goods, short shipment, returns,
  duplicate billing, freight, billing errors) is a dispute or deduction **resolved valid** with that very
  credit memo: opened on the short payment (or some days after the invoice), resolved on the memo date.
- A short payment later paid in full is a deduction **resolved invalid** on the date the rest was paid.
- A short payment still open is an **open deduction** (many of them past their SLA).
- A few percent of the other customers' past-due open invoices carry a collector-opened dispute, open or
  in research or waiting, owned across departments (the dispute owners rita in billing and sam in
  shipping, the collectors themselves for sales and customer service).
- A few old open deductions are resolved **invalid** through the service (nothing is posted: the demo
  must not change the ledger's figures; partially valid and written-off resolutions post to the ledger,
  so the demo has none).

Deterministic (a seeded `random.Random`, no clock), written in bulk.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count

from ardesk.activities.models import Activity, Source
from ardesk.activities.models import Kind as ActivityKind
from ardesk.core.money import Money
from ardesk.ledger.models import Application, Customer, Invoice

from . import services
from .defaults import ensure_reason_codes
from .models import (
    ACTIVE_STATUSES,
    Channel,
    Department,
    Dispute,
    DisputeEvent,
    DisputeLine,
    Kind,
    ReasonCode,
    Resolution,
    RootCause,
    Status,
)

RESOLVERS = (("rita", Department.BILLING), ("sam", Department.SHIPPING))
# the ledger demo's dispute memo reasons -> (reason code, root cause, kind)
MEMO_REASONS: dict[str, tuple[str, str, str]] = {
    "Pricing dispute": ("pricing", RootCause.PRICING_ERROR, Kind.DEDUCTION),
    "Damaged goods": ("damaged", RootCause.PRODUCT_QUALITY, Kind.DEDUCTION),
    "Short shipment": ("shortage", RootCause.SHIPPING_ERROR, Kind.DEDUCTION),
    "Returned goods": ("returns", RootCause.CUSTOMER_ERROR, Kind.DEDUCTION),
    "Duplicate billing": ("duplicate", RootCause.BILLING_ERROR, Kind.DEDUCTION),
    "Freight charge disputed": ("pricing", RootCause.BILLING_ERROR, Kind.DEDUCTION),
    "Billing error: invoice credited in full": ("duplicate", RootCause.BILLING_ERROR, Kind.DISPUTE),
}
INVALID_CAUSES = (
    RootCause.CUSTOMER_ERROR,
    RootCause.CUSTOMER_ERROR,
    RootCause.OTHER,
    RootCause.PROMOTION_SETUP,
)
COLLECTOR_REASONS = (
    "pricing",
    "not_received",
    "damaged",
    "tax",
    "promotion",
    "service",
    "other",
    "duplicate",
)
WORK_STATUSES = (
    Status.OPEN,
    Status.IN_RESEARCH,
    Status.IN_RESEARCH,
    Status.WAITING_CUSTOMER,
    Status.WAITING_INTERNAL,
)
DISPUTED_SHARE = 0.08  # of the other customers' past-due open invoices


def _resolvers() -> dict[str, Any]:
    """The dispute owners of other departments: demo logins the ledger demo creates (DEMO_USERS)."""
    users = get_user_model().objects.in_bulk(
        [username for username, _dept in RESOLVERS], field_name="username"
    )
    missing = sorted({u for u, _ in RESOLVERS} - set(users))
    if missing:
        raise RuntimeError(f"the ledger demo did not create the dispute owners {', '.join(missing)}")
    return {dept: users[username] for username, dept in RESOLVERS}


class _Plan:
    def __init__(self, reasons: dict[str, ReasonCode], owners: dict[str, Any]) -> None:
        self.reasons = reasons
        self.owners = owners
        self.disputes: list[Dispute] = []
        self.lines: list[list[tuple[int, int]]] = []
        self.collector: list[int | None] = []

    def add(
        self,
        *,
        customer_id: int,
        collector_id: int | None,
        currency: str,
        lines: list[tuple[int, int]],
        reason: str,
        kind: str,
        channel: str,
        opened_on: dt.date,
        status: str = Status.OPEN,
        resolution: str = "",
        root_cause: str = "",
        resolved_on: dt.date | None = None,
        valid: int = 0,
        credit_memo_id: int | None = None,
        key: str,
        rng: random.Random,
    ) -> None:
        code = self.reasons[reason]
        dept = code.default_department
        owner = self.owners.get(dept)
        owner_id = owner.pk if owner is not None else collector_id
        total = sum(a for _, a in lines)
        self.disputes.append(
            Dispute(
                customer_id=customer_id,
                kind=kind,
                channel=channel,
                reason=code,
                customer_reason_code=f"R{rng.randint(10, 99)}" if rng.random() < 0.4 else "",
                customer_reference=f"CLM-{rng.randint(100000, 999999)}" if rng.random() < 0.6 else "",
                currency=currency,
                amount_minor=total,
                owner_id=owner_id,
                department=dept,
                status=status,
                opened_on=opened_on,
                due_on=opened_on + dt.timedelta(days=code.sla_days),
                resolution=resolution,
                root_cause=root_cause,
                resolved_on=resolved_on,
                resolved_by_id=owner_id if resolved_on else None,
                valid_minor=valid,
                invalid_minor=total - valid if resolution == Resolution.INVALID else 0,
                credit_memo_id=credit_memo_id,
                closed_on=resolved_on if status == Status.CLOSED else None,
                dedupe_key=key,
            )
        )
        self.lines.append(lines)
        self.collector.append(collector_id)


def build(*, cfg: Any, console: Any = None, verbose: bool = False) -> str:
    as_of: dt.date = cfg.as_of
    rng = random.Random(f"ardesk-demo/{cfg.seed}/disputes")
    ensure_reason_codes()
    reasons = {r.code: r for r in ReasonCode.objects.all()}
    owners = _resolvers()
    plan = _Plan(reasons, owners)
    collectors = dict(Customer.objects.values_list("id", "collector_id"))

    # 1. credit memos the ledger issued for disputes: resolved valid with that memo
    memo_rows = (
        Application.objects.filter(credit_memo__reason__in=list(MEMO_REASONS), reverses__isnull=True)
        .values_list(
            "credit_memo_id",
            "credit_memo__reason",
            "credit_memo__memo_date",
            "amount_minor",
            "invoice_id",
            "invoice__customer_id",
            "invoice__currency",
            "invoice__invoice_date",
        )
        .order_by("credit_memo_id", "id")
    )
    memos: dict[int, tuple[Any, ...]] = {}
    for row in memo_rows:
        memos.setdefault(row[0], row)  # a memo applied to one invoice (the demo's are)
    disputer_ids = {row[5] for row in memos.values()}
    # the payments of the disputers' invoices: when the short payment came, and whether the rest followed
    pays: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for inv_id, on, amt in (
        Application.objects.filter(
            invoice__customer_id__in=disputer_ids,
            payment__isnull=False,
            reverses__isnull=True,
            reversed_by__isnull=True,
        )
        .values_list("invoice_id", "applied_date", "amount_minor")
        .order_by("invoice_id", "applied_date", "id")
    ):
        pays[inv_id].append((on, amt))
    used: set[int] = set()
    for memo_id, reason_text, memo_date, amount, inv_id, cust_id, cur, inv_date in memos.values():
        code, cause, kind = MEMO_REASONS[reason_text]
        before = [on for on, _ in pays.get(inv_id, []) if on <= memo_date]
        opened = before[0] if before else max(inv_date, memo_date - dt.timedelta(days=rng.randint(10, 40)))
        if memo_date < opened:
            opened = memo_date
        status = Status.CLOSED if memo_date < as_of - dt.timedelta(days=30) else Status.RESOLVED
        plan.add(
            customer_id=cust_id,
            collector_id=collectors.get(cust_id),
            currency=cur,
            lines=[(inv_id, amount)],
            reason=code,
            kind=kind,
            channel=Channel.DEDUCTION if kind == Kind.DEDUCTION else Channel.CUSTOMER_EMAIL,
            opened_on=opened,
            status=status,
            resolution=Resolution.VALID,
            root_cause=cause,
            resolved_on=memo_date,
            valid=amount,
            credit_memo_id=memo_id,
            key=f"demo:memo:{memo_id}",
            rng=rng,
        )
        used.add(inv_id)

    # 2. short payments of the disputers: paid later (invalid) or still open (open deductions)
    invoices = {
        pk: (cust, cur, amount, open_minor, due)
        for pk, cust, cur, amount, open_minor, due in Invoice.objects.filter(
            customer_id__in=disputer_ids
        ).values_list("id", "customer_id", "currency", "amount_minor", "open_minor", "due_date")
    }
    n_open_deductions = 0
    for inv_id in sorted(pays):
        if inv_id in used or inv_id not in invoices:
            continue
        cust, cur, amount, open_minor, _due = invoices[inv_id]
        seq = pays[inv_id]
        first_on, first_amt = seq[0]
        short = amount - first_amt
        if not 0 < short <= amount * 30 // 100:
            continue
        code = rng.choice(("shortage", "pricing", "damaged", "promotion"))
        if open_minor == short and len(seq) == 1:
            plan.add(
                customer_id=cust,
                collector_id=collectors.get(cust),
                currency=cur,
                lines=[(inv_id, short)],
                reason=code,
                kind=Kind.DEDUCTION,
                channel=Channel.DEDUCTION,
                opened_on=first_on,
                status=rng.choice(WORK_STATUSES),
                key=f"demo:deduction:{inv_id}",
                rng=rng,
            )
            n_open_deductions += 1
        elif open_minor == 0 and len(seq) >= 2 and seq[-1][0] > first_on:
            plan.add(
                customer_id=cust,
                collector_id=collectors.get(cust),
                currency=cur,
                lines=[(inv_id, short)],
                reason=code,
                kind=Kind.DEDUCTION,
                channel=Channel.DEDUCTION,
                opened_on=first_on,
                status=Status.CLOSED if seq[-1][0] < as_of - dt.timedelta(days=30) else Status.RESOLVED,
                resolution=Resolution.INVALID,
                root_cause=rng.choice(INVALID_CAUSES),
                resolved_on=seq[-1][0],
                key=f"demo:deduction:{inv_id}",
                rng=rng,
            )
        used.add(inv_id)

    # 3. collector-opened disputes on other customers' past-due open invoices
    past_due = (
        Invoice.objects.filter(status=Invoice.Status.OPEN, open_minor__gt=0, due_date__lt=as_of)
        .exclude(customer_id__in=disputer_ids)
        .values_list("id", "customer_id", "currency", "open_minor", "due_date")
        .order_by("id")
    )
    for inv_id, cust, cur, open_minor, due in past_due:
        if rng.random() >= DISPUTED_SHARE:
            continue
        opened = min(as_of, due + dt.timedelta(days=rng.randint(1, 45)))
        part = open_minor if rng.random() < 0.5 else max(1, open_minor * rng.randint(10, 60) // 100)
        plan.add(
            customer_id=cust,
            collector_id=collectors.get(cust),
            currency=cur,
            lines=[(inv_id, part)],
            reason=rng.choice(COLLECTOR_REASONS),
            kind=Kind.DISPUTE,
            channel=rng.choice((Channel.COLLECTOR, Channel.CUSTOMER_EMAIL)),
            opened_on=opened,
            status=rng.choice(WORK_STATUSES),
            key=f"demo:dispute:{inv_id}",
            rng=rng,
        )

    n = _write(plan, as_of)
    extra = _resolve_some(rng, as_of)
    total = Dispute.objects.count()
    active = Dispute.objects.filter(status__in=ACTIVE_STATUSES)
    overdue = active.filter(due_on__lt=as_of).count()
    by_res = dict(
        Dispute.objects.exclude(resolution="")
        .values_list("resolution")
        .annotate(n=Count("id"))
        .values_list("resolution", "n")
    )
    return (
        f"disputes: {total:,} disputes and deductions ({n:,} from the ledger history, {extra} resolved now); "
        f"{active.count():,} open ({overdue:,} past SLA, {n_open_deductions:,} open deductions); "
        f"resolved {by_res.get('valid', 0):,} valid, {by_res.get('invalid', 0):,} invalid, "
        f"{by_res.get('partial', 0):,} partially valid, {by_res.get('written_off', 0):,} written off"
    )


def _write(plan: _Plan, as_of: dt.date) -> int:
    created = Dispute.objects.bulk_create(plan.disputes, batch_size=1000)
    lines: list[DisputeLine] = []
    events: list[DisputeEvent] = []
    activities: list[Activity] = []
    activity_invoice: list[int] = []
    for d, ls, collector in zip(created, plan.lines, plan.collector, strict=True):
        lines += [DisputeLine(dispute_id=d.pk, invoice_id=i, amount_minor=a) for i, a in ls]
        what = "deduction" if d.kind == Kind.DEDUCTION else "dispute"
        events.append(
            DisputeEvent(
                dispute_id=d.pk,
                action="opened",
                to_status=Status.OPEN,
                on_date=d.opened_on,
                detail=f"{what} opened",
            )
        )
        steps = [
            ("opened", d.opened_on, f"{what} opened: {d.reason.name}, {Money(d.amount_minor, d.currency)}")
        ]
        if d.status not in (Status.OPEN, Status.RESOLVED, Status.CLOSED):
            events.append(
                DisputeEvent(
                    dispute_id=d.pk,
                    action="status",
                    from_status=Status.OPEN,
                    to_status=d.status,
                    on_date=d.opened_on,
                    detail="",
                )
            )
        if d.resolved_on:
            detail = f"{Resolution(d.resolution).label}; root cause {RootCause(d.root_cause).label.lower()}"
            events.append(
                DisputeEvent(
                    dispute_id=d.pk,
                    actor_id=d.resolved_by_id,
                    action="resolved",
                    from_status=Status.IN_RESEARCH,
                    to_status=Status.RESOLVED,
                    on_date=d.resolved_on,
                    detail=detail,
                )
            )
            steps.append(("resolved", d.resolved_on, f"resolved: {detail}"))
        if d.closed_on:
            events.append(
                DisputeEvent(
                    dispute_id=d.pk,
                    action="closed",
                    from_status=Status.RESOLVED,
                    to_status=Status.CLOSED,
                    on_date=d.closed_on,
                )
            )
        for key, on, subject in steps:
            moment = dt.datetime.combine(on, dt.time(15, 0), tzinfo=dt.UTC)
            activities.append(
                Activity(
                    customer_id=d.customer_id,
                    kind=ActivityKind.DISPUTE,
                    source=Source.SYSTEM,
                    collector_id=collector,
                    occurred_at=moment,
                    occurred_on=on,
                    subject=f"{d.number}: {subject}"[:200],
                    dedupe_key=f"dispute:{d.pk}:{key}",
                )
            )
            activity_invoice.append(ls[0][0])
    DisputeLine.objects.bulk_create(lines, batch_size=2000)
    DisputeEvent.objects.bulk_create(events, batch_size=2000)
    made = Activity.objects.bulk_create(activities, batch_size=2000)
    through = Activity.invoices.through
    through.objects.bulk_create(
        [through(activity_id=a.pk, invoice_id=i) for a, i in zip(made, activity_invoice, strict=True)],
        batch_size=2000,
    )
    return len(created)


def _resolve_some(rng: random.Random, as_of: dt.date) -> int:
    """A few old open deductions resolved invalid today through the service (proof of delivery found):
    the amount goes back into collection. Nothing is posted, so the ledger demo's figures stay as built."""
    admin = get_user_model().objects.filter(is_superuser=True).order_by("id").first()
    old = Dispute.objects.filter(
        kind=Kind.DEDUCTION,
        status__in=ACTIVE_STATUSES,
        opened_on__lt=as_of - dt.timedelta(days=60),
        opened_on__gte=as_of - dt.timedelta(days=150),
    ).order_by("id")[:8]
    done = 0
    for d in old:
        services.resolve(
            actor=admin,
            dispute=d,
            resolution=Resolution.INVALID,
            root_cause=rng.choice(INVALID_CAUSES),
            on_date=as_of,
            note="proof of delivery signed by the customer",
        )
        done += 1
    return done
