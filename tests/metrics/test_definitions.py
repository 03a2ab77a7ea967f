"""The KPI definitions as pure functions: DOMAIN.md's worked checks, hand-computed fixtures for every
other metric and every edge case, and a property that aging buckets always add up to open AR."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ardesk.core.errors import InvalidInput
from ardesk.metrics import definitions as d

D = dt.date
AS_OF = D(2026, 3, 31)


# --- DOMAIN.md worked checks ---------------------------------------------------------------------------


def test_countback_and_period_dso_worked_check():
    months = [(100_000, 30), (80_000, 30), (70_000, 30)]
    assert d.countback_dso(212_000, months) == Decimal("73.71")
    assert d.dso(212_000, 250_000, 90) == Decimal("76.32")


def test_cei_worked_check():
    assert d.cei(300_000, 150_000, 275_000, 120_000) == Decimal("53.03")


def test_adp_worked_check():
    sums = d.paid_sums(
        [
            (D(2026, 1, 1), D(2026, 1, 31), D(2026, 1, 11), 100),
            (D(2026, 1, 1), D(2026, 1, 31), D(2026, 1, 21), 1000),
        ]
    )
    assert sums == {"count": 2, "amount": 1100, "days": 30, "days_x_amount": 21000, "late_x_amount": -12000}
    assert d.average_days_to_pay(sums["days"], sums["count"]) == Decimal("15.00") == Decimal("15.0")
    assert d.average_days_to_pay_weighted(sums["days_x_amount"], sums["amount"]) == Decimal("19.09")


# --- hand-computed fixtures ------------------------------------------------------------------------------


def test_dso_family_on_the_same_book():
    # AR 212,000 of which 60,000 not yet due; 250,000 sold in 90 days.
    assert d.best_possible_dso(60_000, 250_000, 90) == Decimal("21.60")
    assert d.average_days_delinquent(212_000, 60_000, 250_000, 90) == Decimal("54.72")  # 76.32 - 21.60
    assert d.dso(212_000, 250_000, 30) == Decimal("25.44")


def test_add_is_rounded_once_from_the_unrounded_parts():
    # DSO 1/3 x 90 = 30.00 (exact), BP 1/7 x 90 = 12.857.. -> 12.86; ADD = 90 x 4/21 = 17.142.. -> 17.14
    assert d.dso(7, 21, 90) == Decimal("30.00")
    assert d.best_possible_dso(3, 21, 90) == Decimal("12.86")
    assert d.average_days_delinquent(7, 3, 21, 90) == Decimal("17.14")  # not 30.00 - 12.86 = 17.14 by luck
    assert d.average_days_delinquent(2, 1, 3, 1) == Decimal("0.33")


def test_true_dso():
    # As of 31 March: 50 open from 1 March (30 days, March sales 100) and 30 open from 10 February
    # (49 days, February sales 60): 30 x 50/100 + 49 x 30/60 = 15 + 24.5.
    assert d.true_dso([(30 * 50, 100), (49 * 30, 60)]) == Decimal("39.50")
    assert d.true_dso([]) == Decimal("0.00")
    assert d.true_dso([(100, 0)]) == Decimal("0.00")  # a month with no sales contributes nothing


def test_countback_edges():
    assert d.countback_dso(0, [(100, 31)]) == Decimal("0.00")
    assert d.countback_dso(-5, []) == Decimal("0.00")
    # A month with no sales adds its days while AR remains.
    assert d.countback_dso(150, [(100, 31), (0, 28), (100, 31)]) == Decimal("74.50")
    # Exactly exhausted by a month: that month's days, no more.
    assert d.countback_dso(180, [(100, 31), (80, 28), (70, 31)]) == Decimal("59.00")
    # AR beyond all months given: the rest at the average daily sales of those months (200 per 60 days).
    assert d.countback_dso(1000, [(100, 30), (100, 30)]) == Decimal("300.00")
    assert d.countback_dso(1000, [(0, 30), (0, 31)]) is None
    assert d.countback_dso(1000, []) is None


def test_shares_and_past_due_change():
    assert d.pct_past_due(25, 80) == Decimal("31.25")
    assert d.pct_current(1, 3) == Decimal("33.33")
    assert d.pct_over_90(2, 3) == Decimal("66.67")
    assert d.pct_current(0, 0) is None and d.pct_past_due(0, 0) is None and d.pct_over_90(0, 0) is None
    assert d.past_due_change(75_000, 100_000) == (-25_000, Decimal("-25.00"))
    assert d.past_due_change(5, 0) == (5, None)


def test_turnover_bad_debt_days_late():
    assert d.ar_turnover(150_000, 300_000, 275_000) == Decimal("0.52")  # 150,000 / 287,500
    assert d.ar_turnover(10, 0, 0) is None
    assert d.bad_debt_ratio(1_500, 150_000) == Decimal("1.00")
    assert d.bad_debt_ratio(-200, 150_000) == Decimal("-0.13")  # recoveries exceed write-offs
    assert d.average_days_late(5 * 100 - 2 * 300, 400) == Decimal("-0.25")  # early payment counts negative
    assert d.average_days_late(0, 0) is None


def test_zero_sales_is_undefined_not_an_error():
    assert d.dso(1000, 0, 90) is None
    assert d.best_possible_dso(1000, 0, 90) is None
    assert d.average_days_delinquent(1000, 0, 0, 90) is None
    assert d.bad_debt_ratio(10, 0) is None
    assert d.cei(0, 0, 0, 0) is None
    assert d.average_days_to_pay(0, 0) is None and d.average_days_to_pay_weighted(0, 0) is None
    # With sales but no AR, the DSO family is zero days.
    assert d.dso(0, 500, 90) == Decimal("0.00")


def test_only_credits_and_nothing_collectible():
    # A customer with only credits has no open AR: shares undefined, DSO zero if it sold anything.
    assert d.pct_past_due(0, 0) is None
    assert d.cei(0, 100, 0, 0) == Decimal("100.00")
    assert d.cei(100, 0, 100, 100) is None  # everything still current: nothing was collectible


def test_zero_decimal_currency_is_just_integers():
    # JPY: minor unit = 1 yen; the same formulas, the same rounding.
    assert d.dso(150_000, 150_000, 90) == Decimal("90.00")
    assert d.best_possible_dso(100_000, 150_000, 90) == Decimal("60.00")
    assert d.cei(0, 150_000, 150_000, 100_000) == Decimal("0.00")


def test_rounding_is_half_even_once():
    assert d.round_step(Fraction(1, 8)) == Decimal("0.12")
    assert d.round_step(Fraction(3, 8)) == Decimal("0.38")
    assert d.round_step(Fraction(-1, 8)) == Decimal("-0.12")
    assert str(d.round_step(0)) == "0.00"
    assert d.round_step(Fraction(2, 3), places=1) == Decimal("0.7")


def test_translate_minor():
    assert d.translate_minor(10_000, "JPY", "USD", Decimal("0.0067")) == 6_700
    assert d.translate_minor(12_345, "USD", "JPY", Decimal("150.5")) == 18_579  # 18,579.225 yen
    assert d.translate_minor(1, "USD", "EUR", Decimal("0.5")) == 0  # half to even
    assert d.translate_minor(3, "USD", "EUR", Decimal("0.5")) == 2
    assert d.translate_minor(1_000, "KWD", "USD", Decimal("3.25")) == 325  # 1.000 KWD
    assert d.translate_minor(42, "USD", "USD", Decimal("9")) == 42


def test_countback_months_and_month_days():
    assert d.countback_months(D(2026, 3, 15), 3) == [("2026-03", 15), ("2026-02", 28), ("2026-01", 31)]
    assert d.countback_months(D(2024, 1, 31), 2) == [("2024-01", 31), ("2023-12", 31)]
    assert d.month_days(2024, 2) == 29 and d.month_days(2025, 12) == 31


def test_results_are_decimal_never_float():
    values = [
        d.dso(1, 3),
        d.countback_dso(1, [(3, 30)]),
        d.true_dso([(1, 3)]),
        d.cei(3, 1, 1, 0),
        d.average_days_to_pay_weighted(1, 3),
        d.ar_turnover(1, 1, 2),
    ]
    assert all(type(v) is Decimal for v in values)


# --- aging ---------------------------------------------------------------------------------------------


def test_bucket_labels_and_index():
    assert d.bucket_labels() == ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
    assert d.bucket_labels(basis="invoice") == ["0-30", "31-60", "61-90", "91-120", "120+"]
    assert d.bucket_labels([30, 60]) == ["Current", "1-30", "31-60", "60+"]
    assert d.bucket_labels([0]) == ["Current", "0+"]
    assert [d.bucket_index(n) for n in (-5, 0, 1, 30, 31, 90, 91, 120, 121)] == [0, 0, 1, 1, 2, 3, 4, 4, 5]
    assert [d.bucket_index(n, basis="invoice") for n in (0, 30, 31, 121)] == [0, 0, 1, 4]


@pytest.mark.parametrize("bounds", [[30, 30], [60, 30], [-1, 30], "0,30", [0, 1.5]])
def test_bad_bounds_are_refused(bounds):
    with pytest.raises(InvalidInput):
        d.bucket_labels(bounds)


def test_aging_by_hand_with_a_future_invoice():
    items = [
        (D(2026, 3, 15), D(2026, 4, 14), 300),  # current
        (D(2026, 3, 1), D(2026, 3, 31), 50),  # due today: current
        (D(2026, 1, 10), D(2026, 2, 9), 150),  # 50 days past due
        (D(2025, 10, 1), D(2025, 10, 31), 80),  # 151 days
        (D(2026, 4, 5), D(2026, 5, 5), 999),  # dated after the as-of date: does not exist yet
    ]
    assert d.aging(items, AS_OF) == [350, 0, 150, 0, 0, 80]
    assert d.open_ar(items, AS_OF) == 580
    assert d.current_ar(items, AS_OF) == 350
    # Invoice-date basis: ages 16, 30, 80, 181.
    assert d.aging(items, AS_OF, basis="invoice") == [350, 0, 150, 0, 80]
    # Before the first invoice: nothing.
    assert d.aging(items, D(2025, 1, 1)) == [0] * 6 and d.open_ar(items, D(2025, 1, 1)) == 0


dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2040, 12, 31))
bounds_st = st.lists(st.integers(0, 4000), max_size=8, unique=True).map(sorted)
item_st = st.tuples(dates, st.integers(0, 400), st.integers(-(10**12), 10**12)).map(
    lambda t: (t[0], t[0] + dt.timedelta(days=t[1]), t[2])
)


@given(items=st.lists(item_st, max_size=30), bounds=bounds_st, as_of=dates, basis=st.sampled_from(d.BASES))
def test_bucket_totals_always_equal_open_ar(items, bounds, as_of, basis):
    totals = d.aging(items, as_of, bounds, basis)
    assert len(totals) == len(d.bucket_labels(bounds, basis))
    assert sum(totals) == d.open_ar(items, as_of)


@given(n=st.integers(-(10**30), 10**30), den=st.integers(-(10**12), 10**12).filter(bool))
def test_integer_rounding_is_exact_half_even(n, den):
    assert d.div_half_even(n, den) == round(Fraction(n, den))
    sign, digits, exponent = d.round_step(Fraction(n, den)).as_tuple()
    assert exponent == -2
    assert (-1 if sign else 1) * int("".join(map(str, digits))) == round(Fraction(n, den) * 100)
