"""Demo goals: what the demo AR managers set their teams, with six weeks of progress history.

Called by `ardesk demo` (settings.ARDESK_DEMO_EXTENSIONS) after the activities demo, in the same
transaction. Deterministic: no randomness, and the only date is cfg.as_of. Every goal runs 90 days from
six weeks before as_of; baselines are measured on the period start; the history is refreshed once a week
and on as_of. Goals are set by team, territory, title and tier, and for one collector:

- mona (East): cut past-due 25% for team East; raise eli's right-party rate to 25%; East's leaderboard is
  shared with its collectors;
- walt (West): cut % past due 25% in territory West; cut deduction cycle time 25% for team West;
- stella (Strategic): cut past-due 25% for team Strategic;
- ada (admin): cut DSO by 5 days for every Senior Collector; double contacts (calls +25%, emails +150%)
  for the new team members; a 70% PTP kept rate for the top performers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from ardesk.core.models import Team

from . import services
from .models import Goal

PERIOD_DAYS = 90
ELAPSED_DAYS = 42


def build(*, cfg: Any, console: Any = None, verbose: bool = False) -> str:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["ada", "mona", "walt", "stella", "eli"])
    }
    teams = {t.name: t for t in Team.objects.all()}
    if not {"ada", "mona", "walt", "stella"} <= set(users):
        return "goals: skipped (no demo managers)"
    as_of: dt.date = cfg.as_of
    start = as_of - dt.timedelta(days=ELAPSED_DAYS)
    deadline = start + dt.timedelta(days=PERIOD_DAYS)

    def tpl(actor: str, template: str, scope: str, **kw: Any) -> None:
        services.create_from_template(
            actor=users[actor],
            template=template,
            scope_kind=scope,
            period_start=start,
            deadline=deadline,
            **kw,
        )

    if "East" in teams:
        tpl("mona", "cut_past_due_25", "team", team=teams["East"])
        services.set_leaderboard_sharing(actor=users["mona"], team=teams["East"], shared=True)
    if "eli" in users:
        services.create_goal(
            actor=users["mona"],
            name="Reach the right party on 1 call in 4",
            metric="right_party_rate",
            direction="increase",
            target_kind="absolute",
            target_amount=Decimal(25),
            scope_kind="collector",
            collector=users["eli"],
            why="Calls that reach nobody collect nothing; better numbers and call times turn effort "
            "into cash.",
            period_start=start,
            deadline=deadline,
        )
    tpl("walt", "cut_pct_past_due_25", "territory", scope_value="West")
    if "West" in teams:
        tpl("walt", "cut_deduction_cycle_time", "team", team=teams["West"])
    if "Strategic" in teams:
        tpl("stella", "cut_past_due_25", "team", team=teams["Strategic"])
    tpl("ada", "cut_dso_days", "title", scope_value="Senior Collector", param=Decimal(5))
    tpl("ada", "double_contacts", "tier", scope_value="new")
    services.create_goal(
        actor=users["ada"],
        name="Keep 70% of promises",
        metric="ptp_kept_rate",
        direction="increase",
        target_kind="absolute",
        target_amount=Decimal(70),
        scope_kind="tier",
        scope_value="top",
        why="A promise that holds is cash we can forecast; our best people set the standard.",
        period_start=start,
        deadline=deadline,
    )
    days = [start + dt.timedelta(days=7 * i) for i in range(1, ELAPSED_DAYS // 7)] + [as_of]
    rows = 0
    for day in days:
        rows += services.refresh_goals(actor=None, as_of=day).rows_written
    top = Goal.objects.filter(parent__isnull=True).count()
    members = Goal.objects.filter(parent__isnull=False).count()
    return f"goals: {top} goals ({members} member goals), {rows:,} progress rows over {len(days)} refreshes"
