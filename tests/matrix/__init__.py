"""Per-app rows of the permission matrix, gathered in the order the apps build on each other."""

from __future__ import annotations

from typing import Any

from . import activities, coaching, collections, disputes, goals

_APPS = (activities, disputes, collections, goals, coaching)

APP_PAGES = [page for app in _APPS for page in app.PAGES]
APP_OPS = [op for app in _APPS for op in app.OPS]


def extend_objs(objs: dict[str, Any], book: Any) -> None:
    for app in _APPS:
        app.extend(objs, book)
