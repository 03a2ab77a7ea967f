"""Every API error answers with one JSON shape: `{"code": ..., "message": ..., "details": {...}}`.

The business hierarchy (`ardesk.core.errors`) maps to HTTP in one place, `ardesk.core.middleware.status_for`
(shared with the pages): NotFound 404, PermissionDenied 403, Conflict (over-application, duplicate key,
already reversed, immutable record) 409, any other ArdeskError 422. Request validation is 422 with each
error's location (`["body", "amount", "amount"]`, `["query", "limit"]`); missing or bad credentials 401.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ardesk.core.errors import ArdeskError, Conflict, InvalidInput
from ardesk.core.middleware import status_for


class IdempotencyKeyRequired(InvalidInput):
    code = "idempotency_key_required"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


class ErrorOut(Schema):
    """The body of every error answer."""

    code: str = Field(examples=["over_application"], description="Stable, machine-readable")
    message: str = Field(description="For people")
    details: dict[str, Any] = Field(description="Facts behind the error; `errors` for validation errors")


HTTP_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 429: "throttled"}


def plain(value: Any) -> Any:
    """JSON-ready copy of `value` (dates, decimals and UUIDs as strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": plain(details or {})}


def error_answer(exc: ArdeskError) -> tuple[int, dict[str, Any]]:
    return status_for(exc), body(exc.code, exc.message, exc.details)


def json_response(status: int, data: Any, **headers: str) -> HttpResponse:
    response = JsonResponse(data, status=status, safe=False, encoder=DjangoJSONEncoder)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _location(loc: Any) -> list[Any]:
    # ninja puts the handler's parameter name after the source ("body", "payload", "amount");
    # clients know the field, not our parameter names.
    loc = list(loc)
    if len(loc) >= 2 and loc[0] == "body" and loc[1] == "payload":
        del loc[1]
    return loc


def _msg(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"loc": _location(e.get("loc", ())), "msg": _msg(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]


def install(api: NinjaAPI) -> None:
    """Register the handlers on `api`."""

    @api.exception_handler(ArdeskError)
    def on_ardesk_error(request: HttpRequest, exc: ArdeskError) -> HttpResponse:
        return json_response(*error_answer(exc))

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = validation_details(exc.errors)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        message = f"{where}: {first['msg']}" if where else first["msg"]
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return json_response(422, body("validation_error", message, {"errors": errors}))

    @api.exception_handler(AuthenticationError)
    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = exc.message if exc.message != "Unauthorized" else "authentication required"
        return json_response(
            401,
            body("not_authenticated", f"{message}: send 'Authorization: Bearer <token>' or log in"),
            WWW_Authenticate='Bearer realm="ardesk"',
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return json_response(
            exc.status_code, body(HTTP_CODES.get(exc.status_code, "error"), str(exc.message))
        )

    @api.exception_handler(Http404)
    def on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return json_response(404, body("not_found", str(exc) or "not found"))

    @api.exception_handler(IntegrityError)
    def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A concurrent write won a race that the service's own checks could not see; the database
        # constraint refused this one. Retrying re-runs the checks and gives the precise answer.
        return json_response(
            409, body("conflict", "a concurrent change conflicts with this request; retry it")
        )
