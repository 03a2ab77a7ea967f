"""Reading the facts of a page in fewer batches gives the same figures as reading them part by part.

- a collector's dashboard with a shared leaderboard reads its own goals, its portfolio and the teammates'
  goals in one batch per kind of fact: same goals, numbers, portfolio and ranking as each part read with
  its own cache (the straightforward way);
- the manager's board and the group goals sharing one cache equal each computed on its own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from ardesk.activities.services import log_activity
from ardesk.core.models import Team
from ardesk.goals import selectors, services
from ardesk.goals.measures import FactCache

from .conftest import BASE, DEADLINE, east_past_due_goal, pay_alice

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 10)


def _goal(book: Any, who: Any, metric: str, direction: str, target: str, window: int = 30) -> Any:
    return services.create_goal(
        actor=book.mona,
        name=f"{who.username} {metric}",
        metric=metric,
        direction=direction,
        target_kind="absolute",
        target_amount=D(target),
        scope_kind="collector",
        collector=who,
        period_start=BASE,
        deadline=DEADLINE,
        why="test",
        window_days=window,
    )


@pytest.fixture
def page_book(goal_book: Any) -> Any:
    book = goal_book
    east_past_due_goal(book)
    _goal(book, book.alice, "calls", "increase", "20", window=7)
    _goal(book, book.bob, "calls", "increase", "10")
    _goal(book, book.bob, "dso", "decrease", "30")
    _goal(book, book.alice, "ptp_kept_rate", "increase", "80", window=14)
    for i, (who, cust) in enumerate([(book.alice, "acme")] * 4 + [(book.bob, "beta")] * 3):
        log_activity(
            actor=who,
            customer=book.customers[cust],
            kind="call",
            outcome="right_party" if i % 2 else "no_answer",
            occurred_at=dt.datetime(2026, 3, 2 + i, 10, tzinfo=dt.UTC),
        )
    pay_alice(book, "250.00", dt.date(2026, 3, 4))
    services.set_leaderboard_sharing(actor=book.mona, team=Team.objects.get(name="East"), shared=True)
    return book


def _views(views: list[Any]) -> list[tuple[Any, ...]]:
    return [(v.goal.pk, v.progress, v.rollup) for v in views]


def test_dashboard_in_one_batch_equals_part_by_part(page_book):
    book = page_book
    for who in (book.alice, book.bob):
        who = selectors.get_collector_for_user(who, who.pk)
        got = selectors.dashboard(who, who, AS_OF)
        assert got.shared and got.rank is not None
        # part by part, each with its own cache
        mine = selectors.goal_views(list(selectors._goals_of([who.pk], AS_OF)), AS_OF, FactCache())
        board = selectors.leaderboard(who.collector.team_id, AS_OF, FactCache())
        one = FactCache()
        today = one.facts("activity", [who.pk], AS_OF, 1)[who.pk]
        kpi = FactCache().facts("kpi", [who.pk], AS_OF, 1)[who.pk]
        cur = selectors.base_currency()
        assert _views(got.goals) == _views(mine) and got.goals
        assert [(u.pk, s) for u, s in got.leaderboard] == [(u.pk, s) for u, s in board]
        assert got.today == [
            (selectors.MEASURES[k].label, selectors.fmt(k, selectors.MEASURES[k].value(today), cur))
            for k in selectors.TODAY_MEASURES
        ]
        assert got.portfolio == [
            (selectors.MEASURES[k].label, selectors.fmt(k, selectors.MEASURES[k].value(kpi), cur))
            for k in selectors.PORTFOLIO_MEASURES
        ]


def test_dashboard_reads_each_kind_of_fact_once(page_book, django_assert_max_num_queries):
    book = page_book
    who = selectors.get_collector_for_user(book.alice, book.alice.pk)
    from ardesk.goals import measures

    calls: list[tuple[str, tuple[int, ...]]] = []
    real = {"kpi": measures.kpi_facts, "activity": measures.activity_facts}

    def spy(name: str) -> Any:
        def wrapped(ids: Any, *a: Any) -> Any:
            calls.append((name, tuple(sorted(ids))))
            return real[name](ids, *a)

        return wrapped

    mp = pytest.MonkeyPatch()
    mp.setattr(measures, "kpi_facts", spy("kpi"))
    mp.setattr(measures, "activity_facts", spy("activity"))
    try:
        selectors.dashboard(who, who, AS_OF)
    finally:
        mp.undo()
    team = tuple(sorted([book.alice.pk, book.bob.pk]))
    alice = (book.alice.pk,)
    # the KPI facts once for the team (alice's portfolio, the team past-due goal, bob's DSO goal together)
    assert [c for c in calls if c[0] == "kpi"] == [("kpi", team)]
    # activity: one batch per window (7 and 14 days: alice's goals; 30: bob's; 1: today's numbers)
    assert sorted(c[1] for c in calls if c[0] == "activity") == sorted([alice, alice, alice, (book.bob.pk,)])


def test_board_and_group_goals_sharing_a_cache_equal_each_alone(page_book):
    book = page_book
    for by in selectors.BOARD_DIMENSIONS:
        cache = FactCache()
        rows, views = selectors.team_board(book.mona, AS_OF, by, cache)
        groups = selectors.group_goals(book.mona, AS_OF, cache)
        rows0, views0 = selectors.team_board(book.mona, AS_OF, by)
        groups0 = selectors.group_goals(book.mona, AS_OF)
        assert rows == rows0 and _views(views) == _views(views0) and _views(groups) == _views(groups0)
        assert groups and views
