"""The home page: the AR position of the user's scope, and the chart library it draws with."""

from __future__ import annotations

from importlib import metadata, util
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ardesk.core.decorators import requires
from ardesk.core.roles import Cap

from .selectors import dashboard

PLOTLY_VERSION = metadata.version("plotly")
ONE_YEAR = 365 * 24 * 3600


def _plotly_path() -> Path:
    spec = util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - plotly is a dependency
        raise RuntimeError("plotly is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@require_GET
@requires(Cap.VIEW_LEDGER, "your role does not give access to the ledger")
def home(request: HttpRequest) -> HttpResponse:
    data = dashboard(request.user, timezone.localdate())
    return render(request, "dashboard/home.html", {"d": data, "plotly_version": PLOTLY_VERSION})


@require_GET
def plotly_js(request: HttpRequest, version: str) -> FileResponse:
    """plotly.min.js from the installed wheel (no CDN). The version is in the URL, so it caches for a year."""
    response = FileResponse(_plotly_path().open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response
