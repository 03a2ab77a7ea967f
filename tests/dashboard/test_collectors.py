"""The collector comparison: one row per collector (and currency) with their KPIs; a manager sees each
team member and the team's total, a collector only their own row. As of 2026-03-01, 90-day window.

alice (C-100, C-110): open 1,950 (current 500, over 90 250), sales 1,800, beginning AR 250
  -> DSO 97.50, ADD 72.50, CEI (250 + 1,800 - 1,950) / (250 + 1,800 - 500) = 6.45
bob (C-200): INV-201 2,000 past due, invoiced on the window's first day (not in it): no sales -> DSO and
  ADD undefined; CEI (2,000 + 0 - 2,000) / 2,000 = 0.00
unassigned (C-400): 40 current, sales 140 -> DSO 25.71, ADD 0.00, CEI 100 / 100 = 100.00
carl (C-300, EUR): 700 past due, sales 700 -> DSO 90.00, CEI 0.00
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.factories import ledger as lf

from .helpers import csv_rows, foot_rows, table_rows, xlsx_rows

UNASSIGNED = ["(unassigned)", "–", "–", "–", "–", "USD", "40.00", "0.00", "0.00%", "0.00%", "25.71", "100.00%", "0.00"]  # fmt: skip
ALICE = ["alice", "AR Specialist", "East", "Top performer", "East", "USD", "1,950.00", "1,450.00", "74.36%", "12.82%", "97.50", "6.45%", "72.50"]  # fmt: skip
BOB = ["bob", "AR Analyst", "East", "New team member", "East", "USD", "2,000.00", "2,000.00", "100.00%", "0.00%", "–", "0.00%", "–"]  # fmt: skip
CARL = ["carl", "Senior Collector", "West", "Core", "West", "EUR", "700.00", "700.00", "100.00%", "0.00%", "90.00", "0.00%", "90.00"]  # fmt: skip
USD_TOTAL = ["Total", "USD", "3,990.00", "3,450.00", "86.47%", "6.27%", "185.10", "5.48%", "160.05"]  # fmt: skip


def test_admin_sees_every_collector_and_totals(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/collectors/").content.decode()
    assert table_rows(html, "collector-table") == [UNASSIGNED, ALICE, BOB, CARL]
    assert foot_rows(html, "collector-table") == [USD_TOTAL]  # EUR has one row: no total
    assert "window 90 days (2025-12-01 to 2026-03-01)" in html


def test_manager_sees_her_team_and_each_member(ar: Any, as_user: Any) -> None:
    html = as_user(ar.mona).get("/reports/collectors/").content.decode()
    assert table_rows(html, "collector-table") == [UNASSIGNED, ALICE, BOB]
    assert foot_rows(html, "collector-table") == [USD_TOTAL]
    html = as_user(ar.walt).get("/reports/collectors/").content.decode()
    assert [r[0] for r in table_rows(html, "collector-table")] == ["(unassigned)", "carl"]


def test_collector_sees_only_her_own_row(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/reports/collectors/").content.decode()
    assert table_rows(html, "collector-table") == [ALICE]
    assert "<tfoot>" not in html
    assert "bob" not in html.split('id="collector-table"')[1]


def test_sorting(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    html = client.get("/reports/collectors/?sort=-dso").content.decode()
    # within USD: 97.50, 25.71, then the undefined DSO last; EUR after USD
    assert [r[0] for r in table_rows(html, "collector-table")] == ["alice", "(unassigned)", "bob", "carl"]
    assert 'aria-sort="descending"><a href="?sort=dso"' in html
    html = client.get("/reports/collectors/?sort=pct_past_due").content.decode()
    assert [r[0] for r in table_rows(html, "collector-table")] == ["(unassigned)", "alice", "bob", "carl"]
    html = client.get("/reports/collectors/?sort=team&sort=bogus").content.decode()
    assert [r[0] for r in table_rows(html, "collector-table")] == ["(unassigned)", "alice", "bob", "carl"]


def test_filters(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/collectors/?title=AR+Analyst").content.decode()
    assert table_rows(html, "collector-table") == [BOB]
    html = as_user(ar.ada).get("/reports/collectors/?window=30").content.decode()
    # alice, 30 days: sales 111 300 + 102 500 = 800; DSO 1,950 / 800 x 30 = 73.125, half to even 73.12
    assert table_rows(html, "collector-table")[1][10] == "73.12"


def test_exports(ar: Any, as_user: Any) -> None:
    client = as_user(ar.mona)
    response = client.get("/reports/collectors/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="collectors-2026-03-01.csv"'
    head = ["2026-03-01", "90", "due date", "each currency"]
    assert csv_rows(response) == [
        [
            "As of",
            "Window (days)",
            "Aging basis",
            "Currency mode",
            "Collector",
            "Title",
            "Team",
            "Tier",
            "Territory",
            "Currency",
            "Open AR",
            "Past due",
            "% past due",
            "% over 90",
            "DSO",
            "CEI",
            "ADD",
        ],
        [*head, "(unassigned)", "", "", "", "", "USD", "40.00", "0.00", "0.00", "0.00", "25.71", "100.00", "0.00"],
        [*head, "alice", "AR Specialist", "East", "Top performer", "East", "USD", "1950.00", "1450.00", "74.36", "12.82", "97.50", "6.45", "72.50"],
        [*head, "bob", "AR Analyst", "East", "New team member", "East", "USD", "2000.00", "2000.00", "100.00", "0.00", "", "0.00", ""],
        [*head, "Total", "", "", "", "", "USD", "3990.00", "3450.00", "86.47", "6.27", "185.10", "5.48", "160.05"],
    ]  # fmt: skip
    sheet = xlsx_rows(as_user(ar.alice).get("/reports/collectors/?format=xlsx"))
    assert len(sheet) == 2
    assert sheet[1][4:] == ["alice", "AR Specialist", "East", "Top performer", "East", "USD", 1950, 1450, 74.36, 12.82, 97.5, 6.45, 72.5]  # fmt: skip


def test_refused_without_a_role(ar: Any, as_user: Any) -> None:
    assert as_user(ar.nobody).get("/reports/collectors/").status_code == 403


def test_query_count_does_not_grow_with_collectors(
    ar: Any, as_user: Any, django_assert_max_num_queries: Any, settings: Any
) -> None:
    from tests.factories.people import make_collector

    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0
    client = as_user(ar.ada)
    # session, user, roles, organization, three form choices; kpis by collector (7) and their names,
    # the profiles, kpis for the totals (7); the look-up of a snapshot for the kpis by collector
    with django_assert_max_num_queries(25):
        client.get("/reports/collectors/")
    team = ar.alice.collector.team
    for n in range(10):
        person = make_collector(f"extra{n}", team=team, manager=ar.mona)
        cust = lf.customer(f"X-{n:03}", f"Extra {n}", collector=person)
        lf.invoice(cust, f"X-INV-{n}", "10.00", date=dt.date(2026, 1, 10))
    with django_assert_max_num_queries(25):
        html = client.get("/reports/collectors/").content.decode()
    assert len(table_rows(html, "collector-table")) == 14
