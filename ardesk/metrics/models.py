"""KPI snapshots: the figures of `selectors.kpis()` at the end of each period (month ends, and days for a
recent window), per slice (the whole book, collector, territory, customer...) and currency, so trends and
dashboards read a few rows instead of rescanning the ledger for every point.

`KpiSnapshot` holds one (grain, period end, dimension, key, currency): money in integer minor units,
ratios as exact two-place Decimals (stored as integer hundredths: SQLite has no exact decimal column).
`SnapshotPeriod` marks a period as computed and records the options it was computed with (window, aging
bounds, dimensions); a period without one is "missing" and is computed from the ledger when read.
`SnapshotWatermark` is how far the change feed (audit log and ledger ids) has been read, one per grain.
`ardesk.metrics.snapshots` keeps them up to date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

MAX_BUCKETS = 10  # aging bucket columns bucket_0 .. bucket_9 (Current first on the due-date basis)


class CentiField(models.BigIntegerField):
    """A Decimal with exactly two places, stored as an integer number of hundredths: exact on SQLite and
    PostgreSQL alike (a DECIMAL column on SQLite may hold a float). None stays None."""

    description = "Decimal with two places, stored as integer hundredths"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-2)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value)).quantize(Decimal("0.01"))

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):  # already hundredths (lookups with raw integers)
            return value
        scaled = Decimal(value).scaleb(2)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than two decimal places")
        return int(scaled)

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        return forms.DecimalField(decimal_places=2, required=not self.null)


class Grain(models.TextChoices):
    MONTH = "month", "Month end"
    DAY = "day", "Day"


class SnapshotPeriod(models.Model):
    """One computed period of a grain, and the options its snapshots were computed with."""

    grain = models.CharField(max_length=5, choices=Grain.choices)
    period_end = models.DateField()
    window_days = models.PositiveSmallIntegerField()
    countback_months = models.PositiveSmallIntegerField()
    basis = models.CharField(max_length=7, default="due")
    bounds = models.JSONField(help_text="The aging bucket bounds, e.g. [0, 30, 60, 90, 120]")
    dimensions = models.JSONField(help_text='Dimensions snapshotted ("" = the whole book)')
    rows = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["grain", "-period_end"]
        constraints = [
            models.UniqueConstraint(fields=["grain", "period_end"], name="snapshot_period_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.period_end}"


class KpiSnapshot(models.Model):
    """The KPIs of one slice and currency at the end of one period (see `selectors.KpiRow`)."""

    grain = models.CharField(max_length=5, choices=Grain.choices)
    period_end = models.DateField()
    dimension = models.CharField(max_length=20, blank=True, help_text='"" = the whole book')
    key = models.CharField(
        max_length=100, blank=True, help_text='The slice key (an id or the text); "" = none / the total'
    )
    currency = models.CharField(max_length=3)

    # money: integer minor units of `currency`
    open_invoices = models.BigIntegerField(default=0)
    open_ar = models.BigIntegerField(default=0)
    current = models.BigIntegerField(default=0)
    past_due = models.BigIntegerField(default=0)
    over_90 = models.BigIntegerField(default=0)
    bucket_0 = models.BigIntegerField(default=0)
    bucket_1 = models.BigIntegerField(default=0)
    bucket_2 = models.BigIntegerField(default=0)
    bucket_3 = models.BigIntegerField(default=0)
    bucket_4 = models.BigIntegerField(default=0)
    bucket_5 = models.BigIntegerField(default=0)
    bucket_6 = models.BigIntegerField(default=0)
    bucket_7 = models.BigIntegerField(default=0)
    bucket_8 = models.BigIntegerField(default=0)
    bucket_9 = models.BigIntegerField(default=0)
    unapplied_cash = models.BigIntegerField(default=0)
    open_credits = models.BigIntegerField(default=0)
    net_ar = models.BigIntegerField(default=0)
    beginning_ar = models.BigIntegerField(default=0)
    sales_window = models.BigIntegerField(default=0)
    cash_collected = models.BigIntegerField(default=0, help_text="Receipts dated in the window")
    write_offs = models.BigIntegerField(default=0)
    # invoices paid in full in the window (the sums behind ADP and days late)
    paid_invoices = models.BigIntegerField(default=0)
    paid_amount = models.BigIntegerField(default=0)
    paid_days = models.BigIntegerField(default=0)
    paid_days_x_amount = models.BigIntegerField(default=0)
    late_x_amount = models.BigIntegerField(default=0)

    # ratios: Decimal, two places (None = undefined)
    pct_current = CentiField(null=True, blank=True)
    pct_past_due = CentiField(null=True, blank=True)
    pct_over_90 = CentiField(null=True, blank=True)
    dso = CentiField(null=True, blank=True)
    countback_dso = CentiField(null=True, blank=True)
    true_dso = CentiField(null=True, blank=True)
    best_possible_dso = CentiField(null=True, blank=True)
    add = CentiField(null=True, blank=True)
    avg_days_late = CentiField(null=True, blank=True)
    cei = CentiField(null=True, blank=True)
    adp = CentiField(null=True, blank=True)
    adp_weighted = CentiField(null=True, blank=True)
    ar_turnover = CentiField(null=True, blank=True)
    bad_debt_ratio = CentiField(null=True, blank=True)

    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["grain", "period_end", "dimension", "key", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "period_end", "dimension", "key", "currency"], name="kpi_snapshot_unique"
            ),
        ]

    def __str__(self) -> str:
        slice_ = f"{self.dimension}={self.key}" if self.dimension else "total"
        return f"{self.grain} {self.period_end} {slice_} {self.currency}"

    @property
    def buckets(self) -> list[int]:
        return [getattr(self, f"bucket_{i}") for i in range(MAX_BUCKETS)]


class SnapshotWatermark(models.Model):
    """How far the refresh of one grain has read the change feed, and the lease that keeps two refreshes
    of the grain from running at once.

    `state` holds, per source (the audit log and each ledger table), `settled` (every row with an id at or
    below it has been seen), `frontier` (the highest id seen), `count` (rows seen in (settled, frontier])
    and `marks` (recent (time, highest id) pairs): on PostgreSQL, ids are handed out before commit, so a
    row can appear below the frontier after a refresh; ids up to the frontier of a refresh older than the
    settle lag are treated as final, and a changed count in between is read again."""

    grain = models.CharField(max_length=5, choices=Grain.choices, unique=True)
    last_audit_id = models.BigIntegerField(default=0)
    state = models.JSONField(default=dict, blank=True)
    bounds = models.JSONField(null=True, blank=True)
    dimensions = models.JSONField(null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    computed_through = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    lease_token = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["grain"]

    def __str__(self) -> str:
        return f"{self.grain}: audit #{self.last_audit_id}, through {self.computed_through}"
