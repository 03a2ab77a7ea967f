"""Pages of the disputes app: the queue, a dispute, opening one from an invoice, the steps of its workflow,
the reports, and the panels shown on the customer and invoice pages.

Reads go through the scoped selectors (outside one's scope: 404), writes through the services (a missing
capability: 403). Every write is a POST that redirects back to the dispute (post-redirect-get); nothing
changes on GET.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from importlib import metadata
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ardesk.core.errors import ArdeskError, InvalidInput, PermissionDenied
from ardesk.core.exports import export_response
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger.models import Invoice
from ardesk.ledger.selectors import get_customer_for_user, get_invoice_for_user, open_invoices

from . import reports, selectors, services
from .forms import (
    AssignForm,
    AttachmentForm,
    NoteForm,
    OpenForm,
    QueueFilterForm,
    ReopenForm,
    ReportForm,
    ResolveForm,
    StatusForm,
)
from .models import Dispute, Status

PAGE_SIZE = 50
PLOTLY_VERSION = metadata.version("plotly")
View = Callable[..., HttpResponseBase]


def today() -> dt.date:
    return timezone.localdate()


def dispute_reader(view: View) -> View:
    """Login required, then a role that sees disputes (ledger readers and dispute workers), else 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.can_view(request.user):
            raise PermissionDenied("your role does not give access to disputes")
        return view(request, *args, **kwargs)

    return wrapped


def _need(user: Any, cap: Cap) -> None:
    if not has_cap(user, cap):
        raise PermissionDenied("your role does not allow this")


def _major(minor: int, currency: str) -> Any:
    return Money(minor, currency).amount


# --- the queue -------------------------------------------------------------------------------------------

QUEUE_HEADER = [
    "Dispute",
    "Kind",
    "Customer",
    "Account",
    "Reason",
    "Customer reason",
    "Customer reference",
    "Owner",
    "Department",
    "Status",
    "Opened",
    "Due",
    "Overdue",
    "Currency",
    "Amount",
    "Resolution",
    "Root cause",
    "Resolved",
]


def queue_rows(qs: Iterable[Dispute]) -> Iterator[list[Any]]:
    for d in qs:
        yield [
            d.number,
            d.get_kind_display(),
            d.customer.name,
            d.customer.account_number,
            d.reason.name,
            d.customer_reason_code,
            d.customer_reference,
            d.owner.username if d.owner else "",
            d.get_department_display(),
            d.get_status_display(),
            d.opened_on,
            d.due_on,
            "yes" if getattr(d, "is_overdue", False) else "",
            d.currency,
            _major(d.amount_minor, d.currency),
            d.get_resolution_display(),
            d.get_root_cause_display(),
            d.resolved_on,
        ]


@require_GET
@dispute_reader
def queue(request: HttpRequest) -> HttpResponseBase:
    as_of = today()
    form = QueueFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.queue(
        request.user,
        as_of=as_of,
        status=data.get("status") or "active",
        owner=(data.get("owner") or "").strip(),
        department=data.get("department") or "",
        reason=data.get("reason"),
        kind=data.get("kind") or "",
        overdue=bool(data.get("overdue")),
        q=(data.get("q") or "").strip(),
    )
    if data.get("format"):
        return export_response(data["format"], "disputes", QUEUE_HEADER, queue_rows(qs.iterator()))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "as_of": as_of,
        "summary": selectors.queue_summary(qs, as_of),
        "can_open": has_cap(request.user, Cap.WORK_DISPUTES) and has_cap(request.user, Cap.VIEW_LEDGER),
    }
    return render(request, "disputes/queue.html", context)


# --- one dispute -----------------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, d: Dispute, **forms: Any) -> dict[str, Any]:
    user = request.user
    may_work = has_cap(user, Cap.WORK_DISPUTES)
    may_resolve = has_cap(user, Cap.RESOLVE_DISPUTES)
    return {
        "d": d,
        **selectors.dispute_detail(d),
        "as_of": today(),
        "may_work": may_work and d.is_active,
        "may_resolve": may_resolve and d.is_active,
        "may_close": may_resolve and d.status == Status.RESOLVED,
        "may_reopen": may_resolve
        and d.status in (Status.RESOLVED, Status.CLOSED)
        and not (d.credit_memo_id or d.valid_minor or d.written_off_minor),
        "may_note": may_work,
        "ledger": has_cap(user, Cap.VIEW_LEDGER),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"owner": d.owner_id, "department": d.department}),
        "status_form": forms.get("status_form") or StatusForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "attach_form": forms.get("attach_form") or AttachmentForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(initial={"on_date": today()}),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
    }


@require_GET
@dispute_reader
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    d = selectors.get_dispute_for_user(request.user, pk)
    return render(request, "disputes/detail.html", _detail_context(request, d))


def _step(
    request: HttpRequest,
    pk: int,
    form_class: Any,
    form_key: str,
    cap: Cap,
    act: Callable[[Dispute, dict[str, Any]], str],
) -> HttpResponse:
    """A workflow step: load in scope (404), check the capability (403), parse, call the service, and
    redirect to the dispute with a message; a refused step shows the dispute again with the error."""
    d = selectors.get_dispute_for_user(request.user, pk, write=True, cap=cap)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            done = act(d, form.cleaned_data)
        except ArdeskError as exc:
            field = exc.details.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, done)
            return redirect("disputes:detail", pk=d.pk)
    d = selectors.get_dispute_for_user(request.user, pk)
    return render(
        request, "disputes/detail.html", _detail_context(request, d, **{form_key: form}), status=422
    )


@require_POST
@dispute_reader
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        services.assign(
            actor=request.user, dispute=d, owner=data["owner"], department=data["department"], on_date=today()
        )
        return f"{d.number} assigned to {data['owner'].username if data['owner'] else 'nobody'}."

    return _step(request, pk, AssignForm, "assign_form", Cap.WORK_DISPUTES, act)


@require_POST
@dispute_reader
def status(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        services.change_status(
            actor=request.user, dispute=d, status=data["status"], on_date=today(), note=data["note"]
        )
        return f"{d.number} is now {Status(data['status']).label.lower()}."

    return _step(request, pk, StatusForm, "status_form", Cap.WORK_DISPUTES, act)


@require_POST
@dispute_reader
def note(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a note; with htmx only the notes section is swapped (the form keeps its errors in place)."""
    if not getattr(request, "htmx", False):

        def act(d: Dispute, data: dict[str, Any]) -> str:
            services.add_note(actor=request.user, dispute=d, body=data["body"], on_date=today())
            return "Note added."

        return _step(request, pk, NoteForm, "note_form", Cap.WORK_DISPUTES, act)
    d = selectors.get_dispute_for_user(request.user, pk, write=True)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(actor=request.user, dispute=d, body=form.cleaned_data["body"], on_date=today())
        except ArdeskError as exc:
            form.add_error("body", exc.message)
        else:
            form = NoteForm()
    context = {"d": d, "notes": list(d.notes.select_related("author")), "note_form": form, "may_note": True}
    return render(request, "disputes/_notes.html", context)


@require_POST
@dispute_reader
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        att = services.add_attachment(actor=request.user, dispute=d, upload=data["file"], on_date=today())
        return f"{att.name} attached."

    return _step(request, pk, AttachmentForm, "attach_form", Cap.WORK_DISPUTES, act)


@require_GET
@dispute_reader
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    att = selectors.get_attachment_for_user(request.user, pk)
    return FileResponse(
        att.file.open("rb"), as_attachment=True, filename=att.name, content_type=att.content_type
    )


@require_POST
@dispute_reader
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        valid = None
        if data["valid_amount"]:
            from .forms import parse_money

            try:
                valid = parse_money(data["valid_amount"], d.currency)
            except Exception as exc:  # a ValidationError from the parser
                raise InvalidInput(f"valid amount: {exc.messages[0]}", field="valid_amount") from None  # type: ignore[attr-defined]
        r = services.resolve(
            actor=request.user,
            dispute=d,
            resolution=data["resolution"],
            root_cause=data["root_cause"],
            on_date=data["on_date"] or today(),
            valid_amount=valid,
            note=data["note"],
        )
        memo = f" Credit memo {r.credit_memo.number} issued." if r.credit_memo else ""
        return f"{r.number} resolved: {r.get_resolution_display()}.{memo}"

    return _step(request, pk, ResolveForm, "resolve_form", Cap.RESOLVE_DISPUTES, act)


@require_POST
@dispute_reader
def close(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        services.close(actor=request.user, dispute=d, on_date=today())
        return f"{d.number} closed."

    return _step(request, pk, _Empty, "close_form", Cap.RESOLVE_DISPUTES, act)


@require_POST
@dispute_reader
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    def act(d: Dispute, data: dict[str, Any]) -> str:
        services.reopen(actor=request.user, dispute=d, on_date=today(), reason=data["reason"])
        return f"{d.number} reopened."

    return _step(request, pk, ReopenForm, "reopen_form", Cap.RESOLVE_DISPUTES, act)


class _Empty(ReopenForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["reason"]


# --- opening a dispute -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@dispute_reader
def open_(request: HttpRequest) -> HttpResponse:
    """Open a dispute on invoices of one customer: `?invoice=<pk>` preselects that invoice (and its
    customer), `?customer=<pk>` starts from the customer."""
    _need(request.user, Cap.WORK_DISPUTES)
    params = request.POST if request.method == "POST" else request.GET
    chosen: Invoice | None = None
    if params.get("invoice"):
        chosen = get_invoice_for_user(request.user, params["invoice"])
        customer = chosen.customer
    elif params.get("customer"):
        customer = get_customer_for_user(request.user, params["customer"])
    else:
        raise InvalidInput("open a dispute from an invoice or a customer (invoice=<id> or customer=<id>)")
    invoices = list(open_invoices(Invoice.objects.filter(customer=customer)).order_by("due_date", "id")[:200])
    if chosen is not None and chosen not in invoices:
        invoices.insert(0, chosen)
    form = OpenForm(request.POST or None, invoices=invoices, initial={"department": ""})
    if request.method == "POST" and form.is_valid():
        lines = form.lines(request.POST)
        if not form.errors:
            try:
                d = services.open_dispute(
                    actor=request.user,
                    customer=customer,
                    lines=[services.LineIn(inv, amt) for inv, amt in lines],
                    reason=form.cleaned_data["reason"],
                    opened_on=today(),
                    channel=form.cleaned_data["channel"],
                    owner=form.cleaned_data["owner"],
                    department=form.cleaned_data["department"] or None,
                    customer_reason_code=form.cleaned_data["customer_reason_code"],
                    customer_reference=form.cleaned_data["customer_reference"],
                    description=form.cleaned_data["description"],
                )
            except ArdeskError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{d.number} opened, due {d.due_on:%Y-%m-%d}.")
                return redirect("disputes:detail", pk=d.pk)
    picked = {int(k[5:]) for k in request.POST if k.startswith("pick_") and k[5:].isdigit()}
    if request.method == "GET" and chosen is not None:
        picked = {chosen.pk}
    context = {"form": form, "customer": customer, "invoices": invoices, "picked": picked, "chosen": chosen}
    return render(request, "disputes/open.html", context, status=422 if request.method == "POST" else 200)


# --- panels on the customer and invoice pages --------------------------------------------------------------


@require_GET
@dispute_reader
def customer_panel(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request.user, Cap.VIEW_LEDGER)  # a resolver sees nothing of the customer beyond their disputes
    customer = get_customer_for_user(request.user, pk)
    disputes = list(selectors.disputes_of_customer(request.user, customer.pk)[:20])
    totals = selectors.open_dispute_totals(customer_ids=[customer.pk]).get(customer.pk, (0, 0))
    context = {"customer": customer, "disputes": disputes, "count": totals[0], "held": totals[1]}
    return render(request, "disputes/_customer_panel.html", context)


@require_GET
@dispute_reader
def invoice_panel(request: HttpRequest, pk: int) -> HttpResponse:
    inv = selectors.get_invoice_for_dispute_user(request.user, pk)
    disputes = list(selectors.disputes_of_invoice(request.user, inv)[:20])
    held = selectors.held_amounts(invoice_ids=[inv.pk]).get(inv.pk, 0)
    may_open = (
        has_cap(request.user, Cap.WORK_DISPUTES)
        and has_cap(request.user, Cap.VIEW_LEDGER)
        and inv.open_minor > 0
        and inv.status in (Invoice.Status.OPEN, Invoice.Status.DISPUTED)
    )
    context = {"invoice": inv, "disputes": disputes, "held": held, "may_open": may_open}
    return render(request, "disputes/_invoice_panel.html", context)


# --- reports ---------------------------------------------------------------------------------------------


def _pct(value: Any) -> Any:
    return "" if value is None else value


@require_GET
@dispute_reader
def reports_page(request: HttpRequest) -> HttpResponseBase:
    form = ReportForm(request.GET or None)
    as_of, days = form.values(today())
    user = request.user
    export = form.cleaned_data.get("export") if form.is_valid() else ""
    fmt = (form.cleaned_data.get("format") if form.is_valid() else "") or "csv"
    if export == "open":
        tables = reports.open_breakdown(user, as_of)
        rows = (
            [dim, r.label, r.count, r.deductions, r.overdue, cur, _major(minor, cur)]
            for dim, rs in tables.items()
            for r in rs
            for cur, minor in (sorted(r.amounts.items()) or [("", 0)])
        )
        header = ["Dimension", "Value", "Open", "Deductions", "Overdue", "Currency", "Amount"]
        return export_response(fmt, f"open-disputes-{as_of}", header, rows)
    if export == "cycle":
        c = reports.cycle_times(user, as_of, days)
        rows2: list[list[Any]] = [["all", "", c["resolved"], _pct(c["median"]), _pct(c["mean"])]]
        rows2 += [["reason", r.label, r.resolved, _pct(r.median), _pct(r.mean)] for r in c["by_reason"]]
        rows2 += [["owner", r.label, r.resolved, _pct(r.median), _pct(r.mean)] for r in c["by_owner"]]
        header = ["By", "Value", "Resolved", "Median days", "Mean days"]
        return export_response(fmt, f"dispute-cycle-time-{as_of}", header, rows2)
    if export == "pareto":
        p = reports.root_cause_pareto(user, as_of, days)
        header = ["Root cause", "Disputes", "Cumulative %"]
        return export_response(
            fmt, f"root-causes-{as_of}", header, ([r["label"], r["count"], r["cumulative"]] for r in p)
        )
    if export == "validity":
        v = reports.validity_rates(user, as_of, days)
        header = [
            "By",
            "Value",
            "Resolved",
            "Valid",
            "Partially valid",
            "Invalid",
            "Written off",
            "Valid %",
            "Invalid %",
        ]
        rows3 = (
            [
                by,
                r.label,
                r.resolved,
                r.valid,
                r.partial,
                r.invalid,
                r.written_off,
                _pct(r.valid_rate),
                _pct(r.invalid_rate),
            ]
            for by, key in (("customer", "by_customer"), ("reason", "by_reason"))
            for r in v[key]
        )
        return export_response(fmt, f"dispute-validity-{as_of}", header, rows3)
    pareto = reports.root_cause_pareto(user, as_of, days)
    chart = {
        "labels": [r["label"] for r in pareto],
        "counts": [r["count"] for r in pareto],
        "cumulative": [str(r["cumulative"]) for r in pareto],
    }
    context = {
        "form": form,
        "as_of": as_of,
        "days": days,
        "start": reports.window_start(as_of, days),
        "open": reports.open_breakdown(user, as_of),
        "cycle": reports.cycle_times(user, as_of, days),
        "ddo": reports.ddo_report(user, as_of, days),
        "errors": reports.invoice_error_rate(user, as_of, days),
        "pareto": pareto,
        "chart_json": json.dumps(chart),
        "validity": reports.validity_rates(user, as_of, days),
        "plotly_version": PLOTLY_VERSION,
    }
    return render(request, "disputes/reports.html", context)


def detail_url(d: Dispute) -> str:
    return reverse("disputes:detail", args=[d.pk])
