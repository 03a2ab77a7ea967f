"""The collections API router, mounted by ardesk.api.api: the worklist, the outbox, bounces, blocks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from ardesk.api.auth import current_user
from ardesk.api.errors import ErrorOut
from ardesk.api.pagination import paginate
from ardesk.core.errors import NotFound, PermissionDenied
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger import selectors as ledger_selectors

from . import selectors, services
from .models import OutboxMessage
from .schemas import (
    BlockIn,
    BlockOut,
    BounceIn,
    OutboxFilters,
    OutboxPage,
    SuppressionOut,
    WorklistOut,
    block_out,
    outbox_out,
    suppression_out,
    worklist_entry_out,
)

router = Router(tags=["collections"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}


def _require(user: Any, cap: Cap) -> None:
    if not has_cap(user, cap):
        raise PermissionDenied("your role does not allow this")


@router.get("/worklist", response={200: WorklistOut, **READ_ERRORS}, summary="Your ranked worklist")
def get_worklist(request: HttpRequest, collector: str | None = None) -> WorklistOut:
    """Accounts ranked by score with their reasons; a manager may ask for a collector of their teams."""
    user = current_user(request)
    _require(user, Cap.WORK_ACCOUNTS)
    who: Any = user
    if collector:
        who = ledger_selectors.collectors_for_user(user).filter(username=collector).first()
        if who is None:
            raise NotFound(f"collector {collector} not found")
    as_of = timezone.localdate()
    entries = selectors.worklist(user, as_of, who)
    return WorklistOut(
        as_of=as_of,
        collector=who.username,
        items=[worklist_entry_out(n, e) for n, e in enumerate(entries, 1)],
    )


@router.get("/outbox", response={200: OutboxPage, **READ_ERRORS}, summary="Dunning outbox")
def list_outbox(request: HttpRequest, filters: Query[OutboxFilters]) -> dict[str, Any]:
    user = current_user(request)
    _require(user, Cap.WORK_ACCOUNTS)
    qs = OutboxMessage.objects.filter(customer__in=ledger_selectors.customers_for_user(user)).select_related(
        "customer"
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.run_date:
        qs = qs.filter(run_date=filters.run_date)
    return paginate(qs.order_by("-run_date", "-id"), filters, outbox_out)


@router.post("/bounces", response={201: SuppressionOut, **WRITE_ERRORS}, summary="Record a bounced address")
def record_bounce(request: HttpRequest, payload: BounceIn) -> Status[SuppressionOut]:
    """A bounce (from the mail server's DSN or a webhook) stops further dunning mail to the address."""
    user = current_user(request)
    _require(user, Cap.MANAGE_DUNNING)
    row = services.record_bounce(actor=user, email=payload.email, detail=payload.detail)
    return Status(201, suppression_out(row))


@router.post(
    "/customers/{customer_id}/blocks", response={201: BlockOut, **WRITE_ERRORS}, summary="Block dunning"
)
def add_block(request: HttpRequest, customer_id: int, payload: BlockIn) -> Status[BlockOut]:
    user = current_user(request)
    customer = ledger_selectors.get_customer_for_user(user, customer_id)
    _require(user, Cap.MANAGE_DUNNING)
    invoice = None
    if payload.invoice_id is not None:
        invoice = ledger_selectors.get_invoice_for_user(user, payload.invoice_id)
    block = services.add_block(
        actor=user,
        customer=customer,
        reason=payload.reason,
        on_date=timezone.localdate(),
        until=payload.until,
        invoice=invoice,
    )
    return Status(201, block_out(block))
