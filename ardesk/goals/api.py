"""The goals API router, mounted by ardesk.api.api at /api/v1/goals.

`GET /goals` lists the goals in the caller's scope (see selectors) with live progress as of today;
`POST /goals` sets one (MANAGE_GOALS; a group scope fans out); `GET /goals/{goal_id}` is one goal with its
progress (404 outside one's scope).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from ardesk.api.auth import current_user
from ardesk.api.errors import ErrorOut
from ardesk.api.pagination import paginate
from ardesk.core.errors import NotFound, PermissionDenied
from ardesk.core.roles import Cap, has_cap

from . import selectors, services
from .schemas import GoalFilters, GoalIn, GoalOut, GoalPage, goal_out

router = Router(tags=["goals"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}
RELATED = ("collector", "owner", "parent", "scope_team")


def _reader(request: HttpRequest) -> Any:
    user = current_user(request)
    if not has_cap(user, Cap.LOG_ACTIVITY):
        raise PermissionDenied("goals are for collectors and their managers")
    return user


@router.get("", response={200: GoalPage, **READ_ERRORS}, summary="List goals")
def list_goals(request: HttpRequest, filters: Query[GoalFilters]) -> dict[str, Any]:
    """Goals in your scope, by deadline, each with its progress as of today."""
    user = _reader(request)
    qs = selectors.goals_for_user(user).select_related(*RELATED).prefetch_related("members")
    if filters.collector:
        qs = qs.filter(collector__username=filters.collector)
    if filters.active_on:
        qs = qs.filter(period_start__lte=filters.active_on, deadline__gte=filters.active_on)
    qs = qs.order_by("deadline", "name", "id")
    page = paginate(qs, filters, lambda g: g)  # rows first, then their progress in one batch
    page["items"] = [goal_out(v) for v in selectors.goal_views(page["items"], timezone.localdate())]
    return page


@router.post("", response={201: GoalOut, **WRITE_ERRORS}, summary="Set a goal")
def create_goal(request: HttpRequest, payload: GoalIn) -> Status[GoalOut]:
    user = current_user(request)
    if not has_cap(user, Cap.MANAGE_GOALS):
        raise PermissionDenied("setting goals needs the manage-goals capability (AR manager, admin)")
    collector = None
    if payload.collector_id is not None:
        collector = selectors.managed_collectors(user).filter(pk=payload.collector_id).first()
        if collector is None:
            raise NotFound(f"collector {payload.collector_id} not found")
    team = selectors.get_team_for_manager(user, payload.team_id) if payload.team_id is not None else None
    goal = services.create_goal(
        actor=user,
        name=payload.name,
        metric=payload.metric,
        direction=payload.direction,
        target_kind=payload.target_kind,
        target_amount=Decimal(payload.target_amount),
        scope_kind=payload.scope_kind,
        scope_value=payload.scope_value,
        team=team,
        collector=collector,
        period_start=payload.period_start,
        deadline=payload.deadline,
        baseline_date=payload.baseline_date,
        window_days=payload.window_days,
        why=payload.why,
    )
    return Status(201, _one(user, goal.pk))


def _one(user: Any, pk: int) -> GoalOut:
    goal = selectors.get_goal_for_user(user, pk)
    goals = [type(goal).objects.select_related(*RELATED).prefetch_related("members").get(pk=goal.pk)]
    return goal_out(selectors.goal_views(goals, timezone.localdate())[0])


@router.get("/{goal_id}", response={200: GoalOut, **READ_ERRORS}, summary="Get a goal with its progress")
def get_goal(request: HttpRequest, goal_id: int) -> GoalOut:
    return _one(_reader(request), goal_id)
