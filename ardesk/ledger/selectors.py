"""Reads of the AR subledger, scoped to the user who asks.

Scope: admins, credit analysts, cash-application clerks and auditors see the whole book; an AR manager
sees the portfolios of the collectors on the teams they manage or who report to them, plus unassigned
customers; a collector sees their own portfolio. Anything outside one's scope is `NotFound` (404), so an id
does not reveal whether it exists.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from ardesk.core.errors import InvalidInput, NotFound, PermissionDenied
from ardesk.core.money import Money
from ardesk.core.roles import Cap, Role, has_cap, has_global_scope, roles_of

from .models import (
    Application,
    Contact,
    CreditMemo,
    Customer,
    FxRate,
    Invoice,
    Organization,
    Payment,
    WriteOff,
)


def customer_scope_q(user: Any, prefix: str = "") -> Q | None:
    """The Q that limits customers to `user`'s scope (None = everything; Q(pk__in=[]) = nothing)."""
    roles = roles_of(user)
    if not roles:
        return Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
    if has_global_scope(user):
        return None
    q = Q(**{f"{prefix}collector": user})
    if Role.AR_MANAGER in roles:
        q |= (
            Q(**{f"{prefix}collector__collector__team__manager": user})
            | Q(**{f"{prefix}collector__collector__manager": user})
            | Q(**{f"{prefix}collector__isnull": True})
        )
    return q


def customers_for_user(user: Any) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    q = customer_scope_q(user)
    return qs if q is None else qs.filter(q)


def _scoped(qs: QuerySet[Any], user: Any) -> QuerySet[Any]:
    q = customer_scope_q(user, prefix="customer__")
    return qs if q is None else qs.filter(q)


def invoices_for_user(user: Any) -> QuerySet[Invoice]:
    return _scoped(Invoice.objects.all(), user)


def payments_for_user(user: Any) -> QuerySet[Payment]:
    return _scoped(Payment.objects.all(), user)


def credit_memos_for_user(user: Any) -> QuerySet[CreditMemo]:
    return _scoped(CreditMemo.objects.all(), user)


def contacts_for_user(user: Any) -> QuerySet[Contact]:
    return _scoped(Contact.objects.all(), user)


def applications_for_user(user: Any) -> QuerySet[Application]:
    q = customer_scope_q(user, prefix="invoice__customer__")
    qs = Application.objects.all()
    return qs if q is None else qs.filter(q)


def _get(qs: QuerySet[Any], pk: Any, label: str) -> Any:
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"{label} {pk} not found") from None


def _need(user: Any, cap: Cap | None) -> None:
    if cap is not None and not has_cap(user, cap):
        raise PermissionDenied("your role does not allow this")


def get_customer_for_user(user: Any, pk: Any, *, write: bool = False, cap: Cap | None = None) -> Customer:
    """Load a customer within `user`'s scope (404 outside it); with write=True also require the
    capability (default: edit customer), else 403."""
    customer = _get(
        customers_for_user(user).select_related("entity", "payment_terms", "collector", "parent"),
        pk,
        "customer",
    )
    if write:
        _need(user, cap or Cap.EDIT_CUSTOMER)
    return customer


def get_invoice_for_user(user: Any, pk: Any, *, cap: Cap | None = None) -> Invoice:
    invoice = _get(invoices_for_user(user).select_related("customer", "entity", "terms"), pk, "invoice")
    _need(user, cap)
    return invoice


def get_payment_for_user(user: Any, pk: Any, *, cap: Cap | None = None) -> Payment:
    payment = _get(payments_for_user(user).select_related("customer", "entity"), pk, "payment")
    _need(user, cap)
    return payment


def get_credit_memo_for_user(user: Any, pk: Any, *, cap: Cap | None = None) -> CreditMemo:
    memo = _get(credit_memos_for_user(user).select_related("customer"), pk, "credit memo")
    _need(user, cap)
    return memo


def get_contact_for_user(user: Any, pk: Any, *, write: bool = False) -> Contact:
    contact = _get(contacts_for_user(user).select_related("customer"), pk, "contact")
    if write:
        _need(user, Cap.EDIT_CUSTOMER)
    return contact


def get_application_for_user(user: Any, pk: Any, *, cap: Cap | None = None) -> Application:
    app = _get(
        applications_for_user(user).select_related("invoice", "payment", "credit_memo"), pk, "application"
    )
    _need(user, cap)
    return app


# --- balances ----------------------------------------------------------------------------------------

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.DISPUTED)


def open_invoices(qs: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    qs = Invoice.objects.all() if qs is None else qs
    return qs.filter(status__in=OPEN_STATUSES, open_minor__gt=0)


def descendant_ids(customer: Customer, max_depth: int = 10) -> list[int]:
    """The customer and every customer below it in the corporate hierarchy."""
    ids = [customer.pk]
    frontier = [customer.pk]
    for _ in range(max_depth):
        frontier = list(Customer.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        if not frontier:
            break
        ids.extend(frontier)
    return ids


@dataclass(frozen=True)
class Balance:
    currency: str
    open_ar: int
    past_due: int
    unapplied_cash: int
    open_credits: int
    open_invoices: int

    @property
    def net(self) -> int:
        return self.open_ar - self.unapplied_cash - self.open_credits

    def money(self, field: str) -> Money:
        return Money(getattr(self, field), self.currency)


def balances(customer_ids: list[int], as_of: dt.date) -> dict[str, Balance]:
    """Open AR, past due, unapplied cash and open credits per currency for these customers (current)."""
    inv = (
        open_invoices(Invoice.objects.filter(customer_id__in=customer_ids))
        .values("currency")
        .annotate(
            open_ar=Sum("open_minor"),
            past_due=Sum("open_minor", filter=Q(due_date__lt=as_of)),
            n=Count("id"),
        )
    )
    cash = (
        Payment.objects.filter(customer_id__in=customer_ids, unapplied_minor__gt=0, reversed_on__isnull=True)
        .values("currency")
        .annotate(total=Sum("unapplied_minor"))
    )
    credits = (
        CreditMemo.objects.filter(customer_id__in=customer_ids, unapplied_minor__gt=0)
        .values("currency")
        .annotate(total=Sum("unapplied_minor"))
    )
    out: dict[str, dict[str, int]] = {}
    for row in inv:
        out.setdefault(row["currency"], {}).update(
            open_ar=row["open_ar"] or 0, past_due=row["past_due"] or 0, open_invoices=row["n"]
        )
    for row in cash:
        out.setdefault(row["currency"], {})["unapplied_cash"] = row["total"] or 0
    for row in credits:
        out.setdefault(row["currency"], {})["open_credits"] = row["total"] or 0
    return {
        cur: Balance(
            currency=cur,
            open_ar=v.get("open_ar", 0),
            past_due=v.get("past_due", 0),
            unapplied_cash=v.get("unapplied_cash", 0),
            open_credits=v.get("open_credits", 0),
            open_invoices=v.get("open_invoices", 0),
        )
        for cur, v in sorted(out.items())
    }


def exposure(customer: Customer, as_of: dt.date) -> dict[str, Balance]:
    """Balances of the customer and its whole corporate hierarchy below it."""
    return balances(descendant_ids(customer), as_of)


def open_amount_as_of(invoice: Invoice, as_of: dt.date) -> int:
    """The invoice's open amount at the end of `as_of`, recomputed from dated applications and
    write-offs (so a past date is reproducible after later payments)."""
    if invoice.invoice_date > as_of or (invoice.cancelled_on is not None and invoice.cancelled_on <= as_of):
        return 0
    applied = (
        Application.objects.filter(invoice=invoice, applied_date__lte=as_of).aggregate(s=Sum("amount_minor"))[
            "s"
        ]
        or 0
    )
    written = (
        WriteOff.objects.filter(invoice=invoice, written_off_on__lte=as_of).aggregate(s=Sum("amount_minor"))[
            "s"
        ]
        or 0
    )
    return invoice.amount_minor - applied - written


def bucket_labels(bounds: list[int]) -> list[str]:
    labels = ["Current"]
    prev = 0
    for b in bounds[1:] if bounds and bounds[0] == 0 else bounds:
        labels.append(f"{prev + 1}-{b}")
        prev = b
    labels.append(f"{prev}+")
    return labels


def bucket_index(days_past_due: int, bounds: list[int]) -> int:
    """0 = Current (not yet due); then one index per bound; the last index is beyond the last bound."""
    if days_past_due <= 0:
        return 0
    uppers = bounds[1:] if bounds and bounds[0] == 0 else bounds
    for i, upper in enumerate(uppers, start=1):
        if days_past_due <= upper:
            return i
    return len(uppers) + 1


def validate_buckets(bounds: Any) -> list[int]:
    if not isinstance(bounds, list) or not bounds or not all(isinstance(b, int) and b >= 0 for b in bounds):
        raise InvalidInput("aging buckets must be a list of whole numbers of days, e.g. [0, 30, 60, 90]")
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
        raise InvalidInput("aging bucket bounds must increase")
    return bounds


def customer_aging(customer_ids: list[int], as_of: dt.date, bounds: list[int]) -> dict[str, list[int]]:
    """Current open items aged on due date into the organization's buckets, per currency."""
    labels = bucket_labels(bounds)
    out: dict[str, list[int]] = {}
    rows = open_invoices(Invoice.objects.filter(customer_id__in=customer_ids)).values_list(
        "currency", "due_date", "open_minor"
    )
    for currency, due, amount in rows:
        totals = out.setdefault(currency, [0] * len(labels))
        totals[bucket_index((as_of - due).days, bounds)] += amount
    return out


def organization() -> Organization:
    org, _ = Organization.objects.get_or_create(pk=1)
    return org


def fx_rate(base: str, quote: str, on: dt.date) -> Decimal:
    """The latest rate on or before `on` (inverse of the opposite pair if only that is known)."""
    if base == quote:
        return Decimal(1)
    row = FxRate.objects.filter(base=base, quote=quote, rate_date__lte=on).order_by("-rate_date").first()
    if row is not None:
        return row.rate
    inv = FxRate.objects.filter(base=quote, quote=base, rate_date__lte=on).order_by("-rate_date").first()
    if inv is not None:
        return Decimal(1) / inv.rate
    raise InvalidInput(f"no FX rate {base}->{quote} on or before {on}")


def to_base(money: Money, on: dt.date, base: str | None = None) -> Money:
    base = base or organization().base_currency
    return money.convert(fx_rate(money.currency, base, on), base)


def timeline(customer: Customer, limit: int = 50) -> list[dict[str, Any]]:
    """Invoices, payments, credit memos and write-offs of a customer, newest first."""
    events: list[dict[str, Any]] = []
    for inv in customer.invoices.order_by("-invoice_date", "-id")[:limit]:
        events.append(
            {
                "date": inv.invoice_date,
                "kind": "invoice",
                "label": inv.number,
                "amount": inv.amount,
                "obj": inv,
            }
        )
    for p in customer.payments.order_by("-payment_date", "-id")[:limit]:
        events.append(
            {
                "date": p.payment_date,
                "kind": "payment",
                "label": p.reference,
                "amount": Money(p.amount_minor, p.currency),
                "obj": p,
            }
        )
        if p.reversed_on:
            events.append(
                {
                    "date": p.reversed_on,
                    "kind": "payment reversed",
                    "label": p.reference,
                    "amount": Money(p.amount_minor, p.currency),
                    "obj": p,
                }
            )
    for c in customer.credit_memos.order_by("-memo_date", "-id")[:limit]:
        events.append(
            {
                "date": c.memo_date,
                "kind": "credit memo",
                "label": c.number,
                "amount": Money(c.amount_minor, c.currency),
                "obj": c,
            }
        )
    for w in (
        WriteOff.objects.filter(invoice__customer=customer)
        .select_related("invoice")
        .order_by("-written_off_on", "-id")[:limit]
    ):
        events.append(
            {
                "date": w.written_off_on,
                "kind": "write-off" if w.amount_minor > 0 else "write-off reversed",
                "label": w.invoice.number,
                "amount": Money(abs(w.amount_minor), w.invoice.currency),
                "obj": w,
            }
        )
    events.sort(key=lambda e: (e["date"], e["kind"]), reverse=True)
    return events[:limit]
