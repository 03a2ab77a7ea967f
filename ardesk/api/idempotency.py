"""`Idempotency-Key` on POST: a retried request gets the first answer instead of doing the work again.

Protocol (per user; keys are 1-255 printable ASCII characters, a UUID is a good choice):

1. The first request with a key inserts a *pending* `IdempotencyRecord` in its own transaction. The
   unique (user, key) constraint decides which of two concurrent requests owns the key; the other one
   sees the committed row.
2. The owner runs the handler and stores its answer in the same transaction as the work, so the work and
   the record commit (or roll back) together. A business error (404, 403, 409, 422 from the service) is
   the answer too and is stored. A crash (500) frees the key.
3. A later request with the same key and the same method, path and JSON body gets the stored status and
   body back, with `Idempotent-Replayed: true`. Another body or path is refused (422
   `idempotency_key_reused`); while the first request is still running, 409 `idempotency_in_progress`.

Endpoints that post ledger records require the header (without it: 422 `validation_error` at
`["header", "Idempotency-Key"]`); the others accept it. The OpenAPI schema documents it per endpoint.
Invalid requests (422 `validation_error`) never reach step 1 and store nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import inspect
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Header, Status
from pydantic import BaseModel

from ardesk.core.errors import ArdeskError

from .errors import (
    IdempotencyInProgress,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    error_answer,
)
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]+$"  # printable ASCII, no spaces
KEY_PARAMETER = "idempotency_key"
# A pending record older than this belongs to a process that died; another request may take it over.
STALE_AFTER = dt.timedelta(minutes=10)

F = TypeVar("F", bound=Callable[..., Any])


class LeaseLost(Exception):
    """The key was taken over while this request ran (it was presumed dead); its work is rolled back."""


def request_hash(raw: bytes) -> str:
    """SHA-256 of the body as canonical JSON (so key order and whitespace do not matter)."""
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    return hashlib.sha256(canonical).hexdigest()


def claim(
    *, user: Any, key: str, method: str, path: str, digest: str, now: dt.datetime | None = None
) -> tuple[IdempotencyRecord, bool]:
    """Own the key (record, True) or find its finished answer (record, False). Raises if the key was
    used for another request or its first request is still running."""
    for _ in range(3):
        now = now or timezone.now()
        lease = uuid.uuid4()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    method=method,
                    path=path,
                    request_hash=digest,
                    lease=lease,
                    claimed_at=now,
                )
            return record, True
        except IntegrityError:
            pass
        try:
            record = IdempotencyRecord.objects.get(user=user, key=key)
        except IdempotencyRecord.DoesNotExist:  # released by a failed first request in between: try again
            continue
        if (record.method, record.path, record.request_hash) != (method, path, digest):
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used for another request "
                f"({record.method} {record.path} with a different body); use a new key",
                key=key,
            )
        if record.response_status is not None:
            return record, False
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, response_status__isnull=True, claimed_at__lt=now - STALE_AFTER
        ).update(lease=lease, claimed_at=now)
        if taken == 1:
            record.lease, record.claimed_at = lease, now
            return record, True
        raise IdempotencyInProgress(
            f"a request with Idempotency-Key {key!r} is still running; retry in a moment", key=key
        )
    raise IdempotencyInProgress(f"Idempotency-Key {key!r} is contended; retry in a moment", key=key)


def complete(record: IdempotencyRecord, status: int, text: str) -> None:
    done = IdempotencyRecord.objects.filter(
        pk=record.pk, lease=record.lease, response_status__isnull=True
    ).update(response_status=status, response_body=text, completed_at=timezone.now())
    if done != 1:
        raise LeaseLost(record.key)


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, lease=record.lease, response_status__isnull=True).delete()


def to_json(value: Any) -> str:
    """The JSON text of a handler's result, as ninja would render it (DjangoJSONEncoder)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return json.dumps(value, cls=DjangoJSONEncoder)


def _answer(result: Any) -> tuple[int, str]:
    if isinstance(result, Status):
        return result.status_code, to_json(result.value)
    return 200, to_json(result)


def _response(status: int, text: str, **headers: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


def _with_key_parameter(func: Callable[..., Any], *, required: bool) -> inspect.Signature:
    """The handler's signature (resolved in its module, which ninja needs) plus the header, so that the
    OpenAPI schema documents it and ninja checks its shape (a missing required key is a 422 naming
    `["header", "Idempotency-Key"]`)."""
    signature = inspect.signature(func, eval_str=True)
    header = Header(
        ... if required else None,
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="A key you choose per operation (a UUID is good); a retry with the same key and body "
        "returns the first answer"
        + (". Required here: this request posts a ledger record." if required else "."),
    )
    key = inspect.Parameter(
        KEY_PARAMETER,
        inspect.Parameter.KEYWORD_ONLY,
        default=header,
        annotation=str if required else str | None,
    )
    return signature.replace(parameters=[*signature.parameters.values(), key])


def idempotent(*, required: bool) -> Callable[[F], F]:
    """Decorate a POST handler (under `@router.post`). The handler returns `Status(code, schema)`."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = kwargs.pop(KEY_PARAMETER, None)
            if key is None:
                if required:  # ninja has refused it already; kept for callers outside ninja
                    raise IdempotencyKeyRequired(
                        f"send an {HEADER} header: this request posts a ledger record"
                    )
                return func(request, *args, **kwargs)
            record, owner = claim(
                user=request.auth,  # type: ignore[attr-defined]
                key=key,
                method=request.method or "POST",
                path=request.path,
                digest=request_hash(request.body),
            )
            if not owner:
                return _response(
                    record.response_status or 200, record.response_body, **{REPLAY_HEADER: "true"}
                )
            return _run(record, func, request, *args, **kwargs)

        wrapper.__signature__ = _with_key_parameter(func, required=required)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def _run(
    record: IdempotencyRecord, func: Callable[..., Any], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponse:
    try:
        with transaction.atomic():
            status, text = _answer(func(request, *args, **kwargs))
            complete(record, status, text)
    except LeaseLost:
        raise IdempotencyInProgress(
            f"Idempotency-Key {record.key!r} was taken over by a retry; this attempt was rolled back"
        ) from None
    except ArdeskError as exc:
        status, payload = error_answer(exc)
        text = to_json(payload)
        with contextlib.suppress(LeaseLost):
            complete(record, status, text)
        return _response(status, text)
    except BaseException:
        release(record)
        raise
    return _response(status, text)


def prune(*, older_than: dt.datetime) -> int:
    """Delete finished records created before `older_than` (a retry comes within minutes, not weeks);
    returns how many. Pending ones are left to their requests."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=older_than, response_status__isnull=False
    ).delete()
    return deleted
