"""The disputes API, mounted by ardesk.api.api at /api/v1/disputes.

List and get within your scope (a resolver: the disputes assigned to them); open (needs the work-disputes
capability and the invoices in your ledger scope), assign, change status, and resolve (needs the
resolve capability). Writes accept an `Idempotency-Key`; resolving twice is refused (409).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Query, Router, Status

from ardesk.api.auth import current_user
from ardesk.api.errors import ErrorOut
from ardesk.api.idempotency import idempotent
from ardesk.api.pagination import paginate
from ardesk.core.errors import InvalidInput, PermissionDenied
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger.selectors import get_customer_for_user, get_invoice_for_user

from . import selectors, services
from .models import ACTIVE_STATUSES, Dispute
from .schemas import (
    AssignIn,
    DisputeFilters,
    DisputeIn,
    DisputeOut,
    DisputePage,
    ResolveIn,
    StatusIn,
    dispute_out,
)

router = Router(tags=["disputes"])

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}
RELATED = ("customer", "reason", "owner", "credit_memo")


def _reader(request: HttpRequest) -> Any:
    user = current_user(request)
    if not selectors.can_view(user):
        raise PermissionDenied("your role does not give access to disputes")
    return user


def _require(user: Any, cap: Cap) -> None:
    if not has_cap(user, cap):
        raise PermissionDenied("your role does not allow this")


def _load(user: Any, pk: int, cap: Cap | None = None) -> Dispute:
    d = selectors.get_dispute_for_user(user, pk, write=cap is not None, cap=cap)
    return d


def _out(pk: int) -> DisputeOut:
    return dispute_out(Dispute.objects.select_related(*RELATED).prefetch_related("lines__invoice").get(pk=pk))


def _user(username: str | None, field: str = "owner") -> Any:
    if username is None:
        return None
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise InvalidInput(f"no active user {username!r}", field=field) from None


@router.get("", response={200: DisputePage, **READ_ERRORS}, summary="List disputes")
def list_disputes(request: HttpRequest, filters: Query[DisputeFilters]) -> dict[str, Any]:
    """Disputes in your scope, overdue first then by due date."""
    user = _reader(request)
    qs = selectors.disputes_for_user(user).select_related(*RELATED).prefetch_related("lines__invoice")
    if filters.status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.department:
        qs = qs.filter(department=filters.department)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return paginate(qs.order_by("due_on", "id"), filters, dispute_out)


@router.get("/{dispute_id}", response={200: DisputeOut, **READ_ERRORS}, summary="Get a dispute")
def get_dispute(request: HttpRequest, dispute_id: int) -> DisputeOut:
    user = _reader(request)
    return _out(_load(user, dispute_id).pk)


@router.post("", response={201: DisputeOut, **WRITE_ERRORS}, summary="Open a dispute")
@idempotent(required=False)
def open_dispute(request: HttpRequest, payload: DisputeIn) -> Status[DisputeOut]:
    """Open a dispute on invoices of one customer in your scope; the due date follows the reason's SLA."""
    user = _reader(request)
    _require(user, Cap.WORK_DISPUTES)
    customer = get_customer_for_user(user, payload.customer_id)
    lines = []
    for i, ln in enumerate(payload.lines):
        inv = get_invoice_for_user(user, ln.invoice_id)
        if inv.customer_id != customer.pk:
            raise InvalidInput(
                f"lines[{i}]: invoice {inv.number} is not {customer.account_number}'s", field="lines"
            )
        lines.append(services.LineIn(inv, ln.amount.money() if ln.amount else None))
    d = services.open_dispute(
        actor=user,
        customer=customer,
        lines=lines,
        reason=payload.reason,
        opened_on=payload.opened_on,
        channel=payload.channel,
        owner=_user(payload.owner),
        department=payload.department,
        customer_reason_code=payload.customer_reason_code,
        customer_reference=payload.customer_reference,
        description=payload.description,
    )
    return Status(201, _out(d.pk))


@router.post("/{dispute_id}/assign", response={200: DisputeOut, **WRITE_ERRORS}, summary="Assign a dispute")
@idempotent(required=False)
def assign(request: HttpRequest, dispute_id: int, payload: AssignIn) -> DisputeOut:
    user = _reader(request)
    d = _load(user, dispute_id, Cap.WORK_DISPUTES)
    services.assign(
        actor=user,
        dispute=d,
        owner=_user(payload.owner),
        department=payload.department,
        on_date=payload.on_date,
    )
    return _out(d.pk)


@router.post(
    "/{dispute_id}/status", response={200: DisputeOut, **WRITE_ERRORS}, summary="Change a dispute's status"
)
@idempotent(required=False)
def change_status(request: HttpRequest, dispute_id: int, payload: StatusIn) -> DisputeOut:
    user = _reader(request)
    d = _load(user, dispute_id, Cap.WORK_DISPUTES)
    services.change_status(
        actor=user, dispute=d, status=payload.status, on_date=payload.on_date, note=payload.note
    )
    return _out(d.pk)


@router.post("/{dispute_id}/resolve", response={200: DisputeOut, **WRITE_ERRORS}, summary="Resolve a dispute")
@idempotent(required=False)
def resolve(request: HttpRequest, dispute_id: int, payload: ResolveIn) -> DisputeOut:
    """valid: one credit memo for the disputed amount; invalid: back to collection; partial: a credit memo
    for `valid_amount`; written_off: written off in the ledger. A second resolution is refused (409)."""
    user = _reader(request)
    d = _load(user, dispute_id, Cap.RESOLVE_DISPUTES)
    services.resolve(
        actor=user,
        dispute=d,
        resolution=payload.resolution,
        root_cause=payload.root_cause,
        on_date=payload.on_date,
        valid_amount=payload.valid_amount.money() if payload.valid_amount else None,
        note=payload.note,
    )
    return _out(d.pk)
