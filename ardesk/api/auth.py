"""Who is calling: an API token (`Authorization: Bearer <token>`) or the browser's Django session.

A request that sends an Authorization header is judged by it alone: a bad token is 401 even if the
browser also holds a session. Session calls with an unsafe method must pass Django's CSRF check, as a
form post would. Either way the caller is a `User`, scoped and gated exactly like on the pages.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from ardesk.core.roles import roles_of

from .services import authenticate_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(message="the Authorization header must read 'Bearer <token>'")
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = authenticate_token(token)
        if user is None:
            raise AuthenticationError(message="the API token is invalid or revoked")
        request.user = user
        return _with_role(user)


class SessionAuth(AuthBase):
    """Django's session cookie, with the CSRF check for unsafe methods."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME
    csrf = True  # tells ninja's Swagger page to send the CSRF token

    def __call__(self, request: HttpRequest) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken")
        return _with_role(user)


def _with_role(user: Any) -> Any:
    """An authenticated account without any ardesk role may do nothing: 403 on every operation."""
    if not roles_of(user):
        raise HttpError(403, "this account has no ardesk role; ask an administrator to grant one")
    return user


token_auth = TokenAuth()
session_auth = SessionAuth()


def current_user(request: HttpRequest) -> Any:
    """The authenticated caller (set by whichever of the two schemes accepted the request)."""
    return request.auth  # type: ignore[attr-defined]
