"""Templates for the classic aggressive collection goals.

Each template sets one goal or several linked goals (the same `link`), over the scope and period the
manager picks:
- **cut_past_due_25**: past-due amount -25% from the baseline.
- **cut_pct_past_due_25**: % past due -25% from the baseline (relative: 40.00% becomes 30.00%).
- **cut_dso_days**: DSO down by N days from the baseline (default 5).
- **cut_deduction_cycle_time**: deduction cycle time (mean days from opened to resolved) -25%.
- **double_contacts**: double the contacts, the way teams do it: a modest rise in calls (+25%) and a
  larger rise in emails (+150%), two linked goals on the trailing 30-day counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PresetGoal:
    label: str
    metric: str
    direction: str
    target_kind: str
    amount: Decimal | None  # None: the template's parameter (negated for a decrease)


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    why: str
    goals: tuple[PresetGoal, ...]
    param_label: str = ""
    default_param: Decimal | None = None

    def amount(self, g: PresetGoal, param: Decimal | None) -> Decimal:
        if g.amount is not None:
            return g.amount
        value = self.default_param if param is None else param
        assert value is not None
        return -abs(value) if g.direction == "decrease" else abs(value)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "cut_past_due_25",
            "Cut past-due 25%",
            "Past-due money is revenue earned and not yet collected; every dollar brought current is cash "
            "for the business and less risk of a write-off.",
            (PresetGoal("Cut past-due 25%", "past_due", "decrease", "relative", Decimal(-25)),),
        ),
        Preset(
            "cut_pct_past_due_25",
            "Cut % past due 25%",
            "A smaller share of the book past due means customers pay on terms and the forecast holds.",
            (PresetGoal("Cut % past due 25%", "pct_past_due", "decrease", "relative", Decimal(-25)),),
        ),
        Preset(
            "cut_dso_days",
            "Cut DSO by N days",
            "Each day of DSO is a day of sales tied up in receivables instead of in the bank.",
            (PresetGoal("Cut DSO", "dso", "decrease", "change", None),),
            param_label="days",
            default_param=Decimal(5),
        ),
        Preset(
            "cut_deduction_cycle_time",
            "Cut deduction cycle time 25%",
            "Every day a deduction stays open is cash held back and a customer waiting for an answer; "
            "resolve them faster and the valid ones become credits, the invalid ones cash.",
            (
                PresetGoal(
                    "Cut deduction cycle time 25%",
                    "deduction_cycle_time",
                    "decrease",
                    "relative",
                    Decimal(-25),
                ),
            ),
        ),
        Preset(
            "double_contacts",
            "Double contacts (calls +25%, emails +150%)",
            "Customers we talk to pay first; more touches, mostly by email, reach the accounts a phone "
            "queue never gets to.",
            (
                PresetGoal("More calls (+25%)", "calls", "increase", "relative", Decimal(25)),
                PresetGoal("More emails (+150%)", "emails", "increase", "relative", Decimal(150)),
            ),
        ),
    )
}
PRESET_CHOICES = [(p.key, p.label) for p in PRESETS.values()]
