"""Request and response shapes of the goals API.

Measure values cross the API as decimal strings in the measure's unit (`unit`): money in *minor units*
of the base currency (`currency`), counts, percentages (0.01) or days (0.01); never a JSON number.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from ardesk.api.pagination import Page, PageParams

from .measures import MEASURES
from .progress import Progress
from .selectors import GoalView

Metric = Literal[
    "past_due",
    "pct_past_due",
    "dso",
    "cei",
    "pct_over_90",
    "contacts",
    "calls",
    "emails",
    "right_party_contacts",
    "right_party_rate",
    "ptps_taken",
    "ptp_kept_rate",
    "cash_collected",
    "collected_after_contact",
    "deduction_cycle_time",
    "deduction_log_lag",
]
DECIMAL = r"^-?\d{1,18}(\.\d{1,2})?$"


class GoalIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    metric: Metric
    direction: Literal["increase", "decrease"]
    target_kind: Literal["absolute", "relative", "change"]
    target_amount: str = Field(pattern=DECIMAL, description="decimal string; -25 with relative = cut by 25%")
    scope_kind: Literal["collector", "territory", "title", "tier", "team", "everyone"]
    collector_id: int | None = None
    team_id: int | None = None
    scope_value: str = Field("", max_length=80, description="territory, title or tier")
    period_start: dt.date
    deadline: dt.date
    baseline_date: dt.date | None = None
    window_days: int = Field(30, ge=1, le=366)
    why: str = Field(min_length=1)


class ProgressOut(Schema):
    as_of: dt.date
    actual: str | None
    target: str | None
    pct_achieved: str | None
    projected: str | None
    status: Literal["on_track", "at_risk", "off_track", "no_data"]


class GoalOut(Schema):
    id: int
    name: str
    metric: str
    unit: Literal["money", "count", "pct", "days"]
    currency: str
    direction: str
    target_kind: str
    target_amount: str
    baseline_value: str | None
    baseline_date: dt.date
    period_start: dt.date
    deadline: dt.date
    window_days: int
    scope_kind: str
    scope_value: str
    team_id: int | None
    collector: str | None
    parent_id: int | None
    owner: str | None
    why: str
    progress: ProgressOut
    members: list[int] = Field(description="member goal ids of a group goal")


class GoalFilters(PageParams):
    collector: str | None = Field(None, description="username")
    active_on: dt.date | None = None


class GoalPage(Page[GoalOut]):
    pass


def _s(v: object) -> str | None:
    return None if v is None else str(v)


def progress_out(pr: Progress) -> ProgressOut:
    return ProgressOut(
        as_of=pr.as_of,
        actual=_s(pr.actual),
        target=_s(pr.target),
        pct_achieved=_s(pr.pct),
        projected=_s(pr.projected),
        status=pr.status,  # type: ignore[arg-type]
    )


def goal_out(v: GoalView) -> GoalOut:
    g = v.goal
    return GoalOut(
        id=g.pk,
        name=g.name,
        metric=g.metric,
        unit=MEASURES[g.metric].unit,
        currency=v.currency,
        direction=g.direction,
        target_kind=g.target_kind,
        target_amount=str(g.target_amount),
        baseline_value=_s(g.baseline_value),
        baseline_date=g.baseline_date,
        period_start=g.period_start,
        deadline=g.deadline,
        window_days=g.window_days,
        scope_kind=g.scope_kind,
        scope_value=g.scope_value,
        team_id=g.scope_team_id,
        collector=g.collector.username if g.collector else None,
        parent_id=g.parent_id,
        owner=g.owner.username if g.owner else None,
        why=g.why,
        progress=progress_out(v.progress),
        members=sorted(m.pk for m in g.members.all()) if g.is_group else [],
    )
