"""Coaching plans: a manager's session with a collector (focus areas, agreed actions, a follow-up date).

The coaching page compares the session's focus measures in a window before the session with the same
length window after it (see selectors.before_after).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CoachingSession(models.Model):
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_sessions"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_on = models.DateField()
    focus = models.JSONField(default=list, help_text="measure keys (ardesk.goals.measures)")
    agreed_actions = models.TextField()
    follow_up_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["collector", "held_on"], name="coaching_collector_day")]

    def __str__(self) -> str:
        return f"Coaching {self.collector} {self.held_on}"
