"""The rows of the permission matrix (tests/test_permission_matrix.py).

Each app above the ledger keeps its own rows in tests/matrix/<app>.py: `PAGES`, `OPS` and
`extend(objs, book)`, which adds the app's objects to the shared `objs` (all of them belonging to bob's
customer C-200, so alice is the persona outside the scope). An object under key "x" fills "{x_id}" in an
API path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    path: Any  # callable(objs) -> str
    right: str  # persona allowed
    wrong: str | None  # persona with a role that may not do this (403); None = every role may
    other: str | None  # persona with the capability but not this customer (404); None = not object-scoped
    data: dict[str, Any] | None = None
    public: bool = False


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # OpenAPI path under /api/v1 with {placeholders}
    right: str
    wrong: str | None
    other: str | None
    body: Any = None  # callable(objs) -> dict
    params: Any = None  # callable(objs) -> dict of path placeholders overriding the defaults

    def url(self, objs) -> str:
        # every object in objs gives a placeholder "<key>_id"; a few ledger ones are named for their type
        ids = {f"{key}_id": obj.pk for key, obj in objs.items() if hasattr(obj, "pk")}
        ids |= {"invoice_id": objs["spare"].pk, "memo_id": objs["memo"].pk}
        if self.params:
            ids |= self.params(objs)
        return "/api/v1" + self.path.format(**ids)
