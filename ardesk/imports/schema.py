"""The ardesk fields each import kind reads, with their types, and the natural key that identifies a
record across imports:

- customer: account number;  contact: (customer account, name);  invoice: number;
- payment: (customer account, reference);  credit memo: number;
- application: (invoice number, payment reference or credit memo number, applied date, amount).

Pure data: no database access.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ardesk.ledger.models import Contact, Customer, Invoice, Payment


class Kind(StrEnum):
    CUSTOMERS = "customers"
    CONTACTS = "contacts"
    INVOICES = "invoices"
    PAYMENTS = "payments"
    APPLICATIONS = "applications"
    CREDITS = "credits"


KIND_LABELS = {
    Kind.CUSTOMERS: "Customers",
    Kind.CONTACTS: "Contacts",
    Kind.INVOICES: "Invoices (open items or settled history)",
    Kind.PAYMENTS: "Payments (receipts)",
    Kind.APPLICATIONS: "Applications (cash or credits applied to invoices)",
    Kind.CREDITS: "Credit memos",
}


class T(StrEnum):
    TEXT = "text"
    DATE = "date"
    AMOUNT = "amount"
    CURRENCY = "currency"
    CHOICE = "choice"
    BOOL = "bool"
    EMAIL = "email"
    COUNTRY = "country"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: T = T.TEXT
    required: bool = False
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    help: str = ""


def _choices(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), str(label)) for v, label in cls.choices)  # type: ignore[attr-defined]


CUSTOMER_FIELDS = (
    FieldSpec("account_number", required=True, max_length=40, help="the customer's account in the ERP"),
    FieldSpec("name", required=True, max_length=200),
    FieldSpec(
        "entity", max_length=20, help="legal entity (company code); default: the profile's or the only one"
    ),
    FieldSpec("parent", max_length=40, help="account number of the parent (in the database or this file)"),
    FieldSpec("address_line1", max_length=200),
    FieldSpec("address_line2", max_length=200),
    FieldSpec("city", max_length=100),
    FieldSpec("state", max_length=100),
    FieldSpec("postal_code", max_length=20),
    FieldSpec("country", T.COUNTRY, help="two-letter ISO 3166 code"),
    FieldSpec("tax_id", max_length=40),
    FieldSpec("territory", max_length=80),
    FieldSpec("region", max_length=80),
    FieldSpec("industry", max_length=80),
    FieldSpec("segment", max_length=80),
    FieldSpec("payment_terms", max_length=20, help="payment terms code, e.g. NET30"),
    FieldSpec("currency", T.CURRENCY, help="default: the entity's functional currency"),
    FieldSpec("credit_limit", T.AMOUNT, help="in the customer's currency"),
    FieldSpec("risk_class", T.CHOICE, choices=_choices(Customer.RiskClass)),
    FieldSpec("status", T.CHOICE, choices=_choices(Customer.Status)),
    FieldSpec("collector", max_length=150, help="username of the collector"),
    FieldSpec("erp_reference", max_length=64),
)

CONTACT_FIELDS = (
    FieldSpec("customer", required=True, max_length=40, help="customer account number"),
    FieldSpec("name", required=True, max_length=200),
    FieldSpec("role", T.CHOICE, choices=_choices(Contact.Role)),
    FieldSpec("email", T.EMAIL, max_length=254),
    FieldSpec("phone", max_length=40),
    FieldSpec("preferred_channel", T.CHOICE, choices=_choices(Contact.Channel)),
    FieldSpec("time_zone", max_length=64),
    FieldSpec("is_primary", T.BOOL),
    FieldSpec("opt_out_email", T.BOOL),
    FieldSpec("opt_out_phone", T.BOOL),
    FieldSpec("opt_out_sms", T.BOOL),
)

INVOICE_STATUS_CHOICES = tuple(
    (v, label) for v, label in _choices(Invoice.Status) if v in (Invoice.Status.OPEN, Invoice.Status.DISPUTED)
)

INVOICE_FIELDS = (
    FieldSpec("number", required=True, max_length=40),
    FieldSpec("customer", required=True, max_length=40, help="customer account number"),
    FieldSpec("invoice_date", T.DATE, required=True),
    FieldSpec("due_date", T.DATE, help="default: invoice date + the payment terms' net days"),
    FieldSpec("amount", T.AMOUNT, required=True, help="total including tax"),
    FieldSpec("currency", T.CURRENCY, help="default: the profile's, else the customer's"),
    FieldSpec("tax", T.AMOUNT),
    FieldSpec("terms", max_length=20, help="payment terms code; default: the customer's"),
    FieldSpec("po_number", max_length=60),
    FieldSpec("erp_reference", max_length=64),
    FieldSpec("status", T.CHOICE, choices=INVOICE_STATUS_CHOICES),
    FieldSpec("customer_name", max_length=200, help="name for a customer created from this file"),
    FieldSpec("paid_date", T.DATE, help="settled history: the date the invoice was paid"),
    FieldSpec("paid_amount", T.AMOUNT, help="settled history: default the whole amount"),
    FieldSpec("payment_reference", max_length=60, help="settled history: default PAID-<invoice number>"),
    FieldSpec("open_amount", T.AMOUNT, help="open balance; amount - open balance was paid"),
)

PAYMENT_FIELDS = (
    FieldSpec("customer", required=True, max_length=40, help="customer account number"),
    FieldSpec("reference", required=True, max_length=60, help="check number or bank reference"),
    FieldSpec("payment_date", T.DATE, required=True),
    FieldSpec("amount", T.AMOUNT, required=True),
    FieldSpec("currency", T.CURRENCY),
    FieldSpec("method", T.CHOICE, choices=_choices(Payment.Method)),
    FieldSpec("erp_reference", max_length=64),
)

CREDIT_FIELDS = (
    FieldSpec("number", required=True, max_length=40),
    FieldSpec("customer", required=True, max_length=40, help="customer account number"),
    FieldSpec("memo_date", T.DATE, required=True),
    FieldSpec("amount", T.AMOUNT, required=True),
    FieldSpec("currency", T.CURRENCY),
    FieldSpec("reason", max_length=200),
    FieldSpec("original_invoice", max_length=40, help="number of the invoice credited"),
    FieldSpec("erp_reference", max_length=64),
)

APPLICATION_FIELDS = (
    FieldSpec("invoice", required=True, max_length=40, help="invoice number"),
    FieldSpec("payment_reference", max_length=60, help="the payment applied (or credit_number)"),
    FieldSpec("credit_number", max_length=40, help="the credit memo applied (or payment_reference)"),
    FieldSpec(
        "payer", max_length=40, help="account of the paying customer; default the invoice's or its parent"
    ),
    FieldSpec("applied_date", T.DATE, required=True),
    FieldSpec("amount", T.AMOUNT, required=True, help="in the invoice's currency"),
)

FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {
    Kind.CUSTOMERS: CUSTOMER_FIELDS,
    Kind.CONTACTS: CONTACT_FIELDS,
    Kind.INVOICES: INVOICE_FIELDS,
    Kind.PAYMENTS: PAYMENT_FIELDS,
    Kind.CREDITS: CREDIT_FIELDS,
    Kind.APPLICATIONS: APPLICATION_FIELDS,
}


def field_map(kind: Kind) -> dict[str, FieldSpec]:
    return {f.name: f for f in FIELDS[kind]}
