"""Permission-matrix rows for the goals app (see tests/matrix/base.py).

Goals are for collectors and their managers (LOG_ACTIVITY to read, MANAGE_GOALS to set): the auditor is
the wrong role. bob's goal and dashboard are out of alice's sight (404) while East's leaderboard is
private; walt (West) manages neither bob nor team East.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tests.matrix.base import Op, Page

PAGES: list[Page] = [
    Page("goals:home", "get", lambda o: "/goals/", "bob", "audrey", None),
    Page("goals:export", "get", lambda o: "/goals/export/?fmt=csv", "mona", "bob", None),
    Page("goals:create", "get", lambda o: "/goals/new/", "mona", "bob", None),
    Page(
        "goals:collector",
        "get",
        lambda o: f"/goals/collectors/{o['goal'].collector_id}/",
        "bob",
        "audrey",
        "alice",
    ),
    Page("goals:detail", "get", lambda o: f"/goals/{o['goal'].pk}/", "bob", "audrey", "alice"),
    Page(
        "goals:history_export",
        "get",
        lambda o: f"/goals/{o['goal'].pk}/history/export/?fmt=csv",
        "bob",
        "audrey",
        "alice",
    ),
    Page(
        "goals:sharing",
        "post",
        lambda o: f"/goals/teams/{o['goal_team'].pk}/sharing/",
        "mona",
        "bob",
        "walt",
        {},
    ),
]
OPS: list[Op] = [
    Op("get", "/goals", "bob", "audrey", None),
    Op(
        "post",
        "/goals",
        "mona",
        "bob",
        "walt",
        lambda o: {
            "name": "More calls",
            "metric": "calls",
            "direction": "increase",
            "target_kind": "absolute",
            "target_amount": "40",
            "scope_kind": "collector",
            "collector_id": o["goal"].collector_id,
            "period_start": "2026-02-01",
            "deadline": "2026-04-30",
            "why": "talk to more customers",
        },
    ),
    Op("get", "/goals/{goal_id}", "bob", "audrey", "alice"),
]


def extend(objs: dict[str, Any], book: Any) -> None:
    """Add this app's objects (all on bob's customer C-200) to objs."""
    from ardesk.core.models import Team
    from ardesk.goals import services

    objs["goal"] = services.create_goal(
        actor=book.mona,
        name="More calls",
        metric="calls",
        direction="increase",
        target_kind="relative",
        target_amount=Decimal(25),
        scope_kind="collector",
        collector=book.bob,
        period_start=dt.date(2026, 2, 1),
        deadline=dt.date(2026, 4, 30),
        why="talk to more customers",
    )
    objs["goal_team"] = Team.objects.get(name="East")
