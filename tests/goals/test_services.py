"""Setting goals, fan-out, roll-up, the refresh and the digest, on a real database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from ardesk.core.errors import InvalidInput, NotFound, PermissionDenied
from ardesk.core.models import AuditLog, Team
from ardesk.goals import selectors, services
from ardesk.goals.measures import FactCache
from ardesk.goals.models import DigestSent, Goal, GoalProgress
from tests.factories import ledger as lf
from tests.factories.people import make_collector
from tests.goals.conftest import BASE, DEADLINE, east_past_due_goal, pay_alice

pytestmark = pytest.mark.django_db
MAR17 = dt.date(2026, 3, 17)  # 30 days after BASE


def test_group_goal_fans_out_and_rolls_up(goal_book):
    book = goal_book
    goal = east_past_due_goal(book)
    members = {m.collector.username: m for m in goal.members.all()}
    assert sorted(members) == ["alice", "bob"]  # carl is West: not mona's
    assert goal.baseline_value == D("150000.00")
    assert (members["alice"].baseline_value, members["bob"].baseline_value) == (D("100000.00"), D("50000.00"))
    assert AuditLog.objects.filter(action="goals.create", object_id=str(goal.pk)).count() == 1

    pay_alice(book, "400.00", dt.date(2026, 3, 1))
    views = {
        v.goal.collector.username if v.goal.collector else "group": v
        for v in selectors.goal_views(
            list(Goal.objects.prefetch_related("members").select_related("collector")), MAR17
        )
    }
    g = views["group"].progress
    # group: 150,000 -> 110,000, target 112,500: 40,000 / 37,500 = 106.67%
    assert (g.actual, g.target, g.pct) == (D(110000), D("112500.00"), D("106.67"))
    assert g.projected == D("71333.33")  # 150,000 - 40,000 x 59 / 30
    assert g.status == "on_track"
    a = views["alice"].progress
    assert (a.actual, a.target, a.pct, a.projected, a.status) == (
        D(60000),
        D("75000.00"),
        D("160.00"),
        D("21333.33"),
        "on_track",
    )
    b = views["bob"].progress
    assert (b.actual, b.target, b.pct, b.projected, b.status) == (
        D(50000),
        D("37500.00"),
        D("0.00"),
        D(50000),
        "off_track",
    )
    assert views["group"].rollup == {"on_track": 1, "off_track": 1}


def test_refresh_is_idempotent_and_picks_up_new_members(goal_book):
    book = goal_book
    goal = east_past_due_goal(book)
    first = services.refresh_goals(actor=None, as_of=MAR17)
    assert (first.goals, first.members_added, first.rows_written) == (3, 0, 3)
    again = services.refresh_goals(actor=None, as_of=MAR17)
    assert (again.goals, again.rows_written) == (3, 3)
    assert GoalProgress.objects.filter(on_date=MAR17).count() == 3
    row = GoalProgress.objects.get(goal=goal, on_date=MAR17)
    assert (row.actual, row.target, row.status) == (D("150000.00"), D("112500.00"), "off_track")

    # dora joins East with 200.00 past due at the baseline: she gets her member goal on the next refresh
    dora = make_collector("dora", team=Team.objects.get(name="East"), manager=book.mona)
    c = lf.customer("C-500", collector=dora)
    lf.invoice(c, "INV-D1", "200.00", date=dt.date(2026, 1, 1))
    later = services.refresh_goals(actor=None, as_of=MAR17 + dt.timedelta(days=1))
    assert later.members_added == 1
    member = goal.members.get(collector=dora)
    assert member.baseline_value == D("20000.00")
    assert GoalProgress.objects.get(goal=goal, on_date=MAR17 + dt.timedelta(days=1)).actual == D("170000.00")
    # nothing after the deadline
    assert services.refresh_goals(actor=None, as_of=DEADLINE + dt.timedelta(days=1)).goals == 0


def test_template_double_contacts_links_two_goals(goal_book):
    goals = services.create_from_template(
        actor=goal_book.mona,
        template="double_contacts",
        scope_kind="collector",
        collector=goal_book.bob,
        period_start=BASE,
        deadline=DEADLINE,
    )
    assert [(g.metric, g.target_kind, g.target_amount) for g in goals] == [
        ("calls", "relative", D(25)),
        ("emails", "relative", D(150)),
    ]
    assert goals[0].link == goals[1].link == f"double_contacts:collector:{goal_book.bob.pk}:2026-02-15"
    dso = services.create_from_template(
        actor=goal_book.mona,
        template="cut_dso_days",
        scope_kind="collector",
        collector=goal_book.alice,
        period_start=BASE,
        deadline=DEADLINE,
        param=D(7),
    )[0]
    assert (dso.metric, dso.target_kind, dso.target_amount, dso.name) == (
        "dso",
        "change",
        D(-7),
        "Cut DSO by 7 days",
    )


def test_who_may_set_goals(goal_book):
    book = goal_book
    with pytest.raises(PermissionDenied):
        east_past_due_goal(book) if False else services.create_goal(
            actor=book.bob,
            name="x",
            metric="calls",
            direction="increase",
            target_kind="absolute",
            target_amount=D(10),
            scope_kind="collector",
            collector=book.bob,
            period_start=BASE,
            deadline=DEADLINE,
            why="w",
        )
    with pytest.raises(NotFound):  # carl is walt's
        services.create_goal(
            actor=book.mona,
            name="x",
            metric="calls",
            direction="increase",
            target_kind="absolute",
            target_amount=D(10),
            scope_kind="collector",
            collector=book.carl,
            period_start=BASE,
            deadline=DEADLINE,
            why="w",
        )
    with pytest.raises(InvalidInput) as exc:
        services.create_goal(
            actor=book.mona,
            name="",
            metric="nope",
            direction="decrease",
            target_kind="relative",
            target_amount=D(25),
            scope_kind="tier",
            scope_value="legend",
            period_start=BASE,
            deadline=BASE,
            why="",
        )
    assert exc.value.details["errors"] == [
        "name: give the goal a name",
        "metric: unknown measure 'nope'",
        "target_amount: 25 moves the wrong way for a goal to decrease",
        "scope_value: unknown tier 'legend'",
        "deadline: must be after the period start",
        "why: say why this goal matters",
    ]
    assert Goal.objects.count() == 0


def test_visibility_and_leaderboard_sharing(goal_book):
    book = goal_book
    goal = east_past_due_goal(book)
    bob_goal = goal.members.get(collector=book.bob)
    assert set(selectors.goals_for_user(book.alice).values_list("collector__username", flat=True)) == {
        "alice"
    }
    with pytest.raises(NotFound):
        selectors.get_goal_for_user(book.alice, bob_goal.pk)
    with pytest.raises(NotFound):
        selectors.get_collector_for_user(book.alice, book.bob.pk)
    with pytest.raises(NotFound):
        selectors.get_goal_for_user(book.walt, bob_goal.pk)
    assert selectors.goals_for_user(book.mona).count() == 3
    east = Team.objects.get(name="East")
    with pytest.raises(NotFound):
        services.set_leaderboard_sharing(actor=book.walt, team=east, shared=True)
    services.set_leaderboard_sharing(actor=book.mona, team=east, shared=True)
    assert selectors.get_goal_for_user(book.alice, bob_goal.pk) == bob_goal
    assert selectors.get_collector_for_user(book.alice, book.bob.pk) == book.bob
    with pytest.raises(NotFound):
        selectors.get_collector_for_user(book.alice, book.carl.pk)
    pay_alice(book, "400.00", dt.date(2026, 3, 1))
    dash = selectors.dashboard(book.bob, book.bob, MAR17)
    assert dash.shared and dash.rank == (2, 2)  # alice 160% (counted as 100), bob 0%
    assert [(u.username, s) for u, s in dash.leaderboard] == [("alice", D("100.00")), ("bob", D("0.00"))]


def test_digest_sends_once_per_collector_and_day(goal_book, mailoutbox, django_capture_on_commit_callbacks):
    book = goal_book
    east_past_due_goal(book)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_digests(actor=None, as_of=MAR17) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_digests(actor=None, as_of=MAR17) == 0
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    bob_mail = next(m for m in mailoutbox if m.to == ["bob@example.com"])
    assert bob_mail.subject == "ardesk: your goals on 2026-03-17"
    assert (
        "- Cut past-due 25%: actual 500.00 USD, target 375.00 USD by 2026-04-15, 0.00% achieved, pace 500.00 USD, "
        "off track" in bob_mail.body
    )
    assert DigestSent.objects.filter(sent_at__isnull=False).count() == 2


def test_fact_cache_reads_once_per_date(goal_book, django_assert_max_num_queries):
    cache = FactCache()
    ids = [goal_book.alice.pk, goal_book.bob.pk]
    cache.facts("kpi", ids, MAR17, 30)
    with django_assert_max_num_queries(0):
        assert cache.value("past_due", ids, MAR17, 30) == D(150000)


def test_commands(goal_book, mailoutbox):
    from io import StringIO

    from django.core.management import call_command

    east_past_due_goal(goal_book)
    out = StringIO()
    call_command("goals", "refresh", "--as-of", "2026-03-17", stdout=out)
    call_command("goals", "refresh", "--as-of", "2026-03-17", stdout=out)
    assert (
        out.getvalue().splitlines()
        == ["goals refreshed for 2026-03-17: 3 active goals, 3 progress rows, 0 new members"] * 2
    )
    assert GoalProgress.objects.count() == 3
