"""Pure rules of the activity log: promise evaluation and the activity rates. No database, no clock.

A promise's **deadline** is its promised date plus its grace days. `judge_promise` decides its status from
the money dated inside its window (taken_on .. deadline, and never after `as_of`), see
`ardesk.activities.services` for which money counts.

Rates follow the KPI engine (`ardesk.metrics.definitions`): exact integer arithmetic, rounded once to 0.01
with ROUND_HALF_EVEN; a rate whose denominator is zero is `None` (shown blank).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import Any

from ardesk.metrics.definitions import round_step

OPEN, KEPT, PARTIAL, BROKEN, CANCELLED = "open", "kept", "partial", "broken", "cancelled"
# how far a status may move: a later evaluation can only move a promise to the right
_RANK = {OPEN: 0, BROKEN: 1, PARTIAL: 2, KEPT: 3}


def promise_deadline(promised_date: dt.date, grace_days: int) -> dt.date:
    return promised_date + dt.timedelta(days=grace_days)


@dataclass(frozen=True)
class Verdict:
    status: str
    paid_minor: int
    resolved_on: dt.date | None


def judge_promise(
    *,
    amount_minor: int,
    taken_on: dt.date,
    deadline: dt.date,
    as_of: dt.date,
    money: Iterable[tuple[dt.date, int]],
) -> Verdict:
    """The status of a promise on `as_of` from dated money (date, minor units; negative = a reversal).

    Only money dated taken_on .. min(deadline, as_of) counts. Kept as soon as the running total reaches
    the amount (resolved_on = that day); after the deadline, partial with some money, broken with none
    (resolved_on = deadline + 1); otherwise open."""
    end = min(deadline, as_of)
    paid = 0
    kept_on: dt.date | None = None
    for day, amount in sorted(m for m in money if taken_on <= m[0] <= end):
        paid += amount
        if kept_on is None and paid >= amount_minor:
            kept_on = day
    if paid < amount_minor:
        kept_on = None  # a later reversal took it back below the amount
    paid = max(paid, 0)
    if kept_on is not None:
        return Verdict(KEPT, paid, kept_on)
    if as_of > deadline:
        return Verdict(PARTIAL if paid > 0 else BROKEN, paid, deadline + dt.timedelta(days=1))
    return Verdict(OPEN, paid, None)


def may_move(current: str, new: str) -> bool:
    """A stored status only moves forward: open -> broken -> partial -> kept (late money upgrades a broken
    promise; an earlier as-of never reopens one). Cancelled never moves."""
    if current == CANCELLED or new == CANCELLED:
        return False
    return _RANK[new] > _RANK[current]


# --- rates ----------------------------------------------------------------------------------------


def pct(num: int, den: int) -> Decimal | None:
    """num / den as a percentage rounded once to 0.01 (half even); None when den is zero."""
    if den == 0:
        return None
    return round_step(_frac(num * 100, den))


def per_day(count: int, days: int) -> Decimal:
    """count / days rounded once to 0.01 (half even); 0.00 when there is no working day."""
    if days <= 0:
        return Decimal("0.00")
    return round_step(_frac(count, days))


def _frac(num: int, den: int) -> Any:
    from fractions import Fraction

    return Fraction(num, den)


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from start through end (0 when end < start)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    wd = start.weekday()
    for i in range(rest):
        if (wd + i) % 7 < 5:
            count += 1
    return count


def kept_rates(
    kept: int, partial: int, broken: int, kept_amount: int, partial_amount: int, broken_amount: int
) -> tuple[Decimal | None, Decimal | None]:
    """Kept rate by count and by amount (DOMAIN.md): kept / (kept + broken + partial); by amount, the
    promised amounts of the kept promises over those of all three."""
    return (
        pct(kept, kept + partial + broken),
        pct(kept_amount, kept_amount + partial_amount + broken_amount),
    )


def credit_after_contact(
    payments: Iterable[tuple[int, dt.date, int]],
    contacts: Mapping[int, Sequence[tuple[dt.date, int]]],
    days: int,
) -> dict[int, int]:
    """Collected after contact (DOMAIN.md): each payment (customer id, date, amount) received within
    `days` days after a contact with that customer (the same day included) is credited, once, to the
    collector of the latest such contact. `contacts[customer]` is (date, collector id), sorted."""
    out: dict[int, int] = {}
    for customer_id, paid_on, amount in payments:
        seq = contacts.get(customer_id)
        if not seq:
            continue
        i = bisect.bisect_right(seq, paid_on, key=_first) - 1  # latest contact on or before paid_on
        if i < 0:
            continue
        contacted_on, collector = seq[i]
        if (paid_on - contacted_on).days <= days:
            out[collector] = out.get(collector, 0) + amount
    return out


def _first(item: tuple[dt.date, int]) -> dt.date:
    return item[0]


def median_of(values: Sequence[Decimal | int | None]) -> Decimal | None:
    """The median of the defined values (None when there are none), rounded to 0.01 half even."""
    present = [Decimal(v) for v in values if v is not None]
    if not present:
        return None
    return Decimal(median(present)).quantize(Decimal("0.01"))
