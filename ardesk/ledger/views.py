"""Pages of the AR subledger: customers, invoices, payments, and the contact editor.

Each view parses with a form, reads through a scoped selector (an id outside the user's scope is a 404),
writes through a service (a missing capability is a 403) and renders. No view changes state on GET.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from ardesk.core.decorators import requires
from ardesk.core.errors import ArdeskError
from ardesk.core.exports import export_response
from ardesk.core.money import Money
from ardesk.core.roles import Cap

from . import selectors, services
from .forms import ContactForm, CustomerFilterForm, InvoiceFilterForm, ListFilterForm, PaymentFilterForm
from .models import Customer, Invoice, Payment

PAGE_SIZE = 50
View = Callable[..., HttpResponseBase]


ledger_reader = requires(Cap.VIEW_LEDGER, "your role does not give access to the ledger")


def today() -> dt.date:
    return timezone.localdate()


def is_partial(request: HttpRequest) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_list(
    request: HttpRequest, form: ListFilterForm, qs: QuerySet[Any], template: str, partial: str
) -> HttpResponse:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "sort": form.params().sort, "partial": partial, "as_of": today()}
    response = render(request, partial if is_partial(request) else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _major(minor: int, currency: str) -> Any:
    return Money(int(minor), currency).amount


# --- exports: numbers stay numbers (Decimal major units), text is neutralised by export_response ---------

CUSTOMER_HEADER = [
    "Account",
    "Name",
    "Entity",
    "Territory",
    "Region",
    "Status",
    "Risk class",
    "Collector",
    "Currency",
    "Credit limit",
    "Open AR",
    "Past due",
]
INVOICE_HEADER = [
    "Invoice",
    "Account",
    "Customer",
    "Entity",
    "Invoice date",
    "Due date",
    "Currency",
    "Amount",
    "Open",
    "Status",
    "Collector",
]
PAYMENT_HEADER = [
    "Reference",
    "Account",
    "Customer",
    "Entity",
    "Payment date",
    "Currency",
    "Amount",
    "Unapplied",
    "Method",
    "Reversed on",
]


def _username(user: Any) -> str:
    return user.username if user is not None else ""


def customer_rows(qs: Iterable[Customer]) -> Iterator[list[Any]]:
    for c in qs:
        limit = None if c.credit_limit_minor is None else _major(c.credit_limit_minor, c.currency)
        yield [
            c.account_number,
            c.name,
            c.entity.code,
            c.territory,
            c.region,
            c.get_status_display(),
            c.get_risk_class_display(),
            _username(c.collector),
            c.currency,
            limit,
            _major(c.open_ar, c.currency),  # type: ignore[attr-defined]
            _major(c.past_due, c.currency),  # type: ignore[attr-defined]
        ]


def invoice_rows(qs: Iterable[Invoice]) -> Iterator[list[Any]]:
    for i in qs:
        yield [
            i.number,
            i.customer.account_number,
            i.customer.name,
            i.entity.code,
            i.invoice_date,
            i.due_date,
            i.currency,
            _major(i.amount_minor, i.currency),
            _major(i.open_minor, i.currency),
            i.get_status_display(),
            _username(i.customer.collector),
        ]


def payment_rows(qs: Iterable[Payment]) -> Iterator[list[Any]]:
    for p in qs:
        yield [
            p.reference,
            p.customer.account_number,
            p.customer.name,
            p.entity.code,
            p.payment_date,
            p.currency,
            _major(p.amount_minor, p.currency),
            _major(p.unapplied_minor, p.currency),
            p.get_method_display(),
            p.reversed_on,
        ]


# --- lists ---------------------------------------------------------------------------------------------


@require_GET
@ledger_reader
def customers(request: HttpRequest) -> HttpResponseBase:
    form = CustomerFilterForm(request.user, request.GET)
    params = form.params()
    qs = selectors.customer_list(request.user, as_of=today(), **params.filters)
    if params.export:
        return export_response(params.export, "customers", CUSTOMER_HEADER, customer_rows(qs.iterator()))
    return render_list(request, form, qs, "ledger/customers.html", "ledger/_customer_table.html")


@require_GET
@ledger_reader
def invoices(request: HttpRequest) -> HttpResponseBase:
    form = InvoiceFilterForm(request.user, request.GET)
    params = form.params()
    qs = selectors.invoice_list(request.user, as_of=today(), **params.filters)
    if params.export:
        return export_response(params.export, "invoices", INVOICE_HEADER, invoice_rows(qs.iterator()))
    return render_list(request, form, qs, "ledger/invoices.html", "ledger/_invoice_table.html")


@require_GET
@ledger_reader
def payments(request: HttpRequest) -> HttpResponseBase:
    form = PaymentFilterForm(request.user, request.GET)
    params = form.params()
    qs = selectors.payment_list(request.user, **params.filters)
    if params.export:
        return export_response(params.export, "payments", PAYMENT_HEADER, payment_rows(qs.iterator()))
    return render_list(request, form, qs, "ledger/payments.html", "ledger/_payment_table.html")


# --- detail pages --------------------------------------------------------------------------------------


@require_GET
@ledger_reader
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    cust = selectors.get_customer_for_user(request.user, pk)
    as_of = today()
    overview = selectors.customer_overview(request.user, cust, as_of)
    context = {"customer": cust, "o": overview, "as_of": as_of}
    return render(request, "ledger/customer.html", context)


@require_GET
@ledger_reader
def invoice(request: HttpRequest, pk: int) -> HttpResponse:
    inv = selectors.get_invoice_for_user(request.user, pk)
    applications, write_offs = selectors.invoice_history(inv)
    as_of = today()
    context = {
        "invoice": inv,
        "applications": applications,
        "write_offs": write_offs,
        "as_of": as_of,
        "days_past_due": (as_of - inv.due_date).days,
    }
    return render(request, "ledger/invoice.html", context)


# --- contacts (htmx: the contacts section is re-rendered in place; without JS, post-redirect-get) --------


def _contact_response(
    request: HttpRequest, cust: Customer, form: ContactForm | None, action: str, saved: str = ""
) -> HttpResponse:
    if saved and not is_partial(request):
        messages.success(request, saved)
        return redirect(reverse("ledger:customer", args=[cust.pk]) + "#contacts")
    context = {
        "customer": cust,
        "contacts": cust.contacts.all(),
        "form": form,
        "action": action,
        "saved": saved,
    }
    if is_partial(request):
        template = "ledger/_contacts.html" if request.method == "POST" else "ledger/_contact_form.html"
    else:
        template = "ledger/contact_form.html"
    return render(request, template, context)


def _save_contact(form: ContactForm, write: Callable[[dict[str, Any]], Any]) -> bool:
    if not form.is_valid():
        return False
    try:
        write(form.fields_for_service())
    except ArdeskError as exc:
        field = exc.details.get("field")
        form.add_error(field if field in form.fields else None, exc.message)
        return False
    return True


@require_http_methods(["GET", "POST"])
@ledger_reader
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    cust = selectors.get_customer_for_user(request.user, pk, write=True)
    form = ContactForm(request.POST or None)
    action = reverse("ledger:contact_add", args=[cust.pk])
    if request.method == "POST" and _save_contact(
        form, lambda data: services.add_contact(actor=request.user, customer=cust, **data)
    ):
        return _contact_response(
            request, cust, None, action, saved=f"Contact {form.cleaned_data['name']} added."
        )
    return _contact_response(request, cust, form, action)


@require_http_methods(["GET", "POST"])
@ledger_reader
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.get_contact_for_user(request.user, pk, write=True)
    form = ContactForm(request.POST or None, instance=contact)
    action = reverse("ledger:contact_edit", args=[contact.pk])
    if request.method == "POST" and _save_contact(
        form, lambda data: services.update_contact(actor=request.user, contact=contact, **data)
    ):
        saved = f"Contact {form.cleaned_data['name']} saved."
        return _contact_response(request, contact.customer, None, action, saved=saved)
    return _contact_response(request, contact.customer, form, action)
