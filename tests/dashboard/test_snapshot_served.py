"""The AR overview and its trend read the figures a fresh snapshot holds (the comparison date a window
earlier, the month ends of the trend) and compute the rest; the result is identical to computing every
figure from the ledger, on the seeded demo book of tests/metrics/test_seeded_book.py (pinned to the cent
on SQLite and PostgreSQL), before and after the ledger changes under the snapshots.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from ardesk.core.money import Money
from ardesk.dashboard import selectors as ds
from ardesk.ledger import demo, services
from ardesk.ledger.models import Invoice
from ardesk.metrics import selectors as ms
from ardesk.metrics import snapshots as sn
from ardesk.metrics.models import KpiSnapshot
from tests.metrics.test_seeded_book import AS_OF, PINNED_TOTALS

from .helpers import changes, table_rows, tiles

PREVIOUS = AS_OF - dt.timedelta(days=90)  # the overview's comparison date, 2026-04-01


@pytest.fixture
def seeded(db: Any, settings: Any) -> Any:
    settings.ARDESK_DASHBOARD_CACHE_SECONDS = 0  # every figure read or computed for the request
    demo.build(demo.DemoConfig(seed=7, customers=60, years=2, as_of=AS_OF))
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=demo.ADMIN_USERNAME)


def refresh(to: dt.date) -> None:
    for result in sn.refresh(to=to):
        assert not result.busy


def opts(as_of: dt.date = AS_OF) -> ds.Options:
    return ds.Options(as_of=as_of, bounds=(0, 30, 60, 90, 120))


def live_overview(user: Any, settings: Any, as_of: dt.date = AS_OF) -> ds.Overview:
    settings.ARDESK_DASHBOARD_SNAPSHOTS = False
    try:
        return ds.overview(user, opts(as_of))
    finally:
        settings.ARDESK_DASHBOARD_SNAPSHOTS = True


def live_trend(user: Any, settings: Any) -> list[ds.TrendSeries]:
    settings.ARDESK_DASHBOARD_SNAPSHOTS = False
    try:
        return ds.trend(ds.Reader(user, opts()), ("dso", "cei", "pct_past_due"))
    finally:
        settings.ARDESK_DASHBOARD_SNAPSHOTS = True


def test_overview_from_snapshots_equals_the_live_overview(seeded: Any, settings: Any) -> None:
    refresh(AS_OF - dt.timedelta(days=1))  # a nightly refresh: the as-of date itself is computed
    reader = ds.Reader(seeded, opts())
    served = ds.overview(seeded, opts(), reader)
    assert sn.kpis_from_snapshot(seeded, PREVIOUS) is not None  # the comparison date is a daily snapshot
    assert sn.kpis_from_snapshot(seeded, AS_OF) is None
    live = live_overview(seeded, settings)
    assert served == live
    # and both are what the metrics engine computes for those dates, figure for figure
    direct = {r.currency: r for r in ms.kpis(seeded, AS_OF, bounds=[0, 30, 60, 90, 120])}
    earlier = {r.currency: r for r in ms.kpis(seeded, PREVIOUS, bounds=[0, 30, 60, 90, 120])}
    assert {p.currency: p.row for p in served.panels} == direct
    assert {p.currency: p.previous for p in served.panels} == earlier
    assert {p.currency: p.row.open_ar for p in served.panels} == {
        c: t["open_ar"] for c, t in PINNED_TOTALS.items()
    }
    assert ds.trend(reader, ("dso", "cei", "pct_past_due")) == live_trend(seeded, settings)


def test_the_overview_reads_the_snapshot(seeded: Any, settings: Any) -> None:
    """Proof that the comparison figure comes from the snapshot: a doctored snapshot row shows."""
    refresh(AS_OF - dt.timedelta(days=1))
    KpiSnapshot.objects.filter(grain="day", period_end=PREVIOUS, dimension="", currency="USD").update(
        open_ar=7
    )
    served = ds.overview(seeded, opts())
    usd = next(p for p in served.panels if p.currency == "USD")
    assert usd.previous is not None and usd.previous.open_ar == 7
    assert live_overview(seeded, settings) != served


def test_stale_snapshots_are_not_served(seeded: Any, settings: Any) -> None:
    refresh(AS_OF)
    before = ds.overview(seeded, opts())
    assert before == live_overview(seeded, settings)
    # a payment backdated before the comparison date: every snapshot from that day on is stale
    early = PREVIOUS - dt.timedelta(days=30)
    invoice = Invoice.objects.filter(status="open", currency="USD", invoice_date__lte=early).order_by("id")[0]
    pay = services.post_payment(
        actor=None,
        customer=invoice.customer,
        reference="BACKDATED",
        payment_date=PREVIOUS - dt.timedelta(days=5),
        amount=Money(invoice.open_minor, "USD"),
    )
    services.apply(
        actor=None,
        invoice=invoice,
        payment=pay,
        amount=Money(invoice.open_minor, "USD"),
        applied_date=PREVIOUS - dt.timedelta(days=5),
    )
    assert sn.kpis_from_snapshot(seeded, PREVIOUS) is None
    after = ds.overview(seeded, opts())
    assert after == live_overview(seeded, settings)
    usd = {p.currency: p for p in after.panels}["USD"]
    was = {p.currency: p for p in before.panels}["USD"]
    assert usd.row.open_ar == was.row.open_ar - invoice.open_minor
    assert usd.previous is not None and was.previous is not None
    assert usd.previous.open_ar == was.previous.open_ar - invoice.open_minor
    assert ds.trend(ds.Reader(seeded, opts()), ("dso", "cei", "pct_past_due")) == live_trend(seeded, settings)


def test_pages_are_the_same_with_and_without_snapshots(seeded: Any, settings: Any) -> None:
    refresh(AS_OF - dt.timedelta(days=1))
    client = Client()
    client.force_login(seeded)
    pages = {}
    for use in (True, False):
        settings.ARDESK_DASHBOARD_SNAPSHOTS = use
        home = client.get(f"/?as_of={AS_OF}").content.decode()
        trend = client.get(f"/reports/trends/?as_of={AS_OF}").content.decode()
        tops = [table_rows(home, f"top-{cur}") for cur in ("USD", "CAD", "EUR")]
        pages[use] = (tiles(home), changes(home), tops, trend)
    assert pages[True] == pages[False]
    assert pages[True][0][0] == ("open_ar", "369,018.96 USD")  # the pinned USD open AR
    assert all(pages[True][2])  # every currency has past-due customers
