"""Pages of the activity log: the customer and invoice panels (htmx), the two-click call log, the
activity list, the follow-ups of a collector and the Activity Management report.

Each view parses with a form, reads through a scoped selector (outside one's scope: 404), writes through a
service (a missing capability: 403) and renders. No view changes state on GET.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from ardesk.core.decorators import requires
from ardesk.core.errors import ArdeskError, PermissionDenied
from ardesk.core.exports import export_response
from ardesk.core.roles import Cap, Role, has_cap, roles_of
from ardesk.ledger import selectors as ledger_selectors
from ardesk.ledger.models import Customer

from . import rules, selectors, services
from .forms import ActivityFilterForm, LogCallForm, ReportForm
from .models import Activity, Outcome
from .report import EXPORT_MEASURES, MIX_COLUMNS, activity_report, export_table

PAGE_SIZE = 50
reader = requires(Cap.VIEW_LEDGER, "your role does not give access to the ledger")
# a service's field name -> the form field that shows its error
FORM_FIELDS = {
    "amount": "promise_amount",
    "promised_date": "promise_date",
    "invoices": "promise_invoices",
    "outcome": "outcome",
    "contact": "contact",
    "grace_days": "promise_date",
}


def today() -> dt.date:
    return timezone.localdate()


def is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


# --- the customer panel and the two-click call log ----------------------------------------------------


def _panel(
    request: HttpRequest,
    customer: Customer,
    form: LogCallForm | None = None,
    saved: str = "",
    status: int = 200,
) -> HttpResponse:
    can_log = has_cap(request.user, Cap.LOG_ACTIVITY)
    context = {
        "customer": customer,
        "timeline": selectors.customer_timeline(customer),
        "promises": selectors.customer_promises(customer),
        "form": form or (LogCallForm(customer) if can_log else None),
        "can_log": can_log,
        "saved": saved,
        "outcomes": Outcome.choices,
        "as_of": today(),
    }
    template = "activities/_customer_panel.html" if is_partial(request) else "activities/customer_panel.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@reader
def customer_panel(request: HttpRequest, pk: int) -> HttpResponse:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    return _panel(request, customer)


@require_POST
@reader
def log_call(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Posts the call form: htmx gets the refreshed panel, a browser without JS is sent back to the
    customer page (or sees the form with its errors)."""
    customer = ledger_selectors.get_customer_for_user(request.user, pk, write=True, cap=Cap.LOG_ACTIVITY)
    form = LogCallForm(customer, request.POST)
    if form.is_valid():
        try:
            call, promise = services.log_call(actor=request.user, customer=customer, **form.service_kwargs())
        except ArdeskError as exc:
            field = FORM_FIELDS.get(str(exc.details.get("field", "")))
            form.add_error(field, exc.message)
        else:
            saved = f"Call logged: {call.get_outcome_display().lower()}"
            if promise is not None:
                saved += f"; promise to pay {promise.amount} by {promise.promised_date:%Y-%m-%d}"
            saved += "."
            if not is_partial(request):
                messages.success(request, saved)
                return redirect(reverse("ledger:customer", args=[customer.pk]) + "#activities")
            return _panel(request, customer, saved=saved)
    return _panel(request, customer, form=form, status=200 if is_partial(request) else 422)


@require_GET
@reader
def invoice_panel(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = ledger_selectors.get_invoice_for_user(request.user, pk)
    context = {
        "invoice": invoice,
        "activities": selectors.invoice_activities(invoice),
        "promises": selectors.invoice_promises(invoice),
    }
    return render(request, "activities/_invoice_panel.html", context)


# --- the activity list ---------------------------------------------------------------------------------

LIST_HEADER = [
    "Occurred",
    "Date",
    "Account",
    "Customer",
    "Kind",
    "Outcome",
    "Source",
    "Collector",
    "Logged by",
    "Minutes",
    "Subject",
    "Notes",
    "Follow-up",
]


def _username(user: Any) -> str:
    return user.username if user is not None else ""


def list_rows(qs: Iterable[Activity]) -> Iterator[list[Any]]:
    for a in qs:
        yield [
            timezone.localtime(a.occurred_at).strftime("%Y-%m-%d %H:%M"),
            a.occurred_on,
            a.customer.account_number,
            a.customer.name,
            a.get_kind_display(),
            a.get_outcome_display() if a.outcome else "",
            a.get_source_display(),
            _username(a.collector),
            _username(a.actor),
            None if a.duration_seconds is None else a.duration_seconds // 60,
            a.subject,
            a.notes,
            a.follow_up_on,
        ]


@require_GET
@reader
def activity_list(request: HttpRequest) -> HttpResponseBase:
    form = ActivityFilterForm(request.user, request.GET)
    params = form.params()
    filters = dict(params.filters)
    sort = filters.pop("sort")
    search = filters.pop("customer", "") or ""
    qs = selectors.activities_for_user(request.user, customer_search=search, **filters).order_by(
        *selectors.ACTIVITY_SORTS[sort]
    )
    if params.export:
        return export_response(
            params.export, "activities", LIST_HEADER, list_rows(qs.iterator(chunk_size=2000))
        )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    partial = "activities/_activity_table.html"
    context = {"form": form, "page": page, "sort": params.sort, "partial": partial}
    template = partial if is_partial(request) else "activities/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- follow-ups ----------------------------------------------------------------------------------------


@require_GET
@reader
def follow_ups(request: HttpRequest) -> HttpResponse:
    """A collector's open follow-ups due today or earlier; a manager or a global role sees everyone's in
    scope with `?all=1`."""
    as_of = today()
    sees_team = bool(roles_of(request.user) - {Role.COLLECTOR})
    everyone = sees_team and request.GET.get("all") == "1"
    items = list(selectors.follow_ups_for_user(request.user, as_of=as_of, mine_only=not everyone)[:500])
    context = {
        "items": items,
        "as_of": as_of,
        "everyone": everyone,
        "sees_team": sees_team,
        "can_log": has_cap(request.user, Cap.LOG_ACTIVITY),
    }
    return render(request, "activities/follow_ups.html", context)


@require_POST
@reader
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponseBase:
    activity = selectors.get_activity_for_user(request.user, pk)
    if not has_cap(request.user, Cap.LOG_ACTIVITY):
        raise PermissionDenied("your role does not allow logging activity")
    services.complete_follow_up(actor=request.user, activity=activity)
    if is_partial(request):
        return HttpResponse("")
    messages.success(request, f"Follow-up with {activity.customer.name} done.")
    return redirect("activities:follow_ups")


# --- the Activity Management report --------------------------------------------------------------------


@require_GET
@reader
def report(request: HttpRequest) -> HttpResponseBase:
    form = ReportForm(request.user, request.GET or None, today())
    start, end, team, fmt = form.window()
    data = activity_report(request.user, start=start, end=end, team=team)
    if fmt in ("csv", "xlsx"):
        header, rows = export_table(data)
        return export_response(fmt, f"activity-report-{start}-{end}", header, rows)
    used_kinds = [(k, label) for k, label in MIX_COLUMNS if any(r.mix.get(k) for r in data.rows)]
    context = {
        "form": form,
        "report": data,
        "measures": EXPORT_MEASURES,
        "mix_columns": used_kinds,
        "working_days": rules.working_days(start, end),
        "query": request.GET.urlencode(),
    }
    return render(request, "activities/report.html", context)
