"""Request and response shapes of the ledger API.

Money crosses the API as `{"amount": "1234.50", "currency": "USD"}`: the amount is a decimal *string* in
major units (a JSON number is refused, so no float ever carries money), with at most the currency's minor
digits ("12.345" USD is refused, not rounded). Responses add the exact integer `amount_minor`.

Every request schema forbids unknown fields, so a client cannot set what the server owns (id, open and
unapplied amounts, status, created_at): such a field is a 422 naming it. Responses are built by the
explicit `*_out` functions below, one per record type.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, ClassVar, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator

from ardesk.api.pagination import Page, PageParams
from ardesk.core.errors import ArdeskError
from ardesk.core.money import Money, minor_units, to_minor

from .models import Application, Contact, CreditMemo, Customer, Invoice, Payment, WriteOff

# Choices as literals (inlined in the OpenAPI schema; the model enums share names such as "Status").
# tests/api/test_schemas.py checks that they match the models' choices.
CustomerStatus = Literal["active", "dormant", "closed"]
RiskClass = Literal["low", "medium", "high", "severe"]
ContactRole = Literal["ap_clerk", "ap_manager", "controller", "cfo", "owner", "purchasing", "other"]
ContactChannel = Literal["email", "phone", "sms", "letter"]
InvoiceStatus = Literal["open", "paid", "disputed", "written_off", "cancelled"]
PaymentMethod = Literal["check", "ach", "wire", "card", "other"]

AMOUNT_RE = re.compile(r"^\d{1,15}(\.\d{1,6})?$")
CURRENCY = Field(pattern=r"^[A-Z]{3}$", examples=["USD"], description="ISO 4217 code")


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- money ------------------------------------------------------------------------------------------


class MoneyIn(Input):
    currency: str = CURRENCY
    amount: str = Field(
        examples=["1234.50"],
        description="Decimal string in major units, at most the currency's minor digits; never a JSON number",
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        try:
            minor_units(value)
        except ArdeskError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("amount")
    @classmethod
    def _exact_amount(cls, value: str, info: ValidationInfo) -> str:
        if not AMOUNT_RE.match(value):
            raise ValueError(f"{value!r} is not a decimal amount such as '1234.50'")
        currency = info.data.get("currency")
        if currency:
            try:
                to_minor(Decimal(value), currency)
            except ArdeskError as exc:
                raise ValueError(exc.message) from None
        return value

    def money(self) -> Money:
        return Money.of(Decimal(self.amount), self.currency)


class MoneyOut(Schema):
    amount: str = Field(examples=["1234.50"], description="Decimal string in major units")
    currency: str = Field(examples=["USD"])
    amount_minor: int = Field(examples=[123450], description="Exact integer amount in minor units")


def money_out(minor: int, currency: str) -> MoneyOut:
    return MoneyOut(
        amount=format(Money(int(minor), currency).amount, "f"), currency=currency, amount_minor=minor
    )


# --- shared -----------------------------------------------------------------------------------------


class CustomerRef(Schema):
    id: int
    account_number: str
    name: str


def customer_ref(c: Customer) -> CustomerRef:
    return CustomerRef(id=c.pk, account_number=c.account_number, name=c.name)


class ReasonIn(Input):
    on_date: dt.date = Field(description="Business date of the cancellation or reversal")
    reason: str = Field(min_length=1, max_length=200)


class ReassignIn(Input):
    customer_ids: list[int] = Field(min_length=1, max_length=1000, description="Customers to move")
    collector: str | None = Field(
        description="Username of the new collector; null leaves the customers unassigned"
    )
    reason: str = Field("", max_length=200)


class ReassignOut(Schema):
    moved: int = Field(description="Customers whose collector changed (already theirs: not counted)")
    collector: str | None


class PatchIn(Input):
    """PATCH bodies: only the fields sent are changed; null only where the field allows it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null(self) -> PatchIn:
        bad = sorted(f for f in self.model_fields_set if getattr(self, f) is None and f not in self.NULLABLE)
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.model_fields_set}


# --- customers --------------------------------------------------------------------------------------


class CustomerOut(Schema):
    id: int
    account_number: str
    name: str
    entity: str = Field(description="Legal entity code")
    parent_id: int | None
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    tax_id: str
    territory: str
    region: str
    industry: str
    segment: str
    payment_terms: str | None = Field(description="Payment terms code")
    currency: str
    credit_limit: MoneyOut | None
    risk_class: str
    status: str
    collector: str | None = Field(description="Username of the collector holding the account")
    erp_reference: str
    created_at: dt.datetime
    updated_at: dt.datetime


def customer_out(c: Customer) -> CustomerOut:
    """Needs entity, payment_terms and collector selected (the selectors do)."""
    return CustomerOut(
        id=c.pk,
        account_number=c.account_number,
        name=c.name,
        entity=c.entity.code,
        parent_id=c.parent_id,
        address_line1=c.address_line1,
        address_line2=c.address_line2,
        city=c.city,
        state=c.state,
        postal_code=c.postal_code,
        country=c.country,
        tax_id=c.tax_id,
        territory=c.territory,
        region=c.region,
        industry=c.industry,
        segment=c.segment,
        payment_terms=c.payment_terms.code if c.payment_terms is not None else None,
        currency=c.currency,
        credit_limit=None if c.credit_limit_minor is None else money_out(c.credit_limit_minor, c.currency),
        risk_class=c.risk_class,
        status=c.status,
        collector=c.collector.username if c.collector is not None else None,
        erp_reference=c.erp_reference,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


class _CustomerFields(Input):
    address_line1: str = Field("", max_length=200)
    address_line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    state: str = Field("", max_length=100)
    postal_code: str = Field("", max_length=20)
    country: str = Field("", pattern=r"^([A-Z]{2})?$", description="ISO 3166 alpha-2")
    tax_id: str = Field("", max_length=40)
    territory: str = Field("", max_length=80)
    region: str = Field("", max_length=80)
    industry: str = Field("", max_length=80)
    segment: str = Field("", max_length=80)
    erp_reference: str = Field("", max_length=64)


CUSTOMER_PLAIN_FIELDS = tuple(_CustomerFields.model_fields)


class CustomerIn(_CustomerFields):
    account_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    entity: str = Field(description="Legal entity code", examples=["US01"])
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="Default: the entity's currency")
    collector: str | None = Field(None, description="Username; needs the reassign capability")
    parent_id: int | None = None
    payment_terms: str | None = Field(None, description="Payment terms code")
    credit_limit: MoneyIn | None = None
    risk_class: RiskClass = "medium"


class CustomerPatch(PatchIn):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"parent_id", "payment_terms", "credit_limit"})

    name: str | None = Field(None, min_length=1, max_length=200)
    parent_id: int | None = None
    address_line1: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, pattern=r"^([A-Z]{2})?$")
    tax_id: str | None = Field(None, max_length=40)
    territory: str | None = Field(None, max_length=80)
    region: str | None = Field(None, max_length=80)
    industry: str | None = Field(None, max_length=80)
    segment: str | None = Field(None, max_length=80)
    payment_terms: str | None = Field(None, description="Payment terms code; null clears")
    credit_limit: MoneyIn | None = Field(None, description="In the customer's currency; null clears")
    risk_class: RiskClass | None = None
    status: CustomerStatus | None = None
    erp_reference: str | None = Field(None, max_length=64)


CREDIT_FIELDS = frozenset({"credit_limit", "risk_class"})


class CustomerFilters(PageParams):
    q: str | None = Field(None, description="Search in name and account number")
    status: CustomerStatus | None = None
    entity: str | None = Field(None, description="Legal entity code")
    collector: str | None = Field(None, description="Collector username")
    territory: str | None = None
    region: str | None = None
    risk_class: RiskClass | None = None


class CustomerPage(Page[CustomerOut]):
    pass


# --- contacts ---------------------------------------------------------------------------------------


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    role: str
    email: str
    phone: str
    preferred_channel: str
    time_zone: str
    is_primary: bool
    opt_out_email: bool
    opt_out_phone: bool
    opt_out_sms: bool
    created_at: dt.datetime


def contact_out(c: Contact) -> ContactOut:
    return ContactOut(
        id=c.pk,
        customer_id=c.customer_id,
        name=c.name,
        role=c.role,
        email=c.email,
        phone=c.phone,
        preferred_channel=c.preferred_channel,
        time_zone=c.time_zone,
        is_primary=c.is_primary,
        opt_out_email=c.opt_out_email,
        opt_out_phone=c.opt_out_phone,
        opt_out_sms=c.opt_out_sms,
        created_at=c.created_at,
    )


def _email(value: str | None) -> str | None:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError(f"{value!r} is not an email address") from None
    return value


class ContactIn(Input):
    name: str = Field(min_length=1, max_length=200)
    role: ContactRole = "ap_clerk"
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    preferred_channel: ContactChannel = "email"
    time_zone: str = Field("", max_length=64)
    is_primary: bool = False
    opt_out_email: bool = False
    opt_out_phone: bool = False
    opt_out_sms: bool = False

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return _email(value)


class ContactPatch(PatchIn):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: ContactRole | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    preferred_channel: ContactChannel | None = None
    time_zone: str | None = Field(None, max_length=64)
    is_primary: bool | None = None
    opt_out_email: bool | None = None
    opt_out_phone: bool | None = None
    opt_out_sms: bool | None = None

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return _email(value)


class ContactPage(Page[ContactOut]):
    pass


# --- invoices and write-offs ------------------------------------------------------------------------


class InvoiceOut(Schema):
    id: int
    number: str
    customer: CustomerRef
    entity: str
    invoice_date: dt.date
    due_date: dt.date
    terms: str | None
    amount: MoneyOut
    tax: MoneyOut
    open: MoneyOut = Field(description="Derived: amount - applications - write-offs")
    status: str
    po_number: str
    erp_reference: str
    closed_on: dt.date | None
    cancelled_on: dt.date | None
    created_at: dt.datetime


def invoice_out(i: Invoice) -> InvoiceOut:
    """Needs customer, entity and terms selected."""
    return InvoiceOut(
        id=i.pk,
        number=i.number,
        customer=customer_ref(i.customer),
        entity=i.entity.code,
        invoice_date=i.invoice_date,
        due_date=i.due_date,
        terms=i.terms.code if i.terms is not None else None,
        amount=money_out(i.amount_minor, i.currency),
        tax=money_out(i.tax_minor, i.currency),
        open=money_out(i.open_minor, i.currency),
        status=i.status,
        po_number=i.po_number,
        erp_reference=i.erp_reference,
        closed_on=i.closed_on,
        cancelled_on=i.cancelled_on,
        created_at=i.created_at,
    )


class InvoiceIn(Input):
    customer_id: int
    number: str = Field(min_length=1, max_length=40)
    invoice_date: dt.date
    due_date: dt.date | None = Field(None, description="Default: invoice date + the terms' net days")
    amount: MoneyIn = Field(description="Total including tax")
    tax: MoneyIn | None = None
    terms: str | None = Field(None, description="Payment terms code; default: the customer's")
    po_number: str = Field("", max_length=60)
    erp_reference: str = Field("", max_length=64)


class InvoiceFilters(PageParams):
    customer: int | None = Field(None, description="Customer id")
    status: InvoiceStatus | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    entity: str | None = Field(None, description="Legal entity code")
    number: str | None = None
    due_before: dt.date | None = Field(None, description="Due strictly before this date")
    due_after: dt.date | None = Field(None, description="Due strictly after this date")


class InvoicePage(Page[InvoiceOut]):
    pass


class WriteOffOut(Schema):
    id: int
    invoice_id: int
    amount: MoneyOut = Field(description="Negative for the reversal of a write-off")
    written_off_on: dt.date
    reason: str
    reverses_id: int | None
    created_at: dt.datetime


def write_off_out(w: WriteOff, currency: str) -> WriteOffOut:
    return WriteOffOut(
        id=w.pk,
        invoice_id=w.invoice_id,
        amount=money_out(w.amount_minor, currency),
        written_off_on=w.written_off_on,
        reason=w.reason,
        reverses_id=w.reverses_id,
        created_at=w.created_at,
    )


class WriteOffIn(Input):
    on_date: dt.date
    reason: str = Field(min_length=1, max_length=200)
    amount: MoneyIn | None = Field(None, description="Default: the whole open amount")


# --- payments ---------------------------------------------------------------------------------------


class PaymentOut(Schema):
    id: int
    reference: str
    customer: CustomerRef
    entity: str
    payment_date: dt.date
    amount: MoneyOut
    unapplied: MoneyOut
    method: str
    erp_reference: str
    reversed_on: dt.date | None
    reversal_reason: str
    created_at: dt.datetime


def payment_out(p: Payment) -> PaymentOut:
    """Needs customer and entity selected."""
    return PaymentOut(
        id=p.pk,
        reference=p.reference,
        customer=customer_ref(p.customer),
        entity=p.entity.code,
        payment_date=p.payment_date,
        amount=money_out(p.amount_minor, p.currency),
        unapplied=money_out(p.unapplied_minor, p.currency),
        method=p.method,
        erp_reference=p.erp_reference,
        reversed_on=p.reversed_on,
        reversal_reason=p.reversal_reason,
        created_at=p.created_at,
    )


class PaymentIn(Input):
    customer_id: int
    reference: str = Field(min_length=1, max_length=60, description="Unique per customer")
    payment_date: dt.date
    amount: MoneyIn
    method: PaymentMethod = "ach"
    erp_reference: str = Field("", max_length=64)


class PaymentFilters(PageParams):
    customer: int | None = Field(None, description="Customer id")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    entity: str | None = Field(None, description="Legal entity code")
    paid_from: dt.date | None = Field(None, description="Payment date on or after")
    paid_to: dt.date | None = Field(None, description="Payment date on or before")
    reversed: bool | None = None
    unapplied: bool | None = Field(None, description="true: only payments with cash left to apply")


class PaymentPage(Page[PaymentOut]):
    pass


# --- credit memos -----------------------------------------------------------------------------------


class CreditMemoOut(Schema):
    id: int
    number: str
    customer: CustomerRef
    entity: str
    memo_date: dt.date
    amount: MoneyOut
    unapplied: MoneyOut
    reason: str
    original_invoice_id: int | None
    erp_reference: str
    created_at: dt.datetime


def credit_memo_out(m: CreditMemo) -> CreditMemoOut:
    """Needs customer and entity selected."""
    return CreditMemoOut(
        id=m.pk,
        number=m.number,
        customer=customer_ref(m.customer),
        entity=m.entity.code,
        memo_date=m.memo_date,
        amount=money_out(m.amount_minor, m.currency),
        unapplied=money_out(m.unapplied_minor, m.currency),
        reason=m.reason,
        original_invoice_id=m.original_invoice_id,
        erp_reference=m.erp_reference,
        created_at=m.created_at,
    )


class CreditMemoIn(Input):
    customer_id: int
    number: str = Field(min_length=1, max_length=40)
    memo_date: dt.date
    amount: MoneyIn
    reason: str = Field("", max_length=200)
    original_invoice_id: int | None = None
    erp_reference: str = Field("", max_length=64)


class CreditMemoFilters(PageParams):
    customer: int | None = Field(None, description="Customer id")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    entity: str | None = Field(None, description="Legal entity code")
    unapplied: bool | None = Field(None, description="true: only memos with credit left to apply")


class CreditMemoPage(Page[CreditMemoOut]):
    pass


# --- applications -----------------------------------------------------------------------------------


class ApplicationOut(Schema):
    id: int
    invoice_id: int
    invoice_number: str
    payment_id: int | None
    credit_memo_id: int | None
    amount: MoneyOut = Field(description="Negative for a reversal")
    applied_date: dt.date
    reverses_id: int | None = Field(description="The application this row reverses")
    reversed_by_id: int | None = Field(description="The reversal of this application, if any")
    created_at: dt.datetime


def application_out(a: Application) -> ApplicationOut:
    """Needs invoice and reversed_by selected."""
    reversal = getattr(a, "reversed_by", None)
    return ApplicationOut(
        id=a.pk,
        invoice_id=a.invoice_id,
        invoice_number=a.invoice.number,
        payment_id=a.payment_id,
        credit_memo_id=a.credit_memo_id,
        amount=money_out(a.amount_minor, a.invoice.currency),
        applied_date=a.applied_date,
        reverses_id=a.reverses_id,
        reversed_by_id=reversal.pk if reversal is not None else None,
        created_at=a.created_at,
    )


class ApplicationIn(Input):
    invoice_id: int
    payment_id: int | None = None
    credit_memo_id: int | None = None
    amount: MoneyIn
    applied_date: dt.date

    @model_validator(mode="after")
    def _one_source(self) -> ApplicationIn:
        if (self.payment_id is None) == (self.credit_memo_id is None):
            raise ValueError("give exactly one of payment_id and credit_memo_id")
        return self


class ApplicationFilters(PageParams):
    customer: int | None = Field(None, description="Customer id (of the invoice)")
    invoice: int | None = Field(None, description="Invoice id")
    payment: int | None = Field(None, description="Payment id")
    credit_memo: int | None = Field(None, description="Credit memo id")


class ApplicationPage(Page[ApplicationOut]):
    pass
