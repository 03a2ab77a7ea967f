"""The lighter KPI path (`metrics.selectors.portfolio`) equals the full `kpis()` on every field it returns,
on the hand-built multi-currency book of conftest.py and on the seeded demo book of test_seeded_book.py.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from ardesk.ledger import demo, services
from ardesk.metrics import selectors as ms
from tests.metrics.test_seeded_book import PINNED_BY_COLLECTOR

D = dt.date
X = Decimal
MARCH = D(2026, 3, 31)
ZERO_FIELDS = ("open_invoices", "open_ar", "current", "past_due", "over_90", "beginning_ar", "sales_window")


def assert_same(full: list[ms.KpiRow], light: list[ms.PortfolioRow]) -> None:
    """Every light row has the full row's figures; a slice only the full path shows has nothing in them."""
    by_key = {(r.key, r.currency): r for r in full}
    light_keys = [(r.key, r.currency) for r in light]
    assert len(set(light_keys)) == len(light_keys)
    assert light_keys == sorted(light_keys, key=lambda k: (k[0] or "", k[1]))
    for row in light:
        f = by_key[(row.key, row.currency)]
        assert (row.currency_mode, row.as_of, row.window_days, row.basis) == (
            f.currency_mode,
            f.as_of,
            f.window_days,
            f.basis,
        )
        got = {name: getattr(row, name) for name in ms.PORTFOLIO_FIELDS}
        assert got == {name: getattr(f, name) for name in ms.PORTFOLIO_FIELDS}, (row.key, row.currency)
    for key in by_key.keys() - set(light_keys):
        f = by_key[key]
        assert {n: getattr(f, n) for n in ZERO_FIELDS} == dict.fromkeys(ZERO_FIELDS, 0), key
        assert set(f.buckets) == {0}


def _fx(rate: str = "0.0067") -> None:
    services.set_fx_rate(actor=None, rate_date=MARCH, base="JPY", quote="USD", rate=rate)


# --- the hand-built book ---------------------------------------------------------------------------------


@pytest.mark.parametrize("by", [None, "collector", "territory", "customer", "currency", "entity", "team"])
def test_hand_book_every_dimension(kbook, by):
    assert_same(ms.kpis(ms.SYSTEM, MARCH, by), ms.portfolio(ms.SYSTEM, MARCH, by))


def test_hand_book_figures_by_hand(kbook):
    rows = {(r.key, r.currency): r for r in ms.portfolio(ms.SYSTEM, MARCH, "collector")}
    alice = rows[(str(kbook.alice.pk), "USD")]
    assert (alice.buckets, alice.open_invoices, alice.open_ar, alice.current, alice.past_due) == (
        (300000, 0, 150000, 0, 0, 0),
        2,
        450000,
        300000,
        150000,
    )
    assert (alice.over_90, alice.beginning_ar, alice.sales_window, alice.dso, alice.pct_past_due) == (
        0,
        140000,
        500000,
        X("81.00"),
        X("33.33"),
    )
    # carl's portfolio is in yen: a row of its own, never added to dollars
    assert sorted(c for k, c in rows if k == str(kbook.carl.pk)) == ["JPY"]


def test_hand_book_base_currency(kbook):
    _fx()
    services.set_fx_rate(actor=None, rate_date=D(2026, 4, 1), base="JPY", quote="USD", rate="0.0100")
    (row,) = ms.portfolio(ms.SYSTEM, MARCH, currency_mode="base")
    # the worked figures of test_kpis.test_base_currency_translation
    assert (row.currency, row.currency_mode) == ("USD", "base")
    assert row.buckets == (399900 + 67000, 0, 150000 + 33500, 0, 0, 80000)
    assert (row.open_ar, row.current, row.sales_window, row.beginning_ar) == (730400, 466900, 820400, 220000)
    assert (row.dso, row.best_possible_dso, row.cei, row.pct_past_due) == (
        X("80.13"),
        X("51.22"),
        X("54.05"),
        X("36.08"),
    )
    for by in (None, "collector", "territory", "customer", "entity"):
        assert_same(
            ms.kpis(ms.SYSTEM, MARCH, by, currency_mode="base"),
            ms.portfolio(ms.SYSTEM, MARCH, by, currency_mode="base"),
        )


def test_hand_book_missing_rate_is_an_error(kbook):
    with pytest.raises(ms.InvalidInput, match="no FX rate JPY->USD"):
        ms.portfolio(ms.SYSTEM, MARCH, currency_mode="base")


@pytest.mark.parametrize(
    "options",
    [
        {"window_days": 30},
        {"window_days": 1},
        {"basis": "invoice"},
        {"bounds": [0, 45, 90]},
        {"entity": "JP01"},
        {"filters": {"territory": "East"}},
        {"filters": {"collector": None}},
    ],
)
def test_hand_book_options(kbook, options):
    for as_of in (D(2025, 12, 31), MARCH, D(2026, 4, 30)):
        assert_same(
            ms.kpis(ms.SYSTEM, as_of, "customer", **options),
            ms.portfolio(ms.SYSTEM, as_of, "customer", **options),
        )


def test_hand_book_after_april_history(kbook):
    before = ms.portfolio(ms.SYSTEM, MARCH, "collector")
    kbook.post_april()
    assert ms.portfolio(ms.SYSTEM, MARCH, "collector") == before
    april = D(2026, 4, 30)
    assert_same(ms.kpis(ms.SYSTEM, april, "collector"), ms.portfolio(ms.SYSTEM, april, "collector"))
    assert_same(ms.kpis(ms.SYSTEM, april, "customer"), ms.portfolio(ms.SYSTEM, april, "customer"))


def test_scope_is_the_users(kbook):
    for who in ("alice", "mona", "walt", "ada", "nobody"):
        user = getattr(kbook, who)
        assert_same(ms.kpis(user, MARCH, "customer"), ms.portfolio(user, MARCH, "customer"))
    assert {r.key for r in ms.portfolio(kbook.alice, MARCH, "customer")} == {str(kbook.customers["acme"].pk)}


def test_empty_total_row(kbook):
    (row,) = ms.portfolio(ms.SYSTEM, D(2020, 1, 1))
    (full,) = ms.kpis(ms.SYSTEM, D(2020, 1, 1))
    assert (row.key, row.currency, row.open_ar, row.buckets) == (None, "USD", 0, (0, 0, 0, 0, 0, 0))
    assert_same([full], [row])
    assert ms.portfolio(ms.SYSTEM, D(2020, 1, 1), "collector") == []


def test_without_beginning_or_sales(kbook):
    full = {(r.key, r.currency): r for r in ms.portfolio(ms.SYSTEM, MARCH, "customer")}
    bare = ms.portfolio(ms.SYSTEM, MARCH, "customer", beginning=False, sales=False)
    assert bare
    for row in bare:
        f = full[(row.key, row.currency)]
        assert (row.buckets, row.open_ar, row.current, row.over_90, row.pct_past_due) == (
            f.buckets,
            f.open_ar,
            f.current,
            f.over_90,
            f.pct_past_due,
        )
        assert (row.beginning_ar, row.sales_window, row.dso) == (0, 0, None)
    # the rows are those with open items at the date
    assert {(r.key, r.currency) for r in bare} == {k for k, r in full.items() if r.open_invoices}


def test_bad_input_is_refused(kbook):
    with pytest.raises(ms.InvalidInput, match="window"):
        ms.portfolio(ms.SYSTEM, MARCH, window_days=0)
    with pytest.raises(ms.InvalidInput, match="unknown dimension"):
        ms.portfolio(ms.SYSTEM, MARCH, "planet")
    with pytest.raises(ms.InvalidInput, match="aging basis"):
        ms.portfolio(ms.SYSTEM, MARCH, basis="paid")


def test_three_statements(kbook, django_assert_num_queries):
    # open items, beginning AR, window sales; no slice labels (the organization's buckets are given)
    with django_assert_num_queries(3):
        ms.portfolio(ms.SYSTEM, MARCH, "collector", bounds=[0, 30, 60, 90, 120])
    with django_assert_num_queries(1):
        ms.portfolio(ms.SYSTEM, MARCH, "customer", bounds=[0, 30], beginning=False, sales=False)


# --- the seeded demo book --------------------------------------------------------------------------------

SEEDED_AS_OF = D(2026, 6, 30)


@pytest.fixture
def seeded_book(db):
    demo.build(demo.DemoConfig(seed=7, customers=60, years=2, as_of=SEEDED_AS_OF))


def test_seeded_book_matches_kpis(seeded_book):
    for mode in ("currency", "base"):
        for by in (None, "collector", "customer", "team"):
            for as_of in (SEEDED_AS_OF, D(2025, 12, 31)):
                assert_same(
                    ms.kpis(ms.SYSTEM, as_of, by, currency_mode=mode),
                    ms.portfolio(ms.SYSTEM, as_of, by, currency_mode=mode),
                )


def test_seeded_book_pinned_by_collector(seeded_book):
    # the pinned figures of test_seeded_book.PINNED_BY_COLLECTOR, read through the light path
    names = {str(u.pk): u.username for u in User.objects.all()}
    got = {
        (names.get(r.key), r.currency): (r.open_ar, r.past_due, r.over_90, r.sales_window)
        for r in ms.portfolio(ms.SYSTEM, SEEDED_AS_OF, "collector")
    }
    # the unassigned customers' euros: a KPI row with nothing open and no sales (paid invoices or cash
    # only), which the light path leaves out
    assert PINNED_BY_COLLECTOR[(None, "EUR")] == (0, 0, 0, 0)
    assert got == {k: v for k, v in PINNED_BY_COLLECTOR.items() if k != (None, "EUR")}
