"""Writes of the coaching app: recording a coaching session (COACH capability, own collectors only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from ardesk.core import audit
from ardesk.core.errors import InvalidInput, NotFound, PermissionDenied
from ardesk.core.roles import Cap, has_cap
from ardesk.goals import selectors as goal_selectors
from ardesk.goals.measures import MEASURES

from .models import CoachingSession


@transaction.atomic
def record_session(
    *,
    actor: Any,
    collector: Any,
    held_on: dt.date,
    focus: list[str],
    agreed_actions: str,
    follow_up_on: dt.date | None = None,
    notes: str = "",
) -> CoachingSession:
    if actor is not None and not has_cap(actor, Cap.COACH):
        raise PermissionDenied("recording a coaching session needs the coach capability (AR manager, admin)")
    if actor is not None and not goal_selectors.managed_collectors(actor).filter(pk=collector.pk).exists():
        raise NotFound(f"collector {collector.pk} not found")
    errors = []
    unknown = [k for k in focus if k not in MEASURES]
    if not focus:
        errors.append("focus: choose at least one measure to work on")
    if unknown:
        errors.append(f"focus: unknown measures {', '.join(unknown)}")
    if not agreed_actions.strip():
        errors.append("agreed_actions: write down what was agreed")
    if follow_up_on is not None and follow_up_on < held_on:
        errors.append("follow_up_on: must not be before the session")
    if errors:
        raise InvalidInput("; ".join(errors), errors=errors)
    session = CoachingSession.objects.create(
        collector=collector,
        coach=actor if getattr(actor, "pk", None) else None,
        held_on=held_on,
        focus=list(dict.fromkeys(focus)),
        agreed_actions=agreed_actions.strip(),
        follow_up_on=follow_up_on,
        notes=notes.strip(),
    )
    audit.record(actor=actor, action="coaching.session", obj=session, after=audit.snapshot(session))
    return session
