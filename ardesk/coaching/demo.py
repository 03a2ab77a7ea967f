"""Demo coaching sessions: mona coached eli (the busy caller) three weeks before as_of, walt coached hana
(a new hire) ten days before. Deterministic; the only date is cfg.as_of."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model

from . import services

SESSIONS = (
    (
        "mona",
        "eli",
        21,
        ["calls", "right_party_rate", "ptp_kept_rate"],
        "Fewer, better calls: update AP contacts on the top 20 past-due accounts, call between 9 and 11, "
        "confirm amount and date on every promise and email the confirmation.",
    ),
    (
        "walt",
        "hana",
        10,
        ["contacts", "emails"],
        "Work the worklist daily from the top; email every past-due account not reached by phone.",
    ),
)


def build(*, cfg: Any, console: Any = None, verbose: bool = False) -> str:
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["mona", "walt", "eli", "hana"])
    }
    n = 0
    for coach, who, days_ago, focus, actions in SESSIONS:
        if coach not in users or who not in users:
            continue
        held = cfg.as_of - dt.timedelta(days=days_ago)
        services.record_session(
            actor=users[coach],
            collector=users[who],
            held_on=held,
            focus=focus,
            agreed_actions=actions,
            follow_up_on=held + dt.timedelta(days=30),
        )
        n += 1
    return f"coaching: {n} coaching sessions"
