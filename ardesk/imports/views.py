"""Import pages: upload -> preview (the first rows as parsed and every error) -> confirm.

Every page needs the import capability (403 otherwise); confirming and re-checking are POSTs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ardesk.core.errors import InvalidInput, PermissionDenied
from ardesk.core.exports import export_response
from ardesk.core.roles import Cap, has_cap

from . import selectors, services
from .forms import UploadForm
from .report import problems


def import_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not has_cap(request.user, Cap.IMPORT):
            raise PermissionDenied("your role does not allow imports")
        return view(request, *args, **kwargs)

    return wrapped


@require_http_methods(["GET", "POST"])
@import_required
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.create_batch(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                profile=form.mapping,
            )
        except InvalidInput as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("imports:batch", pk=batch.pk)
    recent = selectors.batches_for_user(request.user)[:20]
    return render(
        request,
        "imports/upload.html",
        {"form": form, "recent": recent, "reference": selectors.field_reference()},
        status=422 if form.errors else 200,
    )


@require_GET
@import_required
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    b = selectors.get_batch_for_user(request.user, pk)
    return render(request, "imports/batch.html", {"batch": b, "preview": b.preview or {}})


@require_POST
@import_required
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    b = selectors.get_batch_for_user(request.user, pk)
    report = services.confirm_batch(actor=request.user, batch=b)
    if report.imported:
        messages.success(request, f"Imported {b.file_name}: {report.summary()}.")
    else:
        messages.error(
            request,
            f"Nothing was imported: {problems(report.error_count)} (listed below).",
        )
    return redirect("imports:batch", pk=b.pk)


@require_POST
@import_required
def recheck(request: HttpRequest, pk: int) -> HttpResponse:
    b = selectors.get_batch_for_user(request.user, pk)
    report = services.recheck_batch(actor=request.user, batch=b)
    if report.ok:
        messages.success(request, "No problems now: the file is ready to import.")
    else:
        messages.warning(request, f"Still {problems(report.error_count)}.")
    return redirect("imports:batch", pk=b.pk)


@require_GET
@import_required
def errors_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    b = selectors.get_batch_for_user(request.user, pk)
    rows = ([b.file_name, e["row"] or "", e["column"], e["value"], e["reason"]] for e in b.errors)
    return export_response("csv", f"import-{b.pk}-errors", ["file", "row", "column", "value", "reason"], rows)
