"""The validation report of an import: every problem with file, row, column, value and reason.

A file can be wrong on every row; the report keeps the first `MAX_ERRORS` by row number and counts all
of them, so a million bad dates cost neither memory nor a page that never loads.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_ERRORS = 1_000
MAX_VALUE_SHOWN = 80


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # as a spreadsheet shows it: the header is row 1; 0 = the file as a whole
    column: str  # the file's column name ("" when the whole row or file is meant)
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        col = f", column {self.column!r}" if self.column else ""
        val = f", value {self.value!r}" if self.value else ""
        return f"{where}{col}{val}: {self.reason}"


def shown(value: Any) -> str:
    """A value as the report shows it: long ones cut, with their length."""
    text = "" if value is None else str(value)
    if len(text) > MAX_VALUE_SHOWN:
        return f"{text[:MAX_VALUE_SHOWN]}… ({len(text):,} characters)"
    return text


class ErrorLog:
    """Keeps the first `limit` errors by (row, order found) and counts them all."""

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self.limit = limit
        self.count = 0
        self._heap: list[tuple[int, int, RowError]] = []  # max-heap on (row, seq) via negation
        self._seq = itertools.count()

    def add(self, row: int, column: str, value: Any, reason: str) -> None:
        self.count += 1
        err = RowError(row, column, shown(value), reason)
        item = (-row, -next(self._seq), err)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def rows(self) -> set[int]:
        return {e.row for _, _, e in self._heap}

    def sorted(self) -> list[RowError]:
        return [e for _, _, e in sorted(self._heap, key=lambda t: (-t[0], -t[1]))]


@dataclass
class ImportReport:
    kind: str
    file_name: str
    profile: str
    dry_run: bool = False
    imported: bool = False
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0  # data rows read (after the header)
    skipped: int = 0  # rows left out by the profile's filter, and blank rows
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    preview_header: list[str] = field(default_factory=list)
    preview_rows: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def errors_truncated(self) -> bool:
        return self.error_count > len(self.errors)

    def count(self, model: str, what: str) -> int:
        return self.counts.get(model, {}).get(what, 0)

    def summary(self) -> str:
        parts = []
        for model, c in self.counts.items():
            bits = [f"{n:,} {what}" for what, n in c.items() if n]
            if bits:
                parts.append(f"{model}: {', '.join(bits)}")
        return "; ".join(parts) or "nothing to do"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [e.as_dict() for e in self.errors]
        return data


def problems(n: int) -> str:
    """'1 problem', '1,204 problems'."""
    return f"{n:,} problem" if n == 1 else f"{n:,} problems"
