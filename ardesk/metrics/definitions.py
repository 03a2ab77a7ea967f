"""KPI definitions: pure functions, no database, no clock (../shared/DOMAIN.md is the source).

Inputs are integers (money in minor units of one currency, or sums of days x minor units) and dates.
Results are `Decimal`, computed exactly (integer arithmetic, `div_half_even`) and rounded **once** to a
stated step with ROUND_HALF_EVEN (banker's rounding): days, percentages and times to 0.01. `float` is
never used.

Every edge case has a defined answer, never an exception: a ratio whose denominator is zero (no sales in
the window, no open AR, nothing paid) is `None` ("undefined"), which reports show as a blank.
Composite figures (ADD = DSO - Best Possible DSO) are computed from the unrounded parts and rounded once,
so they can differ by 0.01 from the difference of the rounded parts.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from ardesk.core.errors import InvalidInput
from ardesk.core.money import minor_units

Basis = Literal["due", "invoice"]
BASES: tuple[Basis, ...] = ("due", "invoice")
DEFAULT_BOUNDS: tuple[int, ...] = (0, 30, 60, 90, 120)
DEFAULT_WINDOW_DAYS = 90
OVER_DAYS = 90  # "% over 90": more than 90 days past due
PLACES = 2  # the rounding step of every Decimal result: 0.01


# --- rounding ----------------------------------------------------------------------------------------


def div_half_even(num: int, den: int) -> int:
    """num / den rounded to an integer, half to even, in exact integer arithmetic (den != 0)."""
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)  # floor division: 0 <= r < den
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


def _decimal(scaled: int, places: int) -> Decimal:
    """The Decimal scaled / 10**places with exactly `places` decimals: (7371, 2) -> 73.71, 0 -> 0.00."""
    if scaled and -(10**27) < scaled < 10**27:  # exact within the context's 28 digits; fast
        return Decimal(scaled).scaleb(-places)
    digits = tuple(int(c) for c in str(abs(scaled)))  # zero ("0.00", not "0E-2") and huge values
    return Decimal((1 if scaled < 0 else 0, digits, -places))


def round_step(value: Fraction | int, places: int = PLACES) -> Decimal:
    """Round an exact rational once to `places` decimals, half to even: 73.714285... -> 73.71."""
    f = Fraction(value)
    return _decimal(div_half_even(f.numerator * 10**places, f.denominator), places)


def _ratio(num: int, den: int, factor: int = 1) -> Decimal | None:
    """num / den x factor, rounded once to 0.01 (None when den is zero). Integer arithmetic only."""
    if den == 0:
        return None
    return _decimal(div_half_even(num * factor * 10**PLACES, den), PLACES)


# --- aging -------------------------------------------------------------------------------------------


def aging_uppers(bounds: Sequence[int]) -> tuple[int, ...]:
    """The upper bounds (in days) of the buckets after Current. A leading 0 (the Current bucket's bound,
    as stored in Organization.aging_buckets) is dropped: [0, 30, 60, 90, 120] -> (30, 60, 90, 120)."""
    if isinstance(bounds, str | bytes) or not all(
        isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bounds
    ):
        raise InvalidInput("aging buckets must be whole numbers of days, e.g. [0, 30, 60, 90, 120]")
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
        raise InvalidInput("aging bucket bounds must increase")
    return tuple(bounds[1:] if bounds and bounds[0] == 0 else bounds)


def bucket_labels(bounds: Sequence[int] = DEFAULT_BOUNDS, basis: Basis = "due") -> list[str]:
    """Labels of the buckets. Due basis: Current, 1-30, 31-60, 61-90, 91-120, 120+ (the default bounds).
    Invoice basis (age since the invoice date, which is never "not yet due"): 0-30, 31-60, 61-90, 91-120,
    120+. The last bucket holds everything beyond the last bound."""
    uppers = aging_uppers(bounds)
    labels: list[str] = []
    prev = 0
    if basis == "due":
        labels.append("Current")
        for upper in uppers:
            labels.append(f"{prev + 1}-{upper}")
            prev = upper
    else:
        for i, upper in enumerate(uppers):
            labels.append(f"{0 if i == 0 else prev + 1}-{upper}")
            prev = upper
    labels.append(f"{prev}+")
    return labels


def bucket_index(days: int, bounds: Sequence[int] = DEFAULT_BOUNDS, basis: Basis = "due") -> int:
    """The bucket of an item `days` old. Due basis: `days` = days past due; 0 or less is Current (index
    0), then 1..upper_1 is index 1 and so on. Invoice basis: `days` = days since the invoice date; index 0
    is 0..upper_1. Beyond the last bound: the last index."""
    uppers = aging_uppers(bounds)
    offset = 1 if basis == "due" else 0
    if basis == "due" and days <= 0:
        return 0
    for i, upper in enumerate(uppers):
        if days <= upper:
            return i + offset
    return len(uppers) + offset


def aging(
    items: Iterable[tuple[dt.date, dt.date, int]],
    as_of: dt.date,
    bounds: Sequence[int] = DEFAULT_BOUNDS,
    basis: Basis = "due",
) -> list[int]:
    """Bucket totals of open items `(invoice_date, due_date, open_minor)` at the end of `as_of`.

    Options: `bounds` (see `bucket_labels`), `basis` "due" (days past the due date, the default) or
    "invoice" (days since the invoice date). An item dated after `as_of` does not exist yet and is left
    out. Every other item lands in exactly one bucket, so the totals always add up to `open_ar`."""
    totals = [0] * len(bucket_labels(bounds, basis))
    for invoice_date, due_date, amount in items:
        if invoice_date > as_of:
            continue
        ref = due_date if basis == "due" else invoice_date
        totals[bucket_index((as_of - ref).days, bounds, basis)] += amount
    return totals


def open_ar(items: Iterable[tuple[dt.date, dt.date, int]], as_of: dt.date) -> int:
    """Total open AR at the end of `as_of`: the open amounts of items invoiced on or before it."""
    return sum(amount for invoice_date, _due, amount in items if invoice_date <= as_of)


def current_ar(items: Iterable[tuple[dt.date, dt.date, int]], as_of: dt.date) -> int:
    """Open AR not yet due at the end of `as_of` (due date on or after it)."""
    return sum(amount for inv, due, amount in items if inv <= as_of and due >= as_of)


# --- shares of open AR -------------------------------------------------------------------------------


def pct_current(current: int, total_open: int) -> Decimal | None:
    """% current = not-yet-due AR / total open AR x 100 (0.01). No open AR: None."""
    return _ratio(current, total_open, 100)


def pct_past_due(past_due: int, total_open: int) -> Decimal | None:
    """% past due = AR past its due date / total open AR x 100 (0.01). No open AR: None."""
    return _ratio(past_due, total_open, 100)


def pct_over_90(over_90: int, total_open: int) -> Decimal | None:
    """% over 90 = AR more than 90 days past due / total open AR x 100 (0.01). No open AR: None."""
    return _ratio(over_90, total_open, 100)


def past_due_change(past_due: int, baseline_past_due: int) -> tuple[int, Decimal | None]:
    """Change of the past-due amount against a baseline date: (difference in minor units, % change to
    0.01). A 25% cut reads (-x, -25.00). A zero baseline has no % change: None."""
    return past_due - baseline_past_due, _ratio(past_due - baseline_past_due, baseline_past_due, 100)


# --- DSO family --------------------------------------------------------------------------------------


def dso(ending_ar: int, sales: int, days: int = DEFAULT_WINDOW_DAYS) -> Decimal | None:
    """DSO (period method) = ending AR / credit sales invoiced in the window x days in the window
    (default 90), in days to 0.01. No sales in the window: None (undefined, not infinite)."""
    return _ratio(ending_ar * days, sales)


def countback_dso(ending_ar: int, months: Sequence[tuple[int, int]]) -> Decimal | None:
    """Countback DSO. `months` = (sales, days in month), newest month first.

    From ending AR subtract each month's sales, newest first, adding that month's days while AR remains;
    the month that exhausts AR adds (remaining AR / that month's sales) x its days. AR 212,000 and
    months (100,000, 30), (80,000, 30), (70,000, 30) give 30 + 30 + 32,000/70,000 x 30 = 73.71.

    Edge cases: no AR (zero or less) is 0.00. AR left after the oldest month given is counted at the
    average daily sales of all months given; with no sales in any of them the result is None."""
    if ending_ar <= 0:
        return _ratio(0, 1)
    remaining = ending_ar
    total = 0
    for sales, days in months:
        if sales > 0 and remaining <= sales:
            return _ratio(total * sales + remaining * days, sales)
        remaining -= max(sales, 0)
        total += days
    all_sales = sum(max(s, 0) for s, _ in months)
    all_days = sum(d for _, d in months)
    if all_sales == 0:
        return None
    return _ratio(total * all_sales + remaining * all_days, all_sales)


def true_dso(terms: Iterable[tuple[int, int]]) -> Decimal:
    """True DSO = sum over open invoices of (as-of date - invoice date) x (open amount / sales of that
    invoice's month). `terms` = (age in days x open amount, sales of the month), one per invoice or
    summed per month (the sum is linear). No open invoices: 0.00. A term whose month has no sales
    (possible only after currency translation rounds a tiny month to zero) is skipped."""
    num, den = 0, 1  # the exact sum num / den, without building Fraction objects
    for age_x_open, month_sales in terms:
        if month_sales:
            num, den = num * month_sales + age_x_open * den, den * month_sales
    return _decimal(div_half_even(num * 10**PLACES, den), PLACES)


def best_possible_dso(current: int, sales: int, days: int = DEFAULT_WINDOW_DAYS) -> Decimal | None:
    """Best Possible DSO = current (not yet due) AR / sales in the window x days in the window (0.01).
    No sales in the window: None."""
    return _ratio(current * days, sales)


def average_days_delinquent(
    ending_ar: int, current: int, sales: int, days: int = DEFAULT_WINDOW_DAYS
) -> Decimal | None:
    """Average Days Delinquent (balance based) = DSO - Best Possible DSO = past-due AR / sales x days,
    from the unrounded figures, rounded once (0.01). No sales in the window: None."""
    return _ratio((ending_ar - current) * days, sales)


def average_days_late(days_late_x_amount: int, amount: int) -> Decimal | None:
    """Average days late (invoice based) = amount-weighted mean of (paid date - due date) over invoices
    paid in full in the window: sum(days late x invoice amount) / sum(invoice amount). Early payment
    counts negative. Nothing paid in the window: None."""
    return _ratio(days_late_x_amount, amount)


# --- collection effectiveness ------------------------------------------------------------------------


def cei(beginning_ar: int, sales: int, ending_ar: int, ending_current: int) -> Decimal | None:
    """Collection Effectiveness Index = (beginning AR + sales in period - ending total AR) /
    (beginning AR + sales in period - ending current AR) x 100, with the whole period's sales and
    current = not yet due. 300,000 / 150,000 / 275,000 / 120,000 gives 53.03. A denominator of zero or
    less (nothing was collectible) is None."""
    den = beginning_ar + sales - ending_current
    if den <= 0:
        return None
    return _ratio(beginning_ar + sales - ending_ar, den, 100)


# --- paying behaviour --------------------------------------------------------------------------------


def average_days_to_pay(total_days: int, count: int) -> Decimal | None:
    """ADP (unweighted) = mean of (paid date - invoice date) over invoices paid in full in the window:
    sum of days / number of invoices. 10 and 20 days give 15.00. None paid: None."""
    return _ratio(total_days, count)


def average_days_to_pay_weighted(days_x_amount: int, amount: int) -> Decimal | None:
    """ADP weighted by invoice amount = sum(days to pay x amount) / sum(amount). 100 paid in 10 days and
    1,000 paid in 20 days give 21,000 / 1,100 = 19.09. None paid: None."""
    return _ratio(days_x_amount, amount)


def paid_sums(items: Iterable[tuple[dt.date, dt.date, dt.date, int]]) -> dict[str, int]:
    """Sums feeding ADP and days late from paid invoices `(invoice_date, due_date, paid_date, amount)`:
    count, amount, days (to pay), days_x_amount, late_x_amount."""
    out = dict.fromkeys(("count", "amount", "days", "days_x_amount", "late_x_amount"), 0)
    for invoice_date, due_date, paid_date, amount in items:
        days = (paid_date - invoice_date).days
        out["count"] += 1
        out["amount"] += amount
        out["days"] += days
        out["days_x_amount"] += days * amount
        out["late_x_amount"] += (paid_date - due_date).days * amount
    return out


def ar_turnover(sales: int, beginning_ar: int, ending_ar: int) -> Decimal | None:
    """AR turnover = sales in the period / average of beginning and ending AR (times, 0.01; for the
    period, not annualised). No AR at either end: None."""
    return _ratio(sales * 2, beginning_ar + ending_ar)


def bad_debt_ratio(net_write_offs: int, sales: int) -> Decimal | None:
    """Bad-debt ratio = write-offs net of recoveries (write-off reversals) in the period / sales in the
    period, as a percentage (0.01). No sales: None."""
    return _ratio(net_write_offs, sales, 100)


# --- currency ----------------------------------------------------------------------------------------


def translate_minor(minor: int, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """Translate an amount (or a sum of days x amount) in minor units at `rate` (units of `to_currency`
    per unit of `from_currency`), rounding once to the target's minor unit, half to even."""
    if from_currency == to_currency:
        return minor
    n, d = rate.as_integer_ratio()  # exact
    shift = minor_units(to_currency) - minor_units(from_currency)
    if shift >= 0:
        return div_half_even(minor * n * 10**shift, d)
    return div_half_even(minor * n, d * 10**-shift)


def month_days(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.date(year, month, 1)).days


def countback_months(as_of: dt.date, count: int) -> list[tuple[str, int]]:
    """(month key "YYYY-MM", days counted) for `count` calendar months ending at `as_of`, newest first;
    the newest month counts its days up to `as_of` (all of them at a month end)."""
    out: list[tuple[str, int]] = []
    y, m = as_of.year, as_of.month
    for i in range(count):
        out.append((f"{y:04d}-{m:02d}", as_of.day if i == 0 else month_days(y, m)))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out
