"""Reads of import batches. Anyone who may import sees every batch (imports are a back-office task
shared by the team); others see none."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ardesk.core.errors import NotFound, PermissionDenied
from ardesk.core.roles import Cap, has_cap

from .models import ImportBatch
from .schema import FIELDS, KIND_LABELS, FieldSpec, Kind


def batches_for_user(user: Any) -> QuerySet[ImportBatch]:
    if not has_cap(user, Cap.IMPORT):
        return ImportBatch.objects.none()
    return ImportBatch.objects.select_related("created_by", "imported_by")


def get_batch_for_user(user: Any, pk: Any) -> ImportBatch:
    if not has_cap(user, Cap.IMPORT):
        raise PermissionDenied("your role does not allow imports")
    try:
        return batches_for_user(user).get(pk=pk)
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"import batch {pk} not found") from None


def field_reference() -> list[tuple[str, str, tuple[FieldSpec, ...]]]:
    """(kind, label, fields) for the page that explains the columns."""
    return [(k.value, KIND_LABELS[k], FIELDS[k]) for k in Kind]
