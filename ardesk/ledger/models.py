"""The AR subledger: customers, contacts, invoices, receipts, credit memos, applications, write-offs.

Money columns are integer minor units (`*_minor`) beside an ISO-4217 `currency`.

Posted records (invoices, payments, credit memos, applications, write-offs) are never edited in place.
A correction is a new reversing record: an application or write-off is reversed by a row of the opposite
sign pointing at it (`reverses`), at most once.

The open amount of an invoice is *derived*: amount - applications - write-offs. `open_minor` caches that
figure for the current date; it is written only by `ledger.services` (in the same transaction as the
application it reflects) and the database refuses it below zero or above the amount, which is how an
over-application is refused even under concurrency. As-of figures are recomputed from the dated rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ardesk.core.money import CURRENCY_CHOICES, Money

DEFAULT_AGING_BUCKETS = [0, 30, 60, 90, 120]


def default_aging_buckets() -> list[int]:
    return list(DEFAULT_AGING_BUCKETS)


class Organization(models.Model):
    """The single organization this installation serves (row id 1)."""

    name = models.CharField(max_length=200, default="My Company")
    base_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    time_zone = models.CharField(max_length=64, default="UTC")
    aging_buckets = models.JSONField(
        default=default_aging_buckets,
        help_text="Upper bounds in days past due of each bucket after Current, e.g. [0, 30, 60, 90, 120] "
        "gives Current, 1-30, 31-60, 61-90, 91-120, 120+.",
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    ptp_grace_days = models.PositiveSmallIntegerField(default=3)

    def __str__(self) -> str:
        return self.name


class LegalEntity(models.Model):
    """A company code: customers' accounts, invoices and payments belong to one."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    functional_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PaymentTerms(models.Model):
    """Net N, or a cash discount (2/10 Net 30 = 2% if paid in 10 days, else due in 30)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=80)
    net_days = models.PositiveSmallIntegerField()
    discount_days = models.PositiveSmallIntegerField(default=0)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    class Meta:
        ordering = ["net_days", "code"]
        verbose_name_plural = "payment terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_days__lte=models.F("net_days")), name="terms_discount_within_net"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DORMANT = "dormant", "Dormant"
        CLOSED = "closed", "Closed"

    class RiskClass(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        SEVERE = "severe", "Severe"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="customers")
    account_number = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2")
    tax_id = models.CharField(max_length=40, blank=True)
    territory = models.CharField(max_length=80, blank=True, db_index=True)
    region = models.CharField(max_length=80, blank=True, db_index=True)
    industry = models.CharField(max_length=80, blank=True)
    segment = models.CharField(max_length=80, blank=True)
    payment_terms = models.ForeignKey(PaymentTerms, null=True, blank=True, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    credit_limit_minor = models.BigIntegerField(null=True, blank=True)
    risk_class = models.CharField(max_length=10, choices=RiskClass.choices, default=RiskClass.MEDIUM)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="portfolio"
    )
    erp_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit_minor__isnull=True) | Q(credit_limit_minor__gte=0),
                name="customer_credit_limit_nonnegative",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customer_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.account_number} {self.name}"

    @property
    def credit_limit(self) -> Money | None:
        return None if self.credit_limit_minor is None else Money(self.credit_limit_minor, self.currency)


class PortfolioAssignment(models.Model):
    """History of who held a customer: one open row (ended_at null) per customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="assignment_history"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(ended_at__isnull=True),
                name="one_open_assignment_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.collector_id} from {self.started_at:%Y-%m-%d}"


class Contact(models.Model):
    class Role(models.TextChoices):
        AP_CLERK = "ap_clerk", "AP clerk"
        AP_MANAGER = "ap_manager", "AP manager"
        CONTROLLER = "controller", "Controller"
        CFO = "cfo", "CFO"
        OWNER = "owner", "Owner"
        PURCHASING = "purchasing", "Purchasing"
        OTHER = "other", "Other"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"
        LETTER = "letter", "Letter"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AP_CLERK)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    time_zone = models.CharField(max_length=64, blank=True)
    is_primary = models.BooleanField(default=False)
    opt_out_email = models.BooleanField(default=False)
    opt_out_phone = models.BooleanField(default=False)
    opt_out_sms = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [models.UniqueConstraint(fields=["customer", "name"], name="contact_unique_name")]

    def __str__(self) -> str:
        return self.name


class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        DISPUTED = "disputed", "Disputed"
        WRITTEN_OFF = "written_off", "Written off"
        CANCELLED = "cancelled", "Cancelled"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=40, unique=True)
    invoice_date = models.DateField(db_index=True)
    due_date = models.DateField(db_index=True)
    terms = models.ForeignKey(PaymentTerms, null=True, blank=True, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_minor = models.BigIntegerField(help_text="Total including tax, in minor units")
    tax_minor = models.BigIntegerField(default=0)
    open_minor = models.BigIntegerField(help_text="Derived: amount - applications - write-offs")
    po_number = models.CharField(max_length=60, blank=True)
    erp_reference = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_on = models.DateField(null=True, blank=True, help_text="Date the open amount reached zero")
    cancelled_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-invoice_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["status", "due_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(tax_minor__gte=0) & Q(tax_minor__lte=models.F("amount_minor")),
                name="invoice_tax_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(open_minor__gte=0) & Q(open_minor__lte=models.F("amount_minor")),
                name="invoice_no_over_application",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("invoice_date")), name="invoice_due_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def open_amount(self) -> Money:
        return Money(self.open_minor, self.currency)


class Payment(models.Model):
    """A receipt from a customer. `unapplied_minor` caches amount - applications (never below zero)."""

    class Method(models.TextChoices):
        CHECK = "check", "Check"
        ACH = "ach", "ACH"
        WIRE = "wire", "Wire"
        CARD = "card", "Card"
        OTHER = "other", "Other"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="payments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    reference = models.CharField(max_length=60, help_text="Check number, bank reference: unique per customer")
    payment_date = models.DateField(db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_minor = models.BigIntegerField()
    unapplied_minor = models.BigIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.ACH)
    erp_reference = models.CharField(max_length=64, blank=True)
    reversed_on = models.DateField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-payment_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "reference"], name="payment_unique_reference"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_minor__gte=0) & Q(unapplied_minor__lte=models.F("amount_minor")),
                name="payment_no_over_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {Money(self.amount_minor, self.currency)}"


class CreditMemo(models.Model):
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="credit_memos")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_memos")
    number = models.CharField(max_length=40, unique=True)
    memo_date = models.DateField(db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_minor = models.BigIntegerField()
    unapplied_minor = models.BigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    original_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_memos"
    )
    erp_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-memo_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_minor__gte=0) & Q(unapplied_minor__lte=models.F("amount_minor")),
                name="credit_no_over_application",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Application(models.Model):
    """Cash or a credit applied to an invoice. A reversal is a negative row pointing at the original."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="applications")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    credit_memo = models.ForeignKey(
        CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    amount_minor = models.BigIntegerField()
    applied_date = models.DateField(db_index=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["applied_date", "id"]
        indexes = [
            # covering index of the as-of statements (applications dated after / within a window)
            models.Index(
                fields=["applied_date", "invoice", "amount_minor", "payment", "credit_memo"],
                name="application_asof_cover",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_memo__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_memo__isnull=False)),
                name="application_one_source",
            ),
            models.CheckConstraint(
                condition=(Q(reverses__isnull=True) & Q(amount_minor__gt=0))
                | (Q(reverses__isnull=False) & Q(amount_minor__lt=0)),
                name="application_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} to invoice {self.invoice_id} on {self.applied_date}"

    @property
    def source(self) -> Payment | CreditMemo:
        return self.payment if self.payment_id else self.credit_memo  # type: ignore[return-value]


class WriteOff(models.Model):
    """An amount of an invoice written off as bad debt (positive), or a reversal of one (negative)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount_minor = models.BigIntegerField()
    written_off_on = models.DateField(db_index=True)
    reason = models.CharField(max_length=200)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["written_off_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(reverses__isnull=True) & Q(amount_minor__gt=0))
                | (Q(reverses__isnull=False) & Q(amount_minor__lt=0)),
                name="writeoff_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"write-off {self.amount_minor} of invoice {self.invoice_id} on {self.written_off_on}"


class FxRate(models.Model):
    """Units of `quote` per one unit of `base` on `rate_date` (for reporting in the base currency)."""

    rate_date = models.DateField()
    base = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    quote = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        ordering = ["-rate_date"]
        constraints = [
            models.UniqueConstraint(fields=["rate_date", "base", "quote"], name="fx_unique_day_pair"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rate_date} {self.base}/{self.quote} {self.rate}"
