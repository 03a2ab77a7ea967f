"""Request and response schemas of the collections API (extra fields are refused)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from ardesk.api.pagination import Page, PageParams
from ardesk.ledger.schemas import CustomerRef, Input, MoneyOut, customer_ref, money_out

from .logic import Scored
from .models import DunningBlock, OutboxMessage, Suppression


class WorklistEntryOut(Schema):
    rank: int
    customer: CustomerRef
    score: int
    past_due: MoneyOut
    reasons: list[str]
    held_back: str = Field(description="why the account is held down the list; empty when it is not")


class WorklistOut(Schema):
    as_of: dt.date
    collector: str | None
    items: list[WorklistEntryOut]


def worklist_entry_out(rank: int, s: Scored) -> WorklistEntryOut:
    f = s.facts
    return WorklistEntryOut(
        rank=rank,
        customer=CustomerRef(id=f.customer_id, account_number=f.account_number, name=f.name),
        score=s.score,
        past_due=money_out(f.past_due_minor, f.currency),
        reasons=s.reasons,
        held_back=s.demoted,
    )


class OutboxFilters(PageParams):
    status: OutboxMessage.Status | None = None
    run_date: dt.date | None = None


class OutboxOut(Schema):
    id: int
    customer: CustomerRef
    action: str
    template_code: str
    run_date: dt.date
    invoice_ids: list[int]
    to_email: str
    status: str
    sent_at: dt.datetime | None
    message_id: str
    note: str


def outbox_out(m: OutboxMessage) -> OutboxOut:
    return OutboxOut(
        id=m.pk,
        customer=customer_ref(m.customer),
        action=m.action,
        template_code=m.template_code,
        run_date=m.run_date,
        invoice_ids=list(m.invoice_ids),
        to_email=m.to_email,
        status=m.status,
        sent_at=m.sent_at,
        message_id=m.message_id,
        note=m.note,
    )


class OutboxPage(Page[OutboxOut]):
    pass


class BounceIn(Input):
    email: str = Field(max_length=254, examples=["ap@customer.example"])
    detail: str = Field("", max_length=300, examples=["550 5.1.1 user unknown"])


class SuppressionOut(Schema):
    email: str
    reason: str
    detail: str


def suppression_out(s: Suppression) -> SuppressionOut:
    return SuppressionOut(email=s.email, reason=s.reason, detail=s.detail)


class BlockIn(Input):
    reason: str = Field(min_length=1, max_length=200)
    until: dt.date | None = None
    invoice_id: int | None = None


class BlockOut(Schema):
    id: int
    customer_id: int
    invoice_id: int | None
    reason: str
    until: dt.date | None
    created_on: dt.date


def block_out(b: DunningBlock) -> BlockOut:
    return BlockOut(
        id=b.pk,
        customer_id=b.customer_id,
        invoice_id=b.invoice_id,
        reason=b.reason,
        until=b.until,
        created_on=b.created_on,
    )
