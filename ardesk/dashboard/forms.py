"""The options of the KPI pages, parsed from the query string.

Every KPI page takes the same options: the as-of date, the window (days), the aging basis, the legal
entity, the currency mode and a filter on any customer dimension (collector, team, territory, title,
tier, region, industry, segment). The choices offered are those within the user's scope. A value that
does not parse is shown as an error on the form and ignored, so a hand-edited URL still shows a report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.http import QueryDict

from ardesk.core.models import CollectorProfile
from ardesk.ledger import selectors as ledger
from ardesk.ledger.models import LegalEntity

from .selectors import AGING_DIMENSIONS, COLLECTOR_SORTS, Options, aging_sorts

ANY = [("", "Any")]
NONE = "none"  # the choice for "no collector" / "no team"
WINDOWS = [(30, "30 days"), (60, "60 days"), (90, "90 days"), (180, "180 days"), (365, "365 days")]
DEFAULT_WINDOW = 90
TEXT_FACETS = ("territory", "region", "industry", "segment")
DIMENSION_FILTERS = ("collector", "team", "territory", "title", "tier", "region", "industry", "segment")


class KpiFilterForm(forms.Form):
    """As-of date, window, basis, entity, currency mode and one value per dimension filter."""

    as_of = forms.DateField(label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    window = forms.TypedChoiceField(label="Window", choices=WINDOWS, coerce=int, required=False)
    basis = forms.ChoiceField(
        label="Aging basis", choices=[("due", "Due date"), ("invoice", "Invoice date")], required=False
    )
    currency = forms.ChoiceField(
        label="Currency",
        choices=[("currency", "Each currency"), ("base", "Base currency")],
        required=False,
    )
    entity = forms.ChoiceField(label="Entity", required=False)
    collector = forms.ChoiceField(required=False)
    team = forms.ChoiceField(required=False)
    territory = forms.ChoiceField(required=False)
    title = forms.ChoiceField(required=False)
    tier = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    industry = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False)
    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "XLSX"), ("pdf", "PDF")], required=False, widget=forms.HiddenInput
    )

    primary = ("as_of", "window", "basis", "currency", "entity")
    export_formats: tuple[str, ...] = ("csv", "xlsx", "pdf")

    def __init__(self, user: Any, data: Any, *, today: dt.date) -> None:
        data = data.copy() if data is not None else QueryDict(mutable=True)
        defaults = {
            "as_of": today.isoformat(),
            "window": str(DEFAULT_WINDOW),
            "basis": "due",
            "currency": "currency",
        }
        for name, default in defaults.items():
            if not data.get(name):
                data[name] = default  # shown selected; an explicit value wins
        super().__init__(data)
        self.user = user
        self.today = today
        self._set_choices(user)

    def _set_choices(self, user: Any) -> None:
        """Choices within the user's scope: three queries (entities, collectors with their profiles,
        the text facets of the customers in scope)."""
        c = self.fields
        self.org = org = ledger.organization()
        cast(forms.ChoiceField, c["currency"]).choices = [
            ("currency", "Each currency"),
            ("base", f"Base currency ({org.base_currency})"),
        ]
        cast(forms.ChoiceField, c["entity"]).choices = ANY + [
            (code, code) for code in LegalEntity.objects.order_by("code").values_list("code", flat=True)
        ]
        collectors = list(ledger.collectors_for_user(user).select_related("collector__team"))
        people = [(str(u.pk), u.get_full_name() or u.username) for u in collectors]
        profiles = [p for p in (getattr(u, "collector", None) for u in collectors) if p is not None]
        teams = sorted({(str(p.team_id), p.team.name) for p in profiles if p.team is not None}, key=_label)
        tiers = dict(CollectorProfile.Tier.choices)
        cast(forms.ChoiceField, c["collector"]).choices = ANY + people + [(NONE, "(unassigned)")]
        cast(forms.ChoiceField, c["team"]).choices = ANY + teams + [(NONE, "(no team)")]
        cast(forms.ChoiceField, c["title"]).choices = ANY + [
            (t, t) for t in sorted({p.title for p in profiles} - {""})
        ]
        cast(forms.ChoiceField, c["tier"]).choices = ANY + [
            (k, str(tiers[k])) for k in tiers if k in {p.tier for p in profiles}
        ]
        facets: dict[str, set[str]] = {name: set() for name in TEXT_FACETS}
        for row in ledger.customers_for_user(user).order_by().values_list(*TEXT_FACETS).distinct():
            for name, value in zip(TEXT_FACETS, row, strict=True):
                facets[name].add(value)
        for name in TEXT_FACETS:
            cast(forms.ChoiceField, c[name]).choices = ANY + [(v, v) for v in sorted(facets[name] - {""})]

    def primary_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.primary if name in self.fields]

    def dimension_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in DIMENSION_FILTERS]

    def active_filters(self) -> int:
        self.is_valid()
        return sum(1 for name in DIMENSION_FILTERS if self.cleaned_data.get(name))

    def options(self) -> Options:
        """The valid options (a bad value falls back to its default and is shown as a form error)."""
        self.is_valid()
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        for name in DIMENSION_FILTERS:
            value = data.get(name) or ""
            if not value:
                continue
            if name in ("collector", "team"):
                filters[name] = None if value == NONE else int(value)
            else:
                filters[name] = value
        return Options(
            as_of=data.get("as_of") or self.today,
            window_days=data.get("window") or DEFAULT_WINDOW,
            basis=data.get("basis") or "due",
            currency_mode=data.get("currency") or "currency",
            entity=data.get("entity") or None,
            filters=filters,
            bounds=tuple(self.org.aging_buckets),
            base_currency=self.org.base_currency,
        )

    def export_format(self) -> str:
        self.is_valid()
        fmt = self.cleaned_data.get("format") or ""
        return fmt if fmt in self.export_formats else ""

    def filter_labels(self) -> list[tuple[str, str]]:
        """(label, chosen value's label) of each dimension filter in use, for the options line."""
        self.is_valid()
        out = []
        for name in DIMENSION_FILTERS:
            value = self.cleaned_data.get(name)
            if value:
                choices = {str(k): v for k, v in cast(list[tuple[str, str]], self.fields[name].choices)}  # type: ignore[attr-defined]
                out.append((str(self.fields[name].label or name.title()), str(choices.get(value, value))))
        return out


def _label(choice: tuple[str, str]) -> str:
    return choice[1].casefold()


class AgingFilterForm(KpiFilterForm):
    """The aging report: no window (aging is a position, not a period); a slicing dimension."""

    by = forms.ChoiceField(label="Rows by", choices=AGING_DIMENSIONS, required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    primary = ("by", "as_of", "basis", "currency", "entity")
    export_formats = ("csv", "xlsx")

    def __init__(self, user: Any, data: Any, *, today: dt.date) -> None:
        super().__init__(user, data, today=today)
        del self.fields["window"]

    def sort_key(self) -> str:
        self.is_valid()
        value = self.cleaned_data.get("sort") or ""
        allowed = aging_sorts(self.org.aging_buckets, self.cleaned_data.get("basis") or "due")
        return value if value.lstrip("-") in allowed else "label"

    def dimension(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("by") or "customer"


class CollectorFilterForm(KpiFilterForm):
    """The collector comparison: sortable columns."""

    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    export_formats = ("csv", "xlsx")

    def sort_key(self) -> str:
        self.is_valid()
        value = self.cleaned_data.get("sort") or ""
        return value if value.lstrip("-") in COLLECTOR_SORTS else "collector"


class DrillForm(AgingFilterForm):
    """A drill-down from one bucket of one aging row: the row's key and currency, the bucket index."""

    key = forms.CharField(required=False, max_length=100, strip=False)
    cur = forms.CharField(required=False, max_length=3)
    bucket = forms.IntegerField(required=False, min_value=0, max_value=50)
