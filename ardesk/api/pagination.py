"""Limit/offset pages: `?limit=&offset=` -> `{"count", "limit", "offset", "next_offset", "items"}`.

A limit above `settings.ARDESK_API_PAGE_MAX` (default 500) is capped, not refused: the answer's `limit`
says what was applied, and `next_offset` (null on the last page) is where the next page starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

DEFAULT_LIMIT = 50

T = TypeVar("T")


class PageParams(Schema):
    """Query parameters shared by every list endpoint (subclasses add their filters)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, description="Page size; values above the server maximum are capped"
    )
    offset: int = Field(0, ge=0, description="Number of items to skip")


class Page(BaseModel, Generic[T]):
    count: int = Field(description="Items matching the filters, on all pages")
    limit: int = Field(description="Page size applied (after the cap)")
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page")
    items: list[T]


def page_max() -> int:
    return int(getattr(settings, "ARDESK_API_PAGE_MAX", 500))


def effective_limit(requested: int, maximum: int) -> int:
    return max(1, min(requested, maximum))


def paginate(qs: QuerySet[Any], params: PageParams, convert: Callable[[Any], T]) -> dict[str, Any]:
    """One COUNT and one page query; `convert` turns each row into its output schema."""
    limit = effective_limit(params.limit, page_max())
    count = qs.count()
    rows = list(qs[params.offset : params.offset + limit]) if params.offset < count else []
    end = params.offset + len(rows)
    return {
        "count": count,
        "limit": limit,
        "offset": params.offset,
        "next_offset": end if end < count else None,
        "items": [convert(r) for r in rows],
    }
