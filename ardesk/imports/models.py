"""An import batch: one uploaded (or command-line) file, what it was checked as, and what it did."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .schema import KIND_LABELS, Kind


def upload_path(instance: ImportBatch, filename: str) -> str:
    return f"imports/{instance.created_at:%Y/%m}/{instance.sha256[:16]}-{filename}"


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        INVALID = "invalid", "Has errors"
        VALIDATED = "validated", "Ready to import"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=[(k.value, KIND_LABELS[k]) for k in Kind])
    file_name = models.CharField(max_length=255, help_text="The name of the file as uploaded or given")
    stored_file = models.FileField(upload_to=upload_path, max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    profile = models.CharField(max_length=100, default="ardesk")
    profile_data = models.JSONField(default=dict, blank=True, help_text="The mapping profile as used")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INVALID, db_index=True)
    rows = models.IntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error_count = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first errors by row (all are counted)")
    warnings = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.get_status_display()})"

    @property
    def can_confirm(self) -> bool:
        return self.status == self.Status.VALIDATED

    @property
    def can_recheck(self) -> bool:
        return bool(self.stored_file) and self.status in (self.Status.INVALID, self.Status.FAILED)
