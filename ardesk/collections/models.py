"""Collections automation: strategies, dunning, the outbox, suppression, worklist settings.

A **strategy** is an ordered list of **steps**, each at an offset in days from an invoice's due date
(negative = before it): an email from a template, a call task, a letter, an escalation to the manager or a
credit-hold recommendation. A step may be limited to a **branch** on the customer's last outcome (no
answer, promise taken, dispute raised). Customers get a strategy by **rule** (risk class, size, territory,
segment; first matching rule by priority) or the default strategy.

The **outbox** holds every message and task the daily dunning run decided, written in the same
transaction as the decision, with a unique **dedup key** (customer, step, invoice set, date): running the
day twice writes nothing new. Workers drain email rows (see `delivery.py`).

A **suppression** stops all dunning mail to an address (opt-out through the unsubscribe link, or a bounce).
A **dunning block** stops dunning of a customer, or of one invoice, with a reason until an end date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ardesk.ledger.models import Customer


class Action(models.TextChoices):
    EMAIL = "email", "Email"
    CALL = "call", "Call task"
    LETTER = "letter", "Letter (PDF)"
    ESCALATE = "escalate", "Escalate to manager"
    CREDIT_HOLD = "credit_hold", "Recommend credit hold"


class Branch(models.TextChoices):
    ANY = "", "Any outcome"
    NO_ANSWER = "no_answer", "No answer"
    PROMISE = "promise", "Promise taken"
    DISPUTE = "dispute", "Dispute raised"


class TemplateKind(models.TextChoices):
    DUNNING = "dunning", "Dunning"
    PRE_DUE = "pre_due", "Pre-due reminder"
    THANK_YOU = "thank_you", "Thank you after payment"


class MessageTemplate(models.Model):
    """An email template; variants of one `code` per language (the empty language is the fallback)."""

    code = models.SlugField(max_length=60)
    language = models.CharField(max_length=10, blank=True, help_text="e.g. en, de, fr; empty = fallback")
    kind = models.CharField(max_length=10, choices=TemplateKind.choices, default=TemplateKind.DUNNING)
    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Django template syntax with the merge fields listed on the page")
    attach_statement = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "language"]
        constraints = [models.UniqueConstraint(fields=["code", "language"], name="template_code_language")]

    def __str__(self) -> str:
        return f"{self.code}{'/' + self.language if self.language else ''}"


class Strategy(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    thank_you_template = models.CharField(
        max_length=60, blank=True, help_text="template code sent the day an invoice is paid (empty = off)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default")
        ]

    def __str__(self) -> str:
        return self.name


class StrategyStep(models.Model):
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    offset_days = models.SmallIntegerField(help_text="days from the due date; negative = before it")
    action = models.CharField(max_length=12, choices=Action.choices)
    template_code = models.CharField(max_length=60, blank=True, help_text="for email steps")
    branch = models.CharField(max_length=10, choices=Branch.choices, blank=True, default="")
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["strategy", "offset_days", "position", "id"]

    def __str__(self) -> str:
        return f"{self.strategy.name}: {self.name} ({self.offset_days:+d})"


class StrategyRule(models.Model):
    """Assign a strategy to customers matching every non-empty criterion. Lowest priority number first."""

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveSmallIntegerField(default=100)
    risk_class = models.CharField(max_length=10, choices=Customer.RiskClass.choices, blank=True)
    territory = models.CharField(max_length=80, blank=True)
    segment = models.CharField(max_length=80, blank=True)
    min_open_minor = models.BigIntegerField(null=True, blank=True, help_text="customer size: open AR >=")
    max_open_minor = models.BigIntegerField(null=True, blank=True, help_text="customer size: open AR <")

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"rule {self.priority} -> {self.strategy_id}"


class Experiment(models.Model):
    """Champion/challenger: customers of a segment split in halves by a deterministic hash."""

    name = models.CharField(max_length=120, unique=True)
    segment = models.CharField(max_length=80, help_text="customers whose segment is this")
    champion = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="+")
    challenger = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="+")
    salt = models.CharField(max_length=40, default="cc")
    started_on = models.DateField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-started_on", "name"]

    def __str__(self) -> str:
        return self.name


class AccountState(models.Model):
    """Per-customer collections settings: language, strategy override, snooze."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="collections_state")
    language = models.CharField(max_length=10, blank=True)
    strategy = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snoozed_until = models.DateField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    credit_hold = models.BooleanField(
        default=False, help_text="a credit hold was accepted (collections flag)"
    )
    credit_hold_since = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"state {self.customer_id}"


class DunningBlock(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="dunning_blocks")
    invoice = models.ForeignKey(
        "ledger.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="dunning_blocks"
    )
    reason = models.CharField(max_length=200)
    until = models.DateField(null=True, blank=True, help_text="last blocked day; empty = until lifted")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_on = models.DateField()
    lifted_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_on", "-id"]

    def __str__(self) -> str:
        return f"block {self.customer_id}/{self.invoice_id or '*'}: {self.reason}"


class ContactPolicy(models.Model):
    """When and how often a customer type may be contacted (checked at send time)."""

    segment = models.CharField(
        max_length=80, unique=True, blank=True, help_text="empty = every other customer"
    )
    start_hour = models.PositiveSmallIntegerField(default=0)
    end_hour = models.PositiveSmallIntegerField(default=24, help_text="exclusive")
    max_emails = models.PositiveSmallIntegerField(null=True, blank=True)
    max_calls = models.PositiveSmallIntegerField(null=True, blank=True)
    period_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["segment"]
        verbose_name_plural = "contact policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(start_hour__lt=models.F("end_hour")) & Q(end_hour__lte=24), name="policy_hours"
            )
        ]

    def __str__(self) -> str:
        return self.segment or "default policy"


class Suppression(models.Model):
    class Reason(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        BOUNCE = "bounce", "Bounced"

    email = models.CharField(max_length=254, unique=True, help_text="lower-cased")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        OPEN = "open", "Open task"
        DONE = "done", "Task done"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="outbox")
    contact = models.ForeignKey(
        "ledger.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strategy = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey(StrategyStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=12, choices=Action.choices)
    template_code = models.CharField(max_length=60, blank=True)
    step_key = models.CharField(max_length=40, help_text='"step:<id>" or "thanks"')
    run_date = models.DateField(db_index=True)
    invoice_ids = models.JSONField(default=list)
    dedup_key = models.CharField(max_length=64, unique=True)
    to_email = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    handoff_at = models.DateTimeField(null=True, blank=True, help_text="SMTP handoff began (possibly sent)")
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-run_date", "-id"]
        indexes = [models.Index(fields=["status", "action", "not_before"], name="outbox_due")]
        constraints = [
            # the daily run decides once per customer, step and day, even when the invoice set changed
            models.UniqueConstraint(fields=["customer", "step_key", "run_date"], name="outbox_once_a_day")
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.action} {self.status}"


class WorklistWeights(models.Model):
    """Score weights of the worklist (one row, id 1). Points per unit; see `scoring.py`."""

    past_due_per_1000 = models.PositiveIntegerField(default=10, help_text="points per 1,000 past due")
    past_due_cap = models.PositiveIntegerField(default=400)
    per_day_past_due = models.PositiveIntegerField(default=2)
    days_cap = models.PositiveIntegerField(default=180)
    risk_low = models.PositiveIntegerField(default=0)
    risk_medium = models.PositiveIntegerField(default=20)
    risk_high = models.PositiveIntegerField(default=60)
    risk_severe = models.PositiveIntegerField(default=100)
    per_broken_promise = models.PositiveIntegerField(default=40)
    promise_due = models.PositiveIntegerField(default=50, help_text="a promise falls due within 2 days")
    per_day_untouched = models.PositiveIntegerField(default=3)
    untouched_cap = models.PositiveIntegerField(default=90)
    per_open_dispute = models.PositiveIntegerField(default=10)
    demoted_penalty = models.PositiveIntegerField(default=10000)

    def __str__(self) -> str:
        return "worklist weights"


class Referral(models.Model):
    """What an escalation or credit-hold step of the daily run raised for a person to decide.

    An escalation goes to the collector's manager (an email through the outbox and an "Escalations" list);
    a credit-hold recommendation to credit analysts and managers. At most one open referral of a kind per
    customer (partial unique constraint), and one per outbox row: running the day twice raises nothing new.
    """

    class Kind(models.TextChoices):
        ESCALATION = "escalation", "Escalation"
        CREDIT_HOLD = "credit_hold", "Credit-hold recommendation"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    OPEN_STATUSES = ("open", "acknowledged")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referrals")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    source = models.OneToOneField(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="referral"
    )
    email = models.OneToOneField(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invoice_ids = models.JSONField(default=list)
    raised_on = models.DateField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="referral_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id} {self.status}"
