"""Forms of the dispute pages: they parse, the services decide."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from ardesk.core.errors import ArdeskError
from ardesk.core.money import Money, to_minor

from . import selectors
from .models import Channel, Department, Kind, ReasonCode, Resolution, RootCause, Status

EXPORT_FORMATS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)")]
ANY = [("", "Any")]
ACTIVE_CHOICES = [(s.value, s.label) for s in Status if s not in (Status.RESOLVED, Status.CLOSED)]


def parse_money(text: str, currency: str, field: str = "amount") -> Money:
    """'1,234.50' in `currency` -> Money; InvalidInput-like ValidationError when it does not parse."""
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise forms.ValidationError(f"{text!r} is not an amount such as 1234.50") from None
    try:
        return Money(to_minor(value, currency), currency)
    except ArdeskError as exc:
        raise forms.ValidationError(exc.message) from None


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "Active"), ("all", "All"), *Status.choices], required=False
    )
    owner = forms.CharField(required=False, help_text="a username, 'me' or 'none'")
    department = forms.ChoiceField(choices=ANY + Department.choices, required=False)
    reason = forms.ModelChoiceField(
        ReasonCode.objects.all(), required=False, to_field_name="code", empty_label="Any"
    )
    kind = forms.ChoiceField(choices=ANY + Kind.choices, required=False)
    overdue = forms.BooleanField(required=False, label="Overdue only")
    q = forms.CharField(required=False, label="Search", help_text="customer, reference or invoice number")
    format = forms.ChoiceField(choices=EXPORT_FORMATS, required=False, widget=forms.HiddenInput)


class OpenForm(forms.Form):
    reason = forms.ModelChoiceField(ReasonCode.objects.filter(active=True), to_field_name="code")
    channel = forms.ChoiceField(
        choices=[(c.value, c.label) for c in (Channel.COLLECTOR, Channel.CUSTOMER_EMAIL)],
        initial=Channel.COLLECTOR,
    )
    customer_reason_code = forms.CharField(max_length=40, required=False, label="Customer's reason code")
    customer_reference = forms.CharField(max_length=80, required=False, label="Customer's reference")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = UserChoiceField(queryset=None, required=False, empty_label="(unassigned)")
    department = forms.ChoiceField(choices=[("", "(from the reason)"), *Department.choices], required=False)

    def __init__(self, *args: Any, invoices: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoices = invoices
        self.fields["owner"].queryset = selectors.users_who_may_own()  # type: ignore[attr-defined]

    def lines(self, data: Any) -> list[tuple[Any, Money]]:
        """The ticked invoices with their amounts (errors added to the form, naming the invoice)."""
        out: list[tuple[Any, Money]] = []
        for inv in self.invoices:
            if not data.get(f"pick_{inv.pk}"):
                continue
            text = (data.get(f"amount_{inv.pk}") or "").strip()
            if not text:
                out.append((inv, inv.open_amount))
                continue
            try:
                out.append((inv, parse_money(text, inv.currency)))
            except forms.ValidationError as exc:
                self.add_error(None, f"{inv.number}: {exc.messages[0]}")
        if not out and not self.errors:
            self.add_error(None, "tick at least one invoice")
        return out


class AssignForm(forms.Form):
    owner = UserChoiceField(queryset=None, required=False, empty_label="(unassigned)")
    department = forms.ChoiceField(choices=Department.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.users_who_may_own()  # type: ignore[attr-defined]


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in ACTIVE_CHOICES if c[0] != Status.OPEN])
    note = forms.CharField(required=False, max_length=300)


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note")


class AttachmentForm(forms.Form):
    file = forms.FileField()


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=Resolution.choices)
    root_cause = forms.ChoiceField(choices=RootCause.choices, label="Root cause")
    valid_amount = forms.CharField(required=False, label="Valid amount (partially valid only)")
    on_date = forms.DateField(required=False, label="Resolved on", help_text="default: today")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReopenForm(forms.Form):
    reason = forms.CharField(max_length=300)


class ReportForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of")
    days = forms.IntegerField(required=False, min_value=7, max_value=730, label="Window (days)")
    export = forms.ChoiceField(
        choices=[
            ("", ""),
            ("open", "Open"),
            ("cycle", "Cycle time"),
            ("pareto", "Root causes"),
            ("validity", "Valid vs invalid"),
        ],
        required=False,
    )
    format = forms.ChoiceField(choices=EXPORT_FORMATS, required=False)

    def values(self, today: dt.date) -> tuple[dt.date, int]:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("as_of") or today, data.get("days") or 90
