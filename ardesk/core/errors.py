"""One hierarchy of business errors, each named for the fact it reports.

Views and the API map them to HTTP in one place (`ardesk.api.errors`, `ardesk.core.views`):
`NotFound` -> 404, `PermissionDenied` -> 403, `Conflict` -> 409, everything else -> 422.
"""

from __future__ import annotations

from typing import Any


class ArdeskError(Exception):
    """Base of every business error. `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            **({"details": self.details} if self.details else {}),
        }


class NotFound(ArdeskError):
    code = "not_found"


class PermissionDenied(ArdeskError):
    code = "permission_denied"


class Conflict(ArdeskError):
    code = "conflict"


class InvalidInput(ArdeskError):
    code = "invalid_input"


class CurrencyMismatch(ArdeskError):
    code = "currency_mismatch"


class UnknownCurrency(InvalidInput):
    code = "unknown_currency"


class OverApplication(Conflict):
    """An application larger than the invoice's open amount or the payment's unapplied amount."""

    code = "over_application"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class ImmutableRecord(Conflict):
    """Posted records are never edited in place: post a reversing record instead."""

    code = "immutable_record"


class DuplicateKey(Conflict):
    code = "duplicate_key"
