"""Permission-matrix rows for the coaching app (see tests/matrix/base.py).

A collector may open their own coaching page (read only): bob's page is bob's and mona's, not alice's
(404) nor walt's (404 for recording a session). The overview and recording need the coach capability.
"""

from __future__ import annotations

from typing import Any

from tests.matrix.base import Op, Page

PAGES: list[Page] = [
    Page("coaching:home", "get", lambda o: "/coaching/", "mona", "bob", None),
    Page(
        "coaching:collector",
        "get",
        lambda o: f"/coaching/collectors/{o['goal'].collector_id}/",
        "bob",
        "audrey",
        "alice",
    ),
    Page(
        "coaching:session_create",
        "post",
        lambda o: f"/coaching/collectors/{o['goal'].collector_id}/sessions/new/",
        "mona",
        "bob",
        "walt",
        {"held_on": "2026-02-10", "focus": ["calls"], "agreed_actions": "Call the top ten past-due accounts"},
    ),
]
OPS: list[Op] = []


def extend(objs: dict[str, Any], book: Any) -> None:
    """Coaching pages use the goals app's objects (bob's goal names bob)."""
