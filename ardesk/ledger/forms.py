"""Forms of the ledger pages: list filters (parsed from the query string) and the contact editor.

A filter form turns `request.GET` into the keyword arguments of a list selector. A value that does not
parse is reported on the form and ignored, so a hand-edited URL shows the list instead of an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django import forms

from ardesk.core.money import CURRENCY_CHOICES

from . import selectors
from .models import Contact, Customer, Invoice, LegalEntity

EXPORT_FORMATS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)")]
ANY = [("", "Any")]


@dataclass(frozen=True)
class ListParams:
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = ""
    export: str = ""


class CollectorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class ListFilterForm(forms.Form):
    """Base of the list filters: `sort` and `format` travel in the query string but are not filter
    fields; subclasses set `sorts` (the selector's whitelist) and `default_sort`."""

    sorts: dict[str, tuple[str, ...]] = {}
    default_sort = ""
    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=EXPORT_FORMATS, required=False, widget=forms.HiddenInput)

    def __init__(self, user: Any, data: Any = None) -> None:
        super().__init__(data)
        self.user = user

    def clean_sort(self) -> str:
        value = self.cleaned_data.get("sort") or self.default_sort
        if value not in self.sorts:
            raise forms.ValidationError("unknown sort order")
        return value

    def scope_collectors(self, user: Any) -> None:
        cast(forms.ModelChoiceField, self.fields["collector"]).queryset = selectors.collectors_for_user(user)

    def filter_fields(self) -> list[forms.BoundField]:
        return [f for f in self.visible_fields() if f.name not in ("sort", "format")]

    def params(self) -> ListParams:
        """Valid values only (a bad value is left out, and shown as an error on the form)."""
        self.is_valid()
        data = dict(self.cleaned_data)
        sort = data.pop("sort", None) or self.default_sort
        export = data.pop("format", None) or ""
        return ListParams(filters={"sort": sort, **data}, sort=sort, export=export)


class CustomerFilterForm(ListFilterForm):
    sorts = selectors.CUSTOMER_SORTS
    default_sort = "name"
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or account number"}),
    )
    entity = forms.ModelChoiceField(LegalEntity.objects.all(), required=False, empty_label="Any")
    territory = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    status = forms.ChoiceField(choices=ANY + Customer.Status.choices, required=False)
    risk_class = forms.ChoiceField(
        label="Risk class", choices=ANY + Customer.RiskClass.choices, required=False
    )
    collector = CollectorChoiceField(queryset=None, required=False, empty_label="Any")
    has_past_due = forms.BooleanField(label="Has past due", required=False)

    def __init__(self, user: Any, data: Any = None) -> None:
        super().__init__(user, data)
        facets = selectors.customer_facets(user)
        cast(forms.ChoiceField, self.fields["territory"]).choices = ANY + [
            (t, t) for t in facets["territory"]
        ]
        cast(forms.ChoiceField, self.fields["region"]).choices = ANY + [(r, r) for r in facets["region"]]
        self.scope_collectors(user)


class InvoiceFilterForm(ListFilterForm):
    sorts = selectors.INVOICE_SORTS
    default_sort = "-date"
    customer = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Account or name"}),
    )
    entity = forms.ModelChoiceField(LegalEntity.objects.all(), required=False, empty_label="Any")
    status = forms.ChoiceField(choices=ANY + Invoice.Status.choices, required=False)
    currency = forms.ChoiceField(choices=ANY + CURRENCY_CHOICES, required=False)
    date_from = forms.DateField(
        label="Dated from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="Dated to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    collector = CollectorChoiceField(queryset=None, required=False, empty_label="Any")
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, user: Any, data: Any = None) -> None:
        super().__init__(user, data)
        self.scope_collectors(user)


class PaymentFilterForm(ListFilterForm):
    sorts = selectors.PAYMENT_SORTS
    default_sort = "-date"
    customer = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Account or name"}),
    )
    entity = forms.ModelChoiceField(LegalEntity.objects.all(), required=False, empty_label="Any")
    status = forms.ChoiceField(
        choices=[
            *ANY,
            ("unapplied", "Unapplied cash"),
            ("applied", "Fully applied"),
            ("reversed", "Reversed"),
        ],
        required=False,
    )
    currency = forms.ChoiceField(choices=ANY + CURRENCY_CHOICES, required=False)
    date_from = forms.DateField(
        label="Paid from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label="Paid to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    collector = CollectorChoiceField(queryset=None, required=False, empty_label="Any")

    def __init__(self, user: Any, data: Any = None) -> None:
        super().__init__(user, data)
        self.scope_collectors(user)


class ContactForm(forms.ModelForm):
    """Parses a contact; the write goes through `services.add_contact` / `update_contact`, never `save()`."""

    class Meta:
        model = Contact
        fields = [
            "name",
            "role",
            "email",
            "phone",
            "preferred_channel",
            "time_zone",
            "is_primary",
            "opt_out_email",
            "opt_out_phone",
            "opt_out_sms",
        ]
        labels = {
            "opt_out_email": "Opted out of email",
            "opt_out_phone": "Opted out of calls",
            "opt_out_sms": "Opted out of SMS",
            "is_primary": "Primary contact",
        }

    def fields_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
