"""Writes to the activity log. Every function is keyword-only, atomic and audited.

Scope is the caller's job (a view loads the customer with `get_customer_for_user(..., write=True)` first);
system callers (dunning, disputes, promise evaluation) pass `actor=None` and a `dedupe_key`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ardesk.core import audit
from ardesk.core.errors import InvalidInput
from ardesk.ledger import selectors as ledger_selectors
from ardesk.ledger.models import Contact, Customer, Invoice

from .models import Activity, Kind, Outcome, Source


def business_date(moment: dt.datetime) -> dt.date:
    """The organization's calendar date of an aware datetime."""
    org = ledger_selectors.organization()
    return moment.astimezone(zoneinfo.ZoneInfo(org.time_zone)).date()


def _check_refs(customer: Customer, contact: Contact | None, invoices: list[Invoice]) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise InvalidInput(f"contact {contact.pk} belongs to another customer", field="contact")
    foreign = [inv.number for inv in invoices if inv.customer_id != customer.pk]
    if foreign:
        raise InvalidInput(f"invoices of another customer: {', '.join(sorted(foreign))}", field="invoices")


@transaction.atomic
def log_activity(
    *,
    actor: Any,
    customer: Customer,
    kind: Kind | str,
    occurred_at: dt.datetime | None = None,
    contact: Contact | None = None,
    invoices: Iterable[Invoice] = (),
    outcome: Outcome | str = "",
    duration_seconds: int | None = None,
    subject: str = "",
    notes: str = "",
    follow_up_on: dt.date | None = None,
    source: Source | str = Source.MANUAL,
    collector: Any = None,
    dedupe_key: str | None = None,
) -> Activity:
    """Record one activity with a customer.

    `collector` is who it counts for: by default the person who logged it when they are the customer's
    collector or have no other claim, else the customer's collector (a system activity counts for the
    customer's collector). With a `dedupe_key`, recording the same event again returns the first row and
    writes nothing.
    """
    kind = Kind(kind)
    outcome = Outcome(outcome) if outcome else ""
    if outcome and kind != Kind.CALL:
        raise InvalidInput("only a call has an outcome", field="outcome")
    if duration_seconds is not None and duration_seconds < 0:
        raise InvalidInput("duration cannot be negative", field="duration_seconds")
    invoice_list = list(invoices)
    _check_refs(customer, contact, invoice_list)
    if dedupe_key:
        existing = Activity.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    moment = occurred_at or timezone.now()
    if timezone.is_naive(moment):
        raise InvalidInput("occurred_at must carry a time zone", field="occurred_at")
    if collector is None:
        if actor is not None and getattr(actor, "pk", None) and source == Source.MANUAL:
            collector = actor
        else:
            collector = customer.collector
    activity = Activity(
        customer=customer,
        contact=contact,
        kind=kind,
        source=Source(source),
        outcome=outcome,
        duration_seconds=duration_seconds,
        collector=collector,
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=moment,
        occurred_on=business_date(moment),
        subject=subject[:200],
        notes=notes,
        follow_up_on=follow_up_on,
        dedupe_key=dedupe_key or None,
    )
    try:
        with transaction.atomic():  # a concurrent writer of the same key wins; we return its row
            activity.save()
    except IntegrityError:
        if dedupe_key and (existing := Activity.objects.filter(dedupe_key=dedupe_key).first()):
            return existing
        raise
    if invoice_list:
        activity.invoices.set(invoice_list)
    audit.record(
        actor=actor,
        action=f"activity.{kind.value}",
        obj=activity,
        after={**audit.snapshot(activity), "invoices": [inv.pk for inv in invoice_list]},
    )
    return activity
