"""Reads of the goals app, scoped to the user.

Who sees what:
- admin (and the read-everything roles): every goal and every collector's dashboard;
- an AR manager: the goals of the collectors they manage (their teams' members and direct reports) and
  the group goals they own, and those collectors' dashboards;
- a collector: their own goals and dashboard only; when their team's manager shares the leaderboard,
  also their teammates' goals, dashboards and their rank among them.
Anything outside answers 404 (`NotFound`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from ardesk.core.errors import NotFound
from ardesk.core.models import CollectorProfile, Team
from ardesk.core.roles import Cap, Role, has_cap, has_global_scope, roles_of

from . import progress as p
from .measures import MEASURES, FactCache, fmt
from .models import Goal, GoalProgress, ScopeKind, TeamGoalSettings

User = get_user_model()


# --- collectors ------------------------------------------------------------------------------------------


def collectors() -> QuerySet[Any]:
    """Active users with a collector profile."""
    return User.objects.filter(is_active=True, collector__isnull=False)


def managed_collectors(user: Any) -> QuerySet[Any]:
    """The collectors `user` manages: everyone for admin and global roles, a manager's team members and
    direct reports, a collector themself."""
    qs = collectors()
    if has_global_scope(user):
        return qs
    q = Q(pk=user.pk)
    if Role.AR_MANAGER in roles_of(user):
        q |= Q(collector__team__manager=user) | Q(collector__manager=user)
    return qs.filter(q)


def managed_teams(user: Any) -> QuerySet[Team]:
    if has_global_scope(user):
        return Team.objects.all()
    if Role.AR_MANAGER in roles_of(user):
        return Team.objects.filter(manager=user)
    return Team.objects.none()


def shared_teams(user: Any) -> list[int]:
    """Teams whose leaderboard `user` (a collector) may see: their own, when shared."""
    profile = CollectorProfile.objects.filter(user=user).only("team_id").first()
    if profile is None or profile.team_id is None:
        return []
    shared = TeamGoalSettings.objects.filter(team_id=profile.team_id, share_leaderboard=True).exists()
    return [profile.team_id] if shared else []


def visible_collectors(user: Any) -> QuerySet[Any]:
    """Collectors whose dashboards `user` may open."""
    qs = managed_collectors(user)
    teams = shared_teams(user)
    if teams:
        qs = collectors().filter(Q(pk__in=qs.values("pk")) | Q(collector__team_id__in=teams))
    return qs


def get_collector_for_user(user: Any, pk: int) -> Any:
    found = visible_collectors(user).select_related("collector", "collector__team").filter(pk=pk).first()
    if found is None:
        raise NotFound(f"collector {pk} not found")
    return found


def get_team_for_manager(user: Any, pk: int) -> Team:
    team = managed_teams(user).filter(pk=pk).first()
    if team is None:
        raise NotFound(f"team {pk} not found")
    return team


def scope_members(goal: Goal) -> list[int]:
    """Ids of the collectors a group goal covers now, limited to those its owner manages."""
    qs = collectors()
    kind = goal.scope_kind
    if kind == ScopeKind.COLLECTOR:
        return [goal.collector_id] if goal.collector_id else []
    if kind == ScopeKind.TERRITORY:
        qs = qs.filter(collector__territory=goal.scope_value)
    elif kind == ScopeKind.TITLE:
        qs = qs.filter(collector__title=goal.scope_value)
    elif kind == ScopeKind.TIER:
        qs = qs.filter(collector__tier=goal.scope_value)
    elif kind == ScopeKind.TEAM:
        qs = qs.filter(collector__team_id=goal.scope_team_id)
    if goal.owner is not None:
        qs = qs.filter(pk__in=managed_collectors(goal.owner).values("pk"))
    return sorted(qs.values_list("pk", flat=True))


# --- goals -----------------------------------------------------------------------------------------------


def goals_for_user(user: Any) -> QuerySet[Goal]:
    qs = Goal.objects.all()
    if has_global_scope(user):
        return qs
    if not has_cap(user, Cap.LOG_ACTIVITY):
        return qs.none()
    q = Q(collector=user)
    if Role.AR_MANAGER in roles_of(user):
        q |= Q(collector__in=managed_collectors(user)) | Q(owner=user) | Q(parent__owner=user)
    teams = shared_teams(user)
    if teams:
        q |= Q(collector__collector__team_id__in=teams)
    return qs.filter(q)


def get_goal_for_user(user: Any, pk: int) -> Goal:
    goal = (
        goals_for_user(user)
        .select_related("collector", "owner", "parent", "scope_team")
        .filter(pk=pk)
        .first()
    )
    if goal is None:
        raise NotFound(f"goal {pk} not found")
    return goal


def is_active(goal: Goal, as_of: dt.date) -> bool:
    return goal.period_start <= as_of <= goal.deadline


def member_ids(goal: Goal) -> list[int]:
    """Collectors measured by a goal: its collector, or a group goal's members."""
    if goal.collector_id is not None:
        return [goal.collector_id]
    return sorted(m.collector_id for m in goal.members.all() if m.collector_id is not None)


def goal_target(goal: Goal, members: int = 1) -> Decimal | None:
    baseline = goal.baseline_value
    return p.resolve_target(
        kind=goal.target_kind,
        amount=goal.target_amount,
        baseline=baseline,
        unit=MEASURES[goal.metric].unit,
        members=members,
    )


def evaluate(goal: Goal, as_of: dt.date, cache: FactCache) -> p.Progress:
    """A goal's progress on `as_of`, from the ledger and the activity log (nothing stored)."""
    ids = member_ids(goal)
    as_of = min(as_of, goal.deadline)
    actual = cache.value(goal.metric, ids, as_of, goal.window_days) if ids else None
    return p.progress(
        direction=goal.direction,
        baseline=goal.baseline_value,
        baseline_date=goal.baseline_date,
        target=goal_target(goal, len(ids) or 1),
        deadline=goal.deadline,
        actual=actual,
        as_of=as_of,
    )


def prime(
    cache: FactCache, goals: Iterable[Goal], as_of: dt.date, also: dict[str, list[int]] | None = None
) -> None:
    """Read the facts of every collector the goals (and group goals' members) need, one batch per
    (source, date, window), so evaluating them costs no query per goal. `also` adds collectors to the
    KPI batch of `as_of` (the KPI facts do not depend on the window)."""
    need: dict[tuple[str, dt.date, int], set[int]] = {}
    for g in goals:
        key = (MEASURES[g.metric].source, min(as_of, g.deadline), g.window_days)
        need.setdefault(key, set()).update(member_ids(g))
    for source, extra in (also or {}).items():
        window = next((w for (s, day, w) in need if s == source and day == as_of), 0)
        need.setdefault((source, as_of, window), set()).update(extra)
    for (source, day, window), ids in need.items():
        if ids:
            cache.facts(source, sorted(ids), day, window)  # type: ignore[arg-type]


@dataclass
class GoalView:
    goal: Goal
    progress: p.Progress
    currency: str
    rollup: dict[str, int] = field(default_factory=dict)

    def f(self, value: Decimal | None) -> str:
        return fmt(self.goal.metric, value, self.currency)

    @property
    def measure(self) -> Any:
        return MEASURES[self.goal.metric]

    @property
    def actual(self) -> str:
        return self.f(self.progress.actual)

    @property
    def target(self) -> str:
        return self.f(self.progress.target)

    @property
    def baseline(self) -> str:
        return self.f(self.goal.baseline_value)

    @property
    def projected(self) -> str:
        return self.f(self.progress.projected)


def base_currency() -> str:
    from ardesk.ledger.selectors import organization

    return organization().base_currency


def goal_views(goals: Sequence[Goal], as_of: dt.date, cache: FactCache | None = None) -> list[GoalView]:
    """Live progress of `goals` (prefetch `members` for group goals); group goals carry the roll-up of
    their members' statuses."""
    cache = cache or FactCache()
    prime(cache, goals, as_of)
    currency = base_currency()
    out = []
    for g in goals:
        view = GoalView(g, evaluate(g, as_of, cache), currency)
        if g.is_group:
            counts: dict[str, int] = {}
            for m in g.members.all():
                st = evaluate(m, as_of, cache).status
                counts[st] = counts.get(st, 0) + 1
            view.rollup = counts
        out.append(view)
    return out


def history(goal: Goal) -> list[GoalProgress]:
    return list(goal.history.order_by("on_date"))


def history_chart(goal: Goal, rows: Iterable[GoalProgress], target: Decimal | None) -> list[dict[str, Any]]:
    """The progress-history chart for charts.js (values as exact decimal strings)."""
    rows = list(rows)
    unit = {"money": "minor units", "count": "count", "pct": "%", "days": "days"}[MEASURES[goal.metric].unit]
    return [
        {
            "key": "history",
            "type": "line",
            "metric": goal.metric,
            "title": f"{MEASURES[goal.metric].label}, target {target if target is not None else '–'}",
            "unit": unit,
            "x": [r.on_date.isoformat() for r in rows],
            "y": [None if r.actual is None else str(r.actual) for r in rows],
        }
    ]


# --- dashboards and boards -------------------------------------------------------------------------------

TODAY_MEASURES = ("contacts", "calls", "emails", "right_party_contacts", "ptps_taken", "cash_collected")
PORTFOLIO_MEASURES = ("past_due", "pct_past_due", "dso")


@dataclass
class Dashboard:
    collector: Any
    as_of: dt.date
    goals: list[GoalView]
    today: list[tuple[str, str]]
    portfolio: list[tuple[str, str]]
    kept_promises: list[Any]
    rank: tuple[int, int] | None  # (position, of how many) when the leaderboard is shared
    leaderboard: list[tuple[Any, Decimal | None]]
    shared: bool


def score(views: Sequence[GoalView]) -> Decimal | None:
    """The leaderboard's order: the mean % achieved of a collector's active goals, each goal counted
    between 0 and 100 (beating one target by far does not make up for missing another), 0.01 half even."""
    pcts = [max(Decimal(0), min(Decimal(100), v.progress.pct)) for v in views if v.progress.pct is not None]
    if not pcts:
        return None
    return p.q2(sum(pcts, Decimal(0)) / len(pcts))


def _goals_of(collector_ids: Iterable[int], as_of: dt.date) -> QuerySet[Goal]:
    return (
        Goal.objects.filter(
            collector_id__in=list(collector_ids), deadline__gte=as_of, period_start__lte=as_of
        )
        .select_related("collector", "parent", "owner")
        .order_by("deadline", "name", "id")
    )


def dashboard(viewer: Any, collector: Any, as_of: dt.date) -> Dashboard:
    """A collector's own page: active goals with progress and pace, today's numbers, their portfolio,
    promises kept in the last 7 days, and (only when the team shares it) the leaderboard."""
    from ardesk.activities.models import PromiseToPay

    cache = FactCache()
    team_id = getattr(getattr(collector, "collector", None), "team_id", None)
    shared = bool(
        team_id and TeamGoalSettings.objects.filter(team_id=team_id, share_leaderboard=True).exists()
    )
    mine = list(_goals_of([collector.pk], as_of))
    # one batch per kind of fact for everything the page shows: the collector's goals, the portfolio
    # (KPI facts), and with a shared leaderboard the teammates' goals too
    team: list[Goal] = []
    if shared:
        teammates = collectors().filter(collector__team_id=team_id).values_list("pk", flat=True)
        team = list(_goals_of(teammates, as_of))
    prime(cache, [*mine, *team], as_of, also={"kpi": [collector.pk]})
    views = goal_views(mine, as_of, cache)
    currency = base_currency()
    today_facts = cache.facts("activity", [collector.pk], as_of, 1)[collector.pk]
    today = [(MEASURES[k].label, fmt(k, MEASURES[k].value(today_facts), currency)) for k in TODAY_MEASURES]
    kpi = cache.facts("kpi", [collector.pk], as_of, 1)[collector.pk]
    portfolio = [(MEASURES[k].label, fmt(k, MEASURES[k].value(kpi), currency)) for k in PORTFOLIO_MEASURES]
    kept = list(
        PromiseToPay.objects.filter(
            collector=collector,
            status=PromiseToPay.Status.KEPT,
            resolved_on__gte=as_of - dt.timedelta(days=6),
            resolved_on__lte=as_of,
        )
        .select_related("customer")
        .order_by("-resolved_on", "-id")[:10]
    )
    rank = None
    board: list[tuple[Any, Decimal | None]] = []
    if shared:
        board = leaderboard(team_id, as_of, cache)
        order = [u.pk for u, _ in board]
        rank = (order.index(collector.pk) + 1, len(order)) if collector.pk in order else None
    return Dashboard(collector, as_of, views, today, portfolio, kept, rank, board, shared)


def leaderboard(team_id: int | None, as_of: dt.date, cache: FactCache) -> list[tuple[Any, Decimal | None]]:
    """Team members by the mean % achieved of their active goals, best first (no goals last)."""
    members = list(collectors().filter(collector__team_id=team_id).order_by("username"))
    goals = list(_goals_of([u.pk for u in members], as_of))
    views = goal_views(goals, as_of, cache)
    by: dict[int, list[GoalView]] = {}
    for v in views:
        by.setdefault(v.goal.collector_id or 0, []).append(v)
    scored = [(u, score(by.get(u.pk, []))) for u in members]
    scored.sort(key=lambda t: (t[1] is None, -(t[1] or 0), t[0].username))
    return scored


BOARD_DIMENSIONS = ("collector", "territory", "title", "tier")


@dataclass
class BoardRow:
    key: str
    label: str
    collectors: int
    goals: int
    on_track: int
    at_risk: int
    off_track: int
    no_data: int
    score: Decimal | None


def team_board(
    user: Any, as_of: dt.date, by: str = "collector", cache: FactCache | None = None
) -> tuple[list[BoardRow], list[GoalView]]:
    """The manager's board: every active goal of the collectors they manage, grouped by collector,
    territory, title or tier, with status counts and the score (see `score`). Pass the same `cache` to
    `group_goals` for the same page: the facts are then read once for both."""
    people = list(managed_collectors(user).select_related("collector").order_by("username"))
    views = goal_views(list(_goals_of([u.pk for u in people], as_of)), as_of, cache)
    tiers = dict(CollectorProfile.Tier.choices)

    def dim(u: Any) -> tuple[str, str]:
        prof = u.collector
        if by == "territory":
            return prof.territory, prof.territory or "(none)"
        if by == "title":
            return prof.title, prof.title or "(none)"
        if by == "tier":
            return prof.tier, str(tiers.get(prof.tier, prof.tier))
        return str(u.pk), u.get_full_name() or u.username

    groups: dict[str, tuple[str, set[int], list[GoalView]]] = {}
    for u in people:
        k, label = dim(u)
        groups.setdefault(k, (label, set(), []))[1].add(u.pk)
    for v in views:
        u = next(x for x in people if x.pk == v.goal.collector_id)
        groups[dim(u)[0]][2].append(v)
    rows = []
    for k, (label, ids, vs) in groups.items():
        st = [v.progress.status for v in vs]
        rows.append(
            BoardRow(
                key=k,
                label=label,
                collectors=len(ids),
                goals=len(vs),
                on_track=st.count(p.ON_TRACK),
                at_risk=st.count(p.AT_RISK),
                off_track=st.count(p.OFF_TRACK),
                no_data=st.count(p.NO_DATA),
                score=score(vs),
            )
        )
    rows.sort(key=lambda r: r.label.casefold())
    return rows, views


def group_goals(user: Any, as_of: dt.date, cache: FactCache | None = None) -> list[GoalView]:
    """Active group goals visible to `user`, with their roll-up (see `team_board` for `cache`)."""
    qs = (
        goals_for_user(user)
        .filter(collector__isnull=True, deadline__gte=as_of, period_start__lte=as_of)
        .select_related("owner", "scope_team")
        .prefetch_related("members")
    )
    return goal_views(list(qs), as_of, cache)


def median(values: Iterable[Decimal | None]) -> Decimal | None:
    vals = [v for v in values if v is not None]
    return Decimal(statistics.median(vals)) if vals else None
