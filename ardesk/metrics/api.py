"""KPI endpoints (mounted by the API at /api/v1/metrics/). Authentication is the mounting NinjaAPI's;
every figure is scoped to the authenticated user's portfolio. Bad options answer InvalidInput (422)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema

from . import selectors
from .definitions import DEFAULT_WINDOW_DAYS
from .schemas import AgingReportOut, KpiReportOut, aging_report, kpi_report

router = Router(tags=["metrics"])


def _user(request: HttpRequest) -> Any:
    """The authenticated user: what the API's auth returned (a user, or a token with `.user`), else the
    session user. Scoping does the rest: an anonymous or role-less user sees nothing."""
    auth = getattr(request, "auth", None)
    if auth is not None and hasattr(auth, "is_authenticated"):
        return auth
    if auth is not None and hasattr(auth, "user"):
        return auth.user
    return request.user


class KpiParams(Schema):
    as_of: dt.date | None = None
    by: str | None = None
    window: int = DEFAULT_WINDOW_DAYS
    basis: str = "due"
    currency: str = "currency"
    entity: str | None = None
    baseline: dt.date | None = None


class AgingParams(Schema):
    as_of: dt.date | None = None
    by: str | None = None
    basis: str = "due"
    currency: str = "currency"
    entity: str | None = None


@router.get("/kpis", response=KpiReportOut, summary="KPIs as of a date, by slice")
def kpis(request: HttpRequest, params: Query[KpiParams]) -> dict[str, Any]:
    """DSO, countback/true/best-possible DSO, ADD, CEI, % past due, aging, ADP and more as of `as_of`
    (default today), one row per slice of `by` and currency (`currency=base` translates into the base
    currency at the as-of rate). `window` is the period in days (default 90)."""
    as_of = params.as_of or timezone.localdate()
    by = params.by or None
    rows = selectors.kpis(
        _user(request),
        as_of,
        by,
        window_days=params.window,
        basis=params.basis,  # type: ignore[arg-type]
        currency_mode=params.currency,  # type: ignore[arg-type]
        entity=params.entity,
        baseline=params.baseline,
    )
    return kpi_report(
        rows,
        as_of=as_of,
        by=by,
        window_days=params.window,
        basis=params.basis,
        bucket_labels=selectors.bucket_labels(basis=params.basis),  # type: ignore[arg-type]
        currency_mode=params.currency,
        baseline=params.baseline,
    )


@router.get("/aging", response=AgingReportOut, summary="Aging as of a date, by slice")
def aging(request: HttpRequest, params: Query[AgingParams]) -> dict[str, Any]:
    """Open invoices aged into the organization's buckets (due-date basis, or `basis=invoice`) as of
    `as_of` (default today); unapplied cash and open credits are separate, not netted."""
    as_of = params.as_of or timezone.localdate()
    by = params.by or None
    rows = selectors.aging(
        _user(request),
        as_of,
        by,
        basis=params.basis,  # type: ignore[arg-type]
        currency_mode=params.currency,  # type: ignore[arg-type]
        entity=params.entity,
    )
    return aging_report(
        rows,
        as_of=as_of,
        by=by,
        basis=params.basis,
        bucket_labels=selectors.bucket_labels(basis=params.basis),  # type: ignore[arg-type]
        currency_mode=params.currency,
    )
