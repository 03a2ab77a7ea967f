"""Measures from facts: pure, exact; a group's rate comes from summed facts, never averaged rates."""

from __future__ import annotations

from decimal import Decimal as D

from ardesk.goals.measures import MEASURES, add_facts, fmt

ALICE = {
    "past_due": 30000,
    "open_ar": 100000,
    "over_90": 5000,
    "current": 70000,
    "sales_window": 90000,
    "beginning_ar": 80000,
    "calls": 40,
    "right_party_calls": 10,
    "emails_sent": 12,
    "contacts": 55,
    "ptps_taken": 6,
    "ptps_kept": 3,
    "ptps_partial": 1,
    "ptps_broken": 2,
    "cash_collected_minor": 123456,
    "collected_after_contact_minor": 100000,
}
BOB = {
    "past_due": 10000,
    "open_ar": 20000,
    "over_90": 0,
    "current": 10000,
    "sales_window": 0,
    "beginning_ar": 15000,
    "calls": 10,
    "right_party_calls": 8,
    "ptps_kept": 1,
}


def v(key, facts):
    return MEASURES[key].value(facts)


def test_each_measure():
    assert v("past_due", ALICE) == D(30000)
    assert v("pct_past_due", ALICE) == D("30.00")
    assert v("dso", ALICE) == D("100.00")  # 100,000 / 90,000 x 90
    # CEI = (80,000 + 90,000 - 100,000) / (80,000 + 90,000 - 70,000) = 70%
    assert v("cei", ALICE) == D("70.00")
    assert v("pct_over_90", ALICE) == D("5.00")
    assert [v(k, ALICE) for k in ("contacts", "calls", "emails", "right_party_contacts", "ptps_taken")] == [
        D(55),
        D(40),
        D(12),
        D(10),
        D(6),
    ]
    assert v("right_party_rate", ALICE) == D("25.00")
    assert v("ptp_kept_rate", ALICE) == D("50.00")  # 3 / (3 + 2 + 1)
    assert v("cash_collected", ALICE) == D(123456)
    assert v("collected_after_contact", ALICE) == D(100000)
    assert v("dso", BOB) is None  # no sales in the window
    assert v("ptp_kept_rate", {}) is None
    assert v("right_party_rate", {}) is None


def test_group_rates_from_summed_facts():
    group = add_facts([ALICE, BOB])
    assert group["calls"] == 50 and group["right_party_calls"] == 18
    assert v("right_party_rate", group) == D("36.00")  # not the mean of 25% and 80%
    assert v("pct_past_due", group) == D("33.33")  # 40,000 / 120,000
    assert v("ptp_kept_rate", group) == D("57.14")  # 4 / 7


def test_format():
    assert fmt("past_due", D(1234567), "USD") == "12,345.67 USD"
    assert fmt("past_due", D(1234567), "JPY") == "1,234,567 JPY"
    assert fmt("contacts", D(1200), "USD") == "1,200"
    assert fmt("pct_past_due", D("33.3"), "USD") == "33.30%"
    assert fmt("dso", D("41.5"), "USD") == "41.50 d"
    assert fmt("dso", None, "USD") == "–"


def test_deduction_measures_are_means_of_days():
    f = {
        "deductions_resolved": 3,
        "deduction_cycle_days": 50,
        "deductions_logged": 4,
        "deduction_log_lag_days": 9,
    }
    assert v("deduction_cycle_time", f) == D("16.67")  # 50 / 3
    assert v("deduction_log_lag", f) == D("2.25")
    assert v("deduction_cycle_time", {}) is None
