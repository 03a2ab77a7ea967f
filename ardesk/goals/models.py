"""SMART goals for collectors and groups of collectors, their daily progress, and the digest log.

A **goal** is a measure (see `measures.py`), a direction (increase or decrease), a target (absolute, or
relative to the baseline such as -25%), a baseline value captured from the measure on the baseline date
when the goal is set, a period (start and deadline), an owner and a written reason.

Its **scope** is one collector, a territory, a title, a performance tier, a team or everyone. A goal for a
group (anything but one collector) fans out into one *member goal* per collector in scope (`parent` is
the group goal, `collector` the member); collectors who join the group later get theirs on the next
refresh. The group goal itself measures the whole group (members' facts summed) and so rolls up.

**Progress** is written once per goal and day by the refresh service (unique (goal, date): a second
refresh of the same day updates the row, never adds one).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .measures import METRIC_CHOICES


class Direction(models.TextChoices):
    INCREASE = "increase", "Increase"
    DECREASE = "decrease", "Decrease"


class TargetKind(models.TextChoices):
    ABSOLUTE = "absolute", "Absolute value (per collector)"
    RELATIVE = "relative", "% change from baseline"
    CHANGE = "change", "Change from baseline (units)"


class ScopeKind(models.TextChoices):
    COLLECTOR = "collector", "One collector"
    TERRITORY = "territory", "Territory"
    TITLE = "title", "Title"
    TIER = "tier", "Performance tier"
    TEAM = "team", "Team"
    EVERYONE = "everyone", "Everyone"


class Goal(models.Model):
    name = models.CharField(max_length=200)
    metric = models.CharField(max_length=40, choices=METRIC_CHOICES)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    # the target (see progress.resolve_target): absolute per collector, relative % or change from baseline
    target_kind = models.CharField(max_length=10, choices=TargetKind.choices)
    target_amount = models.DecimalField(max_digits=20, decimal_places=2)
    baseline_value = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=2)
    baseline_date = models.DateField()
    period_start = models.DateField()
    deadline = models.DateField()
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="trailing window of activity measures"
    )
    scope_kind = models.CharField(max_length=12, choices=ScopeKind.choices)
    scope_value = models.CharField(max_length=80, blank=True, help_text="territory, title or tier")
    scope_team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    # the collector measured (one-collector goals and member goals); None for a group goal
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="members"
    )
    # the manager who set it; the goal (and its members) go with them, since its scope is theirs
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="owned_goals"
    )
    why = models.TextField(help_text="why this matters")
    template = models.CharField(max_length=40, blank=True)
    link = models.CharField(max_length=160, blank=True, help_text="goals set together by one template")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deadline", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=models.F("period_start")), name="goal_deadline_after_start"
            ),
            models.UniqueConstraint(fields=["parent", "collector"], name="goal_one_member_per_collector"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_group(self) -> bool:
        return self.collector_id is None


class GoalProgress(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="history")
    on_date = models.DateField()
    actual = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=2)
    target = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=2)
    pct_achieved = models.DecimalField(null=True, blank=True, max_digits=12, decimal_places=2)
    projected = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=2)
    status = models.CharField(max_length=10)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["goal", "on_date"]
        constraints = [models.UniqueConstraint(fields=["goal", "on_date"], name="goal_progress_once_a_day")]

    def __str__(self) -> str:
        return f"{self.goal_id} {self.on_date} {self.status}"


class TeamGoalSettings(models.Model):
    """Per team: may its collectors see each other's dashboards and their rank (the leaderboard)?"""

    team = models.OneToOneField("core.Team", on_delete=models.CASCADE, related_name="goal_settings")
    share_leaderboard = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.team_id} leaderboard {'shared' if self.share_leaderboard else 'private'}"


class DigestSent(models.Model):
    """One row per collector and day: the key that makes the digest go out once (claimed, then sent)."""

    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    on_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collector", "on_date"], name="goal_digest_once_a_day")
        ]

    def __str__(self) -> str:
        return f"digest {self.collector_id} {self.on_date}"
