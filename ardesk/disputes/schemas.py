"""Request and response shapes of the disputes API (money as in ardesk.ledger.schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from ardesk.api.pagination import Page, PageParams
from ardesk.ledger.schemas import CustomerRef, Input, MoneyIn, MoneyOut, customer_ref, money_out

from .models import Dispute, DisputeLine

DisputeStatus = Literal["open", "in_research", "waiting_customer", "waiting_internal", "resolved", "closed"]
WorkStatus = Literal["in_research", "waiting_customer", "waiting_internal"]
DepartmentCode = Literal["sales", "shipping", "billing", "customer_service", "credit"]
ResolutionCode = Literal["valid", "invalid", "partial", "written_off"]
RootCauseCode = Literal[
    "billing_error",
    "pricing_error",
    "shipping_error",
    "product_quality",
    "promotion_setup",
    "tax_error",
    "customer_error",
    "service_failure",
    "other",
]
KindCode = Literal["dispute", "deduction"]
ChannelCode = Literal["collector", "customer_email"]


class LineIn(Input):
    invoice_id: int
    amount: MoneyIn | None = Field(
        None, description="Disputed amount; omitted: the invoice's whole open amount"
    )


class DisputeIn(Input):
    customer_id: int
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    reason: str = Field(description="Reason code, e.g. pricing, shortage, damaged")
    opened_on: dt.date
    channel: ChannelCode = "collector"
    owner: str | None = Field(None, description="Username of the owner")
    department: DepartmentCode | None = Field(None, description="Default: the reason's department")
    customer_reason_code: str = Field("", max_length=40)
    customer_reference: str = Field("", max_length=80)
    description: str = Field("", max_length=5000)


class AssignIn(Input):
    owner: str | None = Field(description="Username of the new owner; null leaves it unassigned")
    department: DepartmentCode | None = None
    on_date: dt.date


class StatusIn(Input):
    status: WorkStatus
    on_date: dt.date
    note: str = Field("", max_length=300)


class ResolveIn(Input):
    resolution: ResolutionCode
    root_cause: RootCauseCode
    on_date: dt.date
    valid_amount: MoneyIn | None = Field(None, description="Partially valid only: the part credited")
    note: str = Field("", max_length=5000)


class DisputeFilters(PageParams):
    status: DisputeStatus | Literal["active"] | None = None
    customer_id: int | None = None
    owner: str | None = None
    department: DepartmentCode | None = None
    kind: KindCode | None = None


class LineOut(Schema):
    invoice_id: int
    invoice_number: str
    amount: MoneyOut


class DisputeOut(Schema):
    id: int
    number: str
    kind: str
    channel: str
    customer: CustomerRef
    reason: str
    customer_reason_code: str
    customer_reference: str
    amount: MoneyOut
    lines: list[LineOut]
    owner: str | None
    department: str
    status: str
    opened_on: dt.date
    due_on: dt.date
    resolution: str
    root_cause: str
    resolved_on: dt.date | None
    cycle_days: int | None
    valid: MoneyOut
    invalid: MoneyOut
    written_off: MoneyOut
    credit_memo: str | None = Field(description="Number of the credit memo issued")
    closed_on: dt.date | None


class DisputePage(Page[DisputeOut]):
    pass


def line_out(ln: DisputeLine, currency: str) -> LineOut:
    return LineOut(
        invoice_id=ln.invoice_id,
        invoice_number=ln.invoice.number,
        amount=money_out(ln.amount_minor, currency),
    )


def dispute_out(d: Dispute) -> DisputeOut:
    """Needs customer, reason, owner, credit_memo selected and lines__invoice prefetched."""
    cur = d.currency
    return DisputeOut(
        id=d.pk,
        number=d.number,
        kind=d.kind,
        channel=d.channel,
        customer=customer_ref(d.customer),
        reason=d.reason.code,
        customer_reason_code=d.customer_reason_code,
        customer_reference=d.customer_reference,
        amount=money_out(d.amount_minor, cur),
        lines=[line_out(ln, cur) for ln in d.lines.all()],
        owner=d.owner.username if d.owner else None,
        department=d.department,
        status=d.status,
        opened_on=d.opened_on,
        due_on=d.due_on,
        resolution=d.resolution,
        root_cause=d.root_cause,
        resolved_on=d.resolved_on,
        cycle_days=d.cycle_days(),
        valid=money_out(d.valid_minor, cur),
        invalid=money_out(d.invalid_minor, cur),
        written_off=money_out(d.written_off_minor, cur),
        credit_memo=d.credit_memo.number if d.credit_memo else None,
        closed_on=d.closed_on,
    )
