"""View decorators shared by every app's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .errors import PermissionDenied
from .roles import Cap, has_cap

View = Callable[..., HttpResponseBase]


def requires(cap: Cap, message: str = "your role does not allow this page") -> Callable[[View], View]:
    """Login required (anonymous -> login page), then the capability (else 403)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_cap(request.user, cap):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
