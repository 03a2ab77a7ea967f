"""Writes to the AR subledger. Every function is keyword-only, takes the acting user, runs in one
transaction and writes an audit row in it.

Over-application is refused by conditional updates (`open_minor >= amount`), so two clerks applying cash
to the same invoice at once cannot drive it below zero, on SQLite or PostgreSQL; the database check
constraints are the last line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ardesk.core import audit
from ardesk.core.errors import (
    AlreadyReversed,
    Conflict,
    CurrencyMismatch,
    DuplicateKey,
    ImmutableRecord,
    InvalidInput,
    OverApplication,
)
from ardesk.core.money import Money, check_currency

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
    PortfolioAssignment,
    WriteOff,
)

CUSTOMER_EDITABLE = {
    "name",
    "parent",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "tax_id",
    "territory",
    "region",
    "industry",
    "segment",
    "payment_terms",
    "credit_limit_minor",
    "risk_class",
    "status",
    "erp_reference",
}
CONTACT_EDITABLE = {
    "name",
    "role",
    "email",
    "phone",
    "preferred_channel",
    "time_zone",
    "is_primary",
    "opt_out_email",
    "opt_out_phone",
    "opt_out_sms",
}


def get_organization() -> Organization:
    org, _ = Organization.objects.get_or_create(pk=1)
    return org


def _positive(money: Money, what: str) -> None:
    if money.minor <= 0:
        raise InvalidInput(f"{what} must be positive, got {money}")


def _check_parent(customer: Customer | None, parent: Customer | None) -> None:
    seen: set[int] = set()
    node = parent
    while node is not None:
        if customer is not None and node.pk == customer.pk:
            raise InvalidInput("a customer cannot be its own ancestor", parent=parent.pk if parent else None)
        if node.pk in seen:  # pragma: no cover - guarded on every write
            break
        seen.add(node.pk)
        node = node.parent


# --- organization, entities, terms -------------------------------------------------------------------


@transaction.atomic
def create_entity(*, actor: Any, code: str, name: str, functional_currency: str = "USD") -> LegalEntity:
    check_currency(functional_currency)
    if LegalEntity.objects.filter(code=code).exists():
        raise DuplicateKey(f"legal entity {code!r} already exists", field="code")
    entity = LegalEntity.objects.create(code=code, name=name, functional_currency=functional_currency)
    audit.record(actor=actor, action="entity.create", obj=entity, after=audit.snapshot(entity))
    return entity


@transaction.atomic
def create_terms(
    *, actor: Any, code: str, name: str, net_days: int, discount_days: int = 0, discount_percent: Any = 0
) -> PaymentTerms:
    if discount_days > net_days:
        raise InvalidInput("the discount period cannot be longer than the net period")
    terms = PaymentTerms.objects.create(
        code=code,
        name=name,
        net_days=net_days,
        discount_days=discount_days,
        discount_percent=discount_percent,
    )
    audit.record(actor=actor, action="terms.create", obj=terms, after=audit.snapshot(terms))
    return terms


# --- customers, contacts, portfolios -----------------------------------------------------------------


@transaction.atomic
def create_customer(
    *,
    actor: Any,
    entity: LegalEntity,
    account_number: str,
    name: str,
    collector: Any = None,
    currency: str | None = None,
    **fields: Any,
) -> Customer:
    unknown = set(fields) - CUSTOMER_EDITABLE
    if unknown:
        raise InvalidInput(f"unknown customer fields: {', '.join(sorted(unknown))}")
    if not account_number.strip():
        raise InvalidInput("account number is required", field="account_number")
    if Customer.objects.filter(account_number=account_number).exists():
        raise DuplicateKey(f"customer account {account_number!r} already exists", field="account_number")
    customer = Customer(
        entity=entity,
        account_number=account_number.strip(),
        name=name,
        collector=collector,
        currency=check_currency(currency or entity.functional_currency),
        **fields,
    )
    _check_parent(None, customer.parent)
    customer.save()
    if collector is not None:
        PortfolioAssignment.objects.create(
            customer=customer, collector=collector, started_at=timezone.now(), assigned_by=actor
        )
    audit.record(actor=actor, action="customer.create", obj=customer, after=audit.snapshot(customer))
    return customer


@transaction.atomic
def update_customer(*, actor: Any, customer: Customer, **fields: Any) -> Customer:
    unknown = set(fields) - CUSTOMER_EDITABLE
    if unknown:
        raise InvalidInput(f"these customer fields cannot be changed here: {', '.join(sorted(unknown))}")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = audit.snapshot(customer)
    for key, value in fields.items():
        setattr(customer, key, value)
    if "parent" in fields:
        _check_parent(customer, customer.parent)
    if customer.credit_limit_minor is not None and customer.credit_limit_minor < 0:
        raise InvalidInput("credit limit cannot be negative", field="credit_limit")
    customer.save()
    b, a = audit.changed(before, audit.snapshot(customer))
    if a:
        audit.record(actor=actor, action="customer.update", obj=customer, before=b, after=a)
    return customer


@transaction.atomic
def reassign_customers(*, actor: Any, customers: Iterable[Customer], collector: Any, reason: str = "") -> int:
    """Move customers to `collector` (or unassign with None), keeping the assignment history."""
    now = timezone.now()
    ids = [c.pk for c in customers]
    moving = list(
        Customer.objects.select_for_update().filter(pk__in=ids).exclude(collector=collector)
        if collector is not None
        else Customer.objects.select_for_update().filter(pk__in=ids, collector__isnull=False)
    )
    if not moving:
        return 0
    moving_ids = [c.pk for c in moving]
    PortfolioAssignment.objects.filter(customer_id__in=moving_ids, ended_at__isnull=True).update(ended_at=now)
    if collector is not None:
        PortfolioAssignment.objects.bulk_create(
            [
                PortfolioAssignment(
                    customer_id=cid, collector=collector, started_at=now, assigned_by=actor, reason=reason
                )
                for cid in moving_ids
            ]
        )
    Customer.objects.filter(pk__in=moving_ids).update(collector=collector, updated_at=now)
    from ardesk.core.models import AuditLog

    AuditLog.objects.bulk_create(
        [
            AuditLog(
                actor=actor if getattr(actor, "pk", None) else None,
                action="customer.reassign",
                object_type="ledger.Customer",
                object_id=str(c.pk),
                before={"collector_id": c.collector_id},
                after={"collector_id": collector.pk if collector else None},
                note=reason,
            )
            for c in moving
        ]
    )
    return len(moving)


@transaction.atomic
def add_contact(*, actor: Any, customer: Customer, name: str, **fields: Any) -> Contact:
    unknown = set(fields) - CONTACT_EDITABLE
    if unknown:
        raise InvalidInput(f"unknown contact fields: {', '.join(sorted(unknown))}")
    if Contact.objects.filter(customer=customer, name=name).exists():
        raise DuplicateKey(f"{customer.account_number} already has a contact named {name!r}", field="name")
    contact = Contact.objects.create(customer=customer, name=name, **fields)
    audit.record(actor=actor, action="contact.create", obj=contact, after=audit.snapshot(contact))
    return contact


@transaction.atomic
def update_contact(*, actor: Any, contact: Contact, **fields: Any) -> Contact:
    unknown = set(fields) - CONTACT_EDITABLE
    if unknown:
        raise InvalidInput(f"these contact fields cannot be changed: {', '.join(sorted(unknown))}")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    before = audit.snapshot(contact)
    for key, value in fields.items():
        setattr(contact, key, value)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise DuplicateKey(f"another contact of this customer is named {contact.name!r}") from exc
    b, a = audit.changed(before, audit.snapshot(contact))
    if a:
        audit.record(actor=actor, action="contact.update", obj=contact, before=b, after=a)
    return contact


# --- posted records ----------------------------------------------------------------------------------


@transaction.atomic
def post_invoice(
    *,
    actor: Any,
    customer: Customer,
    number: str,
    invoice_date: dt.date,
    amount: Money,
    due_date: dt.date | None = None,
    tax: Money | None = None,
    terms: PaymentTerms | None = None,
    po_number: str = "",
    erp_reference: str = "",
) -> Invoice:
    _positive(amount, "invoice amount")
    tax = tax if tax is not None else Money.zero(amount.currency)
    if tax.currency != amount.currency:
        raise CurrencyMismatch(f"tax is in {tax.currency} but the invoice is in {amount.currency}")
    if tax.minor < 0 or tax.minor > amount.minor:
        raise InvalidInput("tax must be between zero and the invoice amount", field="tax")
    terms = terms or customer.payment_terms
    if due_date is None:
        if terms is None:
            raise InvalidInput("a due date or payment terms are required", field="due_date")
        due_date = invoice_date + dt.timedelta(days=terms.net_days)
    if due_date < invoice_date:
        raise InvalidInput("due date is before the invoice date", field="due_date")
    if not number.strip():
        raise InvalidInput("invoice number is required", field="number")
    if Invoice.objects.filter(number=number).exists():
        raise DuplicateKey(f"invoice {number!r} already exists", field="number")
    invoice = Invoice.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        number=number.strip(),
        invoice_date=invoice_date,
        due_date=due_date,
        terms=terms,
        currency=amount.currency,
        amount_minor=amount.minor,
        tax_minor=tax.minor,
        open_minor=amount.minor,
        po_number=po_number,
        erp_reference=erp_reference,
    )
    audit.record(actor=actor, action="invoice.post", obj=invoice, after=audit.snapshot(invoice))
    return invoice


@transaction.atomic
def post_payment(
    *,
    actor: Any,
    customer: Customer,
    reference: str,
    payment_date: dt.date,
    amount: Money,
    method: str = Payment.Method.ACH,
    erp_reference: str = "",
) -> Payment:
    _positive(amount, "payment amount")
    if not reference.strip():
        raise InvalidInput("payment reference is required", field="reference")
    if method not in Payment.Method.values:
        raise InvalidInput(f"unknown payment method {method!r}", field="method")
    if Payment.objects.filter(customer=customer, reference=reference).exists():
        raise DuplicateKey(
            f"payment {reference!r} of customer {customer.account_number} already exists", field="reference"
        )
    payment = Payment.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        reference=reference.strip(),
        payment_date=payment_date,
        currency=amount.currency,
        amount_minor=amount.minor,
        unapplied_minor=amount.minor,
        method=method,
        erp_reference=erp_reference,
    )
    audit.record(actor=actor, action="payment.post", obj=payment, after=audit.snapshot(payment))
    return payment


@transaction.atomic
def post_credit_memo(
    *,
    actor: Any,
    customer: Customer,
    number: str,
    memo_date: dt.date,
    amount: Money,
    reason: str = "",
    original_invoice: Invoice | None = None,
    erp_reference: str = "",
) -> CreditMemo:
    _positive(amount, "credit memo amount")
    if original_invoice is not None and original_invoice.customer_id != customer.pk:
        raise InvalidInput("the original invoice belongs to another customer", field="original_invoice")
    if CreditMemo.objects.filter(number=number).exists():
        raise DuplicateKey(f"credit memo {number!r} already exists", field="number")
    memo = CreditMemo.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        number=number,
        memo_date=memo_date,
        currency=amount.currency,
        amount_minor=amount.minor,
        unapplied_minor=amount.minor,
        reason=reason,
        original_invoice=original_invoice,
        erp_reference=erp_reference,
    )
    audit.record(actor=actor, action="credit_memo.post", obj=memo, after=audit.snapshot(memo))
    return memo


def _settle_status(invoice_id: int, on_date: dt.date, closing_status: str) -> None:
    """Keep status and closed_on in step with the derived open amount."""
    inv = Invoice.objects.only("open_minor", "status").get(pk=invoice_id)
    if inv.open_minor == 0 and inv.status in (Invoice.Status.OPEN, Invoice.Status.DISPUTED):
        Invoice.objects.filter(pk=invoice_id).update(status=closing_status, closed_on=on_date)
    elif inv.open_minor > 0 and inv.status in (Invoice.Status.PAID, Invoice.Status.WRITTEN_OFF):
        Invoice.objects.filter(pk=invoice_id).update(status=Invoice.Status.OPEN, closed_on=None)


def _may_pay(source_customer: Customer, invoice: Invoice) -> bool:
    """A customer pays its own invoices; a parent may pay its children's."""
    return invoice.customer_id == source_customer.pk or invoice.customer.parent_id == source_customer.pk


@transaction.atomic
def apply(
    *,
    actor: Any,
    invoice: Invoice,
    amount: Money,
    applied_date: dt.date,
    payment: Payment | None = None,
    credit_memo: CreditMemo | None = None,
) -> Application:
    """Apply part or all of a payment or credit memo to an invoice."""
    if (payment is None) == (credit_memo is None):
        raise InvalidInput("apply needs exactly one of payment or credit_memo")
    _positive(amount, "applied amount")
    source: Payment | CreditMemo = payment if payment is not None else credit_memo  # type: ignore[assignment]
    if amount.currency != invoice.currency or source.currency != invoice.currency:
        raise CurrencyMismatch(
            f"cannot apply {source.currency} {type(source).__name__.lower()} to a {invoice.currency} invoice"
        )
    if not _may_pay(source.customer, invoice):
        raise InvalidInput(
            f"{invoice.number} belongs to {invoice.customer.account_number}, "
            f"not to {source.customer.account_number} or its children"
        )
    source_date = payment.payment_date if payment is not None else credit_memo.memo_date  # type: ignore[union-attr]
    if applied_date < source_date:
        raise InvalidInput(
            f"cannot apply on {applied_date}, before the {type(source).__name__} of {source_date}"
        )
    if applied_date < invoice.invoice_date:
        raise InvalidInput(f"cannot apply on {applied_date}, before the invoice date {invoice.invoice_date}")
    if payment is not None and payment.reversed_on is not None:
        raise AlreadyReversed(f"payment {payment.reference} was reversed on {payment.reversed_on}")
    updated = Invoice.objects.filter(
        pk=invoice.pk,
        open_minor__gte=amount.minor,
        status__in=[Invoice.Status.OPEN, Invoice.Status.DISPUTED],
    ).update(open_minor=F("open_minor") - amount.minor)
    if updated != 1:
        current = Invoice.objects.get(pk=invoice.pk)
        raise OverApplication(
            f"{invoice.number} has {current.open_amount} open ({current.get_status_display()}); "
            f"cannot apply {amount}",
            open=current.open_minor,
            requested=amount.minor,
        )
    model = Payment if payment is not None else CreditMemo
    if (
        model.objects.filter(pk=source.pk, unapplied_minor__gte=amount.minor).update(
            unapplied_minor=F("unapplied_minor") - amount.minor
        )
        != 1
    ):
        current_src = model.objects.get(pk=source.pk)
        raise OverApplication(
            f"{type(source).__name__} has {Money(current_src.unapplied_minor, source.currency)} unapplied; "
            f"cannot apply {amount}",
            unapplied=current_src.unapplied_minor,
            requested=amount.minor,
        )
    application = Application.objects.create(
        invoice=invoice,
        payment=payment,
        credit_memo=credit_memo,
        amount_minor=amount.minor,
        applied_date=applied_date,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _settle_status(invoice.pk, applied_date, Invoice.Status.PAID)
    audit.record(actor=actor, action="application.post", obj=application, after=audit.snapshot(application))
    return application


@transaction.atomic
def reverse_application(
    *, actor: Any, application: Application, on_date: dt.date, reason: str
) -> Application:
    """Undo an application with a negative row; the invoice reopens and the cash is unapplied again."""
    if application.reverses_id is not None:
        raise ImmutableRecord("a reversal cannot itself be reversed; post a new application instead")
    if Application.objects.filter(reverses=application).exists():
        raise AlreadyReversed(f"application {application.pk} is already reversed")
    if on_date < application.applied_date:
        raise InvalidInput("a reversal cannot be dated before the application it reverses")
    amt = application.amount_minor
    try:
        with transaction.atomic():
            reversal = Application.objects.create(
                invoice_id=application.invoice_id,
                payment_id=application.payment_id,
                credit_memo_id=application.credit_memo_id,
                amount_minor=-amt,
                applied_date=on_date,
                reverses=application,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:  # the one-to-one on `reverses`: a concurrent reversal won
        raise AlreadyReversed(f"application {application.pk} is already reversed") from exc
    Invoice.objects.filter(pk=application.invoice_id).update(open_minor=F("open_minor") + amt)
    if application.payment_id is not None:
        Payment.objects.filter(pk=application.payment_id, reversed_on__isnull=True).update(
            unapplied_minor=F("unapplied_minor") + amt
        )
    elif application.credit_memo_id is not None:
        CreditMemo.objects.filter(pk=application.credit_memo_id).update(
            unapplied_minor=F("unapplied_minor") + amt
        )
    _settle_status(application.invoice_id, on_date, Invoice.Status.PAID)
    audit.record(
        actor=actor, action="application.reverse", obj=reversal, after=audit.snapshot(reversal), note=reason
    )
    return reversal


@transaction.atomic
def write_off(
    *, actor: Any, invoice: Invoice, on_date: dt.date, reason: str, amount: Money | None = None
) -> WriteOff:
    """Write off part or (by default) all of an invoice's open amount as bad debt."""
    current = Invoice.objects.get(pk=invoice.pk)
    amount = amount if amount is not None else current.open_amount
    if amount.currency != invoice.currency:
        raise CurrencyMismatch(f"write-off in {amount.currency} on a {invoice.currency} invoice")
    _positive(amount, "write-off amount")
    if not reason.strip():
        raise InvalidInput("a write-off needs a reason", field="reason")
    if on_date < invoice.invoice_date:
        raise InvalidInput("a write-off cannot be dated before the invoice")
    if (
        Invoice.objects.filter(
            pk=invoice.pk,
            open_minor__gte=amount.minor,
            status__in=[Invoice.Status.OPEN, Invoice.Status.DISPUTED],
        ).update(open_minor=F("open_minor") - amount.minor)
        != 1
    ):
        raise OverApplication(f"{invoice.number} has {current.open_amount} open; cannot write off {amount}")
    wo = WriteOff.objects.create(
        invoice=invoice,
        amount_minor=amount.minor,
        written_off_on=on_date,
        reason=reason,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _settle_status(invoice.pk, on_date, Invoice.Status.WRITTEN_OFF)
    audit.record(actor=actor, action="writeoff.post", obj=wo, after=audit.snapshot(wo))
    return wo


@transaction.atomic
def reverse_write_off(*, actor: Any, write_off: WriteOff, on_date: dt.date, reason: str) -> WriteOff:
    if write_off.reverses_id is not None:
        raise ImmutableRecord("a reversal cannot itself be reversed")
    if WriteOff.objects.filter(reverses=write_off).exists():
        raise AlreadyReversed(f"write-off {write_off.pk} is already reversed")
    try:
        with transaction.atomic():
            rev = WriteOff.objects.create(
                invoice_id=write_off.invoice_id,
                amount_minor=-write_off.amount_minor,
                written_off_on=on_date,
                reason=reason,
                reverses=write_off,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise AlreadyReversed(f"write-off {write_off.pk} is already reversed") from exc
    Invoice.objects.filter(pk=write_off.invoice_id).update(
        open_minor=F("open_minor") + write_off.amount_minor
    )
    _settle_status(write_off.invoice_id, on_date, Invoice.Status.WRITTEN_OFF)
    audit.record(actor=actor, action="writeoff.reverse", obj=rev, after=audit.snapshot(rev), note=reason)
    return rev


@transaction.atomic
def reverse_payment(*, actor: Any, payment: Payment, on_date: dt.date, reason: str) -> Payment:
    """A returned check or recalled wire: every live application is reversed, then the receipt."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reversed_on is not None:
        raise AlreadyReversed(f"payment {payment.reference} was reversed on {payment.reversed_on}")
    if on_date < payment.payment_date:
        raise InvalidInput("a payment reversal cannot be dated before the payment")
    live = Application.objects.filter(payment=payment, reverses__isnull=True, reversed_by__isnull=True)
    for app in live:
        reverse_application(
            actor=actor, application=app, on_date=max(on_date, app.applied_date), reason=reason
        )
    before = audit.snapshot(payment)
    Payment.objects.filter(pk=payment.pk).update(
        reversed_on=on_date, reversal_reason=reason, unapplied_minor=0
    )
    payment.refresh_from_db()
    b, a = audit.changed(before, audit.snapshot(payment))
    audit.record(actor=actor, action="payment.reverse", obj=payment, before=b, after=a, note=reason)
    return payment


@transaction.atomic
def cancel_invoice(*, actor: Any, invoice: Invoice, on_date: dt.date, reason: str) -> Invoice:
    """Void an invoice issued in error. Only an untouched invoice can be cancelled; one with cash or
    credits applied needs those reversed first (or a credit memo)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.CANCELLED:
        raise Conflict(f"{invoice.number} is already cancelled")
    if invoice.open_minor != invoice.amount_minor:
        raise ImmutableRecord(f"{invoice.number} has applications or write-offs; reverse them first")
    before = audit.snapshot(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(
        status=Invoice.Status.CANCELLED, cancelled_on=on_date, open_minor=0, closed_on=on_date
    )
    invoice.refresh_from_db()
    b, a = audit.changed(before, audit.snapshot(invoice))
    audit.record(actor=actor, action="invoice.cancel", obj=invoice, before=b, after=a, note=reason)
    return invoice


@transaction.atomic
def set_fx_rate(*, actor: Any, rate_date: dt.date, base: str, quote: str, rate: Any) -> FxRate:
    check_currency(base)
    check_currency(quote)
    if base == quote:
        raise InvalidInput("an FX rate needs two different currencies")
    fx, created = FxRate.objects.update_or_create(
        rate_date=rate_date, base=base, quote=quote, defaults={"rate": rate}
    )
    audit.record(actor=actor, action="fx.set" if created else "fx.update", obj=fx, after=audit.snapshot(fx))
    return fx
