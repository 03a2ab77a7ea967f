"""Helpers for the import tests: files written to a temporary directory, and the ledger's row counts
(an import with any error must leave them exactly as they were)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def ledger_counts() -> dict[str, int]:
    from ardesk.core.models import AuditLog
    from ardesk.ledger.models import (
        Application,
        Contact,
        CreditMemo,
        Customer,
        Invoice,
        Payment,
        PortfolioAssignment,
    )

    return {
        m.__name__: m.objects.count()
        for m in (Customer, Contact, Invoice, Payment, CreditMemo, Application, PortfolioAssignment, AuditLog)
    }


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
