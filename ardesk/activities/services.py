"""Writes to the activity log and to promises to pay. Every function is keyword-only, atomic and audited.

Scope is the caller's job for `log_activity` (a view loads the customer with
`get_customer_for_user(..., write=True)` first); system callers (dunning, disputes, promise evaluation) pass
`actor=None` and a `dedupe_key`. The promise services also refuse a person acting outside their scope
(NotFound) or without the log-activity capability (PermissionDenied), so a caller cannot forget.

Promise evaluation (DOMAIN.md). The *deadline* of a promise is its promised date plus its grace days. The
money counted toward it is, when it names invoices, the cash applications (payment applications and their
reversals; credit memos are not payment) to those invoices dated from the day it was taken through the
deadline; when it names no invoice, the customer's receipts in its currency dated in that window (a receipt
reversed on or before the as-of date does not count). Nothing dated after `as_of` counts.

- kept: the money reached the amount, on or before the deadline (kept as soon as fully paid;
  `resolved_on` = the day it was reached);
- partially kept: the deadline has passed (as_of > deadline) with some money but not all;
- broken: the deadline has passed with no money; `resolved_on` = deadline + 1 day for both;
- open: otherwise. Cancelled promises are never evaluated.

Evaluation is idempotent and never moves a promise backwards: a kept promise stays kept, a broken or
partially kept one never becomes open again (an earlier `as_of` cannot undo a later evaluation), but late
money imported afterwards (dated inside the window) can still upgrade it to partial or kept. A promise that
becomes broken or partially kept creates exactly one follow-up for its collector (dedupe key
`ptp:<id>:follow-up`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ardesk.core import audit
from ardesk.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger import selectors as ledger_selectors
from ardesk.ledger.models import Application, Contact, Customer, Invoice, Payment

from .models import Activity, Kind, Outcome, PromiseToPay, Source

CHUNK = 500  # ids per IN (...) list: well under SQLite's variable limit


def business_date(moment: dt.datetime) -> dt.date:
    """The organization's calendar date of an aware datetime."""
    org = ledger_selectors.organization()
    return moment.astimezone(zoneinfo.ZoneInfo(org.time_zone)).date()


def _check_refs(customer: Customer, contact: Contact | None, invoices: list[Invoice]) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise InvalidInput(f"contact {contact.pk} belongs to another customer", field="contact")
    foreign = [inv.number for inv in invoices if inv.customer_id != customer.pk]
    if foreign:
        raise InvalidInput(f"invoices of another customer: {', '.join(sorted(foreign))}", field="invoices")


@transaction.atomic
def log_activity(
    *,
    actor: Any,
    customer: Customer,
    kind: Kind | str,
    occurred_at: dt.datetime | None = None,
    contact: Contact | None = None,
    invoices: Iterable[Invoice] = (),
    outcome: Outcome | str = "",
    duration_seconds: int | None = None,
    subject: str = "",
    notes: str = "",
    follow_up_on: dt.date | None = None,
    source: Source | str = Source.MANUAL,
    collector: Any = None,
    dedupe_key: str | None = None,
) -> Activity:
    """Record one activity with a customer.

    `collector` is who it counts for: by default the person who logged it when they are the customer's
    collector or have no other claim, else the customer's collector (a system activity counts for the
    customer's collector). With a `dedupe_key`, recording the same event again returns the first row and
    writes nothing.
    """
    kind = Kind(kind)
    outcome = Outcome(outcome) if outcome else ""
    if outcome and kind != Kind.CALL:
        raise InvalidInput("only a call has an outcome", field="outcome")
    if duration_seconds is not None and duration_seconds < 0:
        raise InvalidInput("duration cannot be negative", field="duration_seconds")
    invoice_list = list(invoices)
    _check_refs(customer, contact, invoice_list)
    if dedupe_key:
        existing = Activity.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    moment = occurred_at or timezone.now()
    if timezone.is_naive(moment):
        raise InvalidInput("occurred_at must carry a time zone", field="occurred_at")
    if collector is None:
        if actor is not None and getattr(actor, "pk", None) and source == Source.MANUAL:
            collector = actor
        else:
            collector = customer.collector
    activity = Activity(
        customer=customer,
        contact=contact,
        kind=kind,
        source=Source(source),
        outcome=outcome,
        duration_seconds=duration_seconds,
        collector=collector,
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=moment,
        occurred_on=business_date(moment),
        subject=subject[:200],
        notes=notes,
        follow_up_on=follow_up_on,
        dedupe_key=dedupe_key or None,
    )
    try:
        with transaction.atomic():  # a concurrent writer of the same key wins; we return its row
            activity.save()
    except IntegrityError:
        if dedupe_key and (existing := Activity.objects.filter(dedupe_key=dedupe_key).first()):
            return existing
        raise
    if invoice_list:
        activity.invoices.set(invoice_list)
    audit.record(
        actor=actor,
        action=f"activity.{kind.value}",
        obj=activity,
        after={**audit.snapshot(activity), "invoices": [inv.pk for inv in invoice_list]},
    )
    return activity


# --- who may act ---------------------------------------------------------------------------------------


def _check_actor(actor: Any, customer: Customer) -> None:
    """A person (not the system) must have the customer in scope (else NotFound) and the capability to
    log activity (else PermissionDenied)."""
    if actor is None:
        return
    if not ledger_selectors.customers_for_user(actor).filter(pk=customer.pk).exists():
        raise NotFound(f"customer {customer.pk} not found")
    if not has_cap(actor, Cap.LOG_ACTIVITY):
        raise PermissionDenied("your role does not allow logging activity")


def _org_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(ledger_selectors.organization().time_zone)


def _start_of(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Midnight of a business date in the organization's time zone (system events dated by a date)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


# --- promises to pay -----------------------------------------------------------------------------------


@transaction.atomic
def take_promise(
    *,
    actor: Any,
    customer: Customer,
    amount: Money,
    promised_date: dt.date,
    invoices: Iterable[Invoice] = (),
    contact: Contact | None = None,
    grace_days: int | None = None,
    notes: str = "",
    occurred_at: dt.datetime | None = None,
) -> PromiseToPay:
    """Record a promise to pay `amount` by `promised_date` (for `invoices`, all in the promise's currency),
    with the PROMISE activity it came from. Grace days default to the organization's."""
    _check_actor(actor, customer)
    if not isinstance(amount, Money) or amount.minor <= 0:
        raise InvalidInput("a promise is for an amount above zero", field="amount")
    invoice_list = list(invoices)
    _check_refs(customer, contact, invoice_list)
    other = sorted(inv.number for inv in invoice_list if inv.currency != amount.currency)
    if other:
        raise InvalidInput(
            f"invoices not in {amount.currency}: {', '.join(other)}; one promise, one currency",
            field="invoices",
        )
    if grace_days is None:
        grace_days = ledger_selectors.organization().ptp_grace_days
    if not 0 <= grace_days <= 60:
        raise InvalidInput("grace days must be between 0 and 60", field="grace_days")
    moment = occurred_at or timezone.now()
    if timezone.is_naive(moment):
        raise InvalidInput("occurred_at must carry a time zone", field="occurred_at")
    taken_on = business_date(moment)
    if promised_date < taken_on:
        raise InvalidInput(
            f"the promised date {promised_date} is before the day the promise is taken ({taken_on})",
            field="promised_date",
        )
    activity = log_activity(
        actor=actor,
        customer=customer,
        kind=Kind.PROMISE,
        occurred_at=moment,
        contact=contact,
        invoices=invoice_list,
        subject=f"Promise to pay {amount} by {promised_date}",
        notes=notes,
    )
    promise = PromiseToPay.objects.create(
        customer=customer,
        contact=contact,
        activity=activity,
        collector=activity.collector,
        amount_minor=amount.minor,
        currency=amount.currency,
        taken_on=taken_on,
        promised_date=promised_date,
        grace_days=grace_days,
        notes=notes,
    )
    if invoice_list:
        promise.invoices.set(invoice_list)
    audit.record(
        actor=actor,
        action="promise.take",
        obj=promise,
        after={**audit.snapshot(promise), "invoices": [inv.pk for inv in invoice_list]},
    )
    return promise


@transaction.atomic
def cancel_promise(
    *, actor: Any, promise: PromiseToPay, reason: str, on_date: dt.date | None = None
) -> PromiseToPay:
    """Cancel an open promise (the customer withdrew it, it was taken by mistake). Only an open promise
    can be cancelled: a kept, broken or partially kept one is history (Conflict)."""
    _check_actor(actor, promise.customer)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the promise is cancelled", field="reason")
    on_date = on_date or business_date(timezone.now())
    claimed = PromiseToPay.objects.filter(pk=promise.pk, status=PromiseToPay.Status.OPEN).update(
        status=PromiseToPay.Status.CANCELLED,
        resolved_on=on_date,
        notes=(f"{promise.notes}\n" if promise.notes else "") + f"Cancelled: {reason}"[:2000],
    )
    if claimed != 1:
        promise.refresh_from_db()
        status = promise.get_status_display().lower()
        raise Conflict(f"the promise is {status}; only an open one can be cancelled")
    before = audit.snapshot(promise, ["status", "resolved_on"])
    promise.refresh_from_db()
    audit.record(
        actor=actor,
        action="promise.cancel",
        obj=promise,
        before=before,
        after=audit.snapshot(promise, ["status", "resolved_on"]),
        note=reason,
    )
    return promise


@dataclass(frozen=True)
class EvaluationSummary:
    evaluated: int
    kept: int
    partial: int
    broken: int
    still_open: int
    follow_ups: int

    def __str__(self) -> str:
        return (
            f"{self.evaluated} promises evaluated: {self.kept} kept, {self.partial} partially kept, "
            f"{self.broken} broken, {self.still_open} open; {self.follow_ups} follow-ups created"
        )


def _money_toward(promises: list[PromiseToPay], as_of: dt.date) -> dict[int, list[tuple[dt.date, int]]]:
    """(date, minor) of the money that may count toward each promise, dated from its taken_on through
    `as_of` (the deadline is applied by `rules.judge_promise`). A few queries per 500 promises."""
    money: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    with_invoices: set[int] = set()
    ids = [p.pk for p in promises]
    through = PromiseToPay.invoices.through
    for chunk in _chunks(ids):
        with_invoices |= set(
            through.objects.filter(promisetopay_id__in=chunk).values_list("promisetopay_id", flat=True)
        )
        rows = Application.objects.filter(
            invoice__promises__in=chunk,
            payment__isnull=False,
            applied_date__gte=F("invoice__promises__taken_on"),
            applied_date__lte=as_of,
        ).values_list("invoice__promises__id", "applied_date", "amount_minor")
        for pid, day, amount in rows:
            money[pid].append((day, amount))
    bare = [p.pk for p in promises if p.pk not in with_invoices]
    for chunk in _chunks(bare):
        receipts = (
            Payment.objects.filter(
                customer__promises__in=chunk,
                currency=F("customer__promises__currency"),
                payment_date__gte=F("customer__promises__taken_on"),
                payment_date__lte=as_of,
            )
            .filter(Q(reversed_on__isnull=True) | Q(reversed_on__gt=as_of))
            .values_list("customer__promises__id", "payment_date", "amount_minor")
        )
        for pid, day, amount in receipts:
            money[pid].append((day, amount))
    return money


@transaction.atomic
def evaluate_promises(
    *, as_of: dt.date, customer_ids: Iterable[int] | None = None, actor: Any = None
) -> EvaluationSummary:
    """Evaluate the promises taken on or before `as_of` that are not kept or cancelled (of these customers,
    or all), store the new statuses, create the follow-ups of the newly broken or partially kept ones.
    Idempotent: a second run with the same data changes nothing and writes nothing."""
    from . import rules

    qs = PromiseToPay.objects.filter(
        status__in=[PromiseToPay.Status.OPEN, PromiseToPay.Status.PARTIAL, PromiseToPay.Status.BROKEN],
        taken_on__lte=as_of,
    ).select_related("customer")
    if customer_ids is not None:
        cids = sorted(set(customer_ids))
        promises = [p for chunk in _chunks(cids) for p in qs.filter(customer_id__in=chunk)]
    else:
        promises = list(qs)
    money = _money_toward(promises, as_of)
    changed: list[PromiseToPay] = []
    counts = {rules.OPEN: 0, rules.KEPT: 0, rules.PARTIAL: 0, rules.BROKEN: 0}
    to_follow: list[PromiseToPay] = []
    for p in promises:
        verdict = rules.judge_promise(
            amount_minor=p.amount_minor,
            taken_on=p.taken_on,
            deadline=rules.promise_deadline(p.promised_date, p.grace_days),
            as_of=as_of,
            money=money.get(p.pk, ()),
        )
        status = p.status
        if rules.may_move(p.status, verdict.status):
            status = verdict.status
        paid = verdict.paid_minor if status == verdict.status else max(p.paid_minor, verdict.paid_minor)
        if (status, paid) != (p.status, p.paid_minor):
            if status in (rules.BROKEN, rules.PARTIAL) and p.status == rules.OPEN:
                to_follow.append(p)
            if status != p.status:
                p.resolved_on = verdict.resolved_on
            p.status, p.paid_minor, p.evaluated_on = status, paid, as_of
            changed.append(p)
        counts[status] += 1
    if changed:
        _store_verdicts(changed)
    follow_ups = _create_follow_ups(to_follow)
    if changed:
        audit.record(
            actor=actor,
            action="promise.evaluate",
            object_type=PromiseToPay._meta.label,
            after={
                "as_of": as_of,
                "changed": {str(p.pk): [p.status, p.paid_minor] for p in changed},
                "follow_ups": follow_ups,
            },
        )
    return EvaluationSummary(
        evaluated=len(promises),
        kept=counts[rules.KEPT],
        partial=counts[rules.PARTIAL],
        broken=counts[rules.BROKEN],
        still_open=counts[rules.OPEN],
        follow_ups=follow_ups,
    )


def _store_verdicts(promises: list[PromiseToPay]) -> None:
    """One parameterised UPDATE per promise, sent with executemany (Django's bulk_update builds a CASE per
    column, which is quadratic on SQLite for thousands of rows)."""
    table = connection.ops.quote_name(PromiseToPay._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, paid_minor = %s, resolved_on = %s, evaluated_on = %s "  # noqa: S608
        "WHERE id = %s"
    )
    with connection.cursor() as cur:
        cur.executemany(
            sql, [(str(p.status), p.paid_minor, p.resolved_on, p.evaluated_on, p.pk) for p in promises]
        )


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        found |= {
            k for k in Activity.objects.filter(dedupe_key__in=part).values_list("dedupe_key", flat=True) if k
        }
    return found


def follow_up_key(promise_id: int) -> str:
    return f"ptp:{promise_id}:follow-up"


def _create_follow_ups(promises: list[PromiseToPay]) -> int:
    """One follow-up note per broken or partially kept promise, due the day it was found broken, for the
    promise's collector (else the customer's). The unique dedupe key makes a second one impossible."""
    if not promises:
        return 0
    keys = {follow_up_key(p.pk): p for p in promises}
    existing = _existing_keys(list(keys))
    rows = []
    tz = _org_tz()
    for key, p in keys.items():
        if key in existing or p.resolved_on is None:
            continue
        what = "partially kept" if p.status == PromiseToPay.Status.PARTIAL else "broken"
        rows.append(
            Activity(
                customer_id=p.customer_id,
                kind=Kind.NOTE,
                source=Source.SYSTEM,
                collector_id=p.collector_id or p.customer.collector_id,
                occurred_at=_start_of(p.resolved_on, tz),
                occurred_on=p.resolved_on,
                subject=f"Promise {what}: {p.paid} of {p.amount} received by "
                f"{p.promised_date} (+{p.grace_days} grace days); follow up"[:200],
                follow_up_on=p.resolved_on,
                dedupe_key=key,
            )
        )
    Activity.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    return len(rows)


@dataclass(frozen=True)
class PromiseTerms:
    """The promise taken during a call: amount, date, invoices (see `take_promise`)."""

    amount: Money
    promised_date: dt.date
    invoices: Sequence[Invoice] = ()
    grace_days: int | None = None


@transaction.atomic
def log_call(
    *,
    actor: Any,
    customer: Customer,
    outcome: Outcome | str,
    contact: Contact | None = None,
    invoices: Iterable[Invoice] = (),
    duration_seconds: int | None = None,
    notes: str = "",
    follow_up_on: dt.date | None = None,
    promise: PromiseTerms | None = None,
    occurred_at: dt.datetime | None = None,
) -> tuple[Activity, PromiseToPay | None]:
    """The two-click call log: the call with its outcome and next follow-up date, and the promise taken
    on it (only a call that reached the right party can carry one), all or nothing."""
    _check_actor(actor, customer)
    outcome = Outcome(outcome)
    if promise is not None and outcome != Outcome.RIGHT_PARTY:
        raise InvalidInput("a promise is taken from the right party: pick that outcome", field="outcome")
    moment = occurred_at or timezone.now()
    call = log_activity(
        actor=actor,
        customer=customer,
        kind=Kind.CALL,
        occurred_at=moment,
        contact=contact,
        invoices=invoices,
        outcome=outcome,
        duration_seconds=duration_seconds,
        notes=notes,
        follow_up_on=follow_up_on,
    )
    taken = None
    if promise is not None:
        taken = take_promise(
            actor=actor,
            customer=customer,
            amount=promise.amount,
            promised_date=promise.promised_date,
            invoices=promise.invoices,
            contact=contact,
            grace_days=promise.grace_days,
            occurred_at=moment,
        )
    return call, taken


# --- payments received ---------------------------------------------------------------------------------


@transaction.atomic
def record_payments_received(
    *,
    since: dt.date | None,
    until: dt.date,
    customer_ids: Iterable[int] | None = None,
    actor: Any = None,
) -> int:
    """One PAYMENT activity (source system, dedupe key `payment:<id>`) per receipt dated since .. until
    (no lower bound when `since` is None), counted for the customer's collector. Returns how many were
    new; running it again records nothing twice."""
    qs = Payment.objects.filter(payment_date__lte=until).select_related("customer")
    if since is not None:
        qs = qs.filter(payment_date__gte=since)
    if customer_ids is not None:
        cids = sorted(set(customer_ids))
        payments = [p for chunk in _chunks(cids) for p in qs.filter(customer_id__in=chunk)]
    else:
        payments = list(qs)
    keys = [f"payment:{p.pk}" for p in payments]
    existing = _existing_keys(keys)
    tz = _org_tz()
    rows = [
        Activity(
            customer_id=p.customer_id,
            kind=Kind.PAYMENT,
            source=Source.SYSTEM,
            collector_id=p.customer.collector_id,
            occurred_at=_start_of(p.payment_date, tz),
            occurred_on=p.payment_date,
            subject=f"Payment {p.reference} {Money(p.amount_minor, p.currency)}"[:200],
            dedupe_key=key,
        )
        for p, key in zip(payments, keys, strict=True)
        if key not in existing
    ]
    Activity.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    if rows:
        audit.record(
            actor=actor,
            action="activity.payments_received",
            object_type=Activity._meta.label,
            after={"since": since, "until": until, "recorded": len(rows)},
        )
    return len(rows)


# --- follow-ups ----------------------------------------------------------------------------------------


@transaction.atomic
def complete_follow_up(*, actor: Any, activity: Activity) -> Activity:
    """Mark an activity's follow-up done, once (a second click is a Conflict)."""
    _check_actor(actor, activity.customer)
    if activity.follow_up_on is None:
        raise InvalidInput("this activity has no follow-up", field="activity")
    done = Activity.objects.filter(pk=activity.pk, follow_up_done_at__isnull=True).update(
        follow_up_done_at=timezone.now()
    )
    if done != 1:
        raise Conflict("this follow-up is already done")
    activity.refresh_from_db()
    audit.record(
        actor=actor,
        action="activity.follow_up_done",
        obj=activity,
        after={"follow_up_done_at": activity.follow_up_done_at},
    )
    return activity


# --- the after-import hook (settings.ARDESK_AFTER_IMPORT) ----------------------------------------------

LEDGER_MONEY_KINDS = frozenset({"payments", "applications"})


def after_ledger_import(*, actor: Any, kind: str, customer_ids: Iterable[int], as_of: dt.date) -> None:
    """Called by `ardesk.imports` inside the import's transaction after payments or applications are
    written: records the payments received of those customers and evaluates their promises as of `as_of`
    (the latest date in the file, so a backdated file does not break a promise whose deadline has not
    passed on that date; the scheduled `ardesk promises` run breaks the rest)."""
    if kind not in LEDGER_MONEY_KINDS:
        return
    ids = sorted(set(customer_ids))
    if not ids:
        return
    record_payments_received(since=None, until=as_of, customer_ids=ids, actor=actor)
    evaluate_promises(as_of=as_of, customer_ids=ids, actor=actor)
