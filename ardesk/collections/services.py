"""Writes of collections: the daily dunning run, the outbox worker, suppression, blocks, snoozes, settings.

Every function is keyword-only, takes `actor` and writes an audit row in its transaction.

**Delivery guarantee** (`send_pending`). The daily run writes each decision as an `OutboxMessage` row in the
same transaction as the decision, with a unique key per (customer, step, day) and the deduplication key
sha256(customer, step, invoice set, date): running a day again writes nothing new. A worker claims a row
with a conditional UPDATE (pending, not claimed or its lease expired); only the worker whose UPDATE changed
the row goes on. Before handing the message to SMTP it re-checks the row (payment, disputes, promises,
blocks, suppression, allowed hours, caps) and records `handoff_at`; it marks the row SENT and records the
EMAIL_SENT activity (dedupe key "outbox:<id>") in one transaction *after* the SMTP server accepted it.

So: **no message is lost** (a row leaves "pending" only as SENT after SMTP accepted it, or CANCELLED with the
reason found at the re-check; a worker that dies leaves its claim, which expires after the lease and is
taken by the next worker). **SMTP handoff is at-least-once, never twice in normal operation**: a duplicate
can only happen when a worker dies (or stalls beyond the lease) after the SMTP server accepted the message
and before the SENT commit. The row then still carries `handoff_at`; the resend uses the same Message-ID
(derived from the row: `<ardesk.outbox.<id>.<key>@domain>`), so the duplicate is detectable by the
receiving MTA and mail clients, and the row's note says it was possibly sent before. Keep the SMTP timeout
well below the lease (default lease 10 minutes).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from ardesk.activities import services as activity_services
from ardesk.activities.models import Kind, Source
from ardesk.core import audit
from ardesk.core.errors import Conflict, InvalidInput
from ardesk.ledger import selectors as ledger_selectors
from ardesk.ledger.models import Contact, Customer, Invoice

from . import logic, selectors, statement
from .models import (
    AccountState,
    Action,
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

log = logging.getLogger(__name__)
DEFAULT_LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 8
CHUNK = 1000


def _org_today(now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(ledger_selectors.organization().time_zone)).date()


# --- the daily run ------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    as_of: dt.date
    candidates: int = 0
    decided: int = 0
    created: int = 0
    blocked: int = 0
    referrals: int = 0
    by_action: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        acts = ", ".join(f"{k} {v}" for k, v in sorted(self.by_action.items())) or "none"
        return (
            f"dunning {self.as_of}: {self.candidates} customers with a step due, {self.decided} decisions "
            f"({acts}): {self.created} new outbox rows, {self.decided - self.created} already there; "
            f"{self.blocked} blocked; {self.referrals} escalations/credit-hold recommendations raised"
        )


def _candidate_ids(book: selectors.StrategyBook, as_of: dt.date) -> list[int]:
    offsets = {s.offset_days for steps in book.steps.values() for s in steps}
    ids: set[int] = set()
    if offsets:
        trigger = [as_of - dt.timedelta(days=o) for o in offsets]
        ids |= set(
            Invoice.objects.filter(
                status__in=ledger_selectors.OPEN_STATUSES,
                open_minor__gt=0,
                due_date__in=trigger,
                customer__status=Customer.Status.ACTIVE,
            )
            .values_list("customer_id", flat=True)
            .distinct()
        )
    if any(s.thank_you_template for s in book.strategies.values()):
        ids |= set(
            Invoice.objects.filter(status=Invoice.Status.PAID, closed_on=as_of).values_list(
                "customer_id", flat=True
            )
        )
    return sorted(ids)


@transaction.atomic
def run_dunning(
    *,
    actor: Any,
    as_of: dt.date,
    chunk_size: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Evaluate every customer with a step due on `as_of` and write the outbox rows (idempotent).

    `progress(done, total)` is called after each chunk of candidate customers (for a progress bar)."""
    book = selectors.StrategyBook.load()
    summary = RunSummary(as_of=as_of)
    ids = _candidate_ids(book, as_of)
    summary.candidates = len(ids)
    branched = {sid for sid, steps in book.steps.items() if any(s.branch for s in steps)}
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        rows = _decide_chunk(book, chunk, as_of, branched, summary)
        summary.decided += len(rows)
        summary.created += _write_rows(rows)
        if progress is not None:
            progress(start + len(chunk), len(ids))
    summary.referrals = raise_referrals(actor=actor, as_of=as_of)
    audit.record(
        actor=actor,
        action="dunning.run",
        object_type="collections.OutboxMessage",
        after={
            "as_of": as_of,
            "candidates": summary.candidates,
            "created": summary.created,
            "blocked": summary.blocked,
            "referrals": summary.referrals,
        },
    )
    return summary


# --- escalations and credit-hold recommendations ----------------------------------------------------------

ESCALATION_KEY = "escalation:"


def manager_of(customer: Customer) -> Any:
    """The collector's manager: the profile's manager, else the manager of the collector's team."""
    collector = customer.collector
    if collector is None:
        return None
    profile = getattr(collector, "collector", None)
    if profile is None:
        return None
    if profile.manager_id:
        return profile.manager
    return profile.team.manager if profile.team_id and profile.team else None


@transaction.atomic
def raise_referrals(*, actor: Any, as_of: dt.date) -> int:
    """Turn the escalation and credit-hold rows the run wrote on `as_of` into referrals (idempotent).

    An escalation also queues an email to the collector's manager (an outbox row the worker sends) and
    records a dunning activity on the customer. A customer with an open referral of the kind gets no second
    one. Returns how many referrals were raised."""
    kinds = {Action.ESCALATE: Referral.Kind.ESCALATION, Action.CREDIT_HOLD: Referral.Kind.CREDIT_HOLD}
    pending = list(
        OutboxMessage.objects.filter(run_date=as_of, action__in=list(kinds), referral__isnull=True)
        .select_related("customer", "customer__collector__collector__team__manager")
        .select_related("customer__collector__collector__manager")
        .order_by("id")
    )
    if not pending:
        return 0
    open_now = set(
        Referral.objects.filter(
            customer_id__in={m.customer_id for m in pending}, status__in=Referral.OPEN_STATUSES
        ).values_list("customer_id", "kind")
    )
    raised = 0
    for src in pending:
        kind = kinds[Action(src.action)]
        if (src.customer_id, kind.value) in open_now:
            continue
        open_now.add((src.customer_id, kind.value))
        manager = manager_of(src.customer) if kind == Referral.Kind.ESCALATION else None
        ref = Referral.objects.create(
            customer=src.customer,
            kind=kind,
            source=src,
            manager=manager,
            invoice_ids=list(src.invoice_ids),
            raised_on=as_of,
        )
        if kind == Referral.Kind.ESCALATION:
            _escalate(ref, src, manager, as_of)
        audit.record(actor=actor, action=f"dunning.{kind.value}", obj=ref, after=audit.snapshot(ref))
        raised += 1
    return raised


def _escalate(ref: Referral, src: OutboxMessage, manager: Any, as_of: dt.date) -> None:
    to = (manager.email if manager else "").strip().lower()
    note = "" if to else ("no manager for the collector" if manager is None else "the manager has no email")
    step_key = f"{ESCALATION_KEY}{ref.pk}"
    mail = OutboxMessage.objects.create(
        customer=src.customer,
        strategy_id=src.strategy_id,
        step_id=src.step_id,
        action=Action.EMAIL,
        step_key=step_key,
        run_date=as_of,
        invoice_ids=list(src.invoice_ids),
        dedup_key=logic.dedup_key(src.customer_id, step_key, src.invoice_ids, as_of),
        to_email=to,
        status=OutboxMessage.Status.PENDING if to else OutboxMessage.Status.CANCELLED,
        note=note,
    )
    Referral.objects.filter(pk=ref.pk).update(email=mail)
    ref.email = mail
    who = (manager.get_full_name() or manager.username) if manager else "no manager"
    numbers = list(
        Invoice.objects.filter(pk__in=src.invoice_ids).order_by("number").values_list("number", flat=True)
    )
    activity_services.log_activity(
        actor=None,
        customer=src.customer,
        kind=Kind.NOTE,
        occurred_at=dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC),
        subject=f"Escalated to {who}",
        notes=f"dunning escalation; invoices {', '.join(numbers)}",
        source=Source.DUNNING,
        dedupe_key=f"referral:{ref.pk}",
    )


def _decide(
    ref: Referral, kind: str, frm: tuple[str, ...], to: str, actor: Any, on: dt.date, reason: str
) -> None:
    if ref.kind != kind:
        raise Conflict(f"referral {ref.pk} is a {ref.get_kind_display().lower()}")
    if ref.status not in frm:
        raise Conflict(f"referral {ref.pk} is {ref.get_status_display().lower()}", field="status")
    before = {"status": ref.status}
    changed = Referral.objects.filter(pk=ref.pk, status=ref.status).update(
        status=to,
        decided_by=actor if getattr(actor, "pk", None) else None,
        decided_on=on,
        reason=reason[:300],
    )
    if changed != 1:
        raise Conflict(f"referral {ref.pk} was decided by someone else meanwhile")
    ref.refresh_from_db()
    audit.record(
        actor=actor,
        action=f"dunning.{kind}.{to}",
        obj=ref,
        before=before,
        after={"status": to, "decided_on": on, "reason": reason[:300]},
    )


@transaction.atomic
def acknowledge_escalation(*, actor: Any, referral: Referral, on_date: dt.date) -> Referral:
    _decide(referral, Referral.Kind.ESCALATION, ("open",), "acknowledged", actor, on_date, "")
    return referral


@transaction.atomic
def resolve_escalation(*, actor: Any, referral: Referral, on_date: dt.date, note: str = "") -> Referral:
    _decide(
        referral, Referral.Kind.ESCALATION, Referral.OPEN_STATUSES, "resolved", actor, on_date, note.strip()
    )
    return referral


@transaction.atomic
def accept_credit_hold(*, actor: Any, referral: Referral, on_date: dt.date, note: str = "") -> Referral:
    """Accept a credit-hold recommendation: record the decision and flag the account (collections state)."""
    _decide(referral, Referral.Kind.CREDIT_HOLD, ("open",), "accepted", actor, on_date, note.strip())
    st = _state(referral.customer)
    before = audit.snapshot(st)
    if not st.credit_hold:
        st.credit_hold, st.credit_hold_since = True, on_date
        st.save(update_fields=["credit_hold", "credit_hold_since"])
        audit.record(
            actor=actor, action="dunning.credit_hold.flag", obj=st, before=before, after=audit.snapshot(st)
        )
    return referral


@transaction.atomic
def dismiss_credit_hold(*, actor: Any, referral: Referral, on_date: dt.date, reason: str) -> Referral:
    if not reason.strip():
        raise InvalidInput("dismissing a credit-hold recommendation needs a reason", field="reason")
    _decide(referral, Referral.Kind.CREDIT_HOLD, ("open",), "dismissed", actor, on_date, reason.strip())
    return referral


@transaction.atomic
def lift_credit_hold(*, actor: Any, customer: Customer, on_date: dt.date, reason: str) -> AccountState:
    """Take an account off credit hold (paid up, payment plan agreed, security received...): the reason
    is required and audited beside the date the hold started."""
    if not reason.strip():
        raise InvalidInput("lifting a credit hold needs a reason", field="reason")
    st = _state(customer)
    if not st.credit_hold:
        raise Conflict(f"{customer.account_number} is not on credit hold")
    before = audit.snapshot(st)
    st.credit_hold, st.credit_hold_since = False, None
    st.save(update_fields=["credit_hold", "credit_hold_since"])
    audit.record(
        actor=actor,
        action="dunning.credit_hold.lift",
        obj=st,
        before=before,
        after={**audit.snapshot(st), "lifted_on": on_date, "reason": reason.strip()[:300]},
    )
    return st


def _decide_chunk(
    book: selectors.StrategyBook,
    ids: list[int],
    as_of: dt.date,
    branched: set[int],
    summary: RunSummary,
) -> list[tuple[Any, ...]]:
    customers = [
        _CustomerRow(*r)
        for r in Customer.objects.filter(selectors.ids_q("pk", ids)).values_list(
            "id", "risk_class", "territory", "segment"
        )
    ]
    states = {s.customer_id: s for s in AccountState.objects.filter(selectors.ids_q("customer_id", ids))}
    demand = selectors.demands(ids, as_of)
    contacts: dict[int, tuple[int, str]] = {}
    for cid, pk, email in (
        Contact.objects.filter(selectors.ids_q("customer_id", ids), opt_out_email=False)
        .exclude(email="")
        .order_by("customer_id", "-is_primary", "name", "id")
        .values_list("customer_id", "id", "email")
    ):
        contacts.setdefault(cid, (pk, email))
    assigned: dict[int, int | None] = {}
    for c in customers:
        st = states.get(c.pk)
        open_minor = sum(i.open_minor for i in demand[c.pk].invoices.values())
        assigned[c.pk] = book.assign(c, open_minor, st.strategy_id if st else None)[0]
    need_outcome = [cid for cid, sid in assigned.items() if sid in branched]
    outcomes = selectors.last_outcomes(need_outcome) if need_outcome else {}
    paid_today: dict[int, list[int]] = {}
    if any(s.thank_you_template for s in book.strategies.values()):
        for iid, cid in Invoice.objects.filter(
            selectors.ids_q("customer_id", ids), status=Invoice.Status.PAID, closed_on=as_of
        ).values_list("id", "customer_id"):
            paid_today.setdefault(cid, []).append(iid)
    rows: list[tuple[Any, ...]] = []
    for c in customers:
        sid = assigned[c.pk]
        d = demand[c.pk]
        if sid is None:
            continue
        if d.blocked:
            summary.blocked += 1
            continue
        st = states.get(c.pk)
        contact = contacts.get(c.pk)
        lang = st.language if st else ""
        due = {i.pk: i.due_date for i in d.invoices.values()}
        for step in logic.select_steps(book.steps.get(sid, []), due.values(), as_of, outcomes.get(c.pk, "")):
            inv_ids = logic.demanded(due, step, as_of)
            if inv_ids:
                rows.append(
                    _run_row(
                        c.pk,
                        sid,
                        step.id,
                        f"step:{step.id}",
                        step.action,
                        step.template_code,
                        inv_ids,
                        as_of,
                        contact,
                        lang,
                    )
                )
        strategy = book.strategies[sid]
        if strategy.thank_you_template and paid_today.get(c.pk):
            rows.append(
                _run_row(
                    c.pk,
                    sid,
                    None,
                    "thanks",
                    Action.EMAIL,
                    strategy.thank_you_template,
                    paid_today[c.pk],
                    as_of,
                    contact,
                    lang,
                )
            )
    for r in rows:
        summary.by_action[r[4]] = summary.by_action.get(r[4], 0) + 1
    return rows


@dataclass(frozen=True, slots=True)
class _CustomerRow:
    pk: int
    risk_class: str
    territory: str
    segment: str


# the columns the daily run writes (the rest keep their defaults: NULL, 0, "")
RUN_COLUMNS = (
    "customer_id",
    "contact_id",
    "strategy_id",
    "step_id",
    "action",
    "template_code",
    "step_key",
    "run_date",
    "invoice_ids",
    "dedup_key",
    "to_email",
    "language",
    "status",
    "note",
    "attempts",
    "claimed_by",
    "message_id",
    "subject",
    "created_at",
)


def _run_row(
    customer_id: int,
    strategy_id: int | None,
    step_id: int | None,
    step_key: str,
    action: str,
    template_code: str,
    invoice_ids: list[int],
    as_of: dt.date,
    contact: tuple[int, str] | None,
    language: str,
) -> tuple[Any, ...]:
    is_email = action == Action.EMAIL
    to = contact[1].strip().lower() if (contact and is_email) else ""
    status = OutboxMessage.Status.PENDING if is_email else OutboxMessage.Status.OPEN
    note = ""
    if is_email and not to:
        status, note = OutboxMessage.Status.CANCELLED, "no contact with an email address"
    return (
        customer_id,
        contact[0] if contact else None,
        strategy_id,
        step_id,
        action,
        template_code,
        step_key,
        as_of,
        json.dumps(invoice_ids),
        logic.dedup_key(customer_id, step_key, invoice_ids, as_of),
        to,
        language,
        str(status),
        note,
        0,
        "",
        "",
        "",
    )


def _write_rows(rows: list[tuple[Any, ...]]) -> int:
    """Insert outbox rows, skipping those already decided (unique keys); returns how many were new.
    PostgreSQL: COPY into a temp table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING; SQLite:
    INSERT OR IGNORE."""
    if not rows:
        return 0
    now = timezone.now()
    table = OutboxMessage._meta.db_table
    cols = ", ".join(RUN_COLUMNS)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS outbox_stage AS SELECT {cols} FROM {table} WITH NO DATA"  # noqa: S608 - constant identifiers
            )
            cur.execute("TRUNCATE outbox_stage")
            with cur.cursor.copy(f"COPY outbox_stage ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((*r, now))
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM outbox_stage ON CONFLICT DO NOTHING"  # noqa: S608
            )
            return int(cur.rowcount)
        stamp = connection.ops.adapt_datetimefield_value(now)
        marks = ", ".join(["%s"] * len(RUN_COLUMNS))
        before = OutboxMessage.objects.count()
        cur.executemany(
            f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 - constant identifiers
            [(*r[:7], r[7].isoformat(), *r[8:], stamp) for r in rows],
        )
        return OutboxMessage.objects.count() - before


def _row(
    customer_id: int,
    strategy_id: int | None,
    step_id: int | None,
    step_key: str,
    action: str,
    template_code: str,
    invoice_ids: list[int],
    as_of: dt.date,
    contact: Any,
    language: str,
) -> OutboxMessage:
    is_email = action == Action.EMAIL
    to = contact.email.strip().lower() if (contact and is_email) else ""
    status = OutboxMessage.Status.PENDING if is_email else OutboxMessage.Status.OPEN
    note = ""
    if is_email and not to:
        status, note = OutboxMessage.Status.CANCELLED, "no contact with an email address"
    return OutboxMessage(
        customer_id=customer_id,
        contact=contact,
        strategy_id=strategy_id,
        step_id=step_id,
        step_key=step_key,
        action=action,
        template_code=template_code,
        run_date=as_of,
        invoice_ids=invoice_ids,
        dedup_key=logic.dedup_key(customer_id, step_key, invoice_ids, as_of),
        to_email=to,
        language=language,
        status=status,
        note=note,
    )


@transaction.atomic
def queue_email(*, actor: Any, customer: Customer, template_code: str, as_of: dt.date) -> OutboxMessage:
    """'Send an email now' from the worklist: one outbox row (the worker sends it), once a template a day."""
    if not MessageTemplate.objects.filter(code=template_code).exists():
        raise InvalidInput(f"no template {template_code!r}", field="template")
    d = selectors.demands([customer.pk], as_of)[customer.pk]
    if d.blocked:
        raise Conflict(f"dunning of {customer.account_number} is blocked: {d.blocked}")
    inv_ids = sorted(i.pk for i in d.invoices.values() if i.due_date <= as_of) or sorted(d.invoices)
    if not inv_ids:
        raise Conflict(f"{customer.account_number} has nothing to demand (paid, disputed or promised)")
    contact = selectors.email_contacts([customer.pk]).get(customer.pk)
    if contact is None:
        raise InvalidInput(
            f"{customer.account_number} has no contact with an email address", field="template"
        )
    state = AccountState.objects.filter(customer=customer).first()
    row = _row(
        customer.pk,
        None,
        None,
        f"manual:{template_code}"[:40],
        Action.EMAIL,
        template_code,
        inv_ids,
        as_of,
        contact,
        state.language if state else "",
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(
            f"the {template_code} email to {customer.account_number} is already queued today"
        ) from None
    audit.record(actor=actor, action="dunning.queue_email", obj=row, after=audit.snapshot(row))
    return row


@transaction.atomic
def complete_task(*, actor: Any, message: OutboxMessage, note: str = "") -> OutboxMessage:
    if message.status != OutboxMessage.Status.OPEN:
        raise Conflict(f"outbox row {message.pk} is not an open task")
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.DONE, note=note[:300])
    message.refresh_from_db()
    audit.record(actor=actor, action="dunning.task_done", obj=message, after={"note": note})
    return message


# --- the worker -----------------------------------------------------------------------------------------


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    cancelled: int = 0
    deferred: int = 0
    failed: int = 0

    def line(self) -> str:
        return (
            f"claimed {self.claimed}: sent {self.sent}, cancelled {self.cancelled}, "
            f"deferred {self.deferred}, "
            f"failed {self.failed}"
        )


def message_id(msg: OutboxMessage) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "ardesk.local"
    return f"<ardesk.outbox.{msg.pk}.{msg.dedup_key[:16]}@{domain}>"


def claim(
    *, worker: str, now: dt.datetime, lease: dt.timedelta = DEFAULT_LEASE, limit: int = 50
) -> list[int]:
    """Claim up to `limit` due email rows for `worker` with conditional UPDATEs; returns the ids won."""
    expired = now - lease
    candidates = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, action=Action.EMAIL)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
        .order_by("id")
        .values_list("id", "claimed_at")[:limit]
    )
    won = []
    for pk, seen in candidates:
        q = OutboxMessage.objects.filter(pk=pk, status=OutboxMessage.Status.PENDING)
        q = q.filter(claimed_at__isnull=True) if seen is None else q.filter(claimed_at=seen)
        if q.update(claimed_at=now, claimed_by=worker, attempts=F("attempts") + 1) == 1:
            won.append(pk)
    return won


@dataclass
class Verdict:
    action: str  # "send", "cancel", "defer"
    reason: str = ""
    invoices: list[Any] = field(default_factory=list)
    not_before: dt.datetime | None = None


def recheck(
    msg: OutboxMessage, now: dt.datetime, policies: dict[str, ContactPolicy] | None = None
) -> Verdict:
    """Is this message still right to send now? Payment, dispute, promise, block, suppression, hours, caps."""
    if selectors.is_suppressed(msg.to_email):
        s = Suppression.objects.get(email=msg.to_email)
        return Verdict("cancel", f"address suppressed ({s.get_reason_display().lower()})")
    if msg.contact is not None and msg.contact.opt_out_email:
        return Verdict("cancel", "contact opted out of email")
    today = _org_today(now)
    invoices: list[Any]
    if msg.step_key.startswith(ESCALATION_KEY):
        ref = Referral.objects.filter(email=msg).first()
        if ref is None or ref.status not in Referral.OPEN_STATUSES:
            return Verdict("cancel", "the escalation is no longer open")
        invoices = [
            selectors.OpenInvoice(
                i.pk, i.customer_id, i.number, i.invoice_date, i.due_date, i.open_minor, i.currency
            )
            for i in Invoice.objects.filter(
                pk__in=msg.invoice_ids, status__in=ledger_selectors.OPEN_STATUSES, open_minor__gt=0
            )
        ]
        if not invoices:
            return Verdict("cancel", "nothing past due any more")
        return Verdict("send", invoices=invoices)  # an internal email: no customer contact policy
    if msg.step_key == "thanks":
        invoices = [
            selectors.OpenInvoice(
                i.pk, i.customer_id, i.number, i.invoice_date, i.due_date, i.amount_minor, i.currency
            )
            for i in Invoice.objects.filter(pk__in=msg.invoice_ids)
        ]
    else:
        d = selectors.demands([msg.customer_id], today)[msg.customer_id]
        if d.blocked:
            return Verdict("cancel", f"dunning blocked: {d.blocked}")
        invoices = [d.invoices[i] for i in msg.invoice_ids if i in d.invoices]
        if not invoices:
            return Verdict("cancel", "nothing left to demand (paid, disputed, promised or blocked)")
    policy = selectors.policy_for(msg.customer.segment, policies)
    if policy is not None:
        tz = (msg.contact.time_zone if msg.contact else "") or ledger_selectors.organization().time_zone
        opens = logic.next_allowed(now, tz, policy.start_hour, policy.end_hour)
        if opens is not None:
            return Verdict(
                "defer",
                f"outside allowed hours {policy.start_hour}:00-{policy.end_hour}:00 {tz}",
                not_before=opens,
            )
        if policy.max_emails is not None:
            window = now - dt.timedelta(days=policy.period_days)
            sent: list[dt.datetime] = [
                t
                for t in OutboxMessage.objects.filter(
                    customer_id=msg.customer_id,
                    status=OutboxMessage.Status.SENT,
                    sent_at__gt=window,
                    sent_at__isnull=False,
                )
                .order_by("sent_at")
                .values_list("sent_at", flat=True)
                if t is not None
            ]
            if len(sent) >= policy.max_emails:
                return Verdict(
                    "defer",
                    f"cap of {policy.max_emails} emails in {policy.period_days} days reached",
                    not_before=sent[0] + dt.timedelta(days=policy.period_days),
                )
    return Verdict("send", invoices=invoices)


def render_message(
    msg: OutboxMessage, invoices: Sequence[Any], as_of: dt.date
) -> tuple[str, str, dict[str, Any]]:
    if msg.step_key.startswith(ESCALATION_KEY):
        ctx = selectors.escalation_context(msg.customer, invoices, as_of)
        subject = f"Escalation: {ctx['customer']['account_number']} {ctx['customer']['name']}"[:200]
        return subject, render_to_string("collections/escalation_email.txt", ctx), ctx
    tpl = selectors.find_template(msg.template_code, msg.language)
    if tpl is None:
        raise InvalidInput(f"no template {msg.template_code!r}", field="template_code")
    ctx = selectors.message_context(msg.customer, msg.contact, invoices, as_of, msg.to_email)
    subject = logic.render_merge(tpl.subject, ctx, "subject").strip().replace("\n", " ")[:200]
    body = logic.render_merge(tpl.body, ctx, "body")
    ctx["_attach"] = tpl.attach_statement
    return subject, body, ctx


def build_email(
    msg: OutboxMessage, subject: str, body: str, ctx: dict[str, Any], connection: Any
) -> EmailMessage:
    if msg.step_key.startswith(ESCALATION_KEY):  # internal: no unsubscribe, no statement
        return EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[msg.to_email],
            connection=connection,
            headers={"Message-ID": message_id(msg), "X-Ardesk-Outbox": str(msg.pk)},
        )
    unsub = ctx["unsubscribe_url"]
    email = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[msg.to_email],
        connection=connection,
        headers={
            "Message-ID": message_id(msg),
            "List-Unsubscribe": f"<{unsub}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Ardesk-Outbox": str(msg.pk),
        },
    )
    if ctx.get("_attach") and ctx["invoices"]:
        name = f"statement-{ctx['customer']['account_number']}-{ctx['as_of']}"
        email.attach(f"{name}.pdf", statement.statement_pdf(ctx), "application/pdf")
        email.attach(f"{name}.csv", statement.statement_csv(ctx), "text/csv")
    return email


# test hook: called after a claim and before the SMTP handoff (a test makes it raise to "kill" the worker)
before_handoff: Callable[[OutboxMessage], None] | None = None


def send_pending(
    *,
    worker: str,
    now: dt.datetime | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
    limit: int = 50,
    connection: Any = None,
) -> SendSummary:
    """Claim and deliver due email rows (one batch). Many workers may run this at once."""
    now = now or timezone.now()
    summary = SendSummary()
    ids = claim(worker=worker, now=now, lease=lease, limit=limit)
    summary.claimed = len(ids)
    if not ids:
        return summary
    policies = {p.segment: p for p in ContactPolicy.objects.all()}
    conn = connection or get_connection()
    for pk in ids:
        outcome = _deliver(pk, worker, now, conn, policies)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _mine(pk: int, worker: str, now: dt.datetime) -> Any:
    return OutboxMessage.objects.filter(
        pk=pk, status=OutboxMessage.Status.PENDING, claimed_by=worker, claimed_at=now
    )


def _deliver(pk: int, worker: str, now: dt.datetime, conn: Any, policies: dict[str, ContactPolicy]) -> str:
    msg = OutboxMessage.objects.select_related("customer", "customer__collector", "contact").get(pk=pk)
    verdict = recheck(msg, now, policies)
    if verdict.action == "cancel":
        with transaction.atomic():
            if _mine(pk, worker, now).update(
                status=OutboxMessage.Status.CANCELLED, note=verdict.reason[:300]
            ):
                audit.record(actor=None, action="dunning.cancel", obj=msg, after={"reason": verdict.reason})
        return "cancelled"
    if verdict.action == "defer":
        _mine(pk, worker, now).update(
            not_before=verdict.not_before, claimed_at=None, claimed_by="", note=verdict.reason[:300]
        )
        return "deferred"
    as_of = _org_today(now)
    try:
        subject, body, ctx = render_message(msg, verdict.invoices, as_of)
        email = build_email(msg, subject, body, ctx, conn)
    except (InvalidInput, ValueError) as exc:  # the template is gone or no longer renders
        reason = exc.message if isinstance(exc, InvalidInput) else str(exc)
        _mine(pk, worker, now).update(status=OutboxMessage.Status.CANCELLED, note=reason[:300])
        return "cancelled"
    if before_handoff is not None:
        before_handoff(msg)
    note = f"possibly sent before (handoff {msg.handoff_at.isoformat()})" if msg.handoff_at else ""
    if not _mine(pk, worker, now).update(handoff_at=now, **({"note": note} if note else {})):
        return "failed"  # our lease was taken over: the other worker delivers it
    try:
        email.send()
    except Exception as exc:
        retry = now + dt.timedelta(minutes=5 * msg.attempts)
        give_up = msg.attempts >= MAX_ATTEMPTS
        _mine(pk, worker, now).update(
            claimed_at=None,
            claimed_by="",
            handoff_at=None,
            not_before=retry,
            note=f"send failed: {exc}"[:300],
            **({"status": OutboxMessage.Status.CANCELLED} if give_up else {}),
        )
        log.warning("outbox %s: send failed: %s", pk, exc)
        return "failed"
    with transaction.atomic():
        done = _mine(pk, worker, now).update(
            status=OutboxMessage.Status.SENT, sent_at=now, message_id=message_id(msg), subject=subject
        )
        if not done:
            log.error(
                "outbox %s: sent but the lease was taken over; the resend carries the same Message-ID", pk
            )
        invoices = list(Invoice.objects.filter(pk__in=[i.pk for i in verdict.invoices]))
        internal = msg.step_key.startswith(ESCALATION_KEY)  # the activity was recorded at escalation
        if not internal:
            activity_services.log_activity(
                actor=None,
                customer=msg.customer,
                kind=Kind.EMAIL_SENT,
                occurred_at=now,
                contact=msg.contact,
                invoices=invoices,
                subject=subject,
                notes=f"to {msg.to_email}; Message-ID {message_id(msg)}",
                source=Source.DUNNING,
                dedupe_key=f"outbox:{pk}",
            )
        audit.record(actor=None, action="dunning.sent", obj=msg, after={"message_id": message_id(msg)})
    return "sent"


# --- suppression ---------------------------------------------------------------------------------------


@transaction.atomic
def suppress(*, actor: Any, email: str, reason: str, detail: str = "") -> Suppression:
    """Stop all dunning mail to `email` (idempotent: the first reason stays)."""
    address = email.strip().lower()
    if "@" not in address:
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    reason = Suppression.Reason(reason)
    row, created = Suppression.objects.get_or_create(
        email=address, defaults={"reason": reason, "detail": detail[:300]}
    )
    if created:
        audit.record(actor=actor, action=f"suppression.{reason.value}", obj=row, after=audit.snapshot(row))
    return row


def record_bounce(*, actor: Any, email: str, detail: str = "") -> Suppression:
    return suppress(actor=actor, email=email, reason=Suppression.Reason.BOUNCE, detail=detail)


def opt_out(*, email: str) -> Suppression:
    return suppress(actor=None, email=email, reason=Suppression.Reason.OPT_OUT, detail="unsubscribe link")


@transaction.atomic
def lift_suppression(*, actor: Any, suppression: Suppression) -> None:
    audit.record(actor=actor, action="suppression.lift", obj=suppression, before=audit.snapshot(suppression))
    suppression.delete()


# --- blocks, snoozes, account settings ------------------------------------------------------------------


@transaction.atomic
def add_block(
    *,
    actor: Any,
    customer: Customer,
    reason: str,
    on_date: dt.date,
    until: dt.date | None = None,
    invoice: Invoice | None = None,
) -> DunningBlock:
    if not reason.strip():
        raise InvalidInput("a dunning block needs a reason", field="reason")
    if until is not None and until < on_date:
        raise InvalidInput(f"the end date {until} is before today ({on_date})", field="until")
    if invoice is not None and invoice.customer_id != customer.pk:
        raise InvalidInput(f"invoice {invoice.number} belongs to another customer", field="invoice")
    block = DunningBlock.objects.create(
        customer=customer,
        invoice=invoice,
        reason=reason.strip()[:200],
        until=until,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_on=on_date,
    )
    audit.record(actor=actor, action="dunning.block", obj=block, after=audit.snapshot(block))
    return block


@transaction.atomic
def lift_block(*, actor: Any, block: DunningBlock, on_date: dt.date) -> DunningBlock:
    if block.lifted_on is not None:
        raise Conflict(f"block {block.pk} was lifted on {block.lifted_on}")
    DunningBlock.objects.filter(pk=block.pk).update(lifted_on=on_date)
    block.refresh_from_db()
    audit.record(actor=actor, action="dunning.unblock", obj=block, after={"lifted_on": on_date})
    return block


def _state(customer: Customer) -> AccountState:
    return AccountState.objects.select_for_update().get_or_create(customer=customer)[0]


@transaction.atomic
def snooze(
    *, actor: Any, customer: Customer, until: dt.date | None, on_date: dt.date, reason: str = ""
) -> AccountState:
    """Drop an account down the worklist until a date (None wakes it)."""
    if until is not None and until < on_date:
        raise InvalidInput(f"snooze until {until} is in the past", field="until")
    st = _state(customer)
    before = audit.snapshot(st)
    st.snoozed_until, st.snooze_reason = until, reason[:200]
    st.save()
    audit.record(actor=actor, action="worklist.snooze", obj=st, before=before, after=audit.snapshot(st))
    return st


@transaction.atomic
def set_account(
    *, actor: Any, customer: Customer, language: str | None = None, strategy: Strategy | bool | None = False
) -> AccountState:
    """Per-customer language and strategy override (strategy=None clears it; False leaves it)."""
    st = _state(customer)
    before = audit.snapshot(st)
    if language is not None:
        st.language = language.strip().lower()[:10]
    if strategy is not False:
        st.strategy = strategy if isinstance(strategy, Strategy) else None
    st.save()
    audit.record(actor=actor, action="dunning.account", obj=st, before=before, after=audit.snapshot(st))
    return st


# --- strategies, templates, weights ----------------------------------------------------------------------

WEIGHT_FIELDS = [f.name for f in WorklistWeights._meta.concrete_fields if f.name != "id"]


@transaction.atomic
def save_weights(*, actor: Any, values: dict[str, int]) -> WorklistWeights:
    unknown = set(values) - set(WEIGHT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown weights: {', '.join(sorted(unknown))}")
    bad = [k for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0]
    if bad:
        raise InvalidInput(f"weights must be whole numbers >= 0: {', '.join(sorted(bad))}", field=bad[0])
    w = WorklistWeights.objects.select_for_update().get_or_create(pk=1)[0]
    before = audit.snapshot(w)
    for k, v in values.items():
        setattr(w, k, v)
    w.save()
    b, a = audit.changed(before, audit.snapshot(w))
    audit.record(actor=actor, action="worklist.weights", obj=w, before=b, after=a)
    return w


@transaction.atomic
def save_template(
    *,
    actor: Any,
    code: str,
    language: str,
    name: str,
    subject: str,
    body: str,
    kind: str = "dunning",
    attach_statement: bool = True,
) -> MessageTemplate:
    try:
        logic.check_template(subject, "subject")
        logic.check_template(body, "body")
    except ValueError as exc:
        raise InvalidInput(str(exc), field=str(exc).split(":")[0]) from None
    tpl, created = MessageTemplate.objects.select_for_update().get_or_create(
        code=code,
        language=language.strip().lower(),
        defaults={
            "name": name,
            "subject": subject,
            "body": body,
            "kind": kind,
            "attach_statement": attach_statement,
        },
    )
    before = audit.snapshot(tpl)
    if not created:
        tpl.name, tpl.subject, tpl.body, tpl.kind, tpl.attach_statement = (
            name,
            subject,
            body,
            kind,
            attach_statement,
        )
        tpl.save()
    audit.record(
        actor=actor,
        action="dunning.template",
        obj=tpl,
        before=None if created else before,
        after=audit.snapshot(tpl),
    )
    return tpl


@transaction.atomic
def save_strategy(
    *,
    actor: Any,
    name: str,
    description: str = "",
    is_default: bool = False,
    thank_you_template: str = "",
    strategy: Strategy | None = None,
) -> Strategy:
    if not name.strip():
        raise InvalidInput("a strategy needs a name", field="name")
    if is_default:
        others = Strategy.objects.filter(is_default=True)
        if strategy is not None:
            others = others.exclude(pk=strategy.pk)
        others.update(is_default=False)
    s = strategy or Strategy()
    before = audit.snapshot(s) if strategy else None
    s.name, s.description, s.is_default, s.thank_you_template = (
        name.strip(),
        description,
        is_default,
        thank_you_template,
    )
    try:
        with transaction.atomic():
            s.save()
    except IntegrityError:
        raise Conflict(f"a strategy named {name!r} exists", field="name") from None
    audit.record(actor=actor, action="dunning.strategy", obj=s, before=before, after=audit.snapshot(s))
    return s


@transaction.atomic
def add_step(
    *,
    actor: Any,
    strategy: Strategy,
    offset_days: int,
    action: str,
    name: str,
    template_code: str = "",
    branch: str = "",
    position: int = 0,
) -> StrategyStep:
    action = Action(action)
    if action == Action.EMAIL and not MessageTemplate.objects.filter(code=template_code).exists():
        raise InvalidInput(
            f"an email step needs an existing template (got {template_code!r})", field="template_code"
        )
    if not -90 <= offset_days <= 365:
        raise InvalidInput("offset must be between -90 and 365 days", field="offset_days")
    step = StrategyStep.objects.create(
        strategy=strategy,
        offset_days=offset_days,
        action=action,
        name=name or action.label,
        template_code=template_code,
        branch=branch,
        position=position,
    )
    audit.record(actor=actor, action="dunning.step.add", obj=step, after=audit.snapshot(step))
    return step


@transaction.atomic
def delete_step(*, actor: Any, step: StrategyStep) -> None:
    audit.record(actor=actor, action="dunning.step.delete", obj=step, before=audit.snapshot(step))
    step.delete()


@transaction.atomic
def add_rule(*, actor: Any, strategy: Strategy, priority: int = 100, **criteria: Any) -> StrategyRule:
    allowed = {"risk_class", "territory", "segment", "min_open_minor", "max_open_minor"}
    unknown = set(criteria) - allowed
    if unknown:
        raise InvalidInput(f"unknown rule fields: {', '.join(sorted(unknown))}")
    rule = StrategyRule.objects.create(strategy=strategy, priority=priority, **criteria)
    audit.record(actor=actor, action="dunning.rule.add", obj=rule, after=audit.snapshot(rule))
    return rule


@transaction.atomic
def start_experiment(
    *,
    actor: Any,
    name: str,
    segment: str,
    champion: Strategy,
    challenger: Strategy,
    started_on: dt.date,
    salt: str = "cc",
) -> Experiment:
    if champion.pk == challenger.pk:
        raise InvalidInput("champion and challenger must be two strategies", field="challenger")
    exp = Experiment.objects.create(
        name=name, segment=segment, champion=champion, challenger=challenger, started_on=started_on, salt=salt
    )
    audit.record(actor=actor, action="dunning.experiment", obj=exp, after=audit.snapshot(exp))
    return exp


def reassign(*, actor: Any, customers: Iterable[Customer], collector: Any, reason: str = "") -> int:
    from ardesk.ledger.services import reassign_customers

    return reassign_customers(actor=actor, customers=customers, collector=collector, reason=reason)
