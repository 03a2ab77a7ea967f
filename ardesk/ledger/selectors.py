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

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Min, Q, QuerySet, Sum

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
    LegalEntity,
    Organization,
    Payment,
    PaymentTerms,
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


def get_write_off(invoice: Invoice, pk: Any) -> WriteOff:
    """One write-off of an invoice already loaded within scope (404 if it is not that invoice's)."""
    return _get(WriteOff.objects.filter(invoice=invoice), pk, "write-off")


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
    """The organization's settings, or their unsaved defaults while none are saved: a read never writes
    (`services.get_organization` creates the row)."""
    return Organization.objects.filter(pk=1).first() or Organization(pk=1)


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


# --- web pages: lists, the dashboard, the customer page ----------------------------------------------
# Everything below aggregates in the database, so a list page costs the same number of queries for ten
# rows as for ten thousand. Amounts are never added across currencies: figures come per currency, or in
# the customer's own currency with other-currency items counted beside them.


CUSTOMER_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "account": ("account_number",),
    "-account": ("-account_number",),
    "open_ar": ("open_ar", "name", "id"),
    "-open_ar": ("-open_ar", "name", "id"),
    "past_due": ("past_due", "name", "id"),
    "-past_due": ("-past_due", "name", "id"),
}
INVOICE_SORTS: dict[str, tuple[str, ...]] = {
    "date": ("invoice_date", "id"),
    "-date": ("-invoice_date", "-id"),
    "due": ("due_date", "id"),
    "-due": ("-due_date", "-id"),
    "number": ("number",),
    "-number": ("-number",),
    "customer": ("customer__name", "customer_id", "id"),
    "-customer": ("-customer__name", "-customer_id", "-id"),
    "amount": ("currency", "amount_minor", "id"),
    "-amount": ("currency", "-amount_minor", "-id"),
    "open": ("currency", "open_minor", "id"),
    "-open": ("currency", "-open_minor", "-id"),
}
PAYMENT_SORTS: dict[str, tuple[str, ...]] = {
    "date": ("payment_date", "id"),
    "-date": ("-payment_date", "-id"),
    "reference": ("reference", "id"),
    "-reference": ("-reference", "-id"),
    "customer": ("customer__name", "customer_id", "id"),
    "-customer": ("-customer__name", "-customer_id", "-id"),
    "amount": ("currency", "amount_minor", "id"),
    "-amount": ("currency", "-amount_minor", "-id"),
    "unapplied": ("currency", "unapplied_minor", "id"),
    "-unapplied": ("currency", "-unapplied_minor", "-id"),
}
PAYMENT_STATUSES: dict[str, Q] = {
    "unapplied": Q(unapplied_minor__gt=0, reversed_on__isnull=True),
    "applied": Q(unapplied_minor=0, reversed_on__isnull=True),
    "reversed": Q(reversed_on__isnull=False),
}


def collectors_for_user(user: Any) -> QuerySet[Any]:
    """Users holding a portfolio of customers within `user`'s scope (for filter choices)."""
    held = customers_for_user(user).filter(collector__isnull=False).values("collector_id")
    return get_user_model().objects.filter(pk__in=held).order_by("username")


def assignable_collectors(user: Any) -> QuerySet[Any]:
    """Whom `user` may give a portfolio to: for a book-wide role every active collector; for an AR manager
    the collectors of their teams (and those reporting to them)."""
    qs = get_user_model().objects.filter(is_active=True, collector__isnull=False)
    if has_global_scope(user):
        return qs.order_by("username")
    return qs.filter(Q(collector__team__manager=user) | Q(collector__manager=user)).order_by("username")


def get_assignable_collector(user: Any, username: str) -> Any:
    collector = assignable_collectors(user).filter(username=username).first()
    if collector is None:
        raise InvalidInput(f"{username!r} is not a collector you may assign customers to", field="collector")
    return collector


def customer_facets(user: Any) -> dict[str, list[str]]:
    """The territories and regions of the customers in scope, for filter choices (one query)."""
    pairs = customers_for_user(user).order_by().values_list("territory", "region").distinct()
    territories: set[str] = set()
    regions: set[str] = set()
    for territory, region in pairs:
        territories.add(territory)
        regions.add(region)
    return {"territory": sorted(territories - {""}), "region": sorted(regions - {""})}


def _customer_search(qs: QuerySet[Any], text: str, prefix: str = "") -> QuerySet[Any]:
    text = text.strip()
    if not text:
        return qs
    return qs.filter(
        Q(**{f"{prefix}name__icontains": text}) | Q(**{f"{prefix}account_number__icontains": text})
    )


def customer_list(
    user: Any,
    *,
    as_of: dt.date,
    q: str = "",
    entity: Any = None,
    territory: str = "",
    region: str = "",
    status: str = "",
    risk_class: str = "",
    collector: Any = None,
    has_past_due: bool = False,
    sort: str = "name",
) -> QuerySet[Customer]:
    """Customers in scope with `open_ar` and `past_due` (in the customer's own currency) annotated in the
    same query; `other_currency_open` counts open invoices in any other currency, which are not added in."""
    open_q = Q(invoices__status__in=OPEN_STATUSES, invoices__open_minor__gt=0)
    own = open_q & Q(invoices__currency=F("currency"))
    qs = (
        customers_for_user(user)
        .select_related("entity", "collector")
        .annotate(
            open_ar=Sum("invoices__open_minor", filter=own, default=0),
            past_due=Sum("invoices__open_minor", filter=own & Q(invoices__due_date__lt=as_of), default=0),
            other_currency_open=Count("invoices", filter=open_q & ~Q(invoices__currency=F("currency"))),
        )
    )
    qs = _customer_search(qs, q)
    exact = {"entity": entity, "territory": territory, "region": region, "status": status}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if risk_class:
        qs = qs.filter(risk_class=risk_class)
    if collector is not None:
        qs = qs.filter(collector=collector)
    if has_past_due:
        qs = qs.filter(past_due__gt=0)
    return qs.order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS["name"]))


def _dated(
    qs: QuerySet[Any], field: str, date_from: dt.date | None, date_to: dt.date | None
) -> QuerySet[Any]:
    if date_from is not None:
        qs = qs.filter(**{f"{field}__gte": date_from})
    if date_to is not None:
        qs = qs.filter(**{f"{field}__lte": date_to})
    return qs


def invoice_list(
    user: Any,
    *,
    as_of: dt.date,
    entity: Any = None,
    status: str = "",
    currency: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    customer: str = "",
    collector: Any = None,
    overdue: bool = False,
    sort: str = "-date",
) -> QuerySet[Invoice]:
    """Invoices in scope; `customer` matches an account number or a name; `overdue` keeps open items past
    their due date on `as_of`."""
    qs = invoices_for_user(user).select_related("customer", "customer__collector", "entity")
    qs = _customer_search(qs, customer, prefix="customer__")
    qs = _dated(qs, "invoice_date", date_from, date_to)
    exact = {"entity": entity, "status": status, "currency": currency, "customer__collector": collector}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if overdue:
        qs = open_invoices(qs).filter(due_date__lt=as_of)
    return qs.order_by(*INVOICE_SORTS.get(sort, INVOICE_SORTS["-date"]))


def payment_list(
    user: Any,
    *,
    entity: Any = None,
    status: str = "",
    currency: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    customer: str = "",
    collector: Any = None,
    sort: str = "-date",
) -> QuerySet[Payment]:
    """Receipts in scope; `status` is unapplied (cash still to apply), applied or reversed."""
    qs = payments_for_user(user).select_related("customer", "customer__collector", "entity")
    qs = _customer_search(qs, customer, prefix="customer__")
    qs = _dated(qs, "payment_date", date_from, date_to)
    exact = {"entity": entity, "currency": currency, "customer__collector": collector}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if status in PAYMENT_STATUSES:
        qs = qs.filter(PAYMENT_STATUSES[status])
    return qs.order_by(*PAYMENT_SORTS.get(sort, PAYMENT_SORTS["-date"]))


def _bucket_filters(as_of: dt.date, bounds: list[int]) -> list[Q]:
    """One due-date filter per bucket of `bucket_labels(bounds)`, with the edges of `bucket_index`."""
    uppers = bounds[1:] if bounds and bounds[0] == 0 else bounds
    filters = [Q(due_date__gte=as_of)]
    prev = 0
    for upper in uppers:
        filters.append(
            Q(due_date__lt=as_of - dt.timedelta(days=prev), due_date__gte=as_of - dt.timedelta(days=upper))
        )
        prev = upper
    filters.append(Q(due_date__lt=as_of - dt.timedelta(days=prev)))
    return filters


def aging_totals(invoices: QuerySet[Invoice], as_of: dt.date, bounds: list[int]) -> dict[str, list[int]]:
    """Current open amounts of `invoices` aged on due date into the organization's buckets, per currency,
    summed in the database (one query)."""
    filters = _bucket_filters(as_of, bounds)
    rows = (
        open_invoices(invoices)
        .order_by()
        .values("currency")
        .annotate(**{f"b{i}": Sum("open_minor", filter=f, default=0) for i, f in enumerate(filters)})
        .order_by("currency")
    )
    return {row["currency"]: [row[f"b{i}"] for i in range(len(filters))] for row in rows}


def _collect_balances(inv: Any, cash: Any, credits: Any) -> dict[str, Balance]:
    out: dict[str, dict[str, int]] = {}
    for row in inv:
        out.setdefault(row["currency"], {}).update(
            open_ar=row["open_ar"], past_due=row["past_due"], open_invoices=row["n"]
        )
    for row in cash:
        out.setdefault(row["currency"], {})["unapplied_cash"] = row["total"]
    for row in credits:
        out.setdefault(row["currency"], {})["open_credits"] = row["total"]
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


def ar_summary(user: Any, as_of: dt.date) -> dict[str, Balance]:
    """Open AR, past due, unapplied cash and open credits of everything in `user`'s scope, per currency
    (three aggregate queries, scoped by join rather than by a list of ids)."""
    inv = (
        open_invoices(invoices_for_user(user))
        .order_by()
        .values("currency")
        .annotate(
            open_ar=Sum("open_minor", default=0),
            past_due=Sum("open_minor", filter=Q(due_date__lt=as_of), default=0),
            n=Count("id"),
        )
    )
    cash = (
        payments_for_user(user)
        .filter(unapplied_minor__gt=0, reversed_on__isnull=True)
        .order_by()
        .values("currency")
        .annotate(total=Sum("unapplied_minor", default=0))
    )
    credits = (
        credit_memos_for_user(user)
        .filter(unapplied_minor__gt=0)
        .order_by()
        .values("currency")
        .annotate(total=Sum("unapplied_minor", default=0))
    )
    return _collect_balances(inv, cash, credits)


def top_past_due(user: Any, as_of: dt.date, currency: str, limit: int = 10) -> list[dict[str, Any]]:
    """The customers in scope with the largest past-due amount in `currency` on `as_of`."""
    return list(
        open_invoices(invoices_for_user(user))
        .filter(currency=currency, due_date__lt=as_of)
        .order_by()
        .values("customer_id", "customer__account_number", "customer__name")
        .annotate(past_due=Sum("open_minor"), items=Count("id"), oldest_due=Min("due_date"))
        .order_by("-past_due", "customer__account_number")[:limit]
    )


@dataclass(frozen=True)
class OpenItem:
    invoice: Invoice
    days_past_due: int
    bucket: str


def open_items(customer: Customer, as_of: dt.date, bounds: list[int], limit: int = 200) -> list[OpenItem]:
    """The customer's open invoices, oldest due first, with days past due and aging bucket on `as_of`."""
    labels = bucket_labels(bounds)
    items = []
    for inv in open_invoices(customer.invoices.all()).order_by("due_date", "id")[:limit]:
        days = (as_of - inv.due_date).days
        items.append(OpenItem(invoice=inv, days_past_due=days, bucket=labels[bucket_index(days, bounds)]))
    return items


@dataclass(frozen=True)
class CustomerOverview:
    exposure: dict[str, Balance]
    credit_used_pct: Decimal | None
    children: list[Customer]
    open_items: list[OpenItem]
    aging: dict[str, list[int]]
    bucket_labels: list[str]
    contacts: list[Contact]
    timeline: list[dict[str, Any]]


def customer_overview(user: Any, customer: Customer, as_of: dt.date) -> CustomerOverview:
    """What the customer page shows. Exposure covers the customer and every customer below it; the share of
    the credit limit used compares the exposure in the customer's own currency with the limit."""
    bounds = organization().aging_buckets
    expo = exposure(customer, as_of)
    used = None
    own = expo.get(customer.currency)
    if customer.credit_limit_minor:
        open_ar = own.open_ar if own is not None else 0
        used = (Decimal(open_ar * 100) / Decimal(customer.credit_limit_minor)).quantize(Decimal("0.1"))
    return CustomerOverview(
        exposure=expo,
        credit_used_pct=used,
        children=list(customers_for_user(user).filter(parent=customer).order_by("account_number")),
        open_items=open_items(customer, as_of, bounds),
        aging=aging_totals(customer.invoices.all(), as_of, bounds),
        bucket_labels=bucket_labels(bounds),
        contacts=list(customer.contacts.all()),
        timeline=timeline(customer),
    )


def invoice_history(invoice: Invoice) -> tuple[list[Application], list[WriteOff]]:
    """The applications (cash and credits, with reversals) and write-offs of an invoice, oldest first."""
    applications = list(
        invoice.applications.select_related("payment", "credit_memo").order_by("applied_date", "id")
    )
    write_offs = list(invoice.write_offs.order_by("written_off_on", "id"))
    return applications, write_offs


# --- lookups by natural key (API request bodies and query strings) -----------------------------------
# An unknown code in a request is bad input (422 naming the field), not a missing resource.


def get_entity_by_code(code: str, *, field: str = "entity") -> LegalEntity:
    try:
        return LegalEntity.objects.get(code=code)
    except LegalEntity.DoesNotExist:
        raise InvalidInput(f"unknown legal entity {code!r}", field=field) from None


def get_terms_by_code(code: str, *, field: str = "payment_terms") -> PaymentTerms:
    try:
        return PaymentTerms.objects.get(code=code)
    except PaymentTerms.DoesNotExist:
        raise InvalidInput(f"unknown payment terms {code!r}", field=field) from None


def get_active_user_by_username(username: str, *, field: str = "collector") -> Any:
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise InvalidInput(f"no active user {username!r}", field=field) from None
