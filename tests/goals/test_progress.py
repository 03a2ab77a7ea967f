"""Progress, pace and status: pure functions, exact values, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from ardesk.goals import progress as p

day = dt.date


@pytest.mark.parametrize(
    ("kind", "amount", "baseline", "unit", "members", "expected"),
    [
        ("relative", D(-25), D(100000), "money", 1, D("75000.00")),
        ("relative", D(-25), D("41.37"), "pct", 3, D("31.03")),  # 31.0275 -> 31.03 half even
        ("relative", D(150), D(40), "count", 1, D("100.00")),
        ("change", D(-5), D("61.50"), "days", 4, D("56.50")),  # days do not add up over members
        ("change", D(10), D(40), "count", 3, D("70.00")),  # counts do: +10 each
        ("absolute", D(120), None, "count", 3, D("360.00")),
        ("absolute", D("45.00"), D(50), "days", 3, D("45.00")),
        ("relative", D(-25), None, "money", 1, None),
    ],
)
def test_resolve_target(kind, amount, baseline, unit, members, expected):
    assert (
        p.resolve_target(kind=kind, amount=amount, baseline=baseline, unit=unit, members=members) == expected
    )


def test_pct_achieved():
    f = p.pct_achieved
    # past due 100,000 -> target 75,000; now 90,000: 10,000 of 25,000 = 40%
    assert f(direction="decrease", baseline=D(100000), target=D(75000), actual=D(90000)) == D("40.00")
    assert f(direction="decrease", baseline=D(100000), target=D(75000), actual=D(110000)) == D("-40.00")
    assert f(direction="increase", baseline=D(40), target=D(100), actual=D(61)) == D("35.00")
    assert f(direction="increase", baseline=D(3), target=D(10), actual=D(5)) == D("28.57")  # 2/7
    assert f(direction="increase", baseline=D(10), target=D(10), actual=D(10)) == D("100.00")
    # met at the baseline already: hold the line
    assert f(direction="decrease", baseline=D(10), target=D(10), actual=D(11)) == D("90.91")  # 10 / 11
    assert f(direction="increase", baseline=D(84), target=D(70), actual=D("58.33")) == D("83.33")
    assert f(direction="increase", baseline=D(84), target=D(70), actual=D(71)) == D("100.00")
    assert f(direction="increase", baseline=None, target=D(200), actual=D(50)) == D("25.00")
    assert f(direction="decrease", baseline=None, target=D(200), actual=D(50)) is None
    assert f(direction="increase", baseline=D(1), target=D(2), actual=None) is None


def test_pace_is_linear_from_baseline_through_actual():
    # 90-day goal, 30 days in: 100,000 -> 90,000 projects 100,000 - 10,000 x 90/30 = 70,000
    proj = p.projected(
        baseline=D(100000),
        baseline_date=day(2026, 1, 1),
        actual=D(90000),
        as_of=day(2026, 1, 31),
        deadline=day(2026, 4, 1),
    )
    assert proj == D("70000.00")
    # 7 of 28 days: 40 -> 43 projects 40 + 3 x 28/7 = 52
    assert p.projected(
        baseline=D(40),
        baseline_date=day(2026, 3, 1),
        actual=D(43),
        as_of=day(2026, 3, 8),
        deadline=day(2026, 3, 29),
    ) == D("52.00")
    # a repeating decimal rounds to 0.01: 10 + 0.01 x 10/3 = 10.0333... -> 10.03
    assert p.projected(
        baseline=D("10.00"),
        baseline_date=day(2026, 3, 1),
        actual=D("10.01"),
        as_of=day(2026, 3, 4),
        deadline=day(2026, 3, 11),
    ) == D("10.03")
    # no elapsed time, no baseline, or past the deadline: the actual itself
    kw = {"baseline_date": day(2026, 3, 1), "deadline": day(2026, 3, 31), "actual": D(7)}
    assert p.projected(baseline=D(5), as_of=day(2026, 3, 1), **kw) == D(7)
    assert p.projected(baseline=None, as_of=day(2026, 3, 10), **kw) == D(7)
    assert p.projected(baseline=D(5), as_of=day(2026, 4, 5), **kw) == D(7)
    kw["actual"] = None
    assert p.projected(baseline=D(5), as_of=day(2026, 3, 10), **kw) is None


def _status(actual, as_of, baseline=D(100000), target=D(75000), direction="decrease"):
    pr = p.progress(
        direction=direction,
        baseline=baseline,
        baseline_date=day(2026, 1, 1),
        target=target,
        deadline=day(2026, 4, 1),
        actual=actual,
        as_of=as_of,
    )
    return pr.status, pr.projected, pr.pct, pr.bar


def test_status_thresholds():
    # 30 of 90 days in; the projection's % achieved decides: >= 100 on track, >= 80 at risk, else off
    jan31 = day(2026, 1, 31)
    assert _status(D(91000), jan31) == ("on_track", D("73000.00"), D("36.00"), 36)  # pace 108%
    assert _status(D(92000), jan31) == ("at_risk", D("76000.00"), D("32.00"), 32)  # pace 96%
    assert _status(D(93000), jan31) == ("at_risk", D("79000.00"), D("28.00"), 28)  # pace 84%
    assert _status(D(93400), jan31) == ("off_track", D("80200.00"), D("26.40"), 26)  # pace 79.2%
    assert _status(D(94000), jan31) == ("off_track", D("82000.00"), D("24.00"), 24)  # pace 72%
    assert _status(D(120000), jan31) == ("off_track", D("160000.00"), D("-80.00"), 0)  # wrong way
    # on the baseline date there is no trend: on track only if already there
    assert _status(D(74000), day(2026, 1, 1))[0] == "on_track"
    assert _status(D(99000), day(2026, 1, 1))[0] == "at_risk"
    # at the deadline the actual is the projection; beaten targets show a full bar
    assert _status(D(70000), day(2026, 4, 1)) == ("on_track", D(70000), D("120.00"), 100)
    assert _status(None, jan31)[0] == "no_data"
    # increase goal with no baseline: judged on the projection meeting the target
    assert _status(D(10), jan31, baseline=None, target=D(20), direction="increase")[0] == "off_track"
    assert _status(D(25), jan31, baseline=None, target=D(20), direction="increase")[0] == "on_track"


def test_leaderboard_score_counts_each_goal_between_0_and_100():
    from ardesk.goals.selectors import GoalView, score

    def view(pct):
        pr = p.Progress(day(2026, 3, 1), D(1), D(1), pct, D(1), p.ON_TRACK)
        return GoalView(goal=None, progress=pr, currency="USD")  # type: ignore[arg-type]

    assert score([view(D("250.00")), view(D("-40.00")), view(D("33.33")), view(None)]) == D("44.44")
    assert score([view(None)]) is None
