"""KPIs from a real database: the hand-built book of conftest.py, every figure worked out by hand.
The same expectations run on SQLite and on PostgreSQL."""

import datetime as dt
from dataclasses import asdict
from decimal import Decimal

import pytest

from ardesk.core.errors import InvalidInput
from ardesk.core.money import Money
from ardesk.ledger import services
from ardesk.metrics import selectors as ms
from tests.factories import ledger as lf

D = dt.date
MARCH = D(2026, 3, 31)
X = Decimal

FIELDS = (
    "currency",
    "buckets",
    "open_invoices",
    "open_ar",
    "current",
    "past_due",
    "over_90",
    "unapplied_cash",
    "open_credits",
    "net_ar",
    "beginning_ar",
    "sales_window",
    "write_offs",
    "paid_invoices",
    "pct_current",
    "pct_past_due",
    "pct_over_90",
    "dso",
    "countback_dso",
    "true_dso",
    "best_possible_dso",
    "add",
    "avg_days_late",
    "cei",
    "adp",
    "adp_weighted",
    "ar_turnover",
    "bad_debt_ratio",
)


def fig(row):
    return {f: getattr(row, f) for f in FIELDS}


def by_label(rows):
    return {(r.label, r.currency): r for r in rows}


ALICE = {
    "currency": "USD",
    "buckets": (300000, 0, 150000, 0, 0, 0),
    "open_invoices": 2,
    "open_ar": 450000,
    "current": 300000,
    "past_due": 150000,
    "over_90": 0,
    "unapplied_cash": 20000,
    "open_credits": 0,
    "net_ar": 430000,
    "beginning_ar": 140000,  # A1 1,000 + A4 400 at the end of 31 December
    "sales_window": 500000,  # A2 + A3
    "write_offs": 40000,
    "paid_invoices": 1,  # A1: 50 days to pay, 20 days late
    "pct_current": X("66.67"),
    "pct_past_due": X("33.33"),
    "pct_over_90": X("0.00"),
    "dso": X("81.00"),  # 450,000 / 500,000 x 90
    "countback_dso": X("82.25"),  # March 31 (-300,000), February 28 (no sales), January 150,000/200,000 x 31
    "true_dso": X("76.00"),  # A2: 80 days x 1,500/2,000 + A3: 16 days x 3,000/3,000
    "best_possible_dso": X("54.00"),
    "add": X("27.00"),
    "avg_days_late": X("20.00"),
    "cei": X("55.88"),  # (140,000 + 500,000 - 450,000) / (140,000 + 500,000 - 300,000)
    "adp": X("50.00"),
    "adp_weighted": X("50.00"),
    "ar_turnover": X("1.69"),  # 500,000 / 295,000
    "bad_debt_ratio": X("8.00"),
}
BOB = {
    "currency": "USD",
    "buckets": (0, 0, 0, 0, 0, 80000),  # B1 is 151 days past due
    "open_invoices": 1,
    "open_ar": 80000,
    "current": 0,
    "past_due": 80000,
    "over_90": 80000,
    "unapplied_cash": 0,
    "open_credits": 10000,
    "net_ar": 70000,
    "beginning_ar": 80000,
    "sales_window": 120000,
    "write_offs": 0,
    "paid_invoices": 1,  # B2: 40 days to pay, 10 days late
    "pct_current": X("0.00"),
    "pct_past_due": X("100.00"),
    "pct_over_90": X("100.00"),
    "dso": X("60.00"),
    "countback_dso": X("49.67"),  # March 31 days (no sales) + 80,000/120,000 x 28
    "true_dso": X("181.00"),  # 181 days x 800/800 (October's sales)
    "best_possible_dso": X("0.00"),
    "add": X("60.00"),
    "avg_days_late": X("10.00"),
    "cei": X("60.00"),  # (80,000 + 120,000 - 80,000) / (80,000 + 120,000 - 0)
    "adp": X("40.00"),
    "adp_weighted": X("40.00"),
    "ar_turnover": X("1.50"),
    "bad_debt_ratio": X("0.00"),
}
CARL = {  # yen: zero decimals
    "currency": "JPY",
    "buckets": (100000, 0, 50000, 0, 0, 0),
    "open_invoices": 2,
    "open_ar": 150000,
    "current": 100000,
    "past_due": 50000,
    "over_90": 0,
    "unapplied_cash": 0,
    "open_credits": 0,
    "net_ar": 150000,
    "beginning_ar": 0,
    "sales_window": 150000,
    "write_offs": 0,
    "paid_invoices": 0,
    "pct_current": X("66.67"),
    "pct_past_due": X("33.33"),
    "pct_over_90": X("0.00"),
    "dso": X("90.00"),
    "countback_dso": X("90.00"),  # 31 + 28 + 50,000/50,000 x 31
    "true_dso": X("105.00"),  # 30 x 1 + 75 x 1
    "best_possible_dso": X("60.00"),
    "add": X("30.00"),
    "avg_days_late": None,
    "cei": X("0.00"),  # (0 + 150,000 - 150,000) / (0 + 150,000 - 100,000)
    "adp": None,
    "adp_weighted": None,
    "ar_turnover": X("2.00"),
    "bad_debt_ratio": X("0.00"),
}
UNASSIGNED = {
    "currency": "USD",
    "buckets": (99900, 0, 0, 0, 0, 0),
    "open_invoices": 1,
    "open_ar": 99900,
    "current": 99900,
    "past_due": 0,
    "over_90": 0,
    "unapplied_cash": 0,
    "open_credits": 0,
    "net_ar": 99900,
    "beginning_ar": 0,
    "sales_window": 99900,
    "write_offs": 0,
    "paid_invoices": 0,
    "pct_current": X("100.00"),
    "pct_past_due": X("0.00"),
    "pct_over_90": X("0.00"),
    "dso": X("90.00"),
    "countback_dso": X("31.00"),
    "true_dso": X("21.00"),
    "best_possible_dso": X("90.00"),
    "add": X("0.00"),
    "avg_days_late": None,
    "cei": None,  # nothing was collectible: everything is current
    "adp": None,
    "adp_weighted": None,
    "ar_turnover": X("2.00"),
    "bad_debt_ratio": X("0.00"),
}
EAST = {  # alice + bob + unassigned, all USD
    "currency": "USD",
    "buckets": (399900, 0, 150000, 0, 0, 80000),
    "open_invoices": 4,
    "open_ar": 629900,
    "current": 399900,
    "past_due": 230000,
    "over_90": 80000,
    "unapplied_cash": 20000,
    "open_credits": 10000,
    "net_ar": 599900,
    "beginning_ar": 220000,
    "sales_window": 719900,
    "write_offs": 40000,
    "paid_invoices": 2,
    "pct_current": X("63.49"),
    "pct_past_due": X("36.51"),
    "pct_over_90": X("12.70"),
    "dso": X("78.75"),  # 629,900 x 90 / 719,900 = 78.748..
    "countback_dso": X("76.05"),  # 31 + 28 + 110,000/200,000 x 31
    "true_dso": X("258.25"),
    "best_possible_dso": X("49.99"),
    "add": X("28.75"),  # 230,000 x 90 / 719,900 = 28.754.. (not 78.75 - 49.99)
    "avg_days_late": X("14.55"),  # (20 x 100,000 + 10 x 120,000) / 220,000
    "cei": X("57.41"),  # 310,000 / 540,000
    "adp": X("45.00"),
    "adp_weighted": X("44.55"),  # (50 x 100,000 + 40 x 120,000) / 220,000
    "ar_turnover": X("1.69"),
    "bad_debt_ratio": X("5.56"),
}


def test_kpis_by_collector(kbook):
    rows = ms.kpis(ms.SYSTEM, MARCH, "collector")
    assert [(r.label, r.currency) for r in rows] == [
        ("(unassigned)", "USD"),
        ("alice", "USD"),
        ("bob", "USD"),
        ("carl", "JPY"),
    ]
    got = by_label(rows)
    assert fig(got["alice", "USD"]) == ALICE
    assert fig(got["bob", "USD"]) == BOB
    assert fig(got["carl", "JPY"]) == CARL
    assert fig(got["(unassigned)", "USD"]) == UNASSIGNED
    assert got["alice", "USD"].key == str(kbook.alice.pk) and got["(unassigned)", "USD"].key is None
    r = got["alice", "USD"]
    assert (r.as_of, r.window_days, r.basis, r.currency_mode) == (MARCH, 90, "due", "currency")
    assert r.bucket_labels == ("Current", "1-30", "31-60", "61-90", "91-120", "120+")


def test_kpis_by_territory_and_total(kbook):
    rows = by_label(ms.kpis(ms.SYSTEM, MARCH, "territory"))
    assert set(rows) == {("East", "USD"), ("West", "JPY")}
    assert fig(rows["East", "USD"]) == EAST
    assert fig(rows["West", "JPY"]) == CARL
    total = ms.kpis(ms.SYSTEM, MARCH)
    assert [(r.key, r.label, r.currency) for r in total] == [(None, "All", "JPY"), (None, "All", "USD")]
    assert fig(total[1]) == EAST and fig(total[0]) == CARL


def test_every_dimension_adds_up_to_the_total(kbook):
    totals = {r.currency: r.open_ar for r in ms.kpis(ms.SYSTEM, MARCH)}
    for by in (
        "team",
        "title",
        "tier",
        "region",
        "industry",
        "segment",
        "customer",
        "parent",
        "currency",
        "entity",
    ):
        sums: dict[str, int] = {}
        for r in ms.kpis(ms.SYSTEM, MARCH, by):
            sums[r.currency] = sums.get(r.currency, 0) + r.open_ar
        assert sums == totals, by
    labels = {
        by: [(r.label, r.currency) for r in ms.kpis(ms.SYSTEM, MARCH, by)]
        for by in ("team", "tier", "entity")
    }
    assert labels["team"] == [("(no team)", "USD"), ("East", "USD"), ("West", "JPY")]
    assert labels["tier"] == [
        ("(unassigned)", "USD"),
        ("Core", "JPY"),
        ("New team member", "USD"),
        ("Top performer", "USD"),
    ]
    assert labels["entity"] == [("JP01", "JPY"), ("US01", "USD")]
    assert [r.key for r in ms.kpis(ms.SYSTEM, MARCH, "currency")] == ["JPY", "USD"]


def test_as_of_is_reproducible_after_april(kbook):
    before_kpis = ms.kpis(ms.SYSTEM, MARCH, "collector")
    before_aging = ms.aging(ms.SYSTEM, MARCH, "customer")
    before_items = ms.open_items(ms.SYSTEM, MARCH)
    kbook.post_april()
    assert ms.kpis(ms.SYSTEM, MARCH, "collector") == before_kpis
    assert ms.aging(ms.SYSTEM, MARCH, "customer") == before_aging
    assert ms.open_items(ms.SYSTEM, MARCH) == before_items
    assert [(i.number, i.open_minor) for i in before_items] == [
        ("B1", 80000),
        ("A2", 150000),
        ("K2", 50000),
        ("K1", 100000),
        ("D2", 99900),
        ("A3", 300000),
    ]


def test_april_figures(kbook):
    kbook.post_april()
    rows = by_label(ms.kpis(ms.SYSTEM, D(2026, 4, 30), "collector"))
    alice = rows["alice", "USD"]
    # A1 reopened by the bounced check (due 31 December: 120 days past due); A2 and A3 paid.
    assert (alice.open_ar, alice.buckets, alice.unapplied_cash) == (100000, (0, 0, 0, 0, 100000, 0), 0)
    assert (alice.paid_invoices, alice.adp, alice.adp_weighted) == (
        2,
        X("55.50"),
        X("49.60"),
    )  # A2 85 d, A3 26 d
    bob = rows["bob", "USD"]
    # B2 reopened (58 days past due), B1 gone: 100.00 credited, 700.00 written off; P-B2 unapplied again.
    assert (bob.open_ar, bob.buckets, bob.unapplied_cash, bob.open_credits) == (
        120000,
        (0, 0, 120000, 0, 0, 0),
        120000,
        0,
    )
    assert bob.write_offs == 70000
    # D2 cancelled on 2 April: gone from AR and from sales; D1, dated 5 April, now exists.
    unassigned = rows["(unassigned)", "USD"]
    assert (unassigned.open_ar, unassigned.current, unassigned.sales_window) == (70000, 70000, 70000)
    carl = rows["carl", "JPY"]
    assert (carl.open_ar, carl.buckets[1], carl.paid_invoices, carl.adp) == (
        100000,
        100000,
        1,
        X("83.00"),
    )  # K1 30 days


def test_future_dated_invoice_is_excluded_until_its_date(kbook):
    inv = lf.invoice(kbook.customers["delta"], "FUT", "500.00", date=D(2026, 4, 5), due=D(2026, 5, 5))
    assert fig(by_label(ms.kpis(ms.SYSTEM, MARCH, "collector"))["(unassigned)", "USD"]) == UNASSIGNED
    row = by_label(ms.kpis(ms.SYSTEM, D(2026, 4, 5), "collector"))["(unassigned)", "USD"]
    assert (row.open_ar, row.current) == (99900 + inv.amount_minor, 99900 + 50000)


def test_as_of_before_the_first_invoice(kbook):
    (row,) = ms.kpis(ms.SYSTEM, D(2025, 1, 1))
    assert (row.key, row.label, row.currency, row.open_ar, row.buckets) == (None, "All", "USD", 0, (0,) * 6)
    assert (row.dso, row.cei, row.pct_past_due, row.adp) == (None, None, None, None)
    assert row.true_dso == row.countback_dso == X("0.00")  # no AR: zero days
    assert ms.kpis(ms.SYSTEM, D(2025, 1, 1), "collector") == []
    (aging,) = ms.aging(ms.SYSTEM, D(2025, 1, 1))
    assert (aging.open_ar, aging.buckets) == (0, (0,) * 6)


def test_customer_with_only_credits(kbook):
    only = lf.customer("C-600", "Credits Only", collector=kbook.bob, territory="North")
    services.post_credit_memo(
        actor=None, customer=only, number="CM-1", memo_date=D(2026, 3, 1), amount=Money(2500, "USD")
    )
    lf.payment(only, "ADV-1", "40.00", date=D(2026, 3, 2))
    (row,) = ms.kpis(ms.SYSTEM, MARCH, "territory", filters={"territory": "North"})
    assert (row.open_ar, row.open_credits, row.unapplied_cash, row.net_ar, row.buckets) == (
        0,
        2500,
        4000,
        -6500,
        (0,) * 6,
    )
    assert (row.dso, row.pct_past_due, row.cei, row.true_dso) == (None, None, None, X("0.00"))


def test_scoped_to_the_user(kbook):
    def labels(user):
        return [(r.label, r.currency) for r in ms.kpis(user, MARCH, "collector")]

    assert labels(kbook.alice) == [("alice", "USD")]
    assert fig(ms.kpis(kbook.alice, MARCH)[0]) == ALICE  # a collector's total is their portfolio
    assert labels(kbook.mona) == [("(unassigned)", "USD"), ("alice", "USD"), ("bob", "USD")]
    assert labels(kbook.walt) == [("(unassigned)", "USD"), ("carl", "JPY")]
    assert labels(kbook.audrey) == labels(ms.SYSTEM)
    assert labels(kbook.nobody) == [] and labels(None) == []
    (row,) = ms.kpis(kbook.nobody, MARCH)
    assert row.open_ar == 0
    assert [r.label for r in ms.aging(kbook.bob, MARCH, "customer")] == ["C-200 Beta LLC"]
    assert [i.number for i in ms.open_items(kbook.bob, MARCH)] == ["B1"]


def test_filters_and_entity(kbook):
    rows = ms.kpis(ms.SYSTEM, MARCH, "customer", filters={"collector": kbook.alice.pk})
    assert [r.label for r in rows] == ["C-100 Acme Corp"] and fig(rows[0]) == ALICE
    rows = ms.kpis(ms.SYSTEM, MARCH, "customer", filters={"collector": None})
    assert [r.label for r in rows] == ["C-400 Delta Inc"]
    rows = ms.kpis(ms.SYSTEM, MARCH, "collector", filters={"territory": ["West", "Nowhere"]})
    assert [r.label for r in rows] == ["carl"]
    assert [r.label for r in ms.kpis(ms.SYSTEM, MARCH, "customer", entity="JP01")] == ["C-500 Kappa KK"]
    items = ms.open_items(ms.SYSTEM, MARCH, filters={"customer": kbook.customers["acme"].pk})
    assert [(i.number, i.amount_minor, i.open_minor) for i in items] == [
        ("A2", 200000, 150000),
        ("A3", 300000, 300000),
    ]


def test_aging_rows_and_options(kbook):
    rows = by_label(ms.aging(ms.SYSTEM, MARCH, "collector"))
    a = rows["alice", "USD"]
    assert (a.buckets, a.open_ar, a.unapplied_cash, a.open_credits, a.net_ar, a.credits_netted) == (
        (300000, 0, 150000, 0, 0, 0),
        450000,
        20000,
        0,
        430000,
        False,
    )
    assert rows["carl", "JPY"].buckets == (100000, 0, 50000, 0, 0, 0)
    # Invoice-date basis: A2 is 80 days old, A3 16; K1 30 days, K2 75.
    inv = by_label(ms.aging(ms.SYSTEM, MARCH, "collector", basis="invoice"))
    assert inv["alice", "USD"].bucket_labels == ("0-30", "31-60", "61-90", "91-120", "120+")
    assert inv["alice", "USD"].buckets == (300000, 0, 150000, 0, 0)
    assert inv["carl", "JPY"].buckets == (100000, 0, 50000, 0, 0)
    assert inv["bob", "USD"].buckets == (0, 0, 0, 0, 80000)  # 181 days
    # Custom bounds.
    custom = by_label(ms.aging(ms.SYSTEM, MARCH, "collector", bounds=[0, 60]))
    assert custom["bob", "USD"].bucket_labels == ("Current", "1-60", "60+")
    assert custom["bob", "USD"].buckets == (0, 0, 80000)
    assert custom["alice", "USD"].buckets == (300000, 150000, 0)


def test_organization_buckets_are_the_default(kbook):
    org = services.get_organization()
    org.aging_buckets = [0, 45, 90]
    org.save()
    row = by_label(ms.aging(ms.SYSTEM, MARCH, "collector"))["alice", "USD"]
    assert (row.bucket_labels, row.buckets) == (("Current", "1-45", "46-90", "90+"), (300000, 0, 150000, 0))
    assert ms.bucket_labels() == ["Current", "1-45", "46-90", "90+"]


def test_base_currency_translation(kbook):
    with pytest.raises(InvalidInput, match="no FX rate JPY->USD"):
        ms.kpis(ms.SYSTEM, MARCH, currency_mode="base")
    services.set_fx_rate(actor=None, rate_date=D(2026, 3, 31), base="JPY", quote="USD", rate="0.0067")
    services.set_fx_rate(
        actor=None, rate_date=D(2026, 4, 1), base="JPY", quote="USD", rate="0.0100"
    )  # too late
    (row,) = ms.kpis(ms.SYSTEM, MARCH, currency_mode="base")
    assert (row.currency, row.currency_mode) == ("USD", "base")
    # ¥100,000 current -> 670.00, ¥50,000 (31-60) -> 335.00
    assert row.buckets == (399900 + 67000, 0, 150000 + 33500, 0, 0, 80000)
    assert (row.open_ar, row.current, row.sales_window, row.beginning_ar) == (730400, 466900, 820400, 220000)
    assert (row.dso, row.best_possible_dso, row.cei, row.pct_past_due) == (
        X("80.13"),
        X("51.22"),
        X("54.05"),
        X("36.08"),
    )
    assert (row.countback_dso, row.true_dso) == (X("78.05"), X("262.23"))
    west = by_label(ms.kpis(ms.SYSTEM, MARCH, "territory", currency_mode="base"))["West", "USD"]
    assert (west.open_ar, west.dso, west.cei) == (100500, X("90.00"), X("0.00"))
    aging = ms.aging(ms.SYSTEM, MARCH, currency_mode="base")
    assert [(r.currency, r.open_ar, sum(r.buckets)) for r in aging] == [("USD", 730400, 730400)]


def test_past_due_against_a_baseline(kbook):
    kbook.post_april()
    rows = by_label(ms.kpis(ms.SYSTEM, D(2026, 4, 30), "collector", baseline=MARCH))
    bob = rows["bob", "USD"]
    assert (bob.past_due_baseline, bob.past_due, bob.past_due_change, bob.past_due_change_pct) == (
        80000,
        120000,
        40000,
        X("50.00"),
    )
    alice = rows["alice", "USD"]
    assert (alice.past_due_baseline, alice.past_due, alice.past_due_change_pct) == (
        150000,
        100000,
        X("-33.33"),
    )
    assert ms.kpis(ms.SYSTEM, MARCH)[0].past_due_baseline is None


def test_window_option(kbook):
    row = by_label(ms.kpis(ms.SYSTEM, MARCH, "collector", window_days=30))["alice", "USD"]
    # 30 days: 2 to 31 March. Sales A3 3,000; beginning AR at the end of 1 March: A2 after 500.00 paid.
    assert (row.sales_window, row.beginning_ar, row.window_days) == (300000, 150000, 30)
    assert (row.dso, row.paid_invoices, row.write_offs) == (X("45.00"), 0, 0)
    assert row.cei == X("0.00")  # (150,000 + 300,000 - 450,000) / (150,000 + 300,000 - 300,000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "planet"}, "unknown dimension"),
        ({"basis": "paid"}, "unknown aging basis"),
        ({"window_days": 0}, "the window must be"),
        ({"currency_mode": "eur"}, "unknown currency mode"),
        ({"bounds": [30, 10]}, "must increase"),
        ({"filters": {"planet": 1}}, "unknown dimension"),
    ],
)
def test_bad_options_are_refused(kbook, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        ms.kpis(ms.SYSTEM, MARCH, **kwargs)


def test_trend(kbook):
    kbook.post_april()
    points = ms.trend(ms.SYSTEM, "open_ar", D(2026, 1, 15), D(2026, 4, 27), step="month", by="collector")
    alice = [(p.as_of, p.value) for p in points if p.label == "alice"]
    assert alice == [
        (D(2026, 1, 31), 240000),  # A2 and A4 (A1 paid 20 January, A4 written off 15 February)
        (D(2026, 2, 28), 200000),
        (D(2026, 3, 31), 450000),
        (D(2026, 4, 27), 100000),  # a partial period ends on the end date; A1 reopened 25 April
    ]
    assert ms.period_ends(D(2026, 1, 1), D(2026, 12, 31), "quarter") == [
        D(2026, 3, 31),
        D(2026, 6, 30),
        D(2026, 9, 30),
        D(2026, 12, 31),
    ]
    assert ms.period_ends(D(2026, 3, 1), D(2026, 3, 10), "week") == [
        D(2026, 3, 1),
        D(2026, 3, 8),
        D(2026, 3, 10),
    ]
    with pytest.raises(InvalidInput, match="unknown metric"):
        ms.trend(ms.SYSTEM, "vibes", MARCH, MARCH)
    with pytest.raises(InvalidInput, match="at most"):
        ms.trend(ms.SYSTEM, "dso", D(2020, 1, 1), D(2026, 1, 1), step="day")


def test_parent_dimension_rolls_up_the_hierarchy(book):
    top = lf.customer("H-1", "Holding")
    mid = lf.customer("H-2", "Subsidiary", parent=top)
    leaf = lf.customer("H-3", "Branch", parent=mid)
    for n, (c, amount) in enumerate(
        [(top, "1.00"), (mid, "2.00"), (leaf, "4.00"), (book.customers["acme"], "8.00")]
    ):
        lf.invoice(c, f"H{n}", amount, date=D(2026, 3, 1))
    rows = [(r.label, r.open_ar) for r in ms.kpis(ms.SYSTEM, MARCH, "parent")]
    assert rows == [("C-100 Acme Corp", 800), ("H-1 Holding", 700)]


def test_results_carry_no_floats(kbook):
    for row in ms.kpis(ms.SYSTEM, MARCH, "collector"):
        for value in asdict(row).values():
            assert not isinstance(value, float)
