"""Reads of collections: the worklist, a customer's dunning state, the outbox, strategies.

Scope follows the ledger (`customers_for_user`): a collector sees their portfolio, a manager their teams'.
The worklist of a collector is their own portfolio; a manager may look at any collector of their scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Min, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.urls import reverse

from ardesk.activities.models import Activity, Kind, PromiseToPay
from ardesk.activities.selectors import broken_promises_by_customer, last_touch_by_customer
from ardesk.core.errors import NotFound
from ardesk.disputes.selectors import held_amounts, open_dispute_totals
from ardesk.ledger.models import Contact, Customer, Invoice
from ardesk.ledger.selectors import OPEN_STATUSES, customers_for_user

from . import logic
from .models import (
    AccountState,
    ContactPolicy,
    DunningBlock,
    Experiment,
    MessageTemplate,
    OutboxMessage,
    Referral,
    Strategy,
    StrategyRule,
    StrategyStep,
    Suppression,
    WorklistWeights,
)

UNSUBSCRIBE_SALT = "ardesk.collections.unsubscribe"


def ids_q(field: str, ids: Iterable[int]) -> Q:
    """`field IN ids`; on PostgreSQL as one array parameter (a list of thousands of ids costs more to
    bind and parse than the query costs to run)."""
    values = list(ids)
    if connection.vendor == "postgresql" and len(values) > 100:
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (values,))})
    return Q(**{f"{field}__in": values})


PROMISE_SOON_DAYS = 2
BROKEN_WINDOW_DAYS = 90


# --- settings rows --------------------------------------------------------------------------------------


def weights() -> WorklistWeights:
    return WorklistWeights.objects.filter(pk=1).first() or WorklistWeights(pk=1)


def policy_for(segment: str, policies: dict[str, ContactPolicy] | None = None) -> ContactPolicy | None:
    if policies is None:
        policies = {p.segment: p for p in ContactPolicy.objects.all()}
    return policies.get(segment) or policies.get("")


# --- blocks, promises, suppression ------------------------------------------------------------------


def active_blocks_q(as_of: dt.date) -> Q:
    return Q(lifted_on__isnull=True) & (Q(until__isnull=True) | Q(until__gte=as_of))


def active_blocks(customer_ids: Iterable[int], as_of: dt.date) -> dict[int, list[DunningBlock]]:
    out: dict[int, list[DunningBlock]] = {}
    for b in DunningBlock.objects.filter(active_blocks_q(as_of), ids_q("customer_id", customer_ids)):
        out.setdefault(b.customer_id, []).append(b)
    return out


def open_promises(customer_ids: Iterable[int]) -> dict[int, list[tuple[PromiseToPay, list[int]]]]:
    """Open promises per customer with the invoice ids each covers (empty = the whole account)."""
    promises = list(PromiseToPay.objects.filter(ids_q("customer_id", customer_ids), status="open"))
    links: dict[int, list[int]] = {}
    if promises:
        through = PromiseToPay.invoices.through.objects.filter(promisetopay_id__in=[p.pk for p in promises])
        for pid, iid in through.values_list("promisetopay_id", "invoice_id"):
            links.setdefault(pid, []).append(iid)
    out: dict[int, list[tuple[PromiseToPay, list[int]]]] = {}
    for p in promises:
        out.setdefault(p.customer_id, []).append((p, sorted(links.get(p.pk, []))))
    return out


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email=email.strip().lower()).exists()


def unsubscribe_token(email: str) -> str:
    return signing.dumps({"e": email.strip().lower()}, salt=UNSUBSCRIBE_SALT, compress=True)


def email_from_token(token: str) -> str:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise NotFound("this unsubscribe link is not valid") from None
    return str(data["e"])


def unsubscribe_url(email: str) -> str:
    path = reverse("collections:unsubscribe", args=[unsubscribe_token(email)])
    return settings.ARDESK_BASE_URL.rstrip("/") + path


# --- strategies -----------------------------------------------------------------------------------------


@dataclass
class StrategyBook:
    """Every strategy, rule and experiment, loaded once for a run."""

    strategies: dict[int, Strategy]
    steps: dict[int, list[logic.StepSpec]]
    rules: list[StrategyRule]
    experiments: list[Experiment]
    default_id: int | None

    @classmethod
    def load(cls) -> StrategyBook:
        strategies = {s.pk: s for s in Strategy.objects.all()}
        steps: dict[int, list[logic.StepSpec]] = {}
        for s in StrategyStep.objects.all():
            steps.setdefault(s.strategy_id, []).append(
                logic.StepSpec(s.pk, s.offset_days, s.action, s.branch, s.position, s.template_code, s.name)
            )
        default = next((s.pk for s in strategies.values() if s.is_default), None)
        return cls(
            strategies,
            steps,
            list(StrategyRule.objects.all()),
            list(Experiment.objects.filter(active=True)),
            default,
        )

    def assign(self, c: Any, open_minor: int, override_id: int | None = None) -> tuple[int | None, str]:
        """(strategy id, why) for a customer row with risk_class, territory, segment, pk."""
        if override_id in self.strategies:
            return override_id, "set on the account"
        for e in self.experiments:
            if e.segment and e.segment == c.segment:
                side = logic.arm(c.pk, e.salt)
                sid = e.champion_id if side == "champion" else e.challenger_id
                return sid, f"{e.name}: {side}"
        for r in self.rules:
            if r.risk_class and r.risk_class != c.risk_class:
                continue
            if r.territory and r.territory != c.territory:
                continue
            if r.segment and r.segment != c.segment:
                continue
            if r.min_open_minor is not None and open_minor < r.min_open_minor:
                continue
            if r.max_open_minor is not None and open_minor >= r.max_open_minor:
                continue
            return r.strategy_id, f"rule {r.priority}"
        return self.default_id, "default"


def find_template(code: str, language: str) -> MessageTemplate | None:
    rows = {t.language: t for t in MessageTemplate.objects.filter(code=code)}
    return rows.get(language) or rows.get(language.split("-")[0]) or rows.get("") or rows.get("en")


def last_outcomes(customer_ids: Sequence[int]) -> dict[int, str]:
    """The branch value of each customer's newest call / promise / dispute activity."""
    rows = (
        Activity.objects.filter(ids_q("customer_id", customer_ids), kind__in=["call", "promise", "dispute"])
        .order_by("customer_id", "-occurred_at", "-id")
        .values_list("customer_id", "kind", "outcome")
    )
    seen: dict[int, list[tuple[str, str]]] = {}
    for cid, kind, outcome in rows:
        seen.setdefault(cid, []).append((kind, outcome))
    return {cid: logic.last_outcome(v) for cid, v in seen.items()}


def email_contacts(customer_ids: Iterable[int]) -> dict[int, Contact]:
    """The contact dunning mail goes to: the primary (else first by name) with an email, not opted out."""
    out: dict[int, Contact] = {}
    qs = Contact.objects.filter(customer_id__in=list(customer_ids), opt_out_email=False).exclude(email="")
    for c in qs.order_by("customer_id", "-is_primary", "name", "id"):
        out.setdefault(c.customer_id, c)
    return out


# --- demandable invoices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    pk: int
    customer_id: int
    number: str
    invoice_date: dt.date
    due_date: dt.date
    open_minor: int
    currency: str


@dataclass
class Demand:
    """Open invoices of one customer split into what may be demanded and what is held out, with why."""

    invoices: dict[int, OpenInvoice] = field(default_factory=dict)
    held_out: dict[int, str] = field(default_factory=dict)  # invoice id -> reason
    blocked: str = ""  # a customer-level block reason


def demands(customer_ids: Sequence[int], as_of: dt.date) -> dict[int, Demand]:
    ids = list(customer_ids)
    out = {cid: Demand() for cid in ids}
    invoices = [
        OpenInvoice(*row)
        for row in Invoice.objects.filter(
            ids_q("customer_id", ids), status__in=OPEN_STATUSES, open_minor__gt=0
        ).values_list("id", "customer_id", "number", "invoice_date", "due_date", "open_minor", "currency")
    ]
    disputed = open_dispute_totals(customer_ids=ids)
    held = held_amounts(invoice_ids=[i.pk for i in invoices if i.customer_id in disputed]) if disputed else {}
    promised = open_promises(ids)
    blocks = active_blocks(ids, as_of)
    for cid, bl in blocks.items():
        whole = [b for b in bl if b.invoice_id is None]
        if whole:
            out[cid].blocked = whole[0].reason
    for inv in invoices:
        d = out[inv.customer_id]
        reason = ""
        if held.get(inv.pk, 0) > 0:
            reason = "disputed"
        else:
            for p, covered in promised.get(inv.customer_id, []):
                if not covered or inv.pk in covered:
                    reason = f"promise to pay by {p.promised_date.isoformat()}"
                    break
        if not reason:
            for b in blocks.get(inv.customer_id, []):
                if b.invoice_id == inv.pk:
                    reason = f"blocked: {b.reason}"
        if reason:
            d.held_out[inv.pk] = reason
        else:
            d.invoices[inv.pk] = inv
    return out


def message_context(
    customer: Customer, contact: Contact | None, invoices: Sequence[Any], as_of: dt.date, to_email: str
) -> dict[str, Any]:
    """The prepared, plain-value context of a message template (no model object reaches a template)."""
    from ardesk.ledger.selectors import organization

    currency_totals: dict[str, int] = {}
    rows = []
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        currency_totals[inv.currency] = currency_totals.get(inv.currency, 0) + inv.open_minor
        rows.append(
            {
                "number": inv.number,
                "invoice_date": inv.invoice_date.isoformat(),
                "due_date": inv.due_date.isoformat(),
                "days_past_due": max((as_of - inv.due_date).days, 0),
                "open": logic.money_text(inv.open_minor, inv.currency),
                "currency": inv.currency,
            }
        )
    collector = customer.collector
    return {
        "customer": {"name": customer.name, "account_number": customer.account_number},
        "contact": {"name": contact.name if contact else "Accounts Payable"},
        "collector": {
            "name": (collector.get_full_name() or collector.username) if collector else "Accounts Receivable",
            "email": (collector.email if collector else "") or settings.DEFAULT_FROM_EMAIL,
        },
        "invoices": rows,
        "total": ", ".join(f"{logic.money_text(v, k)} {k}" for k, v in sorted(currency_totals.items())),
        "as_of": as_of.isoformat(),
        "unsubscribe_url": unsubscribe_url(to_email) if to_email else "",
        "company": organization().name,
    }


def escalation_context(customer: Customer, invoices: Sequence[Any], as_of: dt.date) -> dict[str, Any]:
    """The manager's escalation email: the past-due invoices, the dunning history, the last activities."""
    rows = [
        {
            "number": i.number,
            "due_date": i.due_date.isoformat(),
            "days_past_due": max((as_of - i.due_date).days, 0),
            "open": logic.money_text(i.open_minor, i.currency),
            "currency": i.currency,
        }
        for i in sorted(invoices, key=lambda i: (i.due_date, i.number))
    ]
    history = [
        {
            "date": m.run_date.isoformat(),
            "action": m.get_action_display(),
            "template": m.template_code,
            "status": m.get_status_display(),
        }
        for m in OutboxMessage.objects.filter(customer=customer)
        .exclude(step_key__startswith="escalation:")
        .order_by("-run_date", "-id")[:10]
    ]
    activities = [
        {
            "date": a.occurred_at.date().isoformat(),
            "kind": a.get_kind_display(),
            "subject": a.subject,
            "outcome": a.get_outcome_display() if a.outcome else "",
        }
        for a in Activity.objects.filter(customer=customer).order_by("-occurred_at", "-id")[:5]
    ]
    collector = customer.collector
    return {
        "customer": {"name": customer.name, "account_number": customer.account_number},
        "collector": (collector.get_full_name() or collector.username) if collector else "unassigned",
        "invoices": rows,
        "history": history,
        "activities": activities,
        "url": settings.ARDESK_BASE_URL.rstrip("/") + reverse("ledger:customer", args=[customer.pk]),
        "as_of": as_of.isoformat(),
    }


def referrals_for_user(user: Any, kind: str) -> QuerySet[Referral]:
    """Open referrals of `kind` on customers in the user's scope, oldest first."""
    return (
        Referral.objects.filter(
            kind=kind, status__in=Referral.OPEN_STATUSES, customer__in=customers_for_user(user)
        )
        .select_related("customer", "customer__collector", "manager")
        .order_by("raised_on", "id")
    )


def accounts_on_hold_for_user(user: Any) -> QuerySet[AccountState]:
    """Accounts on credit hold among the customers in the user's scope, longest on hold first."""
    return (
        AccountState.objects.filter(credit_hold=True, customer__in=customers_for_user(user))
        .select_related("customer", "customer__collector")
        .order_by("credit_hold_since", "customer_id")
    )


def get_referral_for_user(user: Any, pk: int) -> Referral:
    ref = (
        Referral.objects.filter(pk=pk, customer__in=customers_for_user(user))
        .select_related("customer")
        .first()
    )
    if ref is None:
        raise NotFound(f"referral {pk} not found")
    return ref


# --- customer panel ---------------------------------------------------------------------------------------


@dataclass
class DunningState:
    customer: Customer
    strategy: Strategy | None
    why: str
    next_steps: list[tuple[dt.date, logic.StepSpec]]
    blocks: list[DunningBlock]
    held_out: dict[str, str]
    recent: list[OutboxMessage]
    state: AccountState | None
    referrals: list[Referral] = field(default_factory=list)


def dunning_state(customer: Customer, as_of: dt.date) -> DunningState:
    book = StrategyBook.load()
    state = AccountState.objects.filter(customer=customer).first()
    demand = demands([customer.pk], as_of)[customer.pk]
    open_minor = sum(i.open_minor for i in demand.invoices.values())
    sid, why = book.assign(customer, open_minor, state.strategy_id if state else None)
    nexts: list[tuple[dt.date, logic.StepSpec]] = []
    for step in book.steps.get(sid or 0, []):
        for inv in demand.invoices.values():
            when = inv.due_date + dt.timedelta(days=step.offset_days)
            if when >= as_of:
                nexts.append((when, step))
    nexts = sorted(set(nexts), key=lambda x: (x[0], x[1].offset_days, x[1].id))[:5]
    all_open = {i.pk: i.number for i in Invoice.objects.filter(pk__in=list(demand.held_out))}
    return DunningState(
        customer=customer,
        strategy=book.strategies.get(sid) if sid else None,
        why=why,
        next_steps=nexts,
        blocks=list(
            DunningBlock.objects.filter(active_blocks_q(as_of), customer=customer).select_related("invoice")
        ),
        held_out={all_open[k]: v for k, v in demand.held_out.items() if k in all_open},
        recent=list(OutboxMessage.objects.filter(customer=customer).order_by("-run_date", "-id")[:10]),
        state=state,
        referrals=list(
            Referral.objects.filter(customer=customer, status__in=Referral.OPEN_STATUSES)
            .select_related("manager")
            .order_by("kind")
        ),
    )


# --- worklist -------------------------------------------------------------------------------------------


def worklist_customers(user: Any, collector: Any | None) -> QuerySet[Customer]:
    qs = customers_for_user(user).filter(status=Customer.Status.ACTIVE)
    if collector is not None:
        qs = qs.filter(collector=collector)
    return qs


def account_facts(customers: Sequence[Customer], as_of: dt.date) -> list[logic.AccountFacts]:
    ids = [c.pk for c in customers]
    facts = {
        c.pk: logic.AccountFacts(
            customer_id=c.pk,
            name=c.name,
            account_number=c.account_number,
            currency=c.currency,
            risk_class=c.risk_class,
            collector_id=c.collector_id,
            collector_name=c.collector.username if c.collector else "",
        )
        for c in customers
    }
    if not ids:
        return []
    for cid, open_minor, past_due, oldest in (
        Invoice.objects.filter(customer_id__in=ids, status__in=OPEN_STATUSES, open_minor__gt=0)
        .values("customer_id")
        .annotate(
            o=Sum("open_minor"),
            p=Sum("open_minor", filter=Q(due_date__lt=as_of)),
            m=Min("due_date", filter=Q(due_date__lt=as_of)),
        )
        .values_list("customer_id", "o", "p", "m")
    ):
        f = facts[cid]
        f.open_minor, f.past_due_minor = open_minor or 0, past_due or 0
        f.max_days_past_due = (as_of - oldest).days if oldest is not None else 0
    for cid, (n, held) in open_dispute_totals(customer_ids=ids).items():
        facts[cid].open_disputes, facts[cid].disputed_minor = n, held
    soon = as_of + dt.timedelta(days=PROMISE_SOON_DAYS)
    for cid, plist in open_promises(ids).items():
        for p, _covered in sorted(plist, key=lambda x: x[0].promised_date):
            if p.promised_date > soon:
                if facts[cid].promise_pending is None:
                    facts[cid].promise_pending = (p.amount_minor, p.promised_date)
            else:
                facts[cid].promise_due_minor += p.amount_minor
    since = as_of - dt.timedelta(days=BROKEN_WINDOW_DAYS)
    for cid, n in broken_promises_by_customer(customer_ids=ids, since=since, as_of=as_of).items():
        facts[cid].broken_promises = n
    for cid, last in last_touch_by_customer(customer_ids=ids, as_of=as_of).items():
        facts[cid].last_touch = last
    for cid, bl in active_blocks(ids, as_of).items():
        whole = [b for b in bl if b.invoice_id is None]
        if whole:
            facts[cid].blocked = whole[0].reason
    _call_caps(customers, facts, as_of)
    for cid, until in AccountState.objects.filter(customer_id__in=ids, snoozed_until__gte=as_of).values_list(
        "customer_id", "snoozed_until"
    ):
        facts[cid].snoozed_until = until
    return [facts[c.pk] for c in customers]


def _call_caps(customers: Sequence[Customer], facts: dict[int, logic.AccountFacts], as_of: dt.date) -> None:
    """Mark accounts whose contact policy caps calls and whose calls in the period reached the cap."""
    policies = {p.segment: p for p in ContactPolicy.objects.filter(max_calls__isnull=False)}
    if not policies:
        return
    capped = {c.pk: p for c in customers if (p := policies.get(c.segment) or policies.get("")) is not None}
    longest = max(p.period_days for p in capped.values()) if capped else 0
    calls: dict[int, list[dt.date]] = {}
    for cid, day in Activity.objects.filter(
        customer_id__in=list(capped),
        kind="call",
        occurred_on__gt=as_of - dt.timedelta(days=longest),
        occurred_on__lte=as_of,
    ).values_list("customer_id", "occurred_on"):
        calls.setdefault(cid, []).append(day)
    for cid, p in capped.items():
        n = sum(1 for d in calls.get(cid, []) if d > as_of - dt.timedelta(days=p.period_days))
        if p.max_calls is not None and n >= p.max_calls:
            facts[cid].call_cap = f"{p.max_calls} calls in {p.period_days} days"


def worklist(user: Any, as_of: dt.date, collector: Any | None = None) -> list[logic.Scored]:
    """The ranked accounts with an open balance (or an open promise) of `collector` within `user`'s scope."""
    customers = list(worklist_customers(user, collector).select_related("collector"))
    facts = account_facts(customers, as_of)
    facts = [f for f in facts if f.open_minor > 0 or f.promise_due_minor or f.promise_pending]
    return logic.rank(facts, weights(), as_of)


def kind_label(kind: str) -> str:
    return Kind(kind).label


# --- champion / challenger ------------------------------------------------------------------------------


@dataclass
class ArmKpis:
    customers: int = 0
    cash: list[int] = field(default_factory=list)  # minor units collected per customer (base currency)
    days_to_pay: list[int] = field(default_factory=list)  # per invoice paid in the window
    pct_past_due: list[float] = field(default_factory=list)  # per customer with open AR


@dataclass
class ExperimentResult:
    experiment: Experiment
    arms: dict[str, ArmKpis]
    tests: list[tuple[str, logic.Welch | None]]
    currency: str = ""  # the base currency the cash figures are in

    def statements(self) -> list[str]:
        out = []
        for what, w in self.tests:
            unit = logic.money_unit(self.currency) if what.startswith("cash") else None
            out.append(
                w.statement(what, unit=unit) if w else f"{what}: too few observations in an arm for a test"
            )
        return out


def experiment_result(exp: Experiment, as_of: dt.date) -> ExperimentResult:
    """KPIs per arm since the experiment started: cash collected per customer (applications dated in the
    window, customers in the base currency), days to pay per invoice closed in the window (closed date -
    invoice date), % past due per customer with open AR today; Welch's t-test of challenger - champion."""
    from ardesk.ledger.models import Application
    from ardesk.ledger.selectors import organization

    base = organization().base_currency
    rows = list(Customer.objects.filter(segment=exp.segment).values_list("id", "currency"))
    side = {cid: logic.arm(cid, exp.salt) for cid, _ in rows}
    arms = {"champion": ArmKpis(), "challenger": ArmKpis()}
    for cid, _ in rows:
        arms[side[cid]].customers += 1
    cash: dict[int, int] = {cid: 0 for cid, cur in rows if cur == base}
    for cid, amount in (
        Application.objects.filter(
            invoice__customer__segment=exp.segment,
            payment__isnull=False,
            applied_date__gte=exp.started_on,
            applied_date__lte=as_of,
        )
        .values("invoice__customer_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("invoice__customer_id", "total")
    ):
        if cid in cash:
            cash[cid] = amount or 0
    for cid, total in sorted(cash.items()):
        arms[side[cid]].cash.append(total)
    for cid, issued, closed in (
        Invoice.objects.filter(
            customer__segment=exp.segment,
            status=Invoice.Status.PAID,
            closed_on__gte=exp.started_on,
            closed_on__lte=as_of,
        )
        .values_list("customer_id", "invoice_date", "closed_on")
        .order_by("id")
    ):
        if closed is not None:
            arms[side[cid]].days_to_pay.append((closed - issued).days)
    for cid, open_minor, past_due in (
        Invoice.objects.filter(customer__segment=exp.segment, status__in=OPEN_STATUSES, open_minor__gt=0)
        .values("customer_id")
        .annotate(o=Sum("open_minor"), p=Sum("open_minor", filter=Q(due_date__lt=as_of)))
        .values_list("customer_id", "o", "p")
        .order_by("customer_id")
    ):
        arms[side[cid]].pct_past_due.append(100.0 * (past_due or 0) / open_minor)
    ch, cl = arms["champion"], arms["challenger"]
    tests = [
        ("cash collected per customer", logic.welch(ch.cash, cl.cash)),
        ("days to pay", logic.welch(ch.days_to_pay, cl.days_to_pay)),
        ("% past due", logic.welch(ch.pct_past_due, cl.pct_past_due)),
    ]
    return ExperimentResult(exp, arms, tests, currency=base)
