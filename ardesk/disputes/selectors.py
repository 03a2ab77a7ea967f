"""Reads of disputes and deductions, scoped to the user who asks.

Scope: a collector sees the disputes of their portfolio, a manager their teams', the global roles (admin,
credit analyst, cash-application clerk, auditor) all of them; anyone also sees the disputes they own. A
dispute resolver (someone in sales, shipping, billing...) sees only the disputes assigned to them and the
invoices those disputes name. Outside one's scope a dispute is `NotFound` (404).

**Held amount**: while a dispute is active, the amount disputed on each invoice is held out of collection,
capped at the invoice's open amount (`held_amounts`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from ardesk.core.errors import NotFound, PermissionDenied
from ardesk.core.roles import Cap, Role, has_cap, roles_of
from ardesk.ledger.models import Invoice
from ardesk.ledger.selectors import customer_scope_q

from .models import ACTIVE_STATUSES, Dispute, DisputeLine, ReasonCode

# --- held amounts: the contract the collections app builds on -------------------------------------------


def held_amounts(*, invoice_ids: Any) -> dict[int, int]:
    """For each invoice with an active dispute, the disputed amount still held, in minor units, capped at
    the invoice's open amount. Invoices without an active dispute are absent."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = (
        DisputeLine.objects.filter(invoice_id__in=ids, dispute__status__in=ACTIVE_STATUSES)
        .values("invoice_id", "invoice__open_minor")
        .annotate(held=Sum("amount_minor"))
    )
    return {r["invoice_id"]: min(r["held"], r["invoice__open_minor"]) for r in rows}


def open_dispute_totals(*, customer_ids: Any) -> dict[int, tuple[int, int]]:
    """Per customer with an active dispute: (number of active disputes, held minor units)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    counts = dict(
        Dispute.objects.filter(customer_id__in=ids, status__in=ACTIVE_STATUSES)
        .values_list("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    if not counts:
        return {}
    # held per invoice (capped at its open amount), then summed per customer
    per_invoice = (
        DisputeLine.objects.filter(dispute__customer_id__in=ids, dispute__status__in=ACTIVE_STATUSES)
        .values("invoice_id", "invoice__open_minor", "dispute__customer_id")
        .annotate(held=Sum("amount_minor"))
    )
    held: dict[int, int] = {}
    for r in per_invoice:
        cid = r["dispute__customer_id"]
        held[cid] = held.get(cid, 0) + min(r["held"], r["invoice__open_minor"])
    return {cid: (n, held.get(cid, 0)) for cid, n in counts.items()}


# --- scope -----------------------------------------------------------------------------------------------


def can_view(user: Any) -> bool:
    return has_cap(user, Cap.VIEW_LEDGER) or has_cap(user, Cap.WORK_DISPUTES)


def is_resolver_only(user: Any) -> bool:
    """A dispute owner from another department: no ledger access, only the disputes assigned to them."""
    roles = roles_of(user)
    return Role.RESOLVER in roles and not has_cap(user, Cap.VIEW_LEDGER)


def dispute_scope_q(user: Any, prefix: str = "") -> Q | None:
    """The Q limiting disputes to `user`'s scope (None = all)."""
    if not roles_of(user) or not can_view(user):
        return Q(**{f"{prefix}pk__in": []})
    own = Q(**{f"{prefix}owner": user})
    if is_resolver_only(user):
        return own
    q = customer_scope_q(user, prefix=f"{prefix}customer__")
    return None if q is None else q | own


def disputes_for_user(user: Any) -> QuerySet[Dispute]:
    qs = Dispute.objects.all()
    q = dispute_scope_q(user)
    return qs if q is None else qs.filter(q)


def get_dispute_for_user(user: Any, pk: Any, write: bool = False, *, cap: Cap | None = None) -> Dispute:
    """Load a dispute within `user`'s scope (404 outside it); with write=True also require the capability
    (default: work disputes), else 403."""
    try:
        dispute = (
            disputes_for_user(user)
            .select_related("customer", "reason", "owner", "credit_memo", "payment")
            .get(pk=pk)
        )
    except (Dispute.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"dispute {pk} not found") from None
    if write and not has_cap(user, cap or Cap.WORK_DISPUTES):
        raise PermissionDenied("your role does not allow this")
    return dispute


def invoices_for_dispute_user(user: Any) -> QuerySet[Invoice]:
    """The invoices `user` may see from the disputes side: a resolver only those their disputes name."""
    if is_resolver_only(user):
        return Invoice.objects.filter(dispute_lines__dispute__owner=user).distinct()
    q = customer_scope_q(user, prefix="customer__")
    qs = Invoice.objects.all()
    return qs if q is None else qs.filter(q)


def get_invoice_for_dispute_user(user: Any, pk: Any) -> Invoice:
    if not can_view(user):
        raise PermissionDenied("your role does not allow this page")
    try:
        return invoices_for_dispute_user(user).select_related("customer").get(pk=pk)
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"invoice {pk} not found") from None


def active_reasons() -> QuerySet[ReasonCode]:
    return ReasonCode.objects.filter(active=True)


def users_who_may_own() -> QuerySet[Any]:
    """Active users who may own a dispute (a role that works disputes), by username."""
    from django.contrib.auth import get_user_model

    from ardesk.core.roles import ROLE_CAPS

    groups = [role.value for role, caps in ROLE_CAPS.items() if Cap.WORK_DISPUTES in caps]
    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=groups) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )


def queue(
    user: Any,
    *,
    as_of: Any,
    status: str = "active",
    owner: str = "",
    department: str = "",
    reason: Any = None,
    kind: str = "",
    overdue: bool = False,
    q: str = "",
) -> QuerySet[Dispute]:
    """The dispute queue in `user`'s scope: overdue SLAs first, then by due date."""
    from django.db.models import BooleanField, Case, Value, When

    qs = disputes_for_user(user).select_related("customer", "reason", "owner")
    if status == "active" or not status:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status != "all":
        qs = qs.filter(status=status)
    if owner == "me":
        qs = qs.filter(owner=user)
    elif owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        qs = qs.filter(owner__username=owner)
    if department:
        qs = qs.filter(department=department)
    if reason is not None:
        qs = qs.filter(reason=reason)
    if kind:
        qs = qs.filter(kind=kind)
    if overdue:
        qs = qs.filter(due_on__lt=as_of, status__in=ACTIVE_STATUSES)
    if q:
        qs = qs.filter(
            Q(customer__name__icontains=q)
            | Q(customer__account_number__icontains=q)
            | Q(customer_reference__icontains=q)
            | Q(lines__invoice__number__icontains=q)
        ).distinct()
    late = Case(
        When(due_on__lt=as_of, status__in=ACTIVE_STATUSES, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return qs.annotate(is_overdue=late).order_by("-is_overdue", "due_on", "id")


def queue_summary(qs: QuerySet[Dispute], as_of: Any) -> dict[str, list[dict[str, Any]]]:
    """Counts of a queue per owner and per department (overdue among them)."""
    from django.db.models import Count

    base = qs.order_by()
    late = Count("id", filter=Q(due_on__lt=as_of, status__in=ACTIVE_STATUSES))
    by_owner = list(
        base.values("owner__username")
        .annotate(n=Count("id"), late=late)
        .order_by("-late", "-n", "owner__username")
    )
    by_dept = list(
        base.values("department").annotate(n=Count("id"), late=late).order_by("-late", "-n", "department")
    )
    from .models import Department

    labels = dict(Department.choices)
    for row in by_dept:
        row["label"] = labels.get(row["department"], row["department"])
    return {"owner": by_owner, "department": by_dept}


def dispute_detail(dispute: Dispute) -> dict[str, Any]:
    lines = list(dispute.lines.select_related("invoice").all())
    held = held_amounts(invoice_ids=[ln.invoice_id for ln in lines]) if dispute.is_active else {}
    for ln in lines:
        ln.held = held.get(ln.invoice_id, 0)  # type: ignore[attr-defined]
    return {
        "lines": lines,
        "notes": list(dispute.notes.select_related("author")),
        "attachments": list(dispute.attachments.select_related("uploaded_by")),
        "events": list(dispute.events.select_related("actor")),
    }


def get_attachment_for_user(user: Any, pk: Any) -> Any:
    from .models import DisputeAttachment

    try:
        att = DisputeAttachment.objects.select_related("dispute").get(pk=pk)
    except (DisputeAttachment.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"attachment {pk} not found") from None
    get_dispute_for_user(user, att.dispute_id)
    return att


def disputes_of_invoice(user: Any, invoice: Invoice) -> QuerySet[Dispute]:
    return (
        disputes_for_user(user)
        .filter(lines__invoice=invoice)
        .select_related("reason", "owner")
        .distinct()
        .order_by("-opened_on", "-id")
    )


def disputes_of_customer(user: Any, customer_id: int) -> QuerySet[Dispute]:
    return (
        disputes_for_user(user)
        .filter(customer_id=customer_id, status__in=ACTIVE_STATUSES)
        .select_related("reason", "owner")
        .order_by("due_on", "id")
    )
