"""Fixtures of the disputes tests: bob's customer C-200 with three invoices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.factories import ledger as lf

D = dt.date


@pytest.fixture
def inv(book: Any) -> dict[str, Any]:
    beta = book.customers["beta"]
    return {
        "a": lf.invoice(beta, "INV-A", "1000.00", date=D(2026, 1, 5)),
        "b": lf.invoice(beta, "INV-B", "400.00", date=D(2026, 1, 10)),
        "c": lf.invoice(beta, "INV-C", "250.00", date=D(2026, 1, 20)),
        "g": lf.invoice(book.customers["gamma"], "INV-G", "300.00", date=D(2026, 1, 5)),
    }


@pytest.fixture(autouse=True)
def reason_codes(db: Any) -> None:
    """A transactional test elsewhere flushes the migration's reason codes: put them back."""
    from ardesk.disputes.defaults import ensure_reason_codes

    ensure_reason_codes()
