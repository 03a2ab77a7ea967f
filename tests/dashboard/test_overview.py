"""The AR overview (home page): tiles with their change, aging, top past-due customers, the 12-month
trend, exports, scope, and a fixed number of queries. Figures worked out by hand from the book of
tests/web/conftest.py, as of 2026-03-01 with the default 90-day window (1 December to 1 March).

USD, ada's whole book:
  open AR 3,990.00 = INV-101 900 + 102 500 + 103 250 + 111 300 + 201 2,000 + 402 40
  current 540.00 (INV-102 due 03-17, INV-402 due today) -> past due 3,450.00 (86.47%)
  over 90: INV-103 (due 2025-10-31) 250.00 -> 6.27%
  sales in the window (invoice dated after 12-01): 101 1,000 + 102 500 + 111 300 + 401 100 + 402 40 = 1,940
  DSO 3,990 / 1,940 x 90 = 185.10; Best Possible 540 / 1,940 x 90 = 25.05; ADD 3,450 / 1,940 x 90 = 160.05
  beginning AR (end of 12-01): 103 250 + 201 2,000 = 2,250 -> CEI (2,250 + 1,940 - 3,990) / (2,250 + 1,940
  - 540) = 200 / 3,650 = 5.48
  ADP: INV-401 paid in 19 days; unapplied cash: PAY-1 200.00
Previous period (as of 2025-12-01, window 2025-09-02 to 12-01): open 2,250 (103 past due 250, 201 current
  2,000), sales 2,250: DSO 90.00, Best Possible 80.00, ADD 10.00, CEI 0 / 250 = 0.00, % past due 11.11,
  % over 90 0.00, no ADP, no unapplied cash.
EUR (carl's C-300): INV-301 700.00, 19 days past due; sales 700 -> DSO 90.00, CEI 0.00; nothing in EUR on
  2025-12-01, so money changes are against zero and ratio changes are undefined.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from ardesk.core.money import Money
from ardesk.ledger import services
from ardesk.ledger.models import FxRate, Organization
from tests.factories import ledger as lf

from .helpers import changes, csv_rows, pdf_text, table_rows, tiles, xlsx_rows

OVERVIEW_QUERIES = 25
TREND_QUERIES = 100

USD_TILES = [
    ("open_ar", "3,990.00 USD"),
    ("past_due", "3,450.00 USD"),
    ("pct_past_due", "86.47%"),
    ("pct_over_90", "6.27%"),
    ("dso", "185.10 days"),
    ("best_possible_dso", "25.05 days"),
    ("add", "160.05 days"),
    ("cei", "5.48%"),
    ("adp", "19.00 days"),
    ("unapplied_cash", "200.00 USD"),
]
USD_CHANGES = [
    ("open_ar", "+1,740.00 USD"),
    ("past_due", "+3,200.00 USD"),
    ("pct_past_due", "+75.36 pts"),
    ("pct_over_90", "+6.27 pts"),
    ("dso", "+95.10 days"),
    ("best_possible_dso", "-54.95 days"),
    ("add", "+150.05 days"),
    ("cei", "+5.48 pts"),
    ("adp", "–"),
    ("unapplied_cash", "+200.00 USD"),
]
EUR_TILES = [
    ("open_ar", "700.00 EUR"),
    ("past_due", "700.00 EUR"),
    ("pct_past_due", "100.00%"),
    ("pct_over_90", "0.00%"),
    ("dso", "90.00 days"),
    ("best_possible_dso", "0.00 days"),
    ("add", "90.00 days"),
    ("cei", "0.00%"),
    ("adp", "–"),
    ("unapplied_cash", "0.00 EUR"),
]
EUR_CHANGES = [
    ("open_ar", "+700.00 EUR"),
    ("past_due", "+700.00 EUR"),
    *((k, "–") for k in ("pct_past_due", "pct_over_90", "dso", "best_possible_dso", "add", "cei", "adp")),
    ("unapplied_cash", "0.00 EUR"),
]


def test_admin_tiles_and_changes_per_currency(ar: Any, as_user: Any) -> None:
    response = as_user(ar.ada).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert tiles(html) == USD_TILES + EUR_TILES  # base currency first; EUR never added to USD
    assert changes(html) == USD_CHANGES + EUR_CHANGES
    assert 'class="kpi-change worse" data-change="dso"' in html
    assert 'class="kpi-change better" data-change="best_possible_dso"' not in html  # no judgement on it
    assert "weighted 19.00 days" in html
    assert "6 open invoices" in html


def test_options_are_stated(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/").content.decode()
    text = " ".join(html.split())
    assert (
        'As of <strong><time datetime="2026-03-01">2026-03-01</time></strong> · window 90 days '
        "(2025-12-01 to 2026-03-01) · changes against 2025-12-01 (the same day one window earlier) "
        "· aging on due date · each currency separately"
    ) in text


def test_aging_and_top_past_due(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/").content.decode()
    assert table_rows(html, "aging-USD") == [
        ["Current", "540.00", "13.53%"],
        ["1-30", "1,200.00", "30.08%"],
        ["31-60", "2,000.00", "50.13%"],
        ["61-90", "0.00", "0.00%"],
        ["91-120", "0.00", "0.00%"],
        ["120+", "250.00", "6.27%"],
        ["Open AR", "3,990.00", "100.00%"],
        ["Unapplied cash", "-200.00", ""],
        ["Open credits", "0.00", ""],
        ["Net AR", "3,790.00", ""],
    ]
    # fmt: off
    assert table_rows(html, "top-USD") == [
        ["C-200 Beta LLC", "0.00", "0.00", "2,000.00", "0.00", "0.00", "0.00", "2,000.00", "2,000.00", "100.00%"],
        ["C-100 Acme Corp", "500.00", "900.00", "0.00", "0.00", "0.00", "250.00", "1,650.00", "1,150.00", "69.70%"],
        ["C-110 Acme West", "0.00", "300.00", "0.00", "0.00", "0.00", "0.00", "300.00", "300.00", "100.00%"],
    ]
    # fmt: on
    assert table_rows(html, "top-EUR") == [
        ["C-300 Gamma GmbH", "0.00", "700.00", "0.00", "0.00", "0.00", "0.00", "700.00", "700.00", "100.00%"],
    ]
    assert '"values": ["540.00", "1200.00", "2000.00", "0.00", "0.00", "250.00"]' in html
    assert '"labels": ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]' in html
    assert "/assets/plotly-" in html
    assert 'hx-get="/reports/trends/?"' in html


def test_collector_sees_her_portfolio(ar: Any, as_user: Any) -> None:
    html = as_user(ar.alice).get("/").content.decode()
    # C-100 and C-110: open 1,950 (current 500), sales 1,800, beginning AR 250 (INV-103)
    assert tiles(html) == [
        ("open_ar", "1,950.00 USD"),
        ("past_due", "1,450.00 USD"),
        ("pct_past_due", "74.36%"),
        ("pct_over_90", "12.82%"),
        ("dso", "97.50 days"),
        ("best_possible_dso", "25.00 days"),
        ("add", "72.50 days"),
        ("cei", "6.45%"),
        ("adp", "–"),
        ("unapplied_cash", "200.00 USD"),
    ]
    assert "Beta LLC" not in html and "EUR" not in html


def test_manager_sees_her_team_and_unassigned(ar: Any, as_user: Any) -> None:
    html = as_user(ar.mona).get("/").content.decode()
    assert tiles(html) == USD_TILES
    assert [r[0] for r in table_rows(html, "top-USD")] == [
        "C-200 Beta LLC",
        "C-100 Acme Corp",
        "C-110 Acme West",
    ]
    assert "Gamma" not in html


def test_dimension_filters_and_window(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    html = client.get(f"/?collector={ar.alice.pk}").content.decode()
    assert tiles(html)[:2] == [("open_ar", "1,950.00 USD"), ("past_due", "1,450.00 USD")]
    assert "· collector alice" in html
    html = client.get("/?territory=West").content.decode()
    assert [v for k, v in tiles(html) if k == "open_ar"] == ["700.00 EUR"]
    html = client.get(f"/?team={ar.alice.collector.team_id}&tier=new").content.decode()  # bob
    assert tiles(html)[:2] == [("open_ar", "2,000.00 USD"), ("past_due", "2,000.00 USD")]
    html = client.get("/?collector=none").content.decode()  # unassigned: Delta
    assert tiles(html)[0] == ("open_ar", "40.00 USD")
    # 30-day window: sales 111 300 + 102 500 + 402 40 = 840 -> DSO 3,990 / 840 x 30 = 142.50
    html = client.get("/?window=30").content.decode()
    assert dict(tiles(html)[:10])["dso"] == "142.50 days"
    assert "window 30 days (2026-01-30 to 2026-03-01)" in html


def test_bad_option_is_ignored_and_shown(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/?window=7&collector=999999&as_of=not-a-date").content.decode()
    assert tiles(html)[:10] == USD_TILES  # defaults used
    assert html.count('class="field-error"') == 3


def test_as_of_a_past_date(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/?as_of=2025-12-01").content.decode()
    assert dict(tiles(html)[:10])["dso"] == "90.00 days"
    assert tiles(html)[0] == ("open_ar", "2,250.00 USD")
    assert "changes against 2025-09-02" in html


def test_invoice_date_basis(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/?basis=invoice").content.decode()
    # ages since the invoice date: 102, 111, 402 within 30 days; 101 59 days; 201 90 days; 103 151 days
    assert [r[:2] for r in table_rows(html, "aging-USD")][:5] == [
        ["0-30", "840.00"],
        ["31-60", "900.00"],
        ["61-90", "2,000.00"],
        ["91-120", "0.00"],
        ["120+", "250.00"],
    ]
    # top past due stays on the due date
    assert table_rows(html, "top-USD")[0][:2] == ["C-200 Beta LLC", "0.00"]


def test_base_currency_mode(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    Organization.objects.create(pk=1)
    html = client.get("/?currency=base").content.decode()
    assert "no FX rate EUR-&gt;USD" in html  # stated, not a failure
    FxRate.objects.create(rate_date=dt.date(2026, 1, 1), base="EUR", quote="USD", rate="1.1")
    html = client.get("/?currency=base").content.decode()
    # EUR 700.00 x 1.1 = 770.00 USD, in one USD panel
    assert [v for k, v in tiles(html) if k in ("open_ar", "past_due")] == ["4,760.00 USD", "4,220.00 USD"]
    assert "translated into USD at the as-of rate" in html


def test_trends(ar: Any, as_user: Any) -> None:
    html = as_user(ar.ada).get("/reports/trends/").content.decode()
    blank = ["–", "–"]
    assert table_rows(html, "trend-USD") == [
        ["2025-04-30", *blank],
        ["2025-05-31", *blank],
        ["2025-06-30", *blank],
        ["2025-07-31", *blank],
        ["2025-08-31", *blank],
        ["2025-09-30", *blank],
        ["2025-10-31", "90.00", "–"],  # INV-103 just due: nothing was collectible
        ["2025-11-30", "90.00", "0.00"],
        ["2025-12-31", "101.25", "0.00"],  # 2,250 / 2,000 x 90
        ["2026-01-31", "94.35", "4.26"],  # 3,250 / 3,100 x 90; 100 / 2,350
        ["2026-02-28", "91.14", "5.48"],  # 3,990 / 3,940 x 90; 200 / 3,650
        ["2026-03-01", "185.10", "5.48"],
    ]
    assert table_rows(html, "trend-EUR")[-3:] == [
        ["2026-01-31", "90.00", "–"],
        ["2026-02-28", "90.00", "0.00"],
        ["2026-03-01", "90.00", "0.00"],
    ]
    assert '"key": "USD:dso"' in html and '"key": "EUR:cei"' in html
    # the collector's own trend
    html = as_user(ar.alice).get("/reports/trends/").content.decode()
    assert table_rows(html, "trend-USD")[-1] == ["2026-03-01", "97.50", "6.45"]
    assert "trend-EUR" not in html


def test_pdf_export(ar: Any, as_user: Any) -> None:
    response = as_user(ar.ada).get("/?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="ar-overview-2026-03-01.pdf"'
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "As of 2026-03-01" in text
    for figure in ("3,990.00 USD", "185.10 days", "+1,740.00 USD vs 2025-12-01", "700.00 EUR", "Beta LLC"):
        assert figure in text, figure


def test_csv_and_xlsx_exports(ar: Any, as_user: Any) -> None:
    client = as_user(ar.ada)
    rows = csv_rows(client.get("/?format=csv"))
    head = ["2026-03-01", "90", "due date", "each currency", "2025-12-01"]
    assert rows[0] == [
        "As of",
        "Window (days)",
        "Aging basis",
        "Currency mode",
        "Compared with",
        "Currency",
        "Metric",
        "Value",
        "Previous",
        "Change",
    ]
    assert rows[1:4] == [
        [*head, "USD", "Open AR", "3990.00", "2250.00", "1740.00"],
        [*head, "USD", "Past due", "3450.00", "250.00", "3200.00"],
        [*head, "USD", "% past due", "86.47", "11.11", "75.36"],
    ]
    assert rows[5] == [*head, "USD", "DSO", "185.10", "90.00", "95.10"]
    assert rows[9] == [*head, "USD", "ADP", "19.00", "", ""]
    assert rows[11] == [*head, "EUR", "Open AR", "700.00", "0.00", "700.00"]
    assert len(rows) == 21
    sheet = xlsx_rows(client.get("/?format=xlsx"))
    assert sheet[1][5:] == ["USD", "Open AR", 3990, 2250, 1740]
    assert sheet[5][5:] == ["USD", "DSO", 185.1, 90, 95.1]


def test_figures_follow_a_posting_at_once(ar: Any, as_user: Any) -> None:
    """The read cache is keyed by the ledger's state: a posting shows on the next request."""
    client = as_user(ar.ada)
    assert tiles(client.get("/").content.decode())[0] == ("open_ar", "3,990.00 USD")
    pay = lf.payment(ar.customers["acme"], "PAY-9", "500.00", date=dt.date(2026, 3, 1))
    services.apply(
        actor=ar.ada,
        invoice=ar.invoices["102"],
        payment=pay,
        amount=Money.of("500.00", "USD"),
        applied_date=dt.date(2026, 3, 1),
    )
    assert tiles(client.get("/").content.decode())[0] == ("open_ar", "3,490.00 USD")
    # and the cache never crosses scopes
    assert tiles(as_user(ar.alice).get("/").content.decode())[0] == ("open_ar", "1,450.00 USD")


def test_overview_does_not_write(ar: Any, as_user: Any) -> None:
    as_user(ar.ada).get("/")
    as_user(ar.ada).get("/?format=pdf")
    assert not Organization.objects.exists()


def test_refused_without_a_role(ar: Any, as_user: Any) -> None:
    for url in ("/", "/reports/trends/", "/?format=pdf"):
        response = as_user(ar.nobody).get(url)
        assert response.status_code == 403
        assert b"Acme" not in response.content


def test_query_counts_do_not_grow_with_rows(
    ar: Any, as_user: Any, django_assert_max_num_queries: Any, settings: Any
) -> None:
    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0  # every figure computed
    client: Client = as_user(ar.ada)
    # session, user, roles, organization, entities, collectors, facets; kpis now and a window earlier
    # (7 each), aging by customer (3) and its labels; the trend: 12 x kpis
    with django_assert_max_num_queries(OVERVIEW_QUERIES):
        client.get("/")
    with django_assert_max_num_queries(TREND_QUERIES):
        client.get("/reports/trends/")
    for n in range(30):  # 30 more customers with an invoice each
        cust = lf.customer(f"X-{n:03}", f"Extra {n}", collector=ar.alice)
        lf.invoice(cust, f"X-INV-{n}", "10.00", date=dt.date(2026, 1, 10), due=dt.date(2026, 2, 9))
    with django_assert_max_num_queries(OVERVIEW_QUERIES):
        assert tiles(client.get("/").content.decode())[0] == ("open_ar", "4,290.00 USD")
    with django_assert_max_num_queries(TREND_QUERIES):
        client.get("/reports/trends/")
