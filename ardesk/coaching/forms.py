from __future__ import annotations

from django import forms

from ardesk.goals.measures import METRIC_CHOICES


class SessionForm(forms.Form):
    held_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Held on")
    focus = forms.MultipleChoiceField(
        choices=METRIC_CHOICES, widget=forms.CheckboxSelectMultiple, label="Focus areas"
    )
    agreed_actions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Agreed actions")
    follow_up_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), required=False, label="Follow-up date"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
