"""Disputes and deductions.

A **dispute** is a customer's claim that (part of) one or more invoices is not owed: the price is wrong,
goods were short, damaged or never received, the invoice is a duplicate... It names each invoice it covers
through a `DisputeLine` with the amount disputed on that invoice. A **deduction** is a dispute opened from
a short payment: the customer paid less than the invoice and kept the difference (`kind = deduction`).

While a dispute is *active* (open, in research, waiting on the customer, waiting on someone internal) its
disputed amount is **held**: it is kept out of dunning demands and shown on the customer and invoice pages
(capped at each invoice's open amount). Resolving it ends the hold:

- **valid**: the customer was right; one credit memo for the amount is posted and applied to the invoices;
- **invalid**: the amount is owed and goes back into collection (nothing is posted);
- **partially valid**: a credit memo for the valid part, the rest goes back into collection;
- **written off**: the amount is written off in the ledger.

A resolution records a **root cause** (billing error, pricing error, shipping error, customer error...),
which is what went wrong in fact, distinct from the **reason** the customer gave.

Reason codes are configurable (one table for the organization), each with an SLA in days that sets the due
date of a new dispute and a default owning department.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ardesk.core.money import CURRENCY_CHOICES, Money


class Department(models.TextChoices):
    SALES = "sales", "Sales"
    SHIPPING = "shipping", "Shipping"
    BILLING = "billing", "Billing"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    CREDIT = "credit", "Credit"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    IN_RESEARCH = "in_research", "In research"
    WAITING_CUSTOMER = "waiting_customer", "Waiting on customer"
    WAITING_INTERNAL = "waiting_internal", "Waiting on internal"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


ACTIVE_STATUSES = (Status.OPEN, Status.IN_RESEARCH, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL)
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)


class Resolution(models.TextChoices):
    VALID = "valid", "Valid (credit issued)"
    INVALID = "invalid", "Invalid (back to collection)"
    PARTIAL = "partial", "Partially valid"
    WRITTEN_OFF = "written_off", "Written off"


class RootCause(models.TextChoices):
    BILLING_ERROR = "billing_error", "Billing error"
    PRICING_ERROR = "pricing_error", "Pricing error"
    SHIPPING_ERROR = "shipping_error", "Shipping error"
    PRODUCT_QUALITY = "product_quality", "Product quality"
    PROMOTION_SETUP = "promotion_setup", "Promotion not set up"
    TAX_ERROR = "tax_error", "Tax error"
    CUSTOMER_ERROR = "customer_error", "Customer error"
    SERVICE_FAILURE = "service_failure", "Service failure"
    OTHER = "other", "Other"


class Kind(models.TextChoices):
    DISPUTE = "dispute", "Dispute"
    DEDUCTION = "deduction", "Deduction"


class Channel(models.TextChoices):
    COLLECTOR = "collector", "Opened by a collector"
    CUSTOMER_EMAIL = "customer_email", "Customer email"
    DEDUCTION = "deduction", "Automatic from a short payment"
    IMPORT = "import", "Imported"


class ReasonCode(models.Model):
    """The customer's stated reason, as the organization codes it."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    sla_days = models.PositiveSmallIntegerField(default=30, help_text="Days from opening to the due date")
    default_department = models.CharField(
        max_length=20, choices=Department.choices, default=Department.CUSTOMER_SERVICE
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class DisputeSettings(models.Model):
    """Organization settings of the disputes app (row id 1).

    A payment application that leaves an invoice with a residual of at most `deduction_max_minor` (in the
    invoice's currency) and at most `deduction_max_percent` % of the invoice amount is a short payment:
    `detect_short_payments` opens a deduction for it.
    """

    deduction_max_minor = models.BigIntegerField(default=50_000)
    deduction_max_percent = models.DecimalField(max_digits=5, decimal_places=2, default=10)
    deduction_reason = models.ForeignKey(
        ReasonCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "dispute settings"

    def __str__(self) -> str:
        return "Dispute settings"


class Dispute(models.Model):
    customer = models.ForeignKey("ledger.Customer", on_delete=models.PROTECT, related_name="disputes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DISPUTE, db_index=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.COLLECTOR)
    reason = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, related_name="disputes")
    customer_reason_code = models.CharField(max_length=40, blank=True)
    customer_reference = models.CharField(max_length=80, blank=True)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_minor = models.BigIntegerField(help_text="Total disputed: the sum of the lines")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    department = models.CharField(max_length=20, choices=Department.choices, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_on = models.DateField(db_index=True)
    due_on = models.DateField(db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # resolution
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    root_cause = models.CharField(max_length=20, choices=RootCause.choices, blank=True, db_index=True)
    resolved_on = models.DateField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    valid_minor = models.BigIntegerField(default=0)
    invalid_minor = models.BigIntegerField(default=0)
    written_off_minor = models.BigIntegerField(default=0)
    credit_memo = models.ForeignKey(
        "ledger.CreditMemo", null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    closed_on = models.DateField(null=True, blank=True)
    # deductions: the short payment; `dedupe_key` makes automatic openings and imports idempotent
    payment = models.ForeignKey(
        "ledger.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="deductions"
    )
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="dispute_status_due"),
            models.Index(fields=["customer", "status"], name="dispute_customer_status"),
            models.Index(fields=["owner", "status"], name="dispute_owner_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("opened_on")), name="dispute_due_after_open"
            ),
            models.CheckConstraint(
                condition=Q(valid_minor__gte=0) & Q(invalid_minor__gte=0) & Q(written_off_minor__gte=0),
                name="dispute_resolution_amounts_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=models.F("opened_on")),
                name="dispute_resolved_after_open",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"D-{self.pk:06d}" if self.pk else "D-new"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def cycle_days(self) -> int | None:
        return None if self.resolved_on is None else (self.resolved_on - self.opened_on).days


class DisputeLine(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey("ledger.Invoice", on_delete=models.PROTECT, related_name="dispute_lines")
    amount_minor = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "invoice"], name="dispute_line_unique_invoice"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id}: {self.invoice_id} {self.amount_minor}"


class DisputeNote(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on {self.dispute_id}"


class DisputeAttachment(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="disputes/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class DisputeEvent(models.Model):
    """The history of a dispute: one row per state change, note or attachment."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    on_date = models.DateField()
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.action} {self.on_date}"
