"""The activity log: every touch of a customer, and the promises to pay taken on the way.

An **activity** is one thing that happened with a customer: a call (with its outcome and duration), an email
sent or received, a letter, an SMS, a meeting or visit, a note, a promise to pay taken, a dispute raised, a
payment plan agreed, a payment received. It names the customer, optionally the contact and the invoices it
is about, the collector it counts for and the person who logged it (none when the system recorded it).

A **contact** (DOMAIN.md) is a call, an email sent, a letter, an SMS, a meeting or a visit; automated dunning
emails count and are recorded by the system (`source = dunning`), nobody types them.

Activities the system records carry a `dedupe_key` (unique), so recording the same event twice (a job that
runs again, a payment imported twice) leaves one row.

A **promise to pay** (PTP) is an amount by a date for some invoices. It is evaluated against the payments
received: kept (paid in full by the promised date plus the grace days), partially kept, broken, or
cancelled by the collector. `paid_minor` is what was received toward it when last evaluated.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ardesk.core.money import CURRENCY_CHOICES, Money


class Kind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_RECEIVED = "email_received", "Email received"
    LETTER = "letter", "Letter"
    SMS = "sms", "SMS"
    MEETING = "meeting", "Meeting"
    VISIT = "visit", "Customer visit"
    NOTE = "note", "Note"
    PROMISE = "promise", "Promise to pay"
    DISPUTE = "dispute", "Dispute"
    PAYMENT_PLAN = "payment_plan", "Payment plan agreed"
    PAYMENT = "payment", "Payment received"


# DOMAIN.md: a contact is a call, email, letter, SMS, meeting or visit logged against a customer.
CONTACT_KINDS = frozenset({Kind.CALL, Kind.EMAIL_SENT, Kind.LETTER, Kind.SMS, Kind.MEETING, Kind.VISIT})


class Outcome(models.TextChoices):
    RIGHT_PARTY = "right_party", "Reached right party"
    OTHER_PARTY = "other_party", "Reached someone else"
    VOICEMAIL = "voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class Source(models.TextChoices):
    MANUAL = "manual", "Logged by a person"
    DUNNING = "dunning", "Automated dunning"
    SYSTEM = "system", "Recorded by the system"
    IMPORT = "import", "Imported"


class Activity(models.Model):
    customer = models.ForeignKey("ledger.Customer", on_delete=models.PROTECT, related_name="activities")
    contact = models.ForeignKey(
        "ledger.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    invoices = models.ManyToManyField("ledger.Invoice", blank=True, related_name="activities")
    # no index of its own: SQLite keeps no statistics, and an index on kind alone lured its planner away
    # from the (customer | collector, day, kind) covering indexes below (last touch of a 2,868-customer
    # team on the 10k demo book: 311 ms with it, 32 ms without)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # the collector the activity counts for (the customer's collector at the time, or who logged it)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    # who logged it; None when the system recorded it
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    occurred_on = models.DateField(db_index=True, help_text="business date of occurred_at (org time zone)")
    subject = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    follow_up_on = models.DateField(null=True, blank=True, db_index=True)
    follow_up_done_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        # covering indexes for the activity measures (ardesk.activities.measures): each is named in its
        # statement's EXPLAIN on SQLite and PostgreSQL alike
        indexes = [
            # activity counts by collector, day, kind and outcome (index only)
            models.Index(
                fields=["collector", "occurred_on", "kind", "outcome"], name="activity_collector_kind_cover"
            ),
            # the customer's timeline, and the contacts in the days before a receipt (collected after contact)
            models.Index(
                fields=["customer", "occurred_on", "kind", "collector"],
                name="activity_customer_cover",
            ),
            # overdue follow-ups per collector: a range, not every activity of the collector
            models.Index(
                fields=["collector", "follow_up_on", "follow_up_done_at"], name="activity_followup_cover"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="") | Q(kind="call"), name="activity_outcome_only_on_calls"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id} {self.occurred_on}"

    @property
    def is_contact(self) -> bool:
        return self.kind in CONTACT_KINDS


class PromiseToPay(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        PARTIAL = "partial", "Partially kept"
        BROKEN = "broken", "Broken"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey("ledger.Customer", on_delete=models.PROTECT, related_name="promises")
    contact = models.ForeignKey(
        "ledger.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    invoices = models.ManyToManyField("ledger.Invoice", blank=True, related_name="promises")
    activity = models.OneToOneField(
        Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="promise"
    )
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="promises"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    taken_on = models.DateField()
    promised_date = models.DateField(db_index=True)
    grace_days = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    paid_minor = models.BigIntegerField(default=0)
    evaluated_on = models.DateField(null=True, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promised_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"], name="ptp_customer_status"),
            # promises taken / resolved by a collector in a window (index only)
            models.Index(
                fields=["collector", "taken_on", "currency", "amount_minor"], name="ptp_collector_taken"
            ),
            models.Index(
                fields=["collector", "resolved_on", "status", "currency", "amount_minor"],
                name="ptp_collector_resolved",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="ptp_amount_positive"),
            models.CheckConstraint(condition=Q(paid_minor__gte=0), name="ptp_paid_not_negative"),
        ]

    def __str__(self) -> str:
        return f"PTP {self.amount} by {self.promised_date}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def paid(self) -> Money:
        return Money(self.paid_minor, self.currency)
