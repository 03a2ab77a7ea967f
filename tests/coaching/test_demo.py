"""The demo: goals and coaching on the demo book, and the findings find the collectors the activity demo
made different (the star, the new hire, the busy caller who converts little)."""

from __future__ import annotations

import datetime as dt

import pytest

from ardesk.activities import demo as activities_demo
from ardesk.coaching import demo as coaching_demo
from ardesk.coaching import selectors
from ardesk.goals import demo as goals_demo
from ardesk.goals import selectors as goal_selectors
from ardesk.goals.models import Goal, GoalProgress
from ardesk.ledger import demo

pytestmark = pytest.mark.django_db
CFG = demo.DemoConfig(seed=7, customers=200, years=2, as_of=dt.date(2026, 3, 31))


def test_demo_goals_and_findings():
    demo.build(CFG)
    activities_demo.build(cfg=CFG)
    line = goals_demo.build(cfg=CFG)
    assert line == "goals: 9 goals (21 member goals), 180 progress rows over 6 refreshes"
    assert coaching_demo.build(cfg=CFG) == "coaching: 2 coaching sessions"
    scopes = sorted(Goal.objects.filter(parent__isnull=True).values_list("scope_kind", flat=True))
    assert scopes == ["collector", "team", "team", "team", "territory", "tier", "tier", "tier", "title"]
    assert GoalProgress.objects.filter(on_date=CFG.as_of).count() == Goal.objects.count()
    people = list(goal_selectors.collectors().select_related("collector").order_by("username"))
    found = selectors.analyse(people, CFG.as_of)
    codes = {u.username: [f.code for f in found[u.pk].findings] for u in people}
    # the busy caller, the two new hires; the star and everyone else: nothing stands out
    assert {k: v for k, v in codes.items() if v} == {
        "eli": ["calls_without_right_party", "follow_ups_overdue"],
        "bob": ["few_contacts"],
        "hana": ["few_contacts"],
    }
    eli = found[next(u.pk for u in people if u.username == "eli")].findings[0]
    assert eli.evidence == (
        "20 calls, 2 reached the right party: 10.00%",
        "team median: 19 calls",
        "team right-party rate: 42.03%",
    )
