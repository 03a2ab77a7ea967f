"""Writes and checks for API tokens.

A token reads `ard_<prefix>_<secret>`; only `sha256(token)` is stored. The secret carries 256 random
bits, so a plain (unsalted) SHA-256 cannot be brute-forced and lets a token be checked in one indexed
lookup by prefix plus a constant-time comparison.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ardesk.core import audit
from ardesk.core.errors import AlreadyReversed, DuplicateKey, InvalidInput, NotFound

from .models import ApiToken

TOKEN_TAG = "ard"
# Writing last_used_at on every call would turn each GET into a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
AUDIT_FIELDS = ["id", "user", "name", "prefix", "created_at", "revoked_at"]  # never the hash


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """`ard_<prefix>_<secret>` -> (prefix, secret); None if the text is not shaped like a token."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_TAG or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@transaction.atomic
def create_token(*, actor: Any, user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token text, which is never stored."""
    name = name.strip()
    if not name:
        raise InvalidInput("a token needs a name", field="name")
    if not user.is_active:
        raise InvalidInput(f"user {user.username} is inactive")
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_TAG}_{prefix}_{secrets.token_urlsafe(32)}"
    try:
        with transaction.atomic():
            row = ApiToken.objects.create(user=user, name=name, prefix=prefix, secret_hash=hash_token(token))
    except IntegrityError as exc:
        raise DuplicateKey(f"{user.username} already has a live token named {name!r}", field="name") from exc
    audit.record(actor=actor, action="api_token.create", obj=row, after=audit.snapshot(row, AUDIT_FIELDS))
    return row, token


@transaction.atomic
def revoke_token(*, actor: Any, prefix: str, on: dt.datetime | None = None) -> ApiToken:
    on = on or timezone.now()
    try:
        row = ApiToken.objects.select_for_update().get(prefix=prefix)
    except ApiToken.DoesNotExist:
        raise NotFound(f"no API token with prefix {prefix!r}") from None
    if row.revoked_at is not None:
        raise AlreadyReversed(f"token {prefix} was revoked at {row.revoked_at:%Y-%m-%d %H:%M}")
    before = audit.snapshot(row, AUDIT_FIELDS)
    ApiToken.objects.filter(pk=row.pk).update(revoked_at=on)
    row.refresh_from_db()
    b, a = audit.changed(before, audit.snapshot(row, AUDIT_FIELDS))
    audit.record(actor=actor, action="api_token.revoke", obj=row, before=b, after=a)
    return row


def authenticate_token(token: str, *, now: dt.datetime | None = None) -> Any | None:
    """The active user a live token belongs to, or None. Notes the time of use (at most once a minute)."""
    parts = split_token(token)
    if parts is None:
        return None
    row = ApiToken.objects.select_related("user").filter(prefix=parts[0], revoked_at__isnull=True).first()
    if row is None or not hmac.compare_digest(row.secret_hash, hash_token(token.strip())):
        return None
    if not row.user.is_active:
        return None
    now = now or timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
