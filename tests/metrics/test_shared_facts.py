"""One pass for the KPIs and the aging; snapshots served only while the ledger has not changed under them.

- `kpis_and_aging()` returns exactly what `kpis()` and `aging()` return, on the hand-built book of
  conftest.py (worked figures in test_kpis.py) and on the seeded demo book of test_seeded_book.py (figures
  pinned to the cent on both databases);
- the aging's open items without the invoice-month detail have the same totals and buckets;
- `snapshots.freshness()` reads the change feed: a backdated posting makes the periods from its date on
  stale (they are computed from the ledger again, with the same result as the live computation), a
  customer moved to another collector makes that dimension stale, and `kpis_served()` always equals
  `kpis()`.
Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ardesk.core.errors import InvalidInput
from ardesk.core.money import Money
from ardesk.ledger import demo, services
from ardesk.ledger.models import Customer
from ardesk.metrics import queries as q
from ardesk.metrics import selectors as ms
from ardesk.metrics import snapshots as sn
from tests.factories import ledger as lf

from .test_seeded_book import AS_OF as SEEDED_AS_OF
from .test_seeded_book import PINNED_TOTALS, TOTAL_FIELDS

D = dt.date
MARCH = D(2026, 3, 31)
BOUNDS = [0, 30, 60, 90, 120]


@pytest.mark.parametrize(
    ("by", "aging_by"),
    [(None, "customer"), ("collector", "customer"), ("territory", "collector"), ("currency", None)],
)
@pytest.mark.parametrize("as_of", [D(2025, 12, 31), MARCH, D(2026, 4, 30)])
def test_kpis_and_aging_equal_the_two_calls(
    kbook: Any, by: str | None, aging_by: str | None, as_of: Any
) -> None:
    both = ms.kpis_and_aging(ms.SYSTEM, as_of, by, aging_by=aging_by)
    assert both == (ms.kpis(ms.SYSTEM, as_of, by), ms.aging(ms.SYSTEM, as_of, aging_by))


def test_kpis_and_aging_with_other_options(kbook: Any) -> None:
    kbook.post_april()
    options: dict[str, Any] = {"window_days": 30, "bounds": [0, 15, 45], "baseline": D(2026, 1, 31)}
    kpi_rows, aging_rows = ms.kpis_and_aging(
        ms.SYSTEM, MARCH, "collector", aging_by="customer", aging_basis="invoice", basis="due", **options
    )
    assert kpi_rows == ms.kpis(ms.SYSTEM, MARCH, "collector", basis="due", **options)
    assert aging_rows == ms.aging(ms.SYSTEM, MARCH, "customer", basis="invoice", bounds=[0, 15, 45])
    # the worked figures of test_kpis.py: Acme's aging as of 31 March (A2 1,500 + A3 3,000 open)
    acme = next(r for r in aging_rows if r.label.startswith("C-100"))
    assert (acme.open_ar, acme.unapplied_cash, acme.open_invoices) == (450000, 20000, 2)
    # scoped: alice sees her own customers only, in both halves
    alice_rows = ms.kpis_and_aging(kbook.alice, MARCH, None, aging_by="customer")
    assert alice_rows == (ms.kpis(kbook.alice, MARCH), ms.aging(kbook.alice, MARCH, "customer"))
    assert [r.label for r in alice_rows[1]] == ["C-100 Acme Corp"]


@pytest.mark.parametrize("by", [None, "currency"])
def test_beginning_ar_from_the_rows_of_the_windows_first_day(kbook: Any, by: str | None) -> None:
    start = MARCH - dt.timedelta(days=90)  # 31 December
    first_day = ms.kpis(ms.SYSTEM, start, by)
    both = ms.kpis_and_aging(ms.SYSTEM, MARCH, by, aging_by="customer", beginning=first_day)
    assert both == (ms.kpis(ms.SYSTEM, MARCH, by), ms.aging(ms.SYSTEM, MARCH, "customer"))
    # beginning AR, end of 31 December, USD: A1 1,000 + A4 400 + B1 800 (A2 is dated 10 January)
    usd = next(r for r in both[0] if r.currency == "USD")
    assert usd.beginning_ar == 220000
    with pytest.raises(InvalidInput):
        ms.kpis_and_aging(ms.SYSTEM, MARCH, by, beginning=ms.kpis(ms.SYSTEM, D(2026, 1, 1), by))
    # other dimensions (NULL keys) and base-currency mode compute it instead, with the same result
    by_collector = ms.kpis(ms.SYSTEM, start, "collector")
    assert ms.kpis_and_aging(ms.SYSTEM, MARCH, "collector", beginning=by_collector)[0] == ms.kpis(
        ms.SYSTEM, MARCH, "collector"
    )


def test_open_items_without_months_have_the_same_buckets(kbook: Any) -> None:
    sliced = q.customer_dimension(None, "customer")
    for basis in ("due", "invoice"):
        full = q.open_items(sliced, MARCH, bounds=BOUNDS, basis=basis)
        lean = q.open_items(sliced, MARCH, bounds=BOUNDS, basis=basis, months=False)
        assert set(full) == set(lean)
        for key, agg in full.items():
            got = lean[key]
            assert (got.open_ar, got.current, got.over_90, got.open_invoices, got.buckets) == (
                agg.open_ar,
                agg.current,
                agg.over_90,
                agg.open_invoices,
                agg.buckets,
            )
            assert got.age_x_open == {}
            assert sum(got.buckets) == got.open_ar
    # Acme: A2 1,500.00 (due 02-09: 31-60 days past due) and A3 3,000.00 (current)
    acme = str(kbook.customers["acme"].pk)
    assert lean_buckets(acme) == [300000, 0, 150000, 0, 0, 0]


def lean_buckets(customer: str) -> list[int]:
    sliced = q.customer_dimension(None, "customer")
    return q.open_items(sliced, MARCH, bounds=BOUNDS, months=False)[(customer, "USD")].buckets


def test_one_pass_is_one_statement_per_fact(kbook: Any, django_assert_num_queries: Any) -> None:
    sliced = q.customer_dimension(None, "customer", also="collector")
    sets = [q.OpenSet(key="k", months=False), q.OpenSet(key="k2", months=True)]
    # one statement: SQLite materializes the open items once, PostgreSQL groups them by GROUPING SETS
    with django_assert_num_queries(1):
        by_customer, by_collector = q.open_item_sets(sliced, MARCH, sets, bounds=BOUNDS)
    assert sum(a.open_ar for a in by_customer.values()) == sum(a.open_ar for a in by_collector.values())
    with django_assert_num_queries(2):  # receipts, credit memos
        (cash_c, credits_c), (cash_k, credits_k) = q.unapplied_sets(sliced, MARCH)
    assert sum(cash_c.values()) == sum(cash_k.values()) == 20000  # P-A3 200.00 unapplied on 31 March
    assert sum(credits_c.values()) == sum(credits_k.values()) == 10000  # CM-B3 100.00


@pytest.mark.parametrize("as_of", [D(2025, 12, 31), MARCH, D(2026, 4, 30)])
def test_open_item_sets_equal_one_set_at_a_time(kbook: Any, as_of: Any) -> None:
    """Sets sharing a grouping (key and months) and differing in basis or buckets, both keys, both bases:
    each set's aggregate is the one it gets alone (on PostgreSQL: one GROUPING SETS statement)."""
    kbook.post_april()
    sliced = q.customer_dimension(None, "customer", also="collector")
    sets = [
        q.OpenSet(key="k", basis="due", months=False),
        q.OpenSet(key="k", basis="invoice", months=False),
        q.OpenSet(key="k", buckets=False, months=False),
        q.OpenSet(key="k2", basis="invoice", months=True),
        q.OpenSet(key="k", basis="due", months=True),
    ]
    together = q.open_item_sets(sliced, as_of, sets, bounds=BOUNDS, over_days=60)
    alone = [q.open_item_sets(sliced, as_of, [s], bounds=BOUNDS, over_days=60)[0] for s in sets]
    assert together == alone
    assert together[0] and together[3]
    assert sum(a.open_ar for a in together[0].values()) == sum(a.open_ar for a in together[3].values())
    assert all(agg.buckets == [] for agg in together[2].values())


@pytest.fixture
def seeded_book(db: Any) -> None:
    demo.build(demo.DemoConfig(seed=7, customers=60, years=2, as_of=SEEDED_AS_OF))


def test_seeded_book_one_pass_is_pinned_and_equal(seeded_book: Any) -> None:
    rows, aged = ms.kpis_and_aging(ms.SYSTEM, SEEDED_AS_OF, None, aging_by="customer")
    got = {r.currency: {f: getattr(r, f) for f in TOTAL_FIELDS} for r in rows}
    assert got == PINNED_TOTALS
    assert (rows, aged) == (ms.kpis(ms.SYSTEM, SEEDED_AS_OF), ms.aging(ms.SYSTEM, SEEDED_AS_OF, "customer"))
    for cur, pinned in PINNED_TOTALS.items():  # the customers' aging adds up to the total
        assert sum(r.open_ar for r in aged if r.currency == cur) == pinned["open_ar"]
    earlier = D(2025, 12, 31)
    assert ms.kpis_and_aging(ms.SYSTEM, earlier, "collector", aging_by="customer") == (
        ms.kpis(ms.SYSTEM, earlier, "collector"),
        ms.aging(ms.SYSTEM, earlier, "customer"),
    )


# --- freshness ---------------------------------------------------------------------------------------


def month_refresh() -> None:
    (result,) = sn.refresh(grain="month", to=MARCH)
    assert not result.busy


def test_never_refreshed_is_stale(kbook: Any) -> None:
    fresh = sn.freshness()
    assert all(f.full for f in fresh.values())
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH) is None
    assert sn.kpis_served(ms.SYSTEM, MARCH) == ms.kpis(ms.SYSTEM, MARCH)


def test_backdated_posting_makes_later_periods_stale(kbook: Any) -> None:
    month_refresh()
    assert sn.freshness(["month"])["month"] == sn.Freshness(full=False, dirty_from=None, keys=frozenset())
    jan_before = sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 1, 31))
    assert jan_before == ms.kpis(ms.SYSTEM, D(2026, 1, 31))

    acme = kbook.customers["acme"]
    pay = lf.payment(acme, "P-LATE", "500.00", date=D(2026, 2, 10))
    services.apply(
        actor=None,
        invoice=kbook.inv["A2"],
        payment=pay,
        amount=Money(50000, "USD"),
        applied_date=D(2026, 2, 10),
    )
    state = sn.freshness(["month"])["month"]
    assert (state.full, state.dirty_from) == (False, D(2026, 2, 10))
    # January is untouched and still served; February and March are stale: computed, and they moved
    assert sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 1, 31)) == jan_before
    assert sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 2, 28)) is None
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH, "collector") is None
    for day in (D(2026, 1, 31), D(2026, 2, 28), MARCH):
        for by in (None, "collector", "customer"):
            assert sn.kpis_served(ms.SYSTEM, day, by) == ms.kpis(ms.SYSTEM, day, by)
    usd = {r.currency: r for r in sn.kpis_served(ms.SYSTEM, MARCH)}["USD"]
    assert usd.open_ar == {r.currency: r for r in ms.kpis(ms.SYSTEM, MARCH)}["USD"].open_ar
    # the trend from snapshots serves January and computes the rest: still equal to the live trend
    for metric in ("open_ar", "dso", "cei"):
        assert sn.trend_from_snapshots(ms.SYSTEM, metric, D(2025, 10, 1), MARCH) == ms.trend(
            ms.SYSTEM, metric, D(2025, 10, 1), MARCH
        )
    month_refresh()  # caught up: fresh again, and served
    assert sn.freshness(["month"])["month"].dirty_from is None
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH) == ms.kpis(ms.SYSTEM, MARCH)


def test_reassigned_customer_makes_only_its_dimension_stale(kbook: Any) -> None:
    month_refresh()
    beta = kbook.customers["beta"]
    services.reassign_customers(actor=kbook.mona, customers=[beta], collector=kbook.alice)
    state = sn.freshness(["month"])["month"]
    assert state.keys == frozenset({"collector"}) and state.dirty_from is None
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH, "collector") is None
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH) == ms.kpis(ms.SYSTEM, MARCH)  # the total did not move
    assert sn.kpis_served(ms.SYSTEM, MARCH, "collector") == ms.kpis(ms.SYSTEM, MARCH, "collector")
    assert Customer.objects.get(pk=beta.pk).collector_id == kbook.alice.pk


def top_from_full(rows: list[ms.AgingRow], top: int) -> list[ms.AgingRow]:
    """The top past-due slices per currency, worked from the whole aging (the overview's old way)."""
    out = []
    for cur in sorted({r.currency for r in rows}):
        mine = [r for r in rows if r.currency == cur and r.open_ar - r.buckets[0] > 0]
        mine.sort(key=lambda r: (-(r.open_ar - r.buckets[0]), r.label.casefold(), r.key or ""))
        out.extend(mine[:top])
    return out


@pytest.mark.parametrize("top", [0, 1, 3, 10, 1000])
def test_aging_top_is_the_head_of_the_whole_aging(seeded_book: Any, top: int) -> None:
    full = ms.aging(ms.SYSTEM, SEEDED_AS_OF, "customer", basis="due")
    expected = top_from_full(full, top)
    assert ms.aging(ms.SYSTEM, SEEDED_AS_OF, "customer", basis="due", top=top) == expected
    rows, head = ms.kpis_and_aging(ms.SYSTEM, SEEDED_AS_OF, None, aging_by="customer", aging_top=top)
    assert head == expected and rows == ms.kpis(ms.SYSTEM, SEEDED_AS_OF)
    if top == 3:  # three per currency, largest past due first
        assert [r.currency for r in head] == ["CAD"] * 3 + ["EUR"] * 3 + ["USD"] * 3
        usd = [r.open_ar - r.buckets[0] for r in head if r.currency == "USD"]
        assert usd == sorted(usd, reverse=True) and usd[0] > 0


def test_aging_top_breaks_ties_by_label(kbook: Any) -> None:
    # Acme and Beta: give Beta exactly Acme's past due as of 31 March (A2 1,500.00 past due)
    beta = kbook.customers["beta"]
    lf.invoice(beta, "B9", "700.00", date=D(2026, 1, 5), due=D(2026, 2, 4))  # B1 800 + 700 = 1,500
    full = ms.aging(ms.SYSTEM, MARCH, "customer")
    pd = {r.label: r.open_ar - r.buckets[0] for r in full}
    assert pd["C-100 Acme Corp"] == pd[next(k for k in pd if k.startswith("C-200"))] == 150000
    head = ms.aging(ms.SYSTEM, MARCH, "customer", top=1)
    assert [r.label for r in head if r.currency == "USD"] == ["C-100 Acme Corp"]
    assert head == top_from_full(full, 1)
    with pytest.raises(InvalidInput):
        ms.aging(ms.SYSTEM, MARCH, "customer", top=-1)
