"""Pages of the goals app: a collector's dashboard, the manager's team board, goal detail, goal create.

A collector's Goals page is their own dashboard; a manager's (MANAGE_GOALS) is the team board. A dashboard
or a goal outside one's scope answers 404 (a collector sees a teammate's only when the team's manager
shares the leaderboard). No view changes state on GET.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ardesk.core.decorators import requires
from ardesk.core.errors import ArdeskError, InvalidInput
from ardesk.core.exports import export_response
from ardesk.core.roles import Cap, has_cap

from . import selectors, services
from .forms import BoardForm, ExportForm, GoalForm, SharingForm
from .measures import MEASURES, FactCache
from .models import Goal, TeamGoalSettings

PLOTLY_VERSION = metadata.version("plotly")
goals_reader = requires(Cap.LOG_ACTIVITY, "goals are for collectors and their managers")
goals_manager = requires(Cap.MANAGE_GOALS, "setting goals needs the manage-goals capability")


def today() -> dt.date:
    return timezone.localdate()


@require_GET
@goals_reader
def home(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    if not has_cap(user, Cap.MANAGE_GOALS):
        collector = selectors.get_collector_for_user(user, user.pk or 0)
        return _dashboard(request, collector)
    form = BoardForm(request.GET)
    by = form.dimension()
    as_of = today()
    cache = FactCache()  # the board and the group goals read their figures once, together
    rows, views = selectors.team_board(user, as_of, by, cache)
    teams = list(selectors.managed_teams(user))
    shared = set(
        TeamGoalSettings.objects.filter(team__in=teams, share_leaderboard=True).values_list(
            "team_id", flat=True
        )
    )
    context = {
        "form": form,
        "by": by,
        "rows": rows,
        "goals": views,
        "groups": selectors.group_goals(user, as_of, cache),
        "teams": [(t, t.pk in shared) for t in teams],
        "as_of": as_of,
    }
    return render(request, "goals/board.html", context)


@require_GET
@goals_reader
def collector(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _dashboard(request, selectors.get_collector_for_user(request.user, pk))


def _dashboard(request: HttpRequest, who: Any) -> HttpResponse:
    dash = selectors.dashboard(request.user, who, today())
    return render(request, "goals/dashboard.html", {"d": dash, "as_of": dash.as_of})


GOAL_HEADER = [
    "Collector",
    "Group",
    "Goal",
    "Measure",
    "Direction",
    "Baseline",
    "Baseline date",
    "Actual",
    "Target",
    "% achieved",
    "Projected at deadline",
    "Status",
    "Period start",
    "Deadline",
]


def _goal_rows(views: list[selectors.GoalView], people: dict[int, Any], by: str) -> list[list[Any]]:
    rows = []
    for v in views:
        g, pr = v.goal, v.progress
        u = people.get(g.collector_id or 0)
        prof = getattr(u, "collector", None)
        group = {"territory": "territory", "title": "title", "tier": "tier"}.get(by)
        rows.append(
            [
                u.username if u else "",
                getattr(prof, group, "") if group and prof else "",
                g.name,
                MEASURES[g.metric].label,
                g.direction,
                g.baseline_value,
                g.baseline_date,
                pr.actual,
                pr.target,
                pr.pct,
                pr.projected,
                pr.status_label,
                g.period_start,
                g.deadline,
            ]
        )
    return rows


@require_GET
@goals_manager
def export(request: HttpRequest) -> HttpResponseBase:
    """Every active goal of the collectors one manages, with progress (money in minor units)."""
    form = ExportForm(request.GET)
    if not form.is_valid():
        raise InvalidInput("choose fmt=csv or fmt=xlsx", field="fmt")
    by = form.cleaned_data.get("by") or "collector"
    as_of = today()
    _rows, views = selectors.team_board(request.user, as_of, by)
    people = {u.pk: u for u in selectors.managed_collectors(request.user).select_related("collector")}
    return export_response(
        form.cleaned_data["fmt"], f"goals-{as_of.isoformat()}", GOAL_HEADER, _goal_rows(views, people, by)
    )


@require_http_methods(["GET", "POST"])
@goals_manager
def create(request: HttpRequest) -> HttpResponseBase:
    form = GoalForm(request.user, request.POST or None, today=today())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "actor": request.user,
            "scope_kind": data["scope_kind"],
            "scope_value": form.scope_value(),
            "team": data.get("team"),
            "collector": data.get("collector"),
            "period_start": data["period_start"],
            "deadline": data["deadline"],
        }
        try:
            if data.get("template"):
                goals = services.create_from_template(
                    template=data["template"], param=data.get("param"), why=data.get("why") or "", **common
                )
                goal = goals[0]
            else:
                goal = services.create_goal(
                    name=data["name"],
                    metric=data["metric"],
                    direction=data["direction"],
                    target_kind=data["target_kind"],
                    target_amount=data["target_amount"],
                    why=data["why"],
                    window_days=data["window_days"],
                    **common,
                )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Goal “{goal.name}” set.")
            return redirect("goals:detail", pk=goal.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "goals/create.html", {"form": form}, status=status)


@require_GET
@goals_reader
def detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    goal = selectors.get_goal_for_user(request.user, pk)
    as_of = today()
    members = (
        list(goal.members.select_related("collector").order_by("collector__username"))
        if goal.is_group
        else []
    )
    goal_qs = [g for g in Goal.objects.filter(pk=goal.pk).prefetch_related("members")]
    views = selectors.goal_views(goal_qs + members, as_of)
    view, member_views = views[0], views[1:]
    history = selectors.history(goal)
    context = {
        "v": view,
        "goal": goal,
        "members": member_views,
        "history": history,
        "charts": selectors.history_chart(goal, history, view.progress.target),
        "plotly_version": PLOTLY_VERSION,
        "as_of": as_of,
    }
    return render(request, "goals/detail.html", context)


@require_GET
@goals_reader
def history_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    goal = selectors.get_goal_for_user(request.user, pk)
    form = ExportForm(request.GET)
    if not form.is_valid():
        raise InvalidInput("choose fmt=csv or fmt=xlsx", field="fmt")
    header = ["Date", "Actual", "Target", "% achieved", "Projected at deadline", "Status"]
    rows = [
        [r.on_date, r.actual, r.target, r.pct_achieved, r.projected, r.status]
        for r in selectors.history(goal)
    ]
    return export_response(form.cleaned_data["fmt"], f"goal-{goal.pk}-history", header, rows)


@require_POST
@goals_manager
def sharing(request: HttpRequest, pk: int) -> HttpResponseBase:
    team = selectors.get_team_for_manager(request.user, pk)
    form = SharingForm(request.POST)
    form.is_valid()
    shared = bool(form.cleaned_data.get("shared"))
    try:
        services.set_leaderboard_sharing(actor=request.user, team=team, shared=shared)
    except ArdeskError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Leaderboard of {team.name} {'shared' if shared else 'private'}.")
    return redirect("goals:home")
