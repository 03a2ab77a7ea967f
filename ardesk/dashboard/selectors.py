"""What the dashboard shows, composed from the ledger's scoped selectors (the dashboard reads, never writes).

Figures come per currency (the organization's base currency first): two currencies are never added
together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ardesk.core.money import Money
from ardesk.ledger import selectors as ledger
from ardesk.ledger.selectors import Balance


@dataclass(frozen=True)
class CurrencyPanel:
    balance: Balance
    past_due_pct: Decimal | None
    aging: list[int]
    top_past_due: list[dict[str, Any]]

    @property
    def currency(self) -> str:
        return self.balance.currency

    def chart(self, labels: list[str]) -> dict[str, Any]:
        """Chart data: amounts as exact decimal strings in major units (the browser only draws them)."""
        values = [str(Money(v, self.currency).amount) for v in self.aging]
        return {"currency": self.currency, "labels": labels, "values": values}


@dataclass(frozen=True)
class Dashboard:
    as_of: dt.date
    bucket_labels: list[str]
    panels: list[CurrencyPanel]

    @property
    def charts(self) -> list[dict[str, Any]]:
        return [p.chart(self.bucket_labels) for p in self.panels]


def _pct(part: int, whole: int) -> Decimal | None:
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1")) if whole else None


def dashboard(user: Any, as_of: dt.date) -> Dashboard:
    org = ledger.organization_settings()
    bounds = org.aging_buckets
    labels = ledger.bucket_labels(bounds)
    summary = ledger.ar_summary(user, as_of)
    aging = ledger.aging_totals(ledger.invoices_for_user(user), as_of, bounds)
    panels = [
        CurrencyPanel(
            balance=bal,
            past_due_pct=_pct(bal.past_due, bal.open_ar),
            aging=aging.get(cur, [0] * len(labels)),
            top_past_due=ledger.top_past_due(user, as_of, cur) if bal.past_due else [],
        )
        for cur, bal in sorted(summary.items(), key=lambda kv: (kv[0] != org.base_currency, kv[0]))
    ]
    return Dashboard(as_of=as_of, bucket_labels=labels, panels=panels)
