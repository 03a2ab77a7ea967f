"""API tokens and idempotency records.

An *API token* is a per-user secret sent as `Authorization: Bearer <token>`. The token reads
`ard_<prefix>_<secret>`: the prefix names it (in lists, logs and `ardesk token revoke PREFIX`), and only
the SHA-256 of the whole token is stored, so the secret is shown once, at creation, and never again.

An *idempotency record* holds the first answer to a POST sent with an `Idempotency-Key` header, so a
client that retries (a timeout, a lost connection) gets that answer again instead of posting twice.
The unique (user, key) constraint is what makes it hold under concurrency.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'ERP sync'")
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the token")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the whole token")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="apitoken_unique_live_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first answer to `method path` sent by `user` with `key`.

    `response_status` is null while the first request is still running (or if its process died: after
    `STALE_AFTER` another request may take the key over; `lease` tells the two apart).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the canonical JSON body")
    lease = models.UUIDField(help_text="Identifies the request that holds the key while it runs")
    claimed_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The JSON text of the answer, byte for byte")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} {self.method} {self.path} -> {self.response_status or 'pending'}"
