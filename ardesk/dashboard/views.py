"""The KPI pages: the AR overview (home), the aging report with its drill-down, the collector comparison,
a customer's own KPI panel, and the chart library they draw with.

Each view parses its options with a form, reads through `selectors` (scoped to the user by the metrics
engine) and renders, or exports. Nothing here writes. A bad option (for instance base-currency mode
without an FX rate) is shown on the page instead of failing it.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import metadata, util
from pathlib import Path
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from ardesk.core.decorators import requires
from ardesk.core.errors import InvalidInput
from ardesk.core.exports import export_response
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger.selectors import get_customer_for_user, organization

from . import exports, selectors
from .forms import AgingFilterForm, CollectorFilterForm, DrillForm, KpiFilterForm
from .pdf import overview_pdf

PLOTLY_VERSION = metadata.version("plotly")
ONE_YEAR = 365 * 24 * 3600
PDF_TYPE = "application/pdf"
AGING_PAGE = "dashboard/aging.html"
AGING_PARTIAL = "dashboard/_aging_table.html"
AGING_PAGE_SIZE = 100

ledger_reader = requires(Cap.VIEW_LEDGER, "your role does not give access to the ledger")


def _plotly_path() -> Path:
    spec = util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - plotly is a dependency
        raise RuntimeError("plotly is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def today() -> dt.date:
    return timezone.localdate()


def is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _page(request: HttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    context = {"plotly_version": PLOTLY_VERSION, "partial": partial, **context}
    response = render(request, partial if is_partial(request) else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _stamp(opts: selectors.Options, name: str) -> str:
    return f"{name}-{opts.as_of.isoformat()}"


def _dispute_owner_home(view: Any) -> Any:
    """Someone from another department who only owns disputes has no ledger access: their start page
    (where login lands) is their dispute queue, not a 403."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not has_cap(user, Cap.VIEW_LEDGER) and has_cap(user, Cap.WORK_DISPUTES):
            return redirect("disputes:queue")
        return view(request, *args, **kwargs)

    return functools.wraps(view)(wrapped)


@require_GET
@_dispute_owner_home
@ledger_reader
def home(request: HttpRequest) -> HttpResponseBase:
    """The AR overview of the user's scope; `?format=pdf|csv|xlsx` exports it."""
    form = KpiFilterForm(request.user, request.GET, today=today())
    opts = form.options()
    try:
        ov = selectors.overview(request.user, opts)
    except InvalidInput as exc:
        return _page(request, "dashboard/home.html", "dashboard/_overview.html", {"form": form, "error": exc})
    fmt = form.export_format()
    if fmt == "pdf":
        response = HttpResponse(overview_pdf(ov, filters=form.filter_labels()), content_type=PDF_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{_stamp(opts, "ar-overview")}.pdf"'
        return response
    if fmt:
        rows = exports.overview_rows(ov)
        return export_response(fmt, _stamp(opts, "ar-overview"), exports.overview_header(), rows)
    context = {"form": form, "ov": ov, "charts": ov.charts}
    return _page(request, "dashboard/home.html", "dashboard/_overview.html", context)


@require_GET
@ledger_reader
def trends(request: HttpRequest) -> HttpResponse:
    """The overview's DSO and CEI trend (monthly, 12 months), loaded into the page by htmx."""
    form = KpiFilterForm(request.user, request.GET, today=today())
    reader = selectors.Reader(request.user, form.options())
    try:
        series = selectors.trend(reader, ("dso", "cei"))
    except InvalidInput as exc:
        return render(request, "dashboard/_trends.html", {"error": exc})
    context = {"series": series, "charts": selectors.trend_charts(series), "opts": reader.opts}
    return render(request, "dashboard/_trends.html", context)


@require_GET
@ledger_reader
def aging(request: HttpRequest) -> HttpResponseBase:
    """The aging report by a dimension (default customer); bucket amounts drill down to invoices."""
    form = AgingFilterForm(request.user, request.GET, today=today())
    reader = selectors.Reader(request.user, form.options())
    sort = form.sort_key()
    ctx: dict[str, Any] = {"form": form, "sort": sort}
    try:
        report = selectors.aging_report(reader, form.dimension(), sort)
    except InvalidInput as exc:
        return _page(request, AGING_PAGE, AGING_PARTIAL, {**ctx, "error": exc})
    if fmt := form.export_format():
        rows = exports.aging_rows(report)
        return export_response(fmt, _stamp(reader.opts, "aging"), exports.aging_header(report), rows)
    ctx.update(report=report, page=Paginator(report.rows, AGING_PAGE_SIZE).get_page(request.GET.get("page")))
    ctx["drill_base"] = _drill_base(request)
    return _page(request, AGING_PAGE, AGING_PARTIAL, ctx)


def _drill_base(request: HttpRequest) -> str:
    """The drill-down URL with the report's options; each bucket cell adds its key, currency, bucket."""
    params = request.GET.copy()
    for name in ("format", "page", "sort", "key", "cur", "bucket"):
        params.pop(name, None)
    query = params.urlencode()
    return f"{reverse('dashboard:aging_drill')}?{query}&" if query else f"{reverse('dashboard:aging_drill')}?"


@require_GET
@ledger_reader
def aging_drill(request: HttpRequest) -> HttpResponse:
    """The open invoices behind one bucket amount, grouped by customer (an htmx fragment; a page without
    JavaScript)."""
    form = DrillForm(request.user, request.GET, today=today())
    opts = form.options()
    data = form.cleaned_data
    key = data.get("key", "") if "key" in request.GET else selectors.ALL
    currency, bucket = data.get("cur") or "", data.get("bucket") or 0
    result = selectors.drill(
        request.user,
        opts,
        by=form.dimension(),
        key=key,
        currency=currency,
        bucket=bucket,
    )
    template = "dashboard/_aging_drill.html" if is_partial(request) else "dashboard/aging_drill.html"
    return render(request, template, {"drill": result, "as_of": opts.as_of, "form": form})


@require_GET
@ledger_reader
def collectors(request: HttpRequest) -> HttpResponseBase:
    """One row per collector in scope (a collector sees only their own row), sortable, exportable."""
    form = CollectorFilterForm(request.user, request.GET, today=today())
    reader = selectors.Reader(request.user, form.options())
    sort = form.sort_key()
    ctx: dict[str, Any] = {"form": form, "sort": sort}
    try:
        table = selectors.collector_table(reader, sort)
    except InvalidInput as exc:
        return _page(
            request, "dashboard/collectors.html", "dashboard/_collector_table.html", {**ctx, "error": exc}
        )
    if fmt := form.export_format():
        rows = exports.collector_rows(table)
        return export_response(fmt, _stamp(reader.opts, "collectors"), exports.COLLECTOR_HEADER, rows)
    ctx["table"] = table
    return _page(request, "dashboard/collectors.html", "dashboard/_collector_table.html", ctx)


@require_GET
@ledger_reader
def customer_kpis(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's own KPIs and their monthly trend (an htmx fragment for the customer page)."""
    customer = get_customer_for_user(request.user, pk)
    org = organization()
    opts = selectors.Options(as_of=today(), bounds=tuple(org.aging_buckets), base_currency=org.base_currency)
    panel = selectors.customer_panel(request.user, opts, customer.pk)
    return render(request, "dashboard/_customer_kpis.html", {"customer": customer, "panel": panel})


@require_GET
def plotly_js(request: HttpRequest, version: str) -> FileResponse:
    """plotly.min.js from the installed wheel (no CDN). The version is in the URL, so it caches for a year."""
    response = FileResponse(_plotly_path().open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response
