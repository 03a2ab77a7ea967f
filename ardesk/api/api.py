"""The one NinjaAPI, mounted at /api/v1/ (docs at /api/v1/docs, schema at /api/v1/openapi.json).

Each app contributes one `Router` from its `api.py`; only this module imports them. The other modules of
this package (auth, errors, pagination, idempotency) import no domain app, so every app's `api.py` may
use them.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI

from ardesk.activities.api import router as activities_router
from ardesk.coaching.api import router as coaching_router
from ardesk.collections.api import router as collections_router
from ardesk.disputes.api import router as disputes_router
from ardesk.goals.api import router as goals_router
from ardesk.ledger.api import router as ledger_router
from ardesk.metrics.api import router as metrics_router

from . import errors
from .auth import session_auth, token_auth


def _json_not_allowed(pattern: URLPattern) -> URLPattern:
    """ninja answers a method a path does not serve with a plain-text 405; give it the JSON error shape."""
    view = pattern.callback

    @functools.wraps(view)  # keeps csrf_exempt: ninja's auth classes do the CSRF check
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        answer = errors.json_response(
            405,
            errors.body(
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path} (allowed: {allowed})",
                {"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
            ),
        )
        answer["Allow"] = allowed
        return answer

    return URLPattern(pattern.pattern, wrapped, pattern.default_args, pattern.name)


class ArdeskAPI(NinjaAPI):
    def _get_urls(self) -> list[URLResolver | URLPattern]:
        return [_json_not_allowed(p) if isinstance(p, URLPattern) else p for p in super()._get_urls()]


api = ArdeskAPI(
    title="ardesk API",
    version="1",
    description=(
        "Accounts-receivable ledger API. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `ardesk token create USERNAME --name NAME`) or a browser session (unsafe methods "
        'then need the CSRF token). Money is `{"amount": "1234.50", "currency": "USD"}` with a decimal '
        "string, never a JSON number; answers add the integer `amount_minor`. Lists take `limit` (capped at "
        "the server maximum, 500 by default) and `offset`. POSTs that post ledger records require an "
        "`Idempotency-Key` header; a retry with the same key and body returns the first answer. Errors are "
        '`{"code", "message", "details"}`.'
    ),
    urls_namespace="api",
    auth=[token_auth, session_auth],
)
errors.install(api)
api.add_router("", ledger_router)
api.add_router("/metrics", metrics_router)
api.add_router("/activities", activities_router)
api.add_router("/disputes", disputes_router)
api.add_router("/collections", collections_router)
api.add_router("/goals", goals_router)
api.add_router("/coaching", coaching_router)
