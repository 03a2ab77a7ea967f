"""Forms of the goals pages: a goal from a template or from scratch, the board's options, sharing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from ardesk.core.models import CollectorProfile

from . import selectors
from .measures import METRIC_CHOICES
from .models import Direction, ScopeKind, TargetKind
from .presets import PRESET_CHOICES

EXPORT_FORMATS = [("csv", "CSV"), ("xlsx", "XLSX")]


class GoalForm(forms.Form):
    template = forms.ChoiceField(
        choices=[("", "From scratch"), *PRESET_CHOICES], required=False, help_text="or set the fields below"
    )
    param = forms.DecimalField(
        required=False, min_value=0, max_digits=8, decimal_places=2, label="Days (DSO template)"
    )
    name = forms.CharField(max_length=200, required=False)
    metric = forms.ChoiceField(choices=METRIC_CHOICES, required=False)
    direction = forms.ChoiceField(choices=Direction.choices, required=False)
    target_kind = forms.ChoiceField(choices=TargetKind.choices, required=False)
    target_amount = forms.DecimalField(required=False, max_digits=20, decimal_places=2)
    scope_kind = forms.ChoiceField(choices=ScopeKind.choices)
    collector: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, required=False)
    team: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, required=False)
    territory = forms.CharField(max_length=80, required=False)
    title = forms.CharField(max_length=80, required=False)
    tier = forms.ChoiceField(choices=[("", "–"), *CollectorProfile.Tier.choices], required=False)
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    window_days = forms.IntegerField(min_value=1, max_value=366, initial=30, label="Activity window (days)")
    why = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Why this matters")

    def __init__(self, user: Any, *args: Any, today: dt.date, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"period_start": today, "deadline": today + dt.timedelta(days=90), "window_days": 30}
        )
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = selectors.managed_collectors(user).order_by("username")  # type: ignore[attr-defined]
        self.fields["team"].queryset = selectors.managed_teams(user)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("template"):
            for name in ("name", "metric", "direction", "target_kind", "why"):
                if not data.get(name):
                    self.add_error(name, "required when not using a template")
            if data.get("target_amount") is None:
                self.add_error("target_amount", "required when not using a template")
        return data

    def scope_value(self) -> str:
        kind = self.cleaned_data["scope_kind"]
        return str(self.cleaned_data.get(kind) or "") if kind in ("territory", "title", "tier") else ""


class BoardForm(forms.Form):
    by = forms.ChoiceField(choices=[(d, d.title()) for d in selectors.BOARD_DIMENSIONS], required=False)

    def dimension(self) -> str:
        return (self.cleaned_data.get("by") if self.is_valid() else None) or "collector"


class ExportForm(forms.Form):
    fmt = forms.ChoiceField(choices=EXPORT_FORMATS)
    by = forms.ChoiceField(choices=[(d, d) for d in selectors.BOARD_DIMENSIONS], required=False)


class SharingForm(forms.Form):
    shared = forms.BooleanField(required=False)
