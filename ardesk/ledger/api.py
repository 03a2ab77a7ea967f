"""The ledger over HTTP: customers, contacts, invoices, write-offs, payments, credit memos, applications.

Each handler parses the request, loads what it needs through a scoped selector (outside one's scope:
404), checks the capability (403), calls one service and renders the result. Posted records have no
PUT, PATCH or DELETE (405): a correction is a reversing POST. POSTs that post records require an
`Idempotency-Key` header; creating customers and contacts accepts one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from ardesk.api.auth import current_user
from ardesk.api.errors import ErrorOut
from ardesk.api.idempotency import idempotent
from ardesk.api.pagination import PageParams, paginate
from ardesk.core.errors import CurrencyMismatch, PermissionDenied
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap

from . import selectors, services
from .models import Application, Invoice, Payment
from .schemas import (
    CREDIT_FIELDS,
    CUSTOMER_PLAIN_FIELDS,
    ApplicationFilters,
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CreditMemoFilters,
    CreditMemoIn,
    CreditMemoOut,
    CreditMemoPage,
    CustomerFilters,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    InvoiceFilters,
    InvoiceIn,
    InvoiceOut,
    InvoicePage,
    PaymentFilters,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    ReasonIn,
    ReassignIn,
    ReassignOut,
    WriteOffIn,
    WriteOffOut,
    application_out,
    contact_out,
    credit_memo_out,
    customer_out,
    invoice_out,
    payment_out,
    write_off_out,
)

router = Router(tags=["ledger"])
T = TypeVar("T")
R = TypeVar("R")

# Every answer may also be one of these errors (the JSON shape of ardesk.api.errors).
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}

CUSTOMER_RELATED = ("entity", "payment_terms", "collector")
INVOICE_RELATED = ("customer", "entity", "terms")
PAYMENT_RELATED = ("customer", "entity")
APPLICATION_RELATED = ("invoice", "reversed_by")


def _require(user: Any, cap: Cap) -> None:
    if not has_cap(user, cap):
        raise PermissionDenied("your role does not allow this")


def _maybe(value: T | None, load: Callable[[T], R]) -> R | None:
    return None if value is None else load(value)


def _filter(qs: QuerySet[Any], **exact: Any) -> QuerySet[Any]:
    return qs.filter(**{k: v for k, v in exact.items() if v is not None})


# --- customers --------------------------------------------------------------------------------------


@router.get("/customers", response={200: CustomerPage, **READ_ERRORS}, summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    """Customers in your scope, by name. `q` searches name and account number."""
    qs = selectors.customers_for_user(current_user(request)).select_related(*CUSTOMER_RELATED)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(account_number__icontains=filters.q))
    qs = _filter(
        qs,
        status=filters.status,
        entity__code=filters.entity,
        collector__username=filters.collector,
        territory=filters.territory,
        region=filters.region,
        risk_class=filters.risk_class,
    )
    return paginate(qs.order_by("name", "id"), filters, customer_out)


@router.post("/customers/reassign", response={200: ReassignOut, **WRITE_ERRORS}, summary="Reassign customers")
@idempotent(required=False)
def reassign_customers(request: HttpRequest, payload: ReassignIn) -> ReassignOut:
    """Move customers to another collector (or unassign them), keeping the assignment history. Needs the
    reassign capability; an AR manager moves only customers in their scope, to collectors of their teams.
    All or nothing: one customer outside your scope (404) or an unknown collector (422) moves none."""
    user = current_user(request)
    _require(user, Cap.REASSIGN)
    ids = list(dict.fromkeys(payload.customer_ids))
    customers = [selectors.get_customer_for_user(user, pk) for pk in ids]
    collector = _maybe(payload.collector, lambda name: selectors.get_assignable_collector(user, name))
    moved = services.reassign_customers(
        actor=user, customers=customers, collector=collector, reason=payload.reason
    )
    return ReassignOut(moved=moved, collector=payload.collector)


@router.get("/customers/{customer_id}", response={200: CustomerOut, **READ_ERRORS}, summary="Get a customer")
def get_customer(request: HttpRequest, customer_id: int) -> CustomerOut:
    return customer_out(selectors.get_customer_for_user(current_user(request), customer_id))


@router.post("/customers", response={201: CustomerOut, **WRITE_ERRORS}, summary="Create a customer")
@idempotent(required=False)
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[CustomerOut]:
    """Creating a customer is customer-master maintenance, like an import: it needs the import capability
    (admin, AR manager, cash-application clerk); naming its collector also needs the reassign capability."""
    user = current_user(request)
    _require(user, Cap.IMPORT)
    if payload.collector is not None:
        _require(user, Cap.REASSIGN)
    entity = selectors.get_entity_by_code(payload.entity)
    currency = payload.currency or entity.functional_currency
    customer = services.create_customer(
        actor=user,
        entity=entity,
        account_number=payload.account_number,
        name=payload.name,
        currency=currency,
        collector=_maybe(payload.collector, selectors.get_active_user_by_username),
        parent=_maybe(payload.parent_id, lambda pk: selectors.get_customer_for_user(user, pk)),
        payment_terms=_maybe(payload.payment_terms, selectors.get_terms_by_code),
        credit_limit_minor=_maybe(payload.credit_limit, lambda m: _limit_minor(m.money(), currency)),
        risk_class=payload.risk_class,
        **payload.model_dump(include=set(CUSTOMER_PLAIN_FIELDS)),
    )
    # Rendered from the new row itself: its collector may put it outside the creator's scope.
    return Status(201, customer_out(customer))


@router.patch(
    "/customers/{customer_id}", response={200: CustomerOut, **WRITE_ERRORS}, summary="Update a customer"
)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> CustomerOut:
    """Change the fields sent. Credit limit and risk class need the set-credit capability (credit analyst,
    AR manager); every other field the edit-customer capability (collector, AR manager)."""
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, customer_id)
    changes = payload.changes()
    for cap in sorted({Cap.SET_CREDIT if f in CREDIT_FIELDS else Cap.EDIT_CUSTOMER for f in changes}):
        _require(user, cap)
    fields: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "parent_id":
            fields["parent"] = None if value is None else selectors.get_customer_for_user(user, value)
        elif name == "payment_terms":
            fields["payment_terms"] = None if value is None else selectors.get_terms_by_code(value)
        elif name == "credit_limit":
            fields["credit_limit_minor"] = _maybe(value, lambda m: _limit_minor(m.money(), customer.currency))
        else:
            fields[name] = value
    if fields:
        services.update_customer(actor=user, customer=customer, **fields)
    return customer_out(selectors.get_customer_for_user(user, customer.pk))


def _limit_minor(money: Money, currency: str) -> int:
    if money.currency != currency:
        raise CurrencyMismatch(
            f"the credit limit must be in the customer's currency {currency}, not {money.currency}",
            field="credit_limit",
        )
    return money.minor


# --- contacts ---------------------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/contacts", response={200: ContactPage, **READ_ERRORS}, summary="List contacts"
)
def list_contacts(request: HttpRequest, customer_id: int, filters: Query[PageParams]) -> dict[str, Any]:
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, customer_id)
    qs = selectors.contacts_for_user(user).filter(customer=customer).order_by("-is_primary", "name", "id")
    return paginate(qs, filters, contact_out)


@router.post(
    "/customers/{customer_id}/contacts", response={201: ContactOut, **WRITE_ERRORS}, summary="Add a contact"
)
@idempotent(required=False)
def create_contact(request: HttpRequest, customer_id: int, payload: ContactIn) -> Status[ContactOut]:
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, customer_id, write=True)
    contact = services.add_contact(actor=user, customer=customer, **payload.model_dump())
    return Status(201, contact_out(contact))


@router.get("/contacts/{contact_id}", response={200: ContactOut, **READ_ERRORS}, summary="Get a contact")
def get_contact(request: HttpRequest, contact_id: int) -> ContactOut:
    return contact_out(selectors.get_contact_for_user(current_user(request), contact_id))


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, **WRITE_ERRORS}, summary="Update a contact"
)
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch) -> ContactOut:
    user = current_user(request)
    contact = selectors.get_contact_for_user(user, contact_id, write=True)
    changes = payload.changes()
    if changes:
        contact = services.update_contact(actor=user, contact=contact, **changes)
    return contact_out(contact)


# --- invoices and write-offs ------------------------------------------------------------------------


@router.get("/invoices", response={200: InvoicePage, **READ_ERRORS}, summary="List invoices")
def list_invoices(request: HttpRequest, filters: Query[InvoiceFilters]) -> dict[str, Any]:
    """Invoices in your scope, newest first."""
    qs = selectors.invoices_for_user(current_user(request)).select_related(*INVOICE_RELATED)
    qs = _filter(
        qs,
        customer_id=filters.customer,
        status=filters.status,
        currency=filters.currency,
        entity__code=filters.entity,
        number=filters.number,
        due_date__lt=filters.due_before,
        due_date__gt=filters.due_after,
    )
    return paginate(qs.order_by("-invoice_date", "-id"), filters, invoice_out)


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **READ_ERRORS}, summary="Get an invoice")
def get_invoice(request: HttpRequest, invoice_id: int) -> InvoiceOut:
    return invoice_out(selectors.get_invoice_for_user(current_user(request), invoice_id))


@router.post("/invoices", response={201: InvoiceOut, **WRITE_ERRORS}, summary="Post an invoice")
@idempotent(required=True)
def create_invoice(request: HttpRequest, payload: InvoiceIn) -> Status[InvoiceOut]:
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, payload.customer_id, write=True, cap=Cap.POST_INVOICE)
    invoice = services.post_invoice(
        actor=user,
        customer=customer,
        number=payload.number,
        invoice_date=payload.invoice_date,
        due_date=payload.due_date,
        amount=payload.amount.money(),
        tax=None if payload.tax is None else payload.tax.money(),
        terms=None if payload.terms is None else selectors.get_terms_by_code(payload.terms, field="terms"),
        po_number=payload.po_number,
        erp_reference=payload.erp_reference,
    )
    return Status(201, invoice_out(selectors.get_invoice_for_user(user, invoice.pk)))


@router.post(
    "/invoices/{invoice_id}/cancel", response={200: InvoiceOut, **WRITE_ERRORS}, summary="Cancel an invoice"
)
@idempotent(required=True)
def cancel_invoice(request: HttpRequest, invoice_id: int, payload: ReasonIn) -> Status[InvoiceOut]:
    """Void an invoice issued in error; one with cash, credits or write-offs on it is refused (409)."""
    user = current_user(request)
    invoice = selectors.get_invoice_for_user(user, invoice_id, cap=Cap.POST_INVOICE)
    services.cancel_invoice(actor=user, invoice=invoice, on_date=payload.on_date, reason=payload.reason)
    return Status(200, invoice_out(selectors.get_invoice_for_user(user, invoice.pk)))


@router.get(
    "/invoices/{invoice_id}/write-offs",
    response={200: list[WriteOffOut], **READ_ERRORS},
    summary="List an invoice's write-offs",
)
def list_write_offs(request: HttpRequest, invoice_id: int) -> list[WriteOffOut]:
    invoice = selectors.get_invoice_for_user(current_user(request), invoice_id)
    return [write_off_out(w, invoice.currency) for w in invoice.write_offs.order_by("written_off_on", "id")]


@router.post(
    "/invoices/{invoice_id}/write-offs",
    response={201: WriteOffOut, **WRITE_ERRORS},
    summary="Write off an invoice",
)
@idempotent(required=True)
def create_write_off(request: HttpRequest, invoice_id: int, payload: WriteOffIn) -> Status[WriteOffOut]:
    """Write off part of the open amount, or (without `amount`) all of it."""
    user = current_user(request)
    invoice = selectors.get_invoice_for_user(user, invoice_id, cap=Cap.POST_INVOICE)
    wo = services.write_off(
        actor=user,
        invoice=invoice,
        on_date=payload.on_date,
        reason=payload.reason,
        amount=None if payload.amount is None else payload.amount.money(),
    )
    return Status(201, write_off_out(wo, invoice.currency))


@router.post(
    "/invoices/{invoice_id}/write-offs/{write_off_id}/reverse",
    response={201: WriteOffOut, **WRITE_ERRORS},
    summary="Reverse a write-off",
)
@idempotent(required=True)
def reverse_write_off(
    request: HttpRequest, invoice_id: int, write_off_id: int, payload: ReasonIn
) -> Status[WriteOffOut]:
    """Posts the reversing (negative) write-off, e.g. when a written-off debt is recovered; the invoice
    reopens by the amount. A write-off is reversed at most once (409 `already_reversed`)."""
    user = current_user(request)
    invoice = selectors.get_invoice_for_user(user, invoice_id, cap=Cap.REVERSE)
    write_off = selectors.get_write_off(invoice, write_off_id)
    reversal = services.reverse_write_off(
        actor=user, write_off=write_off, on_date=payload.on_date, reason=payload.reason
    )
    return Status(201, write_off_out(reversal, invoice.currency))


# --- payments ---------------------------------------------------------------------------------------


@router.get("/payments", response={200: PaymentPage, **READ_ERRORS}, summary="List payments")
def list_payments(request: HttpRequest, filters: Query[PaymentFilters]) -> dict[str, Any]:
    qs = selectors.payments_for_user(current_user(request)).select_related(*PAYMENT_RELATED)
    qs = _filter(
        qs,
        customer_id=filters.customer,
        currency=filters.currency,
        entity__code=filters.entity,
        payment_date__gte=filters.paid_from,
        payment_date__lte=filters.paid_to,
        reversed_on__isnull=None if filters.reversed is None else not filters.reversed,
    )
    if filters.unapplied is not None:
        unapplied = Q(unapplied_minor__gt=0, reversed_on__isnull=True)
        qs = qs.filter(unapplied) if filters.unapplied else qs.exclude(unapplied)
    return paginate(qs.order_by("-payment_date", "-id"), filters, payment_out)


@router.get("/payments/{payment_id}", response={200: PaymentOut, **READ_ERRORS}, summary="Get a payment")
def get_payment(request: HttpRequest, payment_id: int) -> PaymentOut:
    return payment_out(selectors.get_payment_for_user(current_user(request), payment_id))


@router.post("/payments", response={201: PaymentOut, **WRITE_ERRORS}, summary="Post a payment")
@idempotent(required=True)
def create_payment(request: HttpRequest, payload: PaymentIn) -> Status[PaymentOut]:
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, payload.customer_id, write=True, cap=Cap.POST_PAYMENT)
    payment = services.post_payment(
        actor=user,
        customer=customer,
        reference=payload.reference,
        payment_date=payload.payment_date,
        amount=payload.amount.money(),
        method=payload.method,
        erp_reference=payload.erp_reference,
    )
    return Status(201, payment_out(selectors.get_payment_for_user(user, payment.pk)))


@router.post(
    "/payments/{payment_id}/reverse", response={200: PaymentOut, **WRITE_ERRORS}, summary="Reverse a payment"
)
@idempotent(required=True)
def reverse_payment(request: HttpRequest, payment_id: int, payload: ReasonIn) -> Status[PaymentOut]:
    """A returned check or recalled wire: every live application is reversed, then the receipt."""
    user = current_user(request)
    payment = selectors.get_payment_for_user(user, payment_id, cap=Cap.REVERSE)
    services.reverse_payment(actor=user, payment=payment, on_date=payload.on_date, reason=payload.reason)
    return Status(200, payment_out(selectors.get_payment_for_user(user, payment.pk)))


# --- credit memos -----------------------------------------------------------------------------------


@router.get("/credit-memos", response={200: CreditMemoPage, **READ_ERRORS}, summary="List credit memos")
def list_credit_memos(request: HttpRequest, filters: Query[CreditMemoFilters]) -> dict[str, Any]:
    qs = selectors.credit_memos_for_user(current_user(request)).select_related(*PAYMENT_RELATED)
    qs = _filter(qs, customer_id=filters.customer, currency=filters.currency, entity__code=filters.entity)
    if filters.unapplied is not None:
        qs = qs.filter(unapplied_minor__gt=0) if filters.unapplied else qs.filter(unapplied_minor=0)
    return paginate(qs.order_by("-memo_date", "-id"), filters, credit_memo_out)


@router.get(
    "/credit-memos/{memo_id}", response={200: CreditMemoOut, **READ_ERRORS}, summary="Get a credit memo"
)
def get_credit_memo(request: HttpRequest, memo_id: int) -> CreditMemoOut:
    memo = selectors.get_credit_memo_for_user(current_user(request), memo_id)
    return credit_memo_out(memo)


@router.post("/credit-memos", response={201: CreditMemoOut, **WRITE_ERRORS}, summary="Post a credit memo")
@idempotent(required=True)
def create_credit_memo(request: HttpRequest, payload: CreditMemoIn) -> Status[CreditMemoOut]:
    user = current_user(request)
    customer = selectors.get_customer_for_user(user, payload.customer_id, write=True, cap=Cap.POST_INVOICE)
    original = (
        None
        if payload.original_invoice_id is None
        else selectors.get_invoice_for_user(user, payload.original_invoice_id)
    )
    memo = services.post_credit_memo(
        actor=user,
        customer=customer,
        number=payload.number,
        memo_date=payload.memo_date,
        amount=payload.amount.money(),
        reason=payload.reason,
        original_invoice=original,
        erp_reference=payload.erp_reference,
    )
    return Status(201, credit_memo_out(selectors.get_credit_memo_for_user(user, memo.pk)))


# --- applications -----------------------------------------------------------------------------------


@router.get("/applications", response={200: ApplicationPage, **READ_ERRORS}, summary="List applications")
def list_applications(request: HttpRequest, filters: Query[ApplicationFilters]) -> dict[str, Any]:
    qs = selectors.applications_for_user(current_user(request)).select_related(*APPLICATION_RELATED)
    qs = _filter(
        qs,
        invoice__customer_id=filters.customer,
        invoice_id=filters.invoice,
        payment_id=filters.payment,
        credit_memo_id=filters.credit_memo,
    )
    return paginate(qs.order_by("applied_date", "id"), filters, application_out)


@router.get(
    "/applications/{application_id}",
    response={200: ApplicationOut, **READ_ERRORS},
    summary="Get an application",
)
def get_application(request: HttpRequest, application_id: int) -> ApplicationOut:
    return application_out(_application(current_user(request), application_id))


def _application(user: Any, pk: int) -> Application:
    app = selectors.get_application_for_user(user, pk)
    return Application.objects.select_related(*APPLICATION_RELATED).get(pk=app.pk)


@router.post(
    "/applications", response={201: ApplicationOut, **WRITE_ERRORS}, summary="Apply cash or a credit"
)
@idempotent(required=True)
def create_application(request: HttpRequest, payload: ApplicationIn) -> Status[ApplicationOut]:
    """Apply part or all of a payment or credit memo to an invoice. More than the invoice's open amount
    (or the source's unapplied amount) is refused with 409 `over_application`."""
    user = current_user(request)
    invoice: Invoice = selectors.get_invoice_for_user(user, payload.invoice_id, cap=Cap.POST_PAYMENT)
    payment: Payment | None = None
    memo = None
    if payload.payment_id is not None:
        payment = selectors.get_payment_for_user(user, payload.payment_id)
    else:
        memo = selectors.get_credit_memo_for_user(user, payload.credit_memo_id)
    app = services.apply(
        actor=user,
        invoice=invoice,
        amount=payload.amount.money(),
        applied_date=payload.applied_date,
        payment=payment,
        credit_memo=memo,
    )
    return Status(201, application_out(_application(user, app.pk)))


@router.post(
    "/applications/{application_id}/reverse",
    response={201: ApplicationOut, **WRITE_ERRORS},
    summary="Reverse an application",
)
@idempotent(required=True)
def reverse_application(
    request: HttpRequest, application_id: int, payload: ReasonIn
) -> Status[ApplicationOut]:
    """Posts the reversing (negative) application; the invoice reopens and the cash is unapplied again."""
    user = current_user(request)
    app = selectors.get_application_for_user(user, application_id, cap=Cap.REVERSE)
    reversal = services.reverse_application(
        actor=user, application=app, on_date=payload.on_date, reason=payload.reason
    )
    return Status(201, application_out(_application(user, reversal.pk)))
