"""Forms of the activity pages: the two-click call log, the activity list filters, the report options."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms

from ardesk.core.errors import ArdeskError
from ardesk.core.models import Team
from ardesk.core.money import Money
from ardesk.ledger.forms import ANY, CollectorChoiceField, ListFilterForm
from ardesk.ledger.models import Customer, Invoice
from ardesk.ledger.selectors import open_invoices

from .models import Kind, Outcome, Source
from .selectors import ACTIVITY_SORTS
from .services import PromiseTerms

DATE = forms.DateInput(attrs={"type": "date"})


class InvoiceChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number} ({Money(obj.open_minor, obj.currency)} open, due {obj.due_date:%Y-%m-%d})"


class LogCallForm(forms.Form):
    """Outcome is the submit button pressed; everything else is optional. A promise needs both its
    amount and its date; its currency is that of the invoices it names, else the customer's."""

    outcome = forms.ChoiceField(choices=Outcome.choices)
    contact: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="(no contact)"
    )
    duration_minutes = forms.IntegerField(label="Minutes", required=False, min_value=0, max_value=600)
    notes = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_on = forms.DateField(label="Next follow-up", required=False, widget=DATE)
    promise_amount = forms.DecimalField(
        label="Promise amount", required=False, min_value=Decimal("0.01"), max_digits=17, decimal_places=3
    )
    promise_date = forms.DateField(label="Promised date", required=False, widget=DATE)
    promise_invoices = InvoiceChoices(
        label="Invoices covered", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, customer: Customer, data: Any = None) -> None:
        super().__init__(data)
        self.customer = customer
        cast(forms.ModelChoiceField, self.fields["contact"]).queryset = customer.contacts.all()
        cast(forms.ModelMultipleChoiceField, self.fields["promise_invoices"]).queryset = open_invoices(
            customer.invoices.all()
        ).order_by("due_date", "id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amount, date = data.get("promise_amount"), data.get("promise_date")
        invoices: list[Invoice] = list(data.get("promise_invoices") or [])
        if (amount is None) != (date is None) and not self.errors:
            missing = "promise_date" if date is None else "promise_amount"
            self.add_error(missing, "a promise needs both an amount and a date")
        self.promise: PromiseTerms | None = None
        if amount is not None and date is not None:
            currencies = {inv.currency for inv in invoices}
            if len(currencies) > 1:
                self.add_error("promise_invoices", "one promise, one currency: pick invoices in one currency")
                return data
            currency = currencies.pop() if currencies else self.customer.currency
            try:
                money = Money.of(amount, currency)
            except ArdeskError as exc:
                self.add_error("promise_amount", exc.message)
                return data
            self.promise = PromiseTerms(amount=money, promised_date=date, invoices=invoices)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        minutes = d.get("duration_minutes")
        return {
            "outcome": d["outcome"],
            "contact": d.get("contact"),
            "duration_seconds": None if minutes is None else minutes * 60,
            "notes": d.get("notes") or "",
            "follow_up_on": d.get("follow_up_on"),
            "invoices": list(d.get("promise_invoices") or []),
            "promise": self.promise,
        }


class ActivityFilterForm(ListFilterForm):
    sorts = ACTIVITY_SORTS
    default_sort = "-date"
    customer = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Account or name"}),
    )
    collector = CollectorChoiceField(queryset=None, required=False, empty_label="Any")
    kind = forms.ChoiceField(choices=ANY + Kind.choices, required=False)
    outcome = forms.ChoiceField(choices=ANY + Outcome.choices, required=False)
    source = forms.ChoiceField(choices=ANY + Source.choices, required=False)
    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To", required=False, widget=DATE)

    def __init__(self, user: Any, data: Any = None) -> None:
        super().__init__(user, data)
        from .selectors import reportable_collectors

        cast(forms.ModelChoiceField, self.fields["collector"]).queryset = reportable_collectors(user)


class ReportForm(forms.Form):
    """The report's window (default: the month to date of `today`) and team."""

    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To", required=False, widget=DATE)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")
    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "XLSX")], required=False, widget=forms.HiddenInput
    )

    def __init__(self, user: Any, data: Any, today: dt.date) -> None:
        super().__init__(data)
        from .selectors import reportable_teams

        self.today = today
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = reportable_teams(user)

    def window(self) -> tuple[dt.date, dt.date, Team | None, str]:
        self.is_valid()
        d = getattr(self, "cleaned_data", {})
        end = d.get("date_to") or self.today
        start = d.get("date_from") or end.replace(day=1)
        if start > end:
            self.add_error("date_from", "the window starts after it ends; showing the month to date")
            start = end.replace(day=1)
        return start, end, d.get("team"), d.get("format") or ""
