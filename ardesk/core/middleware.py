"""Business errors raised under a page view become the right HTTP answer, in one place."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .errors import ArdeskError, Conflict, NotFound, PermissionDenied

STATUS = {NotFound: 404, PermissionDenied: 403, Conflict: 409}


def status_for(exc: ArdeskError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 422


class ArdeskErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if request.path.startswith("/api/") or not isinstance(exc, ArdeskError):
            return None
        status = status_for(exc)
        response = TemplateResponse(request, "error.html", {"error": exc, "status": status}, status=status)
        return response.render()
