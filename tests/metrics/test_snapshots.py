"""KPI snapshots on the hand-built book of conftest.py (first date 1 October 2025, month ends October 2025
to March 2026): the stored figures equal the live computation; a backdated posting recomputes only the
periods it touches; a second refresh changes nothing; `trend_from_snapshots` equals `trend()`.
Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from ardesk.core.models import AuditLog
from ardesk.core.money import Money
from ardesk.ledger import bulk, services
from ardesk.ledger.models import Invoice
from ardesk.metrics import selectors as ms
from ardesk.metrics import snapshots as sn
from ardesk.metrics.models import KpiSnapshot, SnapshotPeriod, SnapshotWatermark
from tests.factories import ledger as lf

D = dt.date
MARCH = D(2026, 3, 31)
MONTHS = [D(2025, 10, 31), D(2025, 11, 30), D(2025, 12, 31), D(2026, 1, 31), D(2026, 2, 28), MARCH]
DIMS = (None, "collector", "territory", "customer")
METRICS = sorted(ms.TREND_METRICS)


def refresh(**kw: Any) -> sn.RefreshResult:
    kw.setdefault("to", MARCH)
    (result,) = sn.refresh(grain=kw.pop("grain", "month"), **kw)
    assert not result.busy
    return result


def stored(grain: str = "month") -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Every snapshot row of `grain`: (period end, dimension, key, currency) -> the whole row."""
    cols = [f.attname for f in KpiSnapshot._meta.concrete_fields if f.attname != "id"]
    return {
        (r[1], r[2], r[3], r[4]): r
        for r in KpiSnapshot.objects.filter(grain=grain).values_list(*cols).order_by("period_end", "id")
    }


def assert_matches_live(periods: list[dt.date], user: Any = ms.SYSTEM) -> None:
    for period in periods:
        for by in DIMS:
            snap = sn.kpis_from_snapshot(user, period, by)
            assert snap is not None, (period, by)
            assert snap == ms.kpis(user, period, by), (period, by)


def by_key(rows: list[ms.KpiRow]) -> dict[tuple[str | None, str], ms.KpiRow]:
    return {(r.key, r.currency): r for r in rows}


@pytest.fixture
def snapped(kbook: Any) -> Any:
    result = refresh()
    assert result.full == "first refresh"
    assert result.periods == MONTHS
    return kbook


# --- the stored figures ------------------------------------------------------------------------------


def test_snapshot_values_equal_the_live_computation(snapped: Any) -> None:
    assert_matches_live(MONTHS)
    assert set(SnapshotPeriod.objects.values_list("period_end", flat=True)) == set(MONTHS)

    # by hand: at the end of January, USD open = A2 2,000 + A4 400 + B1 800 (A1 paid 01-20); JPY K2
    jan = by_key(sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 1, 31)) or [])
    assert jan[(None, "USD")].open_ar == 320000
    assert jan[(None, "JPY")].open_ar == 50000
    dec = by_key(sn.kpis_from_snapshot(ms.SYSTEM, D(2025, 12, 31)) or [])
    assert dec[(None, "USD")].open_ar == 220000  # A1 1,000 + A4 400 + B1 800

    alice = snapped.alice.pk
    row = by_key(sn.kpis_from_snapshot(ms.SYSTEM, MARCH, "collector") or [])[(str(alice), "USD")]
    assert row.label == "alice"
    assert row.buckets == (300000, 0, 150000, 0, 0, 0)
    assert (row.open_ar, row.current, row.past_due, row.unapplied_cash) == (450000, 300000, 150000, 20000)
    assert (row.beginning_ar, row.sales_window, row.write_offs) == (140000, 500000, 40000)
    assert (row.dso, row.countback_dso, row.true_dso) == (
        Decimal("81.00"),
        Decimal("82.25"),
        Decimal("76.00"),
    )

    snap = KpiSnapshot.objects.get(grain="month", period_end=MARCH, dimension="collector", key=str(alice))
    assert (snap.open_ar, snap.bucket_0, snap.bucket_2, snap.dso) == (
        450000,
        300000,
        150000,
        Decimal("81.00"),
    )
    # receipts in the window 1 January - 31 March: P-A1 1,000 (01-20), P-A2 500 (03-01), P-A3 200 (03-20)
    assert snap.cash_collected == 170000
    # the unassigned customer is the empty collector key; its territory row is East
    assert KpiSnapshot.objects.filter(period_end=MARCH, dimension="collector", key="").exists()
    assert KpiSnapshot.objects.filter(period_end=MARCH, dimension="territory", key="East").exists()


def test_backdated_application_recomputes_only_the_periods_it_touches(snapped: Any) -> None:
    before = stored()
    acme = snapped.customers["acme"]
    pay = lf.payment(acme, "P-LATE", "500.00", date=D(2026, 1, 25))
    services.apply(
        actor=None,
        invoice=snapped.inv["A2"],
        payment=pay,
        amount=Money(50000, "USD"),
        applied_date=D(2026, 1, 25),
    )

    result = refresh()
    assert result.full == ""
    assert result.dirty_from == D(2026, 1, 25)
    assert result.periods == [D(2026, 1, 31), D(2026, 2, 28), MARCH]

    after = stored()
    assert set(after) == set(before)
    for key, row in after.items():
        if key[0] < D(2026, 1, 25):
            assert row == before[key], key  # untouched: same values, same computed_at
    assert_matches_live(MONTHS)
    jan = by_key(sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 1, 31)) or [])
    assert jan[(None, "USD")].open_ar == 270000
    alice = by_key(sn.kpis_from_snapshot(ms.SYSTEM, MARCH, "collector") or [])[(str(snapped.alice.pk), "USD")]
    assert alice.open_ar == 400000
    changed = {k for k in after if after[k][5:-1] != before[k][5:-1]}  # values, not the key or the stamp
    assert changed and all(k[0] >= D(2026, 1, 31) for k in changed)


def test_refresh_twice_changes_nothing_and_the_watermark_advances(snapped: Any) -> None:
    wm = SnapshotWatermark.objects.get(grain="month")
    top = AuditLog.objects.aggregate(m=Max("id"))["m"]
    assert wm.last_audit_id == top
    assert wm.computed_through == MARCH
    rows, periods = stored(), list(SnapshotPeriod.objects.values_list("period_end", "computed_at"))

    again = refresh()
    assert (again.periods, again.key_periods, again.rows, again.full) == ([], {}, 0, "")
    assert stored() == rows
    assert list(SnapshotPeriod.objects.values_list("period_end", "computed_at")) == periods
    assert SnapshotWatermark.objects.get(grain="month").last_audit_id == top

    lf.invoice(snapped.customers["gamma"], "G9", "10.00", date=D(2026, 3, 30))
    third = refresh()
    assert third.periods == [MARCH]
    wm2 = SnapshotWatermark.objects.get(grain="month")
    assert wm2.last_audit_id > top
    assert wm2.runs == wm.runs + 2
    assert_matches_live([MARCH])


def test_upsert_never_duplicates_and_a_running_refresh_is_left_alone(snapped: Any) -> None:
    cfg = sn.grain_configs()["month"]
    count = KpiSnapshot.objects.count()
    sn.compute_period(cfg, MARCH)
    sn.compute_period(cfg, MARCH)
    assert KpiSnapshot.objects.count() == count
    assert_matches_live([MARCH])

    SnapshotWatermark.objects.filter(grain="month").update(
        lease_token="someone-else", lease_until=timezone.now() + dt.timedelta(minutes=5)
    )
    lf.invoice(snapped.customers["gamma"], "G9", "10.00", date=D(2026, 3, 30))
    (busy,) = sn.refresh(grain="month", to=MARCH)
    assert busy.busy and busy.periods == []
    SnapshotWatermark.objects.filter(grain="month").update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert refresh().periods == [MARCH]  # an expired lease is taken over


# --- what the change feed sees ---------------------------------------------------------------------------


def test_cancellation_and_payment_reversal_are_read_from_the_audit_log(snapped: Any) -> None:
    """Neither writes a new dated row: the audit row's date is the earliest date touched."""
    services.cancel_invoice(
        actor=None, invoice=snapped.inv["D2"], on_date=D(2026, 3, 20), reason="billed twice"
    )
    result = refresh()
    assert result.dirty_from == D(2026, 3, 20)
    assert result.periods == [MARCH]
    assert_matches_live([MARCH])

    services.reverse_payment(actor=None, payment=snapped.pay["P-A1"], on_date=D(2026, 2, 10), reason="NSF")
    result = refresh()
    assert result.dirty_from == D(2026, 2, 10)
    assert result.periods == [D(2026, 2, 28), MARCH]
    assert_matches_live(MONTHS)

    # a receipt with nothing applied: its reversal writes no dated row, only the audit row says when
    services.reverse_payment(
        actor=None, payment=snapped.pay["P-A3"], on_date=D(2026, 3, 25), reason="recalled"
    )
    result = refresh()
    assert (result.dirty_from, result.periods) == (D(2026, 3, 25), [MARCH])
    assert_matches_live([MARCH])


def test_april_events_then_a_new_month_end(snapped: Any) -> None:
    snapped.post_april()
    result = refresh(to=D(2026, 4, 30))
    # everything in April is dated after 31 March: only the new month end is computed
    assert result.periods == [D(2026, 4, 30)]
    assert_matches_live([*MONTHS, D(2026, 4, 30)])


def test_reassigned_customer_recomputes_only_its_collectors_rows(snapped: Any) -> None:
    before = stored()
    acme = snapped.customers["acme"]
    services.reassign_customers(actor=snapped.mona, customers=[acme], collector=snapped.bob)
    result = refresh()
    assert result.periods == []
    assert result.key_periods == {"collector": len(MONTHS)}
    after = stored()
    for key, row in after.items():
        if key[1] != "collector":
            assert row == before[key], key
    assert not [
        k for k in after if k[1] == "collector" and k[2] == str(snapped.alice.pk)
    ]  # alice has nothing
    assert_matches_live(MONTHS)

    services.update_customer(actor=None, customer=acme, territory="North")
    result = refresh()
    assert result.key_periods == {"territory": len(MONTHS)}
    assert_matches_live(MONTHS)


def test_bulk_rows_without_their_own_audit_rows_are_found_by_id(snapped: Any) -> None:
    """The importer and the demo write through the bulk path: one batch audit row, no dates in it."""
    gamma = snapped.customers["gamma"]
    from django.db import transaction

    with transaction.atomic():
        (pk,) = bulk.reserve_ids(Invoice, 1)
        bulk.insert_rows(
            Invoice,
            [
                "id",
                "entity_id",
                "customer_id",
                "number",
                "invoice_date",
                "due_date",
                "currency",
                "amount_minor",
                "tax_minor",
                "open_minor",
                "status",
                "po_number",
                "erp_reference",
            ],
            [
                (
                    pk,
                    gamma.entity_id,
                    gamma.pk,
                    "BULK-1",
                    D(2025, 11, 15),
                    D(2025, 12, 15),
                    "USD",
                    12345,
                    0,
                    12345,
                    "open",
                    "",
                    "",
                )
            ],
        )
        bulk.record_batch(actor=None, action="import.invoices", object_type="imports.ImportBatch", count=1)
    result = refresh()
    assert result.dirty_from == D(2025, 11, 15)
    assert result.periods == MONTHS[1:]
    assert_matches_live(MONTHS)


def test_rows_committed_late_below_the_frontier_are_read_again(snapped: Any) -> None:
    """PostgreSQL hands out ids before commit: a row can appear below the frontier after a refresh. The
    count of the unsettled range tells; its earliest date is then taken as touched."""
    inv = lf.invoice(snapped.customers["gamma"], "G-LATE", "10.00", date=D(2025, 12, 5))
    state = dict(SnapshotWatermark.objects.get(grain="month").state)
    # as if the refresh before had read up to this invoice's id without seeing the invoice itself
    state["invoice"] = {"settled": inv.pk - 1, "frontier": inv.pk, "count": 0, "marks": []}
    changes, new_state, _ = sn.read_changes(state, sn.grain_configs()["month"].dimensions)
    assert changes.dirty_from == D(2025, 12, 5)
    assert new_state["invoice"]["frontier"] == inv.pk

    # the same for an audit row (a cancellation writes no dated row)
    services.cancel_invoice(
        actor=None, invoice=snapped.inv["D2"], on_date=D(2026, 3, 20), reason="billed twice"
    )
    row = AuditLog.objects.filter(action="invoice.cancel").latest("id")
    state = dict(new_state)
    state["audit"] = {"settled": row.pk - 1, "frontier": row.pk, "count": 0, "marks": []}
    changes, _, last = sn.read_changes(state, sn.grain_configs()["month"].dimensions)
    assert changes.dirty_from == D(2026, 3, 20)
    assert last == row.pk
    # with the right count the row is not read again
    state["audit"] = {"settled": row.pk - 1, "frontier": row.pk, "count": 1, "marks": []}
    changes, _, _ = sn.read_changes(state, sn.grain_configs()["month"].dimensions)
    assert changes.dirty_from is None


def test_a_ledger_reset_recomputes_everything(snapped: Any) -> None:
    bulk_note = "ardesk demo --reset"
    from django.db import transaction

    with transaction.atomic():
        bulk.record_batch(actor=None, action="demo.reset", object_type="ledger", count=0, note=bulk_note)
    result = refresh()
    assert result.full.startswith("demo.reset")
    assert result.periods == MONTHS


def test_changed_aging_buckets_recompute_everything(snapped: Any) -> None:
    from ardesk.ledger.models import Organization

    Organization.objects.update_or_create(pk=1, defaults={"aging_buckets": [0, 30, 60, 90]})
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH) is None  # stored with other buckets: not served
    result = refresh()
    assert result.full == "the aging buckets changed"
    assert_matches_live(MONTHS)


# --- trends from snapshots ---------------------------------------------------------------------------


@pytest.mark.parametrize("by", DIMS)
def test_trend_from_snapshots_equals_trend(snapped: Any, by: str | None) -> None:
    start, end = D(2025, 9, 1), D(2026, 4, 15)  # September has no snapshot, 15 April is a partial point
    for metric in METRICS:
        assert sn.trend_from_snapshots(ms.SYSTEM, metric, start, end, "month", by) == ms.trend(
            ms.SYSTEM, metric, start, end, "month", by
        ), metric


def test_trend_from_snapshots_after_a_backdated_payment(snapped: Any) -> None:
    acme = snapped.customers["acme"]
    pay = lf.payment(acme, "P-LATE", "500.00", date=D(2026, 1, 25))
    services.apply(
        actor=None,
        invoice=snapped.inv["A2"],
        payment=pay,
        amount=Money(50000, "USD"),
        applied_date=D(2026, 1, 25),
    )
    refresh()
    for by in DIMS:
        for metric in ("open_ar", "past_due", "dso", "countback_dso", "true_dso", "cei", "add", "adp"):
            assert sn.trend_from_snapshots(
                ms.SYSTEM, metric, D(2025, 10, 1), MARCH, "quarter", by
            ) == ms.trend(ms.SYSTEM, metric, D(2025, 10, 1), MARCH, "quarter", by), (by, metric)


def test_trend_from_snapshots_reads_the_snapshots(snapped: Any) -> None:
    KpiSnapshot.objects.filter(period_end=D(2026, 1, 31), dimension="", currency="USD").update(open_ar=1)
    points = sn.trend_from_snapshots(ms.SYSTEM, "open_ar", D(2025, 10, 1), MARCH)
    assert [p.value for p in points if p.as_of == D(2026, 1, 31) and p.currency == "USD"] == [1]
    # options a snapshot does not hold are computed from the ledger
    live = sn.trend_from_snapshots(ms.SYSTEM, "open_ar", D(2025, 10, 1), MARCH, window_days=30)
    assert [p.value for p in live if p.as_of == D(2026, 1, 31) and p.currency == "USD"] == [320000]


def test_scoped_users_get_their_own_slices(snapped: Any) -> None:
    alice, mona = snapped.alice, snapped.mona
    for user, by in ((alice, "collector"), (alice, "customer"), (mona, "collector"), (alice, None)):
        for metric in ("open_ar", "dso", "cei"):
            assert sn.trend_from_snapshots(user, metric, D(2025, 10, 1), MARCH, "month", by) == ms.trend(
                user, metric, D(2025, 10, 1), MARCH, "month", by
            ), (user, by, metric)
    assert sn.kpis_from_snapshot(alice, MARCH, "collector") is not None  # her whole portfolio: served
    assert sn.kpis_from_snapshot(alice, MARCH, None) is None  # a part of the book: computed
    assert sn.kpis_from_snapshot(snapped.nobody, MARCH, "collector") == []
    one = sn.kpis_from_snapshot(
        ms.SYSTEM, MARCH, "customer", filters={"customer": snapped.customers["acme"].pk}
    )
    assert one == ms.kpis(ms.SYSTEM, MARCH, "customer", filters={"customer": snapped.customers["acme"].pk})


def test_daily_snapshots_serve_daily_and_weekly_trends(kbook: Any, settings: Any) -> None:
    settings.ARDESK_SNAPSHOTS = {"day": {"dimensions": ["", "collector"], "days": 10}}
    result = refresh(grain="day")
    assert result.periods == [D(2026, 3, 22) + dt.timedelta(days=i) for i in range(10)]
    for by in (None, "collector"):
        assert sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 3, 25), by) == ms.kpis(ms.SYSTEM, D(2026, 3, 25), by)
        for step in ("day", "week"):
            assert sn.trend_from_snapshots(
                ms.SYSTEM, "past_due", D(2026, 3, 15), MARCH, step, by
            ) == ms.trend(ms.SYSTEM, "past_due", D(2026, 3, 15), MARCH, step, by)
    assert sn.kpis_from_snapshot(ms.SYSTEM, D(2026, 3, 25), "customer") is None  # not a daily dimension
    # the window moves: the oldest day is dropped
    result = refresh(grain="day", to=D(2026, 4, 1))
    assert result.periods == [D(2026, 4, 1)] and result.removed == 1


def test_empty_book_and_a_period_before_the_first_invoice(book: Any) -> None:
    result = refresh()
    assert result.periods == []
    assert sn.kpis_from_snapshot(ms.SYSTEM, MARCH) is None
    points = sn.trend_from_snapshots(ms.SYSTEM, "open_ar", D(2026, 1, 1), MARCH)
    assert points == ms.trend(ms.SYSTEM, "open_ar", D(2026, 1, 1), MARCH)


def test_snapshot_command(kbook: Any) -> None:
    from io import StringIO

    out = StringIO()
    call_command("snapshot", "--grain", "month", "--to", "2026-03-31", stdout=out)
    assert "month: 6 periods recomputed (first refresh)" in out.getvalue()
    out = StringIO()
    call_command("snapshot", "--grain", "month", "--to", "2026-03-31", stdout=out)
    assert "month: 0 periods recomputed," in out.getvalue()
    out = StringIO()
    call_command("snapshot", "--grain", "month", "--to", "2026-03-31", "--from", "2026-02-01", stdout=out)
    assert "month: 2 periods recomputed (changes from 2026-02-01)" in out.getvalue()
