"""Writes of the goals app: setting goals (with fan-out), the daily refresh, leaderboard sharing, the digest.

Every function is keyword-only, atomic and audited. Baselines are measured when a goal is set, on its
baseline date (by default the period start). The refresh (`ardesk goals refresh --as-of DATE`) adds member
goals for collectors who joined a group since, then writes one `GoalProgress` row per active goal for the
date (unique (goal, date): running it again updates the same rows). The digest (`ardesk goals digest
--as-of DATE`) claims one `DigestSent` row per collector and day (unique), so running it twice sends
once, and sends the email only after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from ardesk.core import audit
from ardesk.core.errors import InvalidInput, NotFound, PermissionDenied
from ardesk.core.models import CollectorProfile, Team
from ardesk.core.roles import Cap, has_cap

from . import selectors
from .measures import MEASURES, FactCache, fmt, measure
from .models import DigestSent, Direction, Goal, GoalProgress, ScopeKind, TargetKind, TeamGoalSettings

MAX_WINDOW = 366


def _check_manager(actor: Any) -> None:
    if actor is not None and not has_cap(actor, Cap.MANAGE_GOALS):
        raise PermissionDenied("setting goals needs the manage-goals capability (AR manager, admin)")


def _validate(
    *,
    name: str,
    metric: str,
    direction: str,
    target_kind: str,
    target_amount: Decimal,
    scope_kind: str,
    scope_value: str,
    period_start: dt.date,
    deadline: dt.date,
    baseline_date: dt.date,
    why: str,
    window_days: int,
) -> None:
    errors = []
    if not name.strip():
        errors.append("name: give the goal a name")
    if metric not in MEASURES:
        errors.append(f"metric: unknown measure {metric!r}")
    if direction not in Direction.values:
        errors.append(f"direction: {direction!r} is not increase or decrease")
    if target_kind not in TargetKind.values:
        errors.append(f"target_kind: {target_kind!r} is not absolute, relative or change")
    elif (
        target_kind in (TargetKind.RELATIVE, TargetKind.CHANGE)
        and target_amount != 0
        and (target_amount < 0) != (direction == Direction.DECREASE)
    ):
        errors.append(f"target_amount: {target_amount} moves the wrong way for a goal to {direction}")
    if target_kind == TargetKind.RELATIVE and target_amount <= -100:
        errors.append("target_amount: a relative target must be above -100%")
    if scope_kind not in ScopeKind.values:
        errors.append(f"scope_kind: unknown scope {scope_kind!r}")
    if scope_kind in (ScopeKind.TERRITORY, ScopeKind.TITLE, ScopeKind.TIER) and not scope_value.strip():
        errors.append(f"scope_value: name the {scope_kind}")
    if scope_kind == ScopeKind.TIER and scope_value not in CollectorProfile.Tier.values:
        errors.append(f"scope_value: unknown tier {scope_value!r}")
    if deadline <= period_start:
        errors.append("deadline: must be after the period start")
    if baseline_date > deadline:
        errors.append("baseline_date: must not be after the deadline")
    if not why.strip():
        errors.append("why: say why this goal matters")
    if not 1 <= window_days <= MAX_WINDOW:
        errors.append(f"window_days: must be 1 to {MAX_WINDOW}")
    if errors:
        raise InvalidInput("; ".join(errors), errors=errors)


def _member(goal: Goal, collector_id: int, cache: FactCache) -> Goal:
    baseline = cache.value(goal.metric, [collector_id], goal.baseline_date, goal.window_days)
    return Goal(
        name=goal.name,
        metric=goal.metric,
        direction=goal.direction,
        target_kind=goal.target_kind,
        target_amount=goal.target_amount,
        baseline_value=baseline,
        baseline_date=goal.baseline_date,
        period_start=goal.period_start,
        deadline=goal.deadline,
        window_days=goal.window_days,
        scope_kind=ScopeKind.COLLECTOR,
        collector_id=collector_id,
        parent=goal,
        owner=goal.owner,
        why=goal.why,
        template=goal.template,
        link=goal.link,
    )


@transaction.atomic
def create_goal(
    *,
    actor: Any,
    name: str,
    metric: str,
    direction: str,
    target_kind: str,
    target_amount: Decimal,
    scope_kind: str,
    period_start: dt.date,
    deadline: dt.date,
    why: str,
    scope_value: str = "",
    team: Team | None = None,
    collector: Any = None,
    baseline_date: dt.date | None = None,
    window_days: int = 30,
    template: str = "",
    link: str = "",
    cache: FactCache | None = None,
) -> Goal:
    """Set a goal. A group scope fans out to one member goal per collector in it (limited to the
    collectors `actor` manages); baselines are measured on `baseline_date` (default `period_start`)."""
    _check_manager(actor)
    baseline_date = baseline_date or period_start
    _validate(
        name=name,
        metric=metric,
        direction=direction,
        target_kind=target_kind,
        target_amount=target_amount,
        scope_kind=scope_kind,
        scope_value=scope_value,
        period_start=period_start,
        deadline=deadline,
        baseline_date=baseline_date,
        why=why,
        window_days=window_days,
    )
    if scope_kind == ScopeKind.COLLECTOR:
        if collector is None:
            raise InvalidInput("collector: name the collector", field="collector")
        if actor is not None and not selectors.managed_collectors(actor).filter(pk=collector.pk).exists():
            raise NotFound(f"collector {collector.pk} not found")
    if scope_kind == ScopeKind.TEAM:
        if team is None:
            raise InvalidInput("team: name the team", field="team")
        if actor is not None:
            selectors.get_team_for_manager(actor, team.pk)
    cache = cache or FactCache()
    goal = Goal(
        name=name.strip(),
        metric=metric,
        direction=direction,
        target_kind=target_kind,
        target_amount=target_amount,
        baseline_date=baseline_date,
        period_start=period_start,
        deadline=deadline,
        window_days=window_days,
        scope_kind=scope_kind,
        scope_value=scope_value.strip() if scope_kind not in (ScopeKind.COLLECTOR, ScopeKind.TEAM) else "",
        scope_team=team if scope_kind == ScopeKind.TEAM else None,
        collector=collector if scope_kind == ScopeKind.COLLECTOR else None,
        owner=actor if getattr(actor, "pk", None) else None,
        why=why.strip(),
        template=template,
        link=link,
    )
    ids = selectors.scope_members(goal)
    if not ids:
        raise InvalidInput("scope: no collector you manage is in this scope", field="scope_kind")
    measure(metric)
    cache.facts(MEASURES[metric].source, ids, baseline_date, window_days)
    goal.baseline_value = cache.value(metric, ids, baseline_date, window_days)
    goal.save()
    members = []
    if goal.is_group:
        members = Goal.objects.bulk_create([_member(goal, cid, cache) for cid in ids])
    audit.record(
        actor=actor,
        action="goals.create",
        obj=goal,
        after={**audit.snapshot(goal), "members": [m.collector_id for m in members]},
    )
    return goal


@dataclass(frozen=True)
class RefreshResult:
    as_of: dt.date
    goals: int
    members_added: int
    rows_written: int


@transaction.atomic
def refresh_goals(*, actor: Any, as_of: dt.date) -> RefreshResult:
    """Bring group goals' membership up to date and write the progress of every active goal on `as_of`
    (one row per goal and date; running again on the same date updates the rows)."""
    cache = FactCache()
    groups = list(
        Goal.objects.filter(collector__isnull=True, period_start__lte=as_of, deadline__gte=as_of)
        .select_related("owner")
        .prefetch_related("members")
    )
    added: list[Goal] = []
    for g in groups:
        have = {m.collector_id for m in g.members.all()}
        new = [cid for cid in selectors.scope_members(g) if cid not in have]
        if new:
            cache.facts(MEASURES[g.metric].source, new, g.baseline_date, g.window_days)
            added += Goal.objects.bulk_create([_member(g, cid, cache) for cid in new])
    goals = list(
        Goal.objects.filter(period_start__lte=as_of, deadline__gte=as_of)
        .prefetch_related("members")
        .order_by("id")
    )
    selectors.prime(cache, goals, as_of)
    existing = {r.goal_id: r for r in GoalProgress.objects.filter(goal__in=goals, on_date=as_of)}
    create, update = [], []
    for g in goals:
        pr = selectors.evaluate(g, as_of, cache)
        values = {
            "actual": pr.actual,
            "target": pr.target,
            "pct_achieved": pr.pct,
            "projected": pr.projected,
            "status": pr.status,
        }
        row = existing.get(g.pk)
        if row is None:
            create.append(GoalProgress(goal=g, on_date=as_of, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = timezone.now()
            update.append(row)
    GoalProgress.objects.bulk_create(create)
    if update:
        GoalProgress.objects.bulk_update(
            update, ["actual", "target", "pct_achieved", "projected", "status", "updated_at"]
        )
    result = RefreshResult(as_of, len(goals), len(added), len(create) + len(update))
    audit.record(
        actor=actor,
        action="goals.refresh",
        object_type="goals.Goal",
        after={
            "as_of": as_of,
            "goals": result.goals,
            "members_added": result.members_added,
            "rows": result.rows_written,
        },
    )
    return result


@transaction.atomic
def set_leaderboard_sharing(*, actor: Any, team: Team, shared: bool) -> TeamGoalSettings:
    """Let a team's collectors see each other's dashboards and their rank (or stop it)."""
    _check_manager(actor)
    if actor is not None:
        selectors.get_team_for_manager(actor, team.pk)
    row, _ = TeamGoalSettings.objects.get_or_create(team=team)
    before = row.share_leaderboard
    if before != shared:
        row.share_leaderboard = shared
        row.save(update_fields=["share_leaderboard"])
        audit.record(
            actor=actor,
            action="goals.leaderboard",
            obj=row,
            before={"share_leaderboard": before},
            after={"share_leaderboard": shared},
        )
    return row


# --- the digest ------------------------------------------------------------------------------------------


def digest_text(collector: Any, views: list[selectors.GoalView], as_of: dt.date) -> str:
    lines = [f"Your goals on {as_of.isoformat()}", ""]
    for v in views:
        pr = v.progress
        pct = "–" if pr.pct is None else f"{pr.pct}%"
        lines.append(
            f"- {v.goal.name}: actual {v.actual}, target {v.target} by {v.goal.deadline.isoformat()}, "
            f"{pct} achieved, pace {v.projected}, {pr.status_label.lower()}"
        )
    lines += ["", f"{settings.ARDESK_BASE_URL}/goals/"]
    return "\n".join(lines)


def _send(digest_id: int, subject: str, body: str, to: str) -> None:
    send_mail(subject, body, None, [to])
    DigestSent.objects.filter(id=digest_id, sent_at=None).update(sent_at=timezone.now())


@transaction.atomic
def send_digests(*, actor: Any, as_of: dt.date) -> int:
    """Email each collector with active goals their actual vs goal on `as_of`, once per collector and day.
    Returns the number of digests claimed now (the emails leave after commit)."""
    goals = list(
        Goal.objects.filter(collector__isnull=False, period_start__lte=as_of, deadline__gte=as_of)
        .select_related("collector")
        .order_by("collector_id", "deadline", "name", "id")
    )
    by: dict[int, list[Goal]] = {}
    for g in goals:
        by.setdefault(g.collector_id, []).append(g)  # type: ignore[arg-type]
    cache = FactCache()
    selectors.prime(cache, goals, as_of)
    claimed = 0
    subject = f"ardesk: your goals on {as_of.isoformat()}"
    for gs in by.values():
        collector = gs[0].collector
        if collector is None or not collector.email or not collector.is_active:
            continue
        try:
            with transaction.atomic():
                row = DigestSent.objects.create(collector=collector, on_date=as_of)
        except IntegrityError:
            continue  # already sent (or being sent) today
        body = digest_text(collector, selectors.goal_views(gs, as_of, cache), as_of)
        transaction.on_commit(partial(_send, row.pk, subject, body, collector.email))
        claimed += 1
    audit.record(
        actor=actor,
        action="goals.digest",
        object_type="goals.DigestSent",
        after={"as_of": as_of, "claimed": claimed},
    )
    return claimed


def describe(goal: Goal, value: Decimal | None, currency: str) -> str:
    return fmt(goal.metric, value, currency)


@transaction.atomic
def create_from_template(
    *,
    actor: Any,
    template: str,
    scope_kind: str,
    period_start: dt.date,
    deadline: dt.date,
    scope_value: str = "",
    team: Team | None = None,
    collector: Any = None,
    param: Decimal | None = None,
    why: str = "",
) -> list[Goal]:
    """Set the goal(s) of a template (see presets.py); the goals of one template share a `link`."""
    from .presets import PRESETS

    preset = PRESETS.get(template)
    if preset is None:
        raise InvalidInput(f"template: unknown template {template!r}", field="template")
    if param is not None and param <= 0:
        raise InvalidInput(f"param: {preset.param_label or 'the parameter'} must be positive", field="param")
    # the goals of one template, scope and period share a link (a deterministic key, set before writing)
    who = collector.pk if collector is not None else team.pk if team is not None else scope_value
    link = f"{template}:{scope_kind}:{who}:{period_start.isoformat()}"
    cache = FactCache()
    goals = [
        create_goal(
            actor=actor,
            name=g.label
            if g.amount is not None
            else f"{g.label} by {param or preset.default_param} {preset.param_label}",
            metric=g.metric,
            direction=g.direction,
            target_kind=g.target_kind,
            target_amount=preset.amount(g, param),
            scope_kind=scope_kind,
            scope_value=scope_value,
            team=team,
            collector=collector,
            period_start=period_start,
            deadline=deadline,
            why=why or preset.why,
            template=template,
            link=link,
            cache=cache,
        )
        for g in preset.goals
    ]
    return goals
