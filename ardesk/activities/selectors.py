"""Reads of the activity log and the promises to pay, scoped to the user who asks.

Scope follows the ledger (`ledger.selectors.customer_scope_q`): a collector sees the activities of the
customers in their portfolio, a manager those of their team's portfolios (and unassigned customers), the
global roles everything. An id outside one's scope is NotFound (404).

The `*_by_customer` helpers are for other apps (worklists, coaching) and take explicit customer ids: they
are not scoped, the caller has scoped the ids already.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from ardesk.core.errors import InvalidInput, NotFound
from ardesk.ledger.models import Customer, Invoice
from ardesk.ledger.selectors import customer_scope_q

from .models import CONTACT_KINDS, Activity, PromiseToPay

CHUNK = 500
ACTIVITY_SORTS: dict[str, tuple[str, ...]] = {
    "-date": ("-occurred_at", "-id"),
    "date": ("occurred_at", "id"),
}
BROKEN_STATUSES = (PromiseToPay.Status.BROKEN, PromiseToPay.Status.PARTIAL)


def _scoped(qs: QuerySet[Any], user: Any) -> QuerySet[Any]:
    q = customer_scope_q(user, prefix="customer__")
    return qs if q is None else qs.filter(q)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(ids))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


# --- for other apps (ids already scoped by the caller) ------------------------------------------------


def open_promises_by_customer(
    *, customer_ids: Iterable[int], as_of: dt.date
) -> dict[int, list[PromiseToPay]]:
    """Open promises taken on or before `as_of`, per customer, earliest promised date first (invoices
    prefetched)."""
    out: dict[int, list[PromiseToPay]] = defaultdict(list)
    for chunk in _chunks(customer_ids):
        qs = (
            PromiseToPay.objects.filter(
                customer_id__in=chunk, status=PromiseToPay.Status.OPEN, taken_on__lte=as_of
            )
            .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
            .order_by("promised_date", "id")
        )
        for p in qs:
            out[p.customer_id].append(p)
    return dict(out)


def broken_promises_by_customer(
    *, customer_ids: Iterable[int], since: dt.date, as_of: dt.date
) -> dict[int, int]:
    """How many promises of each customer were found broken or only partially kept (both are promises not
    kept) on a day from `since` through `as_of`. Customers with none are absent."""
    out: dict[int, int] = {}
    for chunk in _chunks(customer_ids):
        rows = (
            PromiseToPay.objects.filter(
                customer_id__in=chunk,
                status__in=BROKEN_STATUSES,
                resolved_on__gte=since,
                resolved_on__lte=as_of,
            )
            .order_by()
            .values("customer_id")
            .annotate(n=Count("id"))
        )
        out.update({r["customer_id"]: r["n"] for r in rows})
    return out


def last_touch_by_customer(
    *, customer_ids: Iterable[int], as_of: dt.date | None = None
) -> dict[int, dt.date]:
    """The date of the latest contact (call, email sent, letter, SMS, meeting, visit) with each customer,
    on or before `as_of` when given. Customers never contacted are absent."""
    out: dict[int, dt.date] = {}
    for chunk in _chunks(customer_ids):
        qs = Activity.objects.filter(customer_id__in=chunk, kind__in=CONTACT_KINDS)
        if as_of is not None:
            qs = qs.filter(occurred_on__lte=as_of)
        rows = qs.order_by().values("customer_id").annotate(last=Max("occurred_on"))
        out.update({r["customer_id"]: r["last"] for r in rows})
    return out


def overdue_follow_ups(*, collector_ids: Iterable[int], as_of: dt.date) -> QuerySet[Activity]:
    """Follow-ups of these collectors due before `as_of` and not done, oldest first."""
    return (
        Activity.objects.filter(
            collector_id__in=list(collector_ids), follow_up_on__lt=as_of, follow_up_done_at__isnull=True
        )
        .select_related("customer", "collector")
        .order_by("follow_up_on", "id")
    )


# --- scoped reads for pages and the API ---------------------------------------------------------------


def activities_for_user(
    user: Any,
    *,
    customer: Any = None,
    collector: Any = None,
    kind: str = "",
    outcome: str = "",
    source: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    invoice: Any = None,
    customer_search: str = "",
) -> QuerySet[Activity]:
    """Activities in `user`'s scope, newest first, filtered; customer, collector and actor joined."""
    qs = (
        _scoped(Activity.objects.all(), user)
        .select_related("customer", "collector", "actor", "contact")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
    )
    exact = {
        "customer": customer,
        "collector": collector,
        "kind": kind,
        "outcome": outcome,
        "source": source,
        "invoices": invoice,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    text = customer_search.strip()
    if text:
        qs = qs.filter(Q(customer__name__icontains=text) | Q(customer__account_number__icontains=text))
    if date_from is not None:
        qs = qs.filter(occurred_on__gte=date_from)
    if date_to is not None:
        qs = qs.filter(occurred_on__lte=date_to)
    return qs.order_by("-occurred_at", "-id")


def get_activity_for_user(user: Any, pk: Any) -> Activity:
    try:
        return activities_for_user(user).get(pk=pk)
    except (Activity.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"activity {pk} not found") from None


def promises_for_user(
    user: Any,
    *,
    customer: Any = None,
    collector: Any = None,
    status: str = "",
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
) -> QuerySet[PromiseToPay]:
    """Promises in `user`'s scope, latest promised date first, invoices prefetched."""
    qs = (
        _scoped(PromiseToPay.objects.all(), user)
        .select_related("customer", "collector")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
    )
    exact = {"customer": customer, "collector": collector, "status": status}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if due_from is not None:
        qs = qs.filter(promised_date__gte=due_from)
    if due_to is not None:
        qs = qs.filter(promised_date__lte=due_to)
    return qs.order_by("-promised_date", "-id")


def get_promise_for_user(user: Any, pk: Any) -> PromiseToPay:
    try:
        return _scoped(PromiseToPay.objects.select_related("customer", "collector"), user).get(pk=pk)
    except (PromiseToPay.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"promise {pk} not found") from None


def follow_ups_for_user(user: Any, *, as_of: dt.date, mine_only: bool = True) -> QuerySet[Activity]:
    """Open follow-ups (not done) in scope due on or before `as_of`, oldest first; a collector's own when
    `mine_only` (what they must do), else all in scope (a manager's view of the team)."""
    qs = _scoped(Activity.objects.all(), user).filter(
        follow_up_on__isnull=False, follow_up_on__lte=as_of, follow_up_done_at__isnull=True
    )
    if mine_only:
        qs = qs.filter(collector=user)
    return qs.select_related("customer", "collector").order_by("follow_up_on", "id")


def customer_timeline(customer: Customer, *, limit: int = 30) -> list[Activity]:
    """The customer's latest activities, each with its promise (if any) and invoices: three queries."""
    return list(
        Activity.objects.filter(customer=customer)
        .select_related("collector", "actor", "contact", "promise")
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
        .order_by("-occurred_at", "-id")[:limit]
    )


def customer_promises(customer: Customer, *, limit: int = 20) -> list[PromiseToPay]:
    return list(
        PromiseToPay.objects.filter(customer=customer)
        .prefetch_related(Prefetch("invoices", queryset=Invoice.objects.order_by("number")))
        .order_by("-promised_date", "-id")[:limit]
    )


def invoice_promises(invoice: Invoice) -> list[PromiseToPay]:
    return list(PromiseToPay.objects.filter(invoices=invoice).order_by("-promised_date", "-id"))


def invoice_activities(invoice: Invoice, *, limit: int = 30) -> list[Activity]:
    return list(
        Activity.objects.filter(Q(invoices=invoice) | Q(promise__invoices=invoice))
        .distinct()
        .select_related("collector", "actor", "contact", "promise")
        .order_by("-occurred_at", "-id")[:limit]
    )


def refs_for_user(
    user: Any, customer: Customer, *, contact_id: int | None, invoice_ids: Iterable[int]
) -> tuple[Any, list[Invoice]]:
    """The contact and invoices a request names, which must be the customer's (else InvalidInput naming the
    field: they are part of the request body, not the resource)."""
    from ardesk.ledger.models import Contact

    contact = None
    if contact_id is not None:
        contact = Contact.objects.filter(pk=contact_id, customer=customer).first()
        if contact is None:
            raise InvalidInput(
                f"contact {contact_id} is not a contact of {customer.account_number}", field="contact_id"
            )
    wanted = sorted(set(invoice_ids))
    invoices = list(Invoice.objects.filter(pk__in=wanted, customer=customer).order_by("number"))
    missing = sorted(set(wanted) - {inv.pk for inv in invoices})
    if missing:
        raise InvalidInput(
            f"not invoices of {customer.account_number}: {', '.join(map(str, missing))}", field="invoice_ids"
        )
    return contact, invoices


# --- who appears on the activity report ---------------------------------------------------------------


def reportable_collectors(user: Any, *, team: Any = None) -> QuerySet[Any]:
    """Collectors whose measures `user` may see: a collector only themselves, a manager the collectors of
    their teams and their reports, the global roles every collector (with a collector profile)."""
    from django.contrib.auth import get_user_model

    from ardesk.core.roles import Role, has_global_scope, roles_of

    users = get_user_model().objects.filter(is_active=True)
    roles = roles_of(user)
    if has_global_scope(user):
        qs = users.filter(collector__isnull=False)
    elif Role.AR_MANAGER in roles:
        qs = users.filter(Q(collector__team__manager=user) | Q(collector__manager=user))
    elif Role.COLLECTOR in roles:
        qs = users.filter(pk=user.pk)
    else:
        qs = users.none()
    if team is not None:
        qs = qs.filter(collector__team=team)
    return qs.select_related("collector", "collector__team").distinct().order_by("username")


def reportable_teams(user: Any) -> QuerySet[Any]:
    from ardesk.core.models import Team
    from ardesk.core.roles import Role, has_global_scope, roles_of

    if has_global_scope(user):
        return Team.objects.order_by("name")
    if Role.AR_MANAGER in roles_of(user):
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()


def activity_mix(*, collector_ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, int]]:
    """Activities by kind, and calls by outcome (keys `call:<outcome>`), per collector in the window."""
    out: dict[int, dict[str, int]] = {pk: {} for pk in collector_ids}
    rows = (
        Activity.objects.filter(collector_id__in=collector_ids, occurred_on__gte=start, occurred_on__lte=end)
        .order_by()
        .values("collector_id", "kind", "outcome")
        .annotate(n=Count("id"))
    )
    for r in rows:
        mix = out.setdefault(r["collector_id"], {})
        mix[r["kind"]] = mix.get(r["kind"], 0) + r["n"]
        if r["outcome"]:
            key = f"call:{r['outcome']}"
            mix[key] = mix.get(key, 0) + r["n"]
    return out
