"""Goals pages and API through the Django test client."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest
import time_machine

from ardesk.api.services import create_token
from ardesk.goals import services
from ardesk.goals.models import Goal, TeamGoalSettings
from tests.goals.conftest import east_past_due_goal, pay_alice

pytestmark = pytest.mark.django_db
MAR17 = dt.datetime(2026, 3, 17, 15, 0, tzinfo=dt.UTC)


def login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


@pytest.fixture
def goals(goal_book):
    goal = east_past_due_goal(goal_book)
    pay_alice(goal_book, "400.00", dt.date(2026, 3, 1))
    return goal


@time_machine.travel(MAR17, tick=False)
def test_collector_dashboard_shows_own_goals_only(client, goal_book, goals):
    login(client, goal_book.alice)
    html = client.get("/goals/").content.decode()
    assert "My goals" in html and "Cut past-due 25%" in html
    assert '<td class="num" data-field="actual">600.00 USD</td>' in html
    assert '<span class="small muted" data-field="pct">160.00%</span>' in html
    assert "Leaderboard" not in html
    bob_member = goals.members.get(collector=goal_book.bob)
    assert client.get(f"/goals/{bob_member.pk}/").status_code == 404
    assert client.get(f"/goals/collectors/{goal_book.bob.pk}/").status_code == 404
    assert client.get(f"/goals/{goals.pk}/").status_code == 404  # the group goal is the manager's


@time_machine.travel(MAR17, tick=False)
def test_shared_leaderboard_opens_teammates(client, goal_book, goals):
    login(client, goal_book.mona)
    east = goals.scope_team
    resp = client.post(f"/goals/teams/{east.pk}/sharing/", {"shared": "on"})
    assert resp.status_code == 302 and TeamGoalSettings.objects.get(team=east).share_leaderboard
    login(client, goal_book.bob)
    html = client.get("/goals/").content.decode()
    assert "rank 2 of 2" in html
    assert client.get(f"/goals/collectors/{goal_book.alice.pk}/").status_code == 200
    assert client.get(f"/goals/collectors/{goal_book.carl.pk}/").status_code == 404


@time_machine.travel(MAR17, tick=False)
def test_manager_board_by_dimension(client, goal_book, goals, django_assert_max_num_queries):
    login(client, goal_book.mona)
    with django_assert_max_num_queries(40):
        html = client.get("/goals/?by=tier").content.decode()
    assert "Top performer" in html and "New team member" in html
    # the group goal rolls up: one member on track, one off track
    assert "ontrack 1, offtrack 1" in html
    resp = client.get("/goals/export/?fmt=csv&by=collector")
    lines = b"".join(resp.streaming_content).decode().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Collector,Group,Goal,Measure")
    assert (
        "alice,,Cut past-due 25%,Past-due amount,decrease,100000.00,2026-02-15,60000,75000.00,160.00,21333.33,On track,2026-02-15,2026-04-15"
        in lines
    )
    assert client.get("/goals/export/?fmt=xlsx").status_code == 200
    assert client.get("/goals/export/?fmt=pdf").status_code == 422


def test_board_query_count_does_not_grow_with_goals(client, goal_book, django_assert_max_num_queries):
    with time_machine.travel(MAR17, tick=False):
        for n in range(6):
            services.create_goal(
                actor=goal_book.mona,
                name=f"Calls {n}",
                metric="calls",
                direction="increase",
                target_kind="absolute",
                target_amount=D(10 + n),
                scope_kind="team",
                team=goal_book.alice.collector.team,
                period_start=dt.date(2026, 3, 1),
                deadline=dt.date(2026, 5, 1),
                why="w",
            )
        login(client, goal_book.mona)
        with django_assert_max_num_queries(40):
            assert client.get("/goals/").status_code == 200


@time_machine.travel(MAR17, tick=False)
def test_create_from_template_and_from_scratch(client, goal_book):
    login(client, goal_book.mona)
    form = {
        "template": "cut_dso_days",
        "param": "4",
        "scope_kind": "collector",
        "collector": goal_book.alice.pk,
        "period_start": "2026-03-17",
        "deadline": "2026-06-15",
        "window_days": "30",
    }
    resp = client.post("/goals/new/", form)
    goal = Goal.objects.get(template="cut_dso_days")
    assert resp.status_code == 302 and resp["Location"] == f"/goals/{goal.pk}/"
    assert (goal.collector, goal.target_amount, goal.name) == (goal_book.alice, D(-4), "Cut DSO by 4 days")
    bad = client.post("/goals/new/", {**form, "template": "", "collector": goal_book.carl.pk})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "required when not using a template" in html
    scratch = {
        **form,
        "template": "",
        "name": "Emails up",
        "metric": "emails",
        "direction": "increase",
        "target_kind": "absolute",
        "target_amount": "60",
        "why": "reach more customers",
        "scope_kind": "title",
        "title": "AR Analyst",
    }
    resp = client.post("/goals/new/", scratch)
    group = Goal.objects.get(name="Emails up", parent__isnull=True)
    assert [m.collector.username for m in group.members.all()] == ["bob"]
    html = client.get(f"/goals/{group.pk}/").content.decode()
    assert "No history yet" in html and 'id="members"' in html


@time_machine.travel(MAR17, tick=False)
def test_detail_history_chart_and_export(client, goal_book, goals):
    services.refresh_goals(actor=None, as_of=dt.date(2026, 3, 10))
    services.refresh_goals(actor=None, as_of=dt.date(2026, 3, 17))
    login(client, goal_book.mona)
    html = client.get(f"/goals/{goals.pk}/").content.decode()
    assert 'data-chart="goal-charts"' in html and "/assets/plotly-" in html
    chart = json.loads(
        html.split('<script id="goal-charts" type="application/json">')[1].split("</script>")[0]
    )
    assert chart[0]["x"] == ["2026-03-10", "2026-03-17"] and chart[0]["y"] == ["110000.00", "110000.00"]
    resp = client.get(f"/goals/{goals.pk}/history/export/?fmt=csv")
    lines = b"".join(resp.streaming_content).decode().splitlines()
    assert lines[1:] == [
        "2026-03-10,110000.00,112500.00,106.67,47391.30,on_track",  # 150,000 - 40,000 x 59 / 23,
        "2026-03-17,110000.00,112500.00,106.67,71333.33,on_track",
    ]


@time_machine.travel(MAR17, tick=False)
def test_api(client, goal_book, goals):
    token = create_token(actor=None, user=goal_book.alice, name="t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = client.get("/api/v1/goals", **auth).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["collector"], item["unit"], item["currency"], item["baseline_value"]) == (
        "alice",
        "money",
        "USD",
        "100000.00",
    )
    assert item["progress"] == {
        "as_of": "2026-03-17",
        "actual": "60000",
        "target": "75000.00",
        "pct_achieved": "160.00",
        "projected": "21333.33",
        "status": "on_track",
    }
    bob_goal = goals.members.get(collector=goal_book.bob)
    assert client.get(f"/api/v1/goals/{bob_goal.pk}", **auth).status_code == 404
    mona = {"HTTP_AUTHORIZATION": f"Bearer {create_token(actor=None, user=goal_book.mona, name='t')[1]}"}
    group = client.get(f"/api/v1/goals/{goals.pk}", **mona).json()
    assert group["members"] == sorted(goals.members.values_list("pk", flat=True))
    assert group["progress"]["status"] == "on_track"
    payload = {
        "name": "Kept promises",
        "metric": "ptp_kept_rate",
        "direction": "increase",
        "target_kind": "absolute",
        "target_amount": "80",
        "scope_kind": "tier",
        "scope_value": "new",
        "period_start": "2026-03-01",
        "deadline": "2026-05-31",
        "why": "promises that hold",
        "id": 5,
    }
    resp = client.post("/api/v1/goals", json.dumps(payload), content_type="application/json", **mona)
    assert resp.status_code == 422 and "id" in resp.content.decode()
    del payload["id"]
    resp = client.post("/api/v1/goals", json.dumps(payload), content_type="application/json", **mona)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert (out["scope_kind"], out["collector"], len(out["members"])) == ("tier", None, 1)
