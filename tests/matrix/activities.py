"""Permission-matrix rows for the activities app (see tests/matrix/base.py)."""

from __future__ import annotations

from typing import Any

from tests.matrix.base import Op, Page

PAGES: list[Page] = []
OPS: list[Op] = []


def extend(objs: dict[str, Any], book: Any) -> None:
    """Add this app's objects (all on bob's customer C-200) to objs."""
