"""Request and response shapes of the activities API (money and conventions as in `ledger.schemas`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from ardesk.api.pagination import Page, PageParams
from ardesk.ledger.schemas import CustomerRef, Input, MoneyIn, MoneyOut, customer_ref, money_out

from . import rules
from .models import Activity, PromiseToPay

ActivityKind = Literal[
    "call",
    "email_sent",
    "email_received",
    "letter",
    "sms",
    "meeting",
    "visit",
    "note",
    "promise",
    "dispute",
    "payment_plan",
    "payment",
]
# what a person may log here: promises have their own endpoint, payments are recorded by the system
LoggableKind = Literal[
    "call", "email_sent", "email_received", "letter", "sms", "meeting", "visit", "note", "payment_plan"
]
CallOutcome = Literal["right_party", "other_party", "voicemail", "no_answer", "wrong_number"]
ActivitySource = Literal["manual", "dunning", "system", "import"]
PromiseStatus = Literal["open", "kept", "partial", "broken", "cancelled"]


def _username(user: object | None) -> str | None:
    return getattr(user, "username", None)


class ActivityOut(Schema):
    id: int
    customer: CustomerRef
    kind: ActivityKind
    source: ActivitySource
    outcome: CallOutcome | None
    duration_seconds: int | None
    collector: str | None = Field(description="Username of the collector it counts for")
    actor: str | None = Field(description="Who logged it; null when the system recorded it")
    contact_id: int | None
    invoices: list[str] = Field(description="Invoice numbers")
    occurred_at: dt.datetime
    occurred_on: dt.date
    subject: str
    notes: str
    follow_up_on: dt.date | None
    follow_up_done_at: dt.datetime | None


def activity_out(a: Activity) -> ActivityOut:
    return ActivityOut(
        id=a.pk,
        customer=customer_ref(a.customer),
        kind=a.kind,  # type: ignore[arg-type]
        source=a.source,  # type: ignore[arg-type]
        outcome=a.outcome or None,  # type: ignore[arg-type]
        duration_seconds=a.duration_seconds,
        collector=_username(a.collector),
        actor=_username(a.actor),
        contact_id=a.contact_id,
        invoices=[inv.number for inv in a.invoices.all()],
        occurred_at=a.occurred_at,
        occurred_on=a.occurred_on,
        subject=a.subject,
        notes=a.notes,
        follow_up_on=a.follow_up_on,
        follow_up_done_at=a.follow_up_done_at,
    )


class ActivityIn(Input):
    customer_id: int
    kind: LoggableKind
    outcome: CallOutcome | None = Field(None, description="Calls only")
    duration_seconds: int | None = Field(None, ge=0, le=86_400)
    contact_id: int | None = None
    invoice_ids: list[int] = Field(default_factory=list, max_length=200)
    occurred_at: dt.datetime | None = Field(None, description="Default: now; must carry a time zone")
    subject: str = Field("", max_length=200)
    notes: str = Field("", max_length=10_000)
    follow_up_on: dt.date | None = None


class ActivityFilters(PageParams):
    customer: int | None = Field(None, description="Customer id")
    collector: str | None = Field(None, description="Collector username")
    kind: ActivityKind | None = None
    outcome: CallOutcome | None = None
    date_from: dt.date | None = Field(None, description="Occurred on or after")
    date_to: dt.date | None = Field(None, description="Occurred on or before")


class ActivityPage(Page[ActivityOut]):
    pass


class PromiseOut(Schema):
    id: int
    customer: CustomerRef
    amount: MoneyOut
    paid: MoneyOut = Field(description="Counted toward it when last evaluated")
    taken_on: dt.date
    promised_date: dt.date
    grace_days: int
    deadline: dt.date = Field(description="Promised date + grace days")
    status: PromiseStatus
    resolved_on: dt.date | None
    invoices: list[str]
    collector: str | None
    activity_id: int | None
    notes: str


def promise_out(p: PromiseToPay) -> PromiseOut:
    return PromiseOut(
        id=p.pk,
        customer=customer_ref(p.customer),
        amount=money_out(p.amount_minor, p.currency),
        paid=money_out(p.paid_minor, p.currency),
        taken_on=p.taken_on,
        promised_date=p.promised_date,
        grace_days=p.grace_days,
        deadline=rules.promise_deadline(p.promised_date, p.grace_days),
        status=p.status,  # type: ignore[arg-type]
        resolved_on=p.resolved_on,
        invoices=[inv.number for inv in p.invoices.all()],
        collector=_username(p.collector),
        activity_id=p.activity_id,
        notes=p.notes,
    )


class PromiseIn(Input):
    customer_id: int
    amount: MoneyIn
    promised_date: dt.date
    invoice_ids: list[int] = Field(default_factory=list, max_length=200)
    contact_id: int | None = None
    grace_days: int | None = Field(None, ge=0, le=60, description="Default: the organization's")
    notes: str = Field("", max_length=10_000)
    occurred_at: dt.datetime | None = Field(None, description="When it was taken; default now")


class PromiseFilters(PageParams):
    customer: int | None = Field(None, description="Customer id")
    collector: str | None = Field(None, description="Collector username")
    status: PromiseStatus | None = None
    due_from: dt.date | None = Field(None, description="Promised on or after")
    due_to: dt.date | None = Field(None, description="Promised on or before")


class PromisePage(Page[PromiseOut]):
    pass


class CancelIn(Input):
    reason: str = Field(min_length=1, max_length=500)
