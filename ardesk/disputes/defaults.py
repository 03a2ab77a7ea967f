"""The default reason codes (the issue's list), each with an SLA in days and a default department.

The data migration seeds them in a new installation; `ensure_reason_codes()` puts them back when the table
is empty (a database flushed by a test run or a reset), so a dispute can always be opened.
"""

from __future__ import annotations

from .models import ReasonCode

REASONS = [
    # code, name, SLA days, default department
    ("pricing", "Pricing", 30, "sales"),
    ("shortage", "Quantity / shortage", 20, "shipping"),
    ("damaged", "Damaged goods", 20, "shipping"),
    ("not_received", "Not received", 15, "shipping"),
    ("duplicate", "Duplicate billing", 10, "billing"),
    ("tax", "Tax", 20, "billing"),
    ("promotion", "Promotion / trade allowance", 45, "sales"),
    ("returns", "Returns", 30, "customer_service"),
    ("service", "Service", 30, "customer_service"),
    ("other", "Other", 30, "customer_service"),
]


def ensure_reason_codes() -> None:
    """Create the default reason codes when there are none (idempotent: unique codes)."""
    if ReasonCode.objects.exists():
        return
    for order, (code, name, sla, dept) in enumerate(REASONS, start=1):
        ReasonCode.objects.get_or_create(
            code=code,
            defaults={"name": name, "sla_days": sla, "default_department": dept, "sort_order": order * 10},
        )
