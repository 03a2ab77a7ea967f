"""The activities API (mounted at /api/v1/activities): the activity log and promises to pay.

Reads are scoped like the ledger (a customer outside one's scope is 404); logging needs the log-activity
capability (collector, manager, admin; else 403). Handlers parse, load through a scoped selector, call one
service and render.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from ardesk.api.auth import current_user
from ardesk.api.errors import ErrorOut
from ardesk.api.idempotency import idempotent
from ardesk.api.pagination import paginate
from ardesk.core.errors import PermissionDenied
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger import selectors as ledger_selectors

from . import selectors, services
from .schemas import (
    ActivityFilters,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    CancelIn,
    PromiseFilters,
    PromiseIn,
    PromiseOut,
    PromisePage,
    activity_out,
    promise_out,
)

router = Router(tags=["activities"])

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}


def _reader(request: HttpRequest) -> Any:
    user = current_user(request)
    if not has_cap(user, Cap.VIEW_LEDGER):
        raise PermissionDenied("your role does not give access to the ledger")
    return user


def _collector(username: str | None) -> Any:
    return None if username is None else ledger_selectors.get_active_user_by_username(username)


@router.get("", response={200: ActivityPage, **READ_ERRORS}, summary="List activities")
def list_activities(request: HttpRequest, filters: Query[ActivityFilters]) -> dict[str, Any]:
    """Activities with the customers in your scope, newest first."""
    user = _reader(request)
    qs = selectors.activities_for_user(
        user,
        customer=filters.customer,
        collector=_collector(filters.collector),
        kind=filters.kind or "",
        outcome=filters.outcome or "",
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return paginate(qs, filters, activity_out)


@router.post("", response={201: ActivityOut, **WRITE_ERRORS}, summary="Log an activity")
@idempotent(required=False)
def log_activity(request: HttpRequest, payload: ActivityIn) -> Status[ActivityOut]:
    """A call (with its outcome), an email, a letter, an SMS, a meeting, a visit, a note or a payment plan
    with a customer of yours, with an optional next follow-up date."""
    user = current_user(request)
    customer = ledger_selectors.get_customer_for_user(
        user, payload.customer_id, write=True, cap=Cap.LOG_ACTIVITY
    )
    contact, invoices = selectors.refs_for_user(
        user, customer, contact_id=payload.contact_id, invoice_ids=payload.invoice_ids
    )
    activity = services.log_activity(
        actor=user,
        customer=customer,
        kind=payload.kind,
        occurred_at=payload.occurred_at,
        contact=contact,
        invoices=invoices,
        outcome=payload.outcome or "",
        duration_seconds=payload.duration_seconds,
        subject=payload.subject,
        notes=payload.notes,
        follow_up_on=payload.follow_up_on,
    )
    return Status(201, activity_out(selectors.get_activity_for_user(user, activity.pk)))


@router.get("/promises", response={200: PromisePage, **READ_ERRORS}, summary="List promises to pay")
def list_promises(request: HttpRequest, filters: Query[PromiseFilters]) -> dict[str, Any]:
    """Promises of the customers in your scope, latest promised date first."""
    user = _reader(request)
    qs = selectors.promises_for_user(
        user,
        customer=filters.customer,
        collector=_collector(filters.collector),
        status=filters.status or "",
        due_from=filters.due_from,
        due_to=filters.due_to,
    )
    return paginate(qs, filters, promise_out)


@router.post("/promises", response={201: PromiseOut, **WRITE_ERRORS}, summary="Take a promise to pay")
@idempotent(required=False)
def take_promise(request: HttpRequest, payload: PromiseIn) -> Status[PromiseOut]:
    """Record a promise to pay an amount by a date, for some invoices (in the promise's currency) or for
    the account; it is evaluated automatically against the payments received."""
    user = current_user(request)
    customer = ledger_selectors.get_customer_for_user(
        user, payload.customer_id, write=True, cap=Cap.LOG_ACTIVITY
    )
    contact, invoices = selectors.refs_for_user(
        user, customer, contact_id=payload.contact_id, invoice_ids=payload.invoice_ids
    )
    promise = services.take_promise(
        actor=user,
        customer=customer,
        amount=payload.amount.money(),
        promised_date=payload.promised_date,
        invoices=invoices,
        contact=contact,
        grace_days=payload.grace_days,
        notes=payload.notes,
        occurred_at=payload.occurred_at,
    )
    return Status(201, promise_out(selectors.get_promise_for_user(user, promise.pk)))


@router.post(
    "/promises/{promise_id}/cancel", response={200: PromiseOut, **WRITE_ERRORS}, summary="Cancel a promise"
)
@idempotent(required=False)
def cancel_promise(request: HttpRequest, promise_id: int, payload: CancelIn) -> Status[PromiseOut]:
    """Only an open promise can be cancelled (409 otherwise)."""
    user = current_user(request)
    promise = selectors.get_promise_for_user(user, promise_id)
    if not has_cap(user, Cap.LOG_ACTIVITY):
        raise PermissionDenied("your role does not allow logging activity")
    promise = services.cancel_promise(actor=user, promise=promise, reason=payload.reason)
    return Status(200, promise_out(selectors.get_promise_for_user(user, promise.pk)))
