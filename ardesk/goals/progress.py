"""Progress of a goal: pure functions over numbers and dates, no database.

- **Target** (`resolve_target`): an absolute value, relative to the baseline (`baseline x (100 + pct) /
  100`: "-25%" on a baseline of 1,000 is 750) or a change from it (`baseline + delta`: "-5 days"), rounded
  to 0.01 half to even.
- **% achieved** = (actual - baseline) / (target - baseline) x 100, rounded to 0.01 half to even: the share
  of the way from the baseline to the target covered so far. 100 means the target is reached; above 100
  it is beaten; below 0 the measure moved the wrong way. When the baseline already meets the target (a
  goal to hold the line, e.g. keep a kept rate at 70% or more) it is 100 while the actual meets the
  target, else the share of the target reached (actual / target x 100 for an increase, target / actual
  x 100 for a decrease). With no baseline (the measure was undefined when the goal was
  set) an increase goal counts actual / target x 100; a decrease goal has no % achieved.
- **Pace** (projected value at the deadline) is linear from the baseline through the current value:
  `baseline + (actual - baseline) x (deadline - baseline date) / (as-of - baseline date)`, rounded to 0.01
  half to even. On the baseline date itself (no elapsed time), with no baseline, or on or after the
  deadline, the projection is the actual value.
- **Status** from the projection's % achieved: **on track** at 100 or more, **at risk** from 80 up to 100,
  **off track** below 80. With no elapsed time yet there is no trend: on track if the actual already
  meets the target, else at risk. No actual value (the measure is undefined) is **no data**.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
NO_DATA = "no_data"
STATUS_LABELS = {ON_TRACK: "On track", AT_RISK: "At risk", OFF_TRACK: "Off track", NO_DATA: "No data"}
AT_RISK_FROM = Decimal(80)
ON_TRACK_FROM = Decimal(100)
CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    out = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return out.copy_abs() if out.is_zero() else out  # never "-0.00"


def meets(direction: str, value: Decimal, target: Decimal) -> bool:
    return value >= target if direction == "increase" else value <= target


ABSOLUTE = "absolute"
RELATIVE = "relative"
CHANGE = "change"
ADDITIVE_UNITS = frozenset({"money", "count"})


def resolve_target(
    *, kind: str, amount: Decimal, baseline: Decimal | None, unit: str, members: int = 1
) -> Decimal | None:
    """The absolute target of one goal.

    - absolute: `amount` is the target of each collector; for a group of `members` collectors the target
      of money and count measures is `amount x members` (their sum), of rates and days `amount` itself.
    - relative: `baseline x (100 + amount) / 100` (amount -25 is "cut by 25%"), rounded to 0.01 half even.
    - change: `baseline + amount` per collector (amount -5 on DSO is "cut DSO by 5 days"); a group's money
      and count targets move by `amount x members`.
    With no baseline a relative or change target is undefined (None).
    """
    n = members if unit in ADDITIVE_UNITS else 1
    if kind == ABSOLUTE:
        return q2(amount * n)
    if baseline is None:
        return None
    if kind == RELATIVE:
        return q2(baseline * (Decimal(100) + amount) / Decimal(100))
    return q2(baseline + amount * n)


def pct_achieved(
    *, direction: str, baseline: Decimal | None, target: Decimal | None, actual: Decimal | None
) -> Decimal | None:
    if actual is None or target is None:
        return None
    if baseline is None:
        if direction == "increase" and target != 0:
            return q2(actual * 100 / target)
        return None
    if meets(direction, baseline, target):  # met at the baseline already: a goal to hold the line
        if meets(direction, actual, target):
            return Decimal("100.00")
        if direction == "increase":
            return q2(actual * 100 / target) if target != 0 else Decimal("0.00")
        return q2(target * 100 / actual) if actual != 0 else Decimal("0.00")
    return q2((actual - baseline) * 100 / (target - baseline))


def projected(
    *,
    baseline: Decimal | None,
    baseline_date: dt.date,
    actual: Decimal | None,
    as_of: dt.date,
    deadline: dt.date,
) -> Decimal | None:
    if actual is None:
        return None
    if baseline is None or as_of <= baseline_date or as_of >= deadline:
        return actual
    elapsed = (as_of - baseline_date).days
    span = (deadline - baseline_date).days
    return q2(baseline + (actual - baseline) * span / elapsed)


def status(
    *,
    direction: str,
    baseline: Decimal | None,
    target: Decimal | None,
    actual: Decimal | None,
    projection: Decimal | None,
    as_of: dt.date,
    baseline_date: dt.date,
) -> str:
    if actual is None or target is None or projection is None:
        return NO_DATA
    if as_of <= baseline_date:
        return ON_TRACK if meets(direction, actual, target) else AT_RISK
    pace = pct_achieved(direction=direction, baseline=baseline, target=target, actual=projection)
    if pace is None:
        return ON_TRACK if meets(direction, projection, target) else OFF_TRACK
    if pace >= ON_TRACK_FROM:
        return ON_TRACK
    if pace >= AT_RISK_FROM:
        return AT_RISK
    return OFF_TRACK


@dataclass(frozen=True)
class Progress:
    as_of: dt.date
    actual: Decimal | None
    target: Decimal | None
    pct: Decimal | None
    projected: Decimal | None
    status: str

    @property
    def bar(self) -> int:
        """Width of a progress bar, 0 to 100."""
        if self.pct is None:
            return 0
        return int(max(Decimal(0), min(Decimal(100), self.pct)))

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def progress(
    *,
    direction: str,
    baseline: Decimal | None,
    baseline_date: dt.date,
    target: Decimal | None,
    deadline: dt.date,
    actual: Decimal | None,
    as_of: dt.date,
) -> Progress:
    """Everything above for one goal on one date."""
    proj = projected(
        baseline=baseline, baseline_date=baseline_date, actual=actual, as_of=as_of, deadline=deadline
    )
    return Progress(
        as_of=as_of,
        actual=actual,
        target=target,
        pct=pct_achieved(direction=direction, baseline=baseline, target=target, actual=actual),
        projected=proj,
        status=status(
            direction=direction,
            baseline=baseline,
            target=target,
            actual=actual,
            projection=proj,
            as_of=as_of,
            baseline_date=baseline_date,
        ),
    )
