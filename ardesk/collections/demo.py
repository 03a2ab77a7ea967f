"""Demo collections setup: strategies and templates (English and German), assignment rules, a consumer
contact policy ready to switch on, a champion/challenger test, a few dunning blocks, and the demo day's
dunning run into the outbox (nothing is sent: run `ardesk dunning send`; `make demo` uses the console
email backend, so nothing leaves the machine).

Deterministic: blocks are chosen by a generator seeded with cfg.seed; the only date is cfg.as_of.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ardesk.ledger.models import Customer, Invoice
from ardesk.ledger.selectors import OPEN_STATUSES

from . import services
from .models import AccountState, ContactPolicy, DunningBlock, Experiment, MessageTemplate, Strategy

BODY_EN = """Dear {{ contact.name }},

our records show the following invoices of {{ customer.name }} ({{ customer.account_number }}) open:
{% for i in invoices %}
  {{ i.number }}  due {{ i.due_date }}  {{ i.open }} {{ i.currency }}{% if i.days_past_due %}  \
({{ i.days_past_due }} days past due){% endif %}{% endfor %}

Total: {{ total }}

If you have already paid, thank you and please ignore this message. A statement is attached.

{{ collector.name }}
{{ company }} Accounts Receivable - {{ collector.email }}

To stop these reminders: {{ unsubscribe_url }}
"""
BODY_DE = """Sehr geehrte Damen und Herren,

folgende Rechnungen von {{ customer.name }} ({{ customer.account_number }}) sind offen:
{% for i in invoices %}
  {{ i.number }}  fällig {{ i.due_date }}  {{ i.open }} {{ i.currency }}{% endfor %}

Summe: {{ total }}

Mit freundlichen Grüßen
{{ collector.name }}, {{ company }}

Abmelden: {{ unsubscribe_url }}
"""
TEMPLATES = [
    (
        "reminder",
        "pre_due",
        "Friendly reminder",
        "Upcoming payment: {{ customer.name }}",
        "Zahlungshinweis: {{ customer.name }}",
    ),
    (
        "first-notice",
        "dunning",
        "First notice",
        "Past due invoices: {{ customer.account_number }}",
        "Zahlungserinnerung: {{ customer.account_number }}",
    ),
    (
        "second-notice",
        "dunning",
        "Second notice",
        "Second notice: {{ total }} past due",
        "Zweite Mahnung: {{ total }} überfällig",
    ),
    (
        "final-notice",
        "dunning",
        "Final notice",
        "Final notice before credit hold: {{ customer.name }}",
        "Letzte Mahnung: {{ customer.name }}",
    ),
    ("thank-you", "thank_you", "Thank you", "Thank you for your payment", "Vielen Dank für Ihre Zahlung"),
]
# (offset days, action, template, name, branch)
STANDARD = [
    (-5, "email", "reminder", "Pre-due reminder", ""),
    (3, "email", "first-notice", "First notice", ""),
    (10, "call", "", "Collector call", ""),
    (17, "email", "second-notice", "Second notice", ""),
    (17, "call", "", "Follow up the promise", "promise"),
    (30, "email", "final-notice", "Final notice", ""),
    (30, "letter", "", "Final letter (no answer)", "no_answer"),
    (45, "escalate", "", "Escalate to manager", ""),
    (60, "credit_hold", "", "Recommend credit hold", ""),
]
KEY_ACCOUNTS = [
    (-7, "call", "", "Courtesy call before due", ""),
    (5, "call", "", "Call the AP manager", ""),
    (15, "email", "first-notice", "Written notice", ""),
    (30, "escalate", "", "Account manager and controller", ""),
]
HIGH_RISK = [
    (1, "email", "first-notice", "Notice the day after due", ""),
    (5, "call", "", "Call", ""),
    (12, "email", "final-notice", "Final notice", ""),
    (20, "credit_hold", "", "Recommend credit hold", ""),
]
EARLY_TOUCH = [
    (-3, "email", "reminder", "Reminder", ""),
    (1, "email", "first-notice", "Notice", ""),
    (7, "call", "", "Call", ""),
    (21, "email", "final-notice", "Final notice", ""),
    (40, "escalate", "", "Escalate", ""),
]


def _strategy(name: str, description: str, steps: list[tuple[int, str, str, str, str]], **kw: Any) -> Any:
    s = services.save_strategy(actor=None, name=name, description=description, **kw)
    for pos, (offset, action, tpl, step_name, branch) in enumerate(steps):
        services.add_step(
            actor=None,
            strategy=s,
            offset_days=offset,
            action=action,
            name=step_name,
            template_code=tpl,
            branch=branch,
            position=pos,
        )
    return s


def _clear() -> None:
    """The demo owns the collections configuration: a rebuild (after `ardesk demo --reset`) starts clean."""
    Experiment.objects.all().delete()
    Strategy.objects.all().delete()  # steps and rules cascade
    MessageTemplate.objects.all().delete()
    ContactPolicy.objects.all().delete()


def build(*, cfg: Any, console: Any = None, verbose: bool = False) -> str:
    _clear()
    for code, kind, name, subject_en, subject_de in TEMPLATES:
        services.save_template(
            actor=None, code=code, language="", kind=kind, name=name, subject=subject_en, body=BODY_EN
        )
        services.save_template(
            actor=None,
            code=code,
            language="de",
            kind=kind,
            name=f"{name} (DE)",
            subject=subject_de,
            body=BODY_DE,
        )
    standard = _strategy(
        "Standard",
        "Reminder, two notices, a call and a final notice.",
        STANDARD,
        is_default=True,
        thank_you_template="thank-you",
    )
    key = _strategy("Key accounts", "Calls first for Enterprise customers.", KEY_ACCOUNTS)
    high = _strategy("High risk", "Short, firm sequence for high and severe risk.", HIGH_RISK)
    early = _strategy("Early touch", "Challenger: earlier reminder and notice.", EARLY_TOUCH)
    services.add_rule(actor=None, strategy=high, priority=10, risk_class="severe")
    services.add_rule(actor=None, strategy=high, priority=20, risk_class="high")
    services.add_rule(actor=None, strategy=key, priority=30, segment="Enterprise")
    services.start_experiment(
        actor=None,
        name="Small Business: early touch",
        segment="Small Business",
        champion=standard,
        challenger=early,
        started_on=cfg.as_of - dt.timedelta(days=90),
        salt=f"demo{cfg.seed}",
    )
    ContactPolicy.objects.get_or_create(
        segment="Consumer",
        defaults={
            "start_hour": 8,
            "end_hour": 21,
            "max_calls": 7,
            "max_emails": 7,
            "period_days": 7,
        },
    )
    # German-speaking customers get the German variants
    de = list(Customer.objects.filter(country="DE").values_list("id", flat=True))
    AccountState.objects.bulk_create(
        [AccountState(customer_id=cid, language="de") for cid in de], ignore_conflicts=True
    )
    # a few blocks: about 1 in 50 customers with something past due, on the account or one invoice
    rng = random.Random(f"{cfg.seed}:collections")
    past_due = list(
        Invoice.objects.filter(status__in=OPEN_STATUSES, open_minor__gt=0, due_date__lt=cfg.as_of)
        .order_by("customer_id", "due_date", "id")
        .values_list("customer_id", "id")
    )
    first: dict[int, int] = {}
    for cid, iid in past_due:
        first.setdefault(cid, iid)
    blocks = []
    reasons = [
        "Legal review",
        "Bankruptcy filing being checked",
        "Payment plan under negotiation",
        "Credit note expected",
    ]
    for cid in sorted(first):
        if rng.random() < 0.02:
            on_invoice = rng.random() < 0.5
            blocks.append(
                DunningBlock(
                    customer_id=cid,
                    invoice_id=first[cid] if on_invoice else None,
                    reason=rng.choice(reasons),
                    until=cfg.as_of + dt.timedelta(days=rng.choice([14, 30, 60])),
                    created_on=cfg.as_of,
                )
            )
    DunningBlock.objects.bulk_create(blocks)
    run = services.run_dunning(actor=None, as_of=cfg.as_of)
    return (
        f"collections: 4 strategies, {len(TEMPLATES) * 2} templates, {len(blocks)} blocks, "
        f"{len(de)} German-language accounts; {run.line()}"
    )
