"""Writes of the disputes app: open, assign, move through research, note, attach, resolve, close, reopen.

Every function is keyword-only, runs in one transaction, writes an audit row, a `DisputeEvent` (the
dispute's history) and a dispute activity on the customer's timeline (`ardesk.activities`).

Workflow: open -> in research / waiting on customer / waiting on internal (freely among these three) ->
resolved -> closed. A resolved or closed dispute may be reopened (back to in research) unless its resolution
posted something in the ledger (a credit memo or a write-off): that is corrected in the ledger, or by a new
dispute. Resolution is claimed with a conditional UPDATE on the status, so two resolutions of the same
dispute at once produce one: the second gets `Conflict`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.db import IntegrityError, transaction

from ardesk.activities.models import Kind as ActivityKind
from ardesk.activities.models import Source
from ardesk.activities.services import log_activity
from ardesk.core import audit
from ardesk.core.errors import Conflict, InvalidInput
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger import services as ledger
from ardesk.ledger.models import Application, Customer, Invoice, Payment

from .defaults import ensure_reason_codes
from .models import (
    ACTIVE_STATUSES,
    Channel,
    Department,
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeLine,
    DisputeNote,
    DisputeSettings,
    Kind,
    ReasonCode,
    Resolution,
    RootCause,
    Status,
)

# allowed moves of change_status (resolve, close and reopen have their own functions)
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.IN_RESEARCH, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL}),
    Status.IN_RESEARCH: frozenset({Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL}),
    Status.WAITING_CUSTOMER: frozenset({Status.IN_RESEARCH, Status.WAITING_INTERNAL}),
    Status.WAITING_INTERNAL: frozenset({Status.IN_RESEARCH, Status.WAITING_CUSTOMER}),
    Status.RESOLVED: frozenset(),
    Status.CLOSED: frozenset(),
}

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".eml": "message/rfc822",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# leading bytes a file of that type must start with (the browser's content type is not trusted)
MAGIC = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".xlsx": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
}


@dataclass(frozen=True)
class LineIn:
    invoice: Invoice
    amount: Money | None = None  # None = the invoice's whole open amount


def settings_row() -> DisputeSettings:
    return DisputeSettings.objects.get_or_create(pk=1)[0]


# --- helpers ---------------------------------------------------------------------------------------------


def _event(
    dispute: Dispute,
    *,
    actor: Any,
    action: str,
    on_date: dt.date,
    from_status: str = "",
    to_status: str = "",
    detail: str = "",
) -> DisputeEvent:
    return DisputeEvent.objects.create(
        dispute=dispute,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        on_date=on_date,
        detail=detail[:300],
    )


def _activity(
    dispute: Dispute, *, actor: Any, subject: str, notes: str = "", key: str, system: bool = False
) -> None:
    person = getattr(actor, "pk", None)
    log_activity(
        actor=actor if person else None,
        customer=dispute.customer,
        kind=ActivityKind.DISPUTE,
        invoices=[line.invoice for line in dispute.lines.select_related("invoice")],
        subject=f"{dispute.number}: {subject}",
        notes=notes,
        source=Source.SYSTEM if (system or not person) else Source.MANUAL,
        # a dispute step counts for the customer's collector, not for a resolver in another department
        collector=dispute.customer.collector,
        dedupe_key=f"dispute:{dispute.pk}:{key}",
    )


def _record(
    dispute: Dispute, *, actor: Any, action: str, before: dict[str, Any] | None, note: str = ""
) -> None:
    after = audit.snapshot(dispute)
    if before is not None:
        before, after = audit.changed(before, after)
    audit.record(actor=actor, action=f"dispute.{action}", obj=dispute, before=before, after=after, note=note)


def _check_owner(owner: Any) -> None:
    if owner is None:
        return
    if not getattr(owner, "is_active", False) or not has_cap(owner, Cap.WORK_DISPUTES):
        raise InvalidInput(
            f"{getattr(owner, 'username', owner)} cannot own disputes (needs a role that works disputes)",
            field="owner",
        )


def _reason(reason: ReasonCode | str) -> ReasonCode:
    if isinstance(reason, ReasonCode):
        return reason
    ensure_reason_codes()
    try:
        return ReasonCode.objects.get(code=reason, active=True)
    except ReasonCode.DoesNotExist:
        raise InvalidInput(f"unknown reason code {reason!r}", field="reason") from None


def _step_count(dispute: Dispute) -> int:
    return DisputeEvent.objects.filter(dispute=dispute).count()


# --- opening ---------------------------------------------------------------------------------------------


@transaction.atomic
def open_dispute(
    *,
    actor: Any,
    customer: Customer,
    lines: Sequence[LineIn],
    reason: ReasonCode | str,
    opened_on: dt.date,
    channel: Channel | str = Channel.COLLECTOR,
    kind: Kind | str = Kind.DISPUTE,
    owner: Any = None,
    department: Department | str | None = None,
    customer_reason_code: str = "",
    customer_reference: str = "",
    description: str = "",
    payment: Payment | None = None,
    dedupe_key: str | None = None,
    due_on: dt.date | None = None,
) -> Dispute:
    """Open a dispute on one or more invoices of `customer`; the due date follows the reason's SLA.

    With a `dedupe_key`, opening the same dispute again (a job or an import that runs twice) returns the
    first one and writes nothing."""
    if dedupe_key and (existing := Dispute.objects.filter(dedupe_key=dedupe_key).first()):
        return existing
    code = _reason(reason)
    if not lines:
        raise InvalidInput("a dispute names at least one invoice", field="invoices")
    channel = Channel(channel)
    kind = Kind(kind)
    department = Department(department) if department else Department(code.default_department)
    _check_owner(owner)
    seen: set[int] = set()
    currency = lines[0].invoice.currency
    rows: list[tuple[Invoice, int]] = []
    for i, line in enumerate(lines):
        inv = Invoice.objects.get(pk=line.invoice.pk)
        where = f"invoices[{i}] ({inv.number})"
        if inv.customer_id != customer.pk:
            raise InvalidInput(
                f"{where} belongs to another customer than {customer.account_number}", field="invoices"
            )
        if inv.pk in seen:
            raise InvalidInput(f"{where} is named twice", field="invoices")
        seen.add(inv.pk)
        if inv.currency != currency:
            raise InvalidInput(
                f"{where} is in {inv.currency}; a dispute is in one currency ({currency})", field="invoices"
            )
        if inv.status not in (Invoice.Status.OPEN, Invoice.Status.DISPUTED) or inv.open_minor <= 0:
            raise InvalidInput(f"{where} has nothing open to dispute", field="invoices")
        amount = line.amount.minor if line.amount is not None else inv.open_minor
        if line.amount is not None and line.amount.currency != inv.currency:
            raise InvalidInput(f"{where}: amount in {line.amount.currency}, invoice in {inv.currency}")
        if amount <= 0:
            raise InvalidInput(f"{where}: the disputed amount must be positive", field="amount")
        if amount > inv.open_minor:
            raise InvalidInput(
                f"{where}: cannot dispute {Money(amount, currency)}, only {inv.open_amount} is open",
                field="amount",
            )
        if opened_on < inv.invoice_date:
            raise InvalidInput(f"{where}: opened on {opened_on}, before the invoice date {inv.invoice_date}")
        rows.append((inv, amount))
    due = due_on or opened_on + dt.timedelta(days=code.sla_days)
    if due < opened_on:
        raise InvalidInput("the due date cannot be before the opening date", field="due_on")
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                customer=customer,
                kind=kind,
                channel=channel,
                reason=code,
                customer_reason_code=customer_reason_code.strip()[:40],
                customer_reference=customer_reference.strip()[:80],
                description=description,
                currency=currency,
                amount_minor=sum(a for _, a in rows),
                owner=owner,
                department=department,
                opened_on=opened_on,
                due_on=due,
                opened_by=actor if getattr(actor, "pk", None) else None,
                payment=payment,
                dedupe_key=dedupe_key or None,
            )
    except IntegrityError:
        if dedupe_key and (existing := Dispute.objects.filter(dedupe_key=dedupe_key).first()):
            return existing
        raise
    DisputeLine.objects.bulk_create(
        [DisputeLine(dispute=dispute, invoice=inv, amount_minor=a) for inv, a in rows]
    )
    what = "deduction" if kind == Kind.DEDUCTION else "dispute"
    _event(
        dispute,
        actor=actor,
        action="opened",
        on_date=opened_on,
        to_status=Status.OPEN,
        detail=f"{code.name}, {dispute.amount} ({channel.label})",
    )
    _record(dispute, actor=actor, action="open", before=None)
    _activity(
        dispute,
        actor=actor,
        subject=f"{what} opened: {code.name}, {dispute.amount}",
        notes=description,
        key="opened",
        system=channel in (Channel.DEDUCTION, Channel.IMPORT),
    )
    return dispute


@transaction.atomic
def open_deduction(
    *,
    actor: Any,
    payment: Payment,
    invoice: Invoice,
    short: Money,
    opened_on: dt.date | None = None,
    reason: ReasonCode | str | None = None,
    customer_reference: str = "",
) -> Dispute:
    """Open a deduction for what a payment left short on an invoice (idempotent per payment and invoice)."""
    if payment.customer_id != invoice.customer_id and invoice.customer.parent_id != payment.customer_id:
        raise InvalidInput(f"payment {payment.reference} is not from the customer of {invoice.number}")
    cfg = settings_row()
    code = reason or cfg.deduction_reason or "shortage"
    return open_dispute(
        actor=actor,
        customer=invoice.customer,
        lines=[LineIn(invoice=invoice, amount=short)],
        reason=code,
        opened_on=opened_on or payment.payment_date,
        channel=Channel.DEDUCTION,
        kind=Kind.DEDUCTION,
        customer_reference=customer_reference or payment.reference,
        payment=payment,
        dedupe_key=f"deduction:{payment.pk}:{invoice.pk}",
    )


def is_short_payment(*, residual_minor: int, amount_minor: int, max_minor: int, max_percent: Decimal) -> bool:
    """A residual counts as a deduction when it is positive, at most `max_minor` and at most `max_percent` %
    of the invoice amount (exact: residual x 100 <= percent x amount)."""
    if residual_minor <= 0 or residual_minor > max_minor:
        return False
    return Decimal(residual_minor) * 100 <= max_percent * amount_minor


@transaction.atomic
def detect_short_payments(
    *, as_of: dt.date, actor: Any = None, since: dt.date | None = None
) -> list[Dispute]:
    """Open a deduction for every invoice that a payment application left with a small residual.

    Looks at payment applications dated up to `as_of` (from `since`, default 90 days before) whose
    invoice is still open by no more than the tolerance of `DisputeSettings`, and has no active dispute.
    The last payment applied to the invoice is the short one. Running it again opens nothing new."""
    cfg = settings_row()
    start = since or as_of - dt.timedelta(days=90)
    apps = (
        Application.objects.filter(
            payment__isnull=False,
            reverses__isnull=True,
            reversed_by__isnull=True,
            applied_date__gte=start,
            applied_date__lte=as_of,
            invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.DISPUTED],
            invoice__open_minor__gt=0,
            invoice__open_minor__lte=cfg.deduction_max_minor,
        )
        .select_related("invoice", "invoice__customer", "payment")
        .order_by("invoice_id", "-applied_date", "-id")
    )
    last: dict[int, Application] = {}
    for app in apps:
        last.setdefault(app.invoice_id, app)
    held = set(
        DisputeLine.objects.filter(
            invoice_id__in=list(last), dispute__status__in=ACTIVE_STATUSES
        ).values_list("invoice_id", flat=True)
    )
    opened: list[Dispute] = []
    for invoice_id, app in sorted(last.items()):
        inv = app.invoice
        if invoice_id in held or not is_short_payment(
            residual_minor=inv.open_minor,
            amount_minor=inv.amount_minor,
            max_minor=cfg.deduction_max_minor,
            max_percent=cfg.deduction_max_percent,
        ):
            continue
        key = f"deduction:{app.payment_id}:{invoice_id}"
        if Dispute.objects.filter(dedupe_key=key).exists():
            continue
        assert app.payment is not None
        opened.append(
            open_deduction(
                actor=actor,
                payment=app.payment,
                invoice=inv,
                short=Money(inv.open_minor, inv.currency),
                opened_on=app.applied_date,
            )
        )
    return opened


# --- working it ------------------------------------------------------------------------------------------


def _lock(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().select_related("customer", "reason").get(pk=dispute.pk)


@transaction.atomic
def assign(
    *,
    actor: Any,
    dispute: Dispute,
    owner: Any,
    department: Department | str | None = None,
    on_date: dt.date,
) -> Dispute:
    """Give the dispute an owner (a user) and a department (default: unchanged)."""
    d = _lock(dispute)
    if d.status not in ACTIVE_STATUSES:
        raise Conflict(f"{d.number} is {d.get_status_display().lower()}; reopen it to reassign it")
    _check_owner(owner)
    dept = Department(department) if department else Department(d.department)
    if d.owner_id == getattr(owner, "pk", None) and d.department == dept:
        return d
    before = audit.snapshot(d)
    d.owner = owner
    d.department = dept
    d.save(update_fields=["owner", "department", "updated_at"])
    who = owner.get_username() if owner is not None else "nobody"
    detail = f"assigned to {who} ({dept.label})"
    n = _step_count(d)
    _event(d, actor=actor, action="assigned", on_date=on_date, detail=detail)
    _record(d, actor=actor, action="assign", before=before)
    _activity(d, actor=actor, subject=detail, key=f"{n}:assigned")
    dispute.owner, dispute.department = d.owner, d.department
    return d


@transaction.atomic
def change_status(
    *, actor: Any, dispute: Dispute, status: Status | str, on_date: dt.date, note: str = ""
) -> Dispute:
    """Move an active dispute through research: in research, waiting on the customer, waiting on internal."""
    try:
        target = Status(status)
    except ValueError:
        raise InvalidInput(f"unknown status {status!r}", field="status") from None
    d = _lock(dispute)
    if target in (Status.RESOLVED, Status.CLOSED, Status.OPEN):
        raise InvalidInput(
            f"use resolve, close or reopen to move {d.number} to {target.label.lower()}", field="status"
        )
    if target not in TRANSITIONS[Status(d.status)]:
        raise Conflict(
            f"{d.number} cannot go from {d.get_status_display().lower()} to {target.label.lower()}",
            status=d.status,
        )
    before = audit.snapshot(d)
    old = d.status
    d.status = target
    d.save(update_fields=["status", "updated_at"])
    n = _step_count(d)
    _event(d, actor=actor, action="status", on_date=on_date, from_status=old, to_status=target, detail=note)
    _record(d, actor=actor, action="status", before=before, note=note)
    _activity(d, actor=actor, subject=f"status: {target.label.lower()}", notes=note, key=f"{n}:status")
    dispute.status = d.status
    return d


@transaction.atomic
def add_note(*, actor: Any, dispute: Dispute, body: str, on_date: dt.date) -> DisputeNote:
    body = body.strip()
    if not body:
        raise InvalidInput("a note needs some text", field="body")
    note = DisputeNote.objects.create(
        dispute=dispute, author=actor if getattr(actor, "pk", None) else None, body=body
    )
    _event(dispute, actor=actor, action="note", on_date=on_date, detail=body[:300])
    audit.record(actor=actor, action="dispute.note", obj=note, after=audit.snapshot(note))
    _activity(dispute, actor=actor, subject="note", notes=body, key=f"note:{note.pk}")
    return note


def check_attachment(*, name: str, size: int, head: bytes) -> str:
    """The content type of an acceptable attachment, else InvalidInput naming what is wrong."""
    ext = PurePath(name).suffix.lower()
    if ext not in ATTACHMENT_TYPES:
        allowed = ", ".join(sorted(ATTACHMENT_TYPES))
        raise InvalidInput(
            f"{name}: files of type {ext or '(none)'} are not accepted ({allowed})", field="file"
        )
    if size <= 0:
        raise InvalidInput(f"{name} is empty", field="file")
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"{name} is {size:,} bytes; the limit is {MAX_ATTACHMENT_BYTES:,} bytes", field="file"
        )
    if ext in MAGIC and not any(head.startswith(m) for m in MAGIC[ext]):
        raise InvalidInput(f"{name} is not a valid {ext} file", field="file")
    return ATTACHMENT_TYPES[ext]


@transaction.atomic
def add_attachment(*, actor: Any, dispute: Dispute, upload: Any, on_date: dt.date) -> DisputeAttachment:
    """Attach a file (proof of delivery, claim document...) stored under MEDIA_ROOT."""
    name = PurePath(upload.name or "file").name[:200]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    ctype = check_attachment(name=name, size=upload.size or 0, head=head)
    att = DisputeAttachment(
        dispute=dispute,
        name=name,
        content_type=ctype,
        size=upload.size,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    att.file.save(name, upload, save=False)  # the file first; removed again if the rows fail
    try:
        with transaction.atomic():
            att.save()
            _event(dispute, actor=actor, action="attachment", on_date=on_date, detail=name)
            audit.record(
                actor=actor, action="dispute.attach", obj=att, after={"name": name, "file": att.file.name}
            )
            _activity(dispute, actor=actor, subject=f"attachment: {name}", key=f"attachment:{att.pk}")
    except Exception:
        att.file.storage.delete(att.file.name)
        raise
    return att


# --- resolution ------------------------------------------------------------------------------------------


def allocate(amount_minor: int, capacities: Sequence[int]) -> list[int]:
    """Spread `amount_minor` over lines in order, each up to its capacity. Refuses more than fits."""
    if amount_minor > sum(capacities):
        raise InvalidInput(f"{amount_minor} exceeds the {sum(capacities)} that can be allocated")
    out: list[int] = []
    left = amount_minor
    for cap in capacities:
        take = min(cap, left)
        out.append(take)
        left -= take
    return out


@transaction.atomic
def resolve(
    *,
    actor: Any,
    dispute: Dispute,
    resolution: Resolution | str,
    root_cause: RootCause | str,
    on_date: dt.date,
    valid_amount: Money | None = None,
    note: str = "",
) -> Dispute:
    """Resolve an active dispute.

    valid: one credit memo for the whole disputed amount, applied to its invoices; invalid: nothing is
    posted, the amount goes back into collection; partial: a credit memo for `valid_amount` (more than zero,
    less than the disputed amount), the rest back into collection; written off: the disputed amount is
    written off in the ledger. The ledger's open amounts drop by exactly what is credited or written off.
    """
    try:
        res = Resolution(resolution)
    except ValueError:
        raise InvalidInput(f"unknown resolution {resolution!r}", field="resolution") from None
    try:
        cause = RootCause(root_cause)
    except ValueError:
        raise InvalidInput(f"unknown root cause {root_cause!r}", field="root_cause") from None
    current = Dispute.objects.select_related("customer").get(pk=dispute.pk)
    if current.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"{current.number} is already {current.get_status_display().lower()}", status=current.status
        )
    if on_date < current.opened_on:
        raise InvalidInput(f"cannot resolve on {on_date}, before it was opened on {current.opened_on}")
    total = current.amount_minor
    if res == Resolution.VALID:
        valid = total
    elif res == Resolution.PARTIAL:
        if valid_amount is None:
            raise InvalidInput("a partially valid resolution needs the valid amount", field="valid_amount")
        if valid_amount.currency != current.currency:
            raise InvalidInput(f"valid amount in {valid_amount.currency}, dispute in {current.currency}")
        if not 0 < valid_amount.minor < total:
            raise InvalidInput(
                f"the valid part must be more than zero and less than {current.amount}", field="valid_amount"
            )
        valid = valid_amount.minor
    else:
        valid = 0
    written = total if res == Resolution.WRITTEN_OFF else 0
    invalid = total - valid - written
    # the claim: only one resolution wins (a concurrent one waits for this row and then finds it resolved)
    claimed = Dispute.objects.filter(pk=current.pk, status__in=ACTIVE_STATUSES).update(
        status=Status.RESOLVED,
        resolution=res,
        root_cause=cause,
        resolved_on=on_date,
        resolved_by=actor if getattr(actor, "pk", None) else None,
        valid_minor=valid,
        invalid_minor=invalid,
        written_off_minor=written,
    )
    if claimed != 1:
        raise Conflict(f"{current.number} was resolved by someone else just now")
    before = audit.snapshot(current)
    lines = list(DisputeLine.objects.filter(dispute=current).select_related("invoice", "invoice__customer"))
    posted = valid or written
    if posted:
        invoices = {
            inv.pk: inv
            for inv in Invoice.objects.select_for_update().filter(pk__in=[ln.invoice_id for ln in lines])
        }
        caps = [min(ln.amount_minor, invoices[ln.invoice_id].open_minor) for ln in lines]
        if posted > sum(caps):
            raise Conflict(
                f"{current.number}: only {Money(sum(caps), current.currency)} is still open on its invoices; "
                f"cannot {'credit' if valid else 'write off'} {Money(posted, current.currency)}"
            )
        shares = allocate(posted, caps)
    memo = None
    if valid:
        memo = ledger.post_credit_memo(
            actor=actor,
            customer=current.customer,
            number=f"CM-{current.number}",
            memo_date=on_date,
            amount=Money(valid, current.currency),
            reason=f"dispute {current.number} ({res.label.lower()})",
            original_invoice=lines[0].invoice,
        )
        for ln, share in zip(lines, shares, strict=True):
            if share:
                ledger.apply(
                    actor=actor,
                    invoice=ln.invoice,
                    credit_memo=memo,
                    amount=Money(share, current.currency),
                    applied_date=max(on_date, ln.invoice.invoice_date),
                )
        Dispute.objects.filter(pk=current.pk).update(credit_memo=memo)
    if written:
        for ln, share in zip(lines, shares, strict=True):
            if share:
                ledger.write_off(
                    actor=actor,
                    invoice=ln.invoice,
                    on_date=on_date,
                    amount=Money(share, current.currency),
                    reason=f"dispute {current.number} written off",
                )
    d = Dispute.objects.select_related("customer", "reason", "credit_memo").get(pk=current.pk)
    m = lambda x: Money(x, d.currency)  # noqa: E731
    detail = f"{res.label}; root cause {cause.label.lower()}"
    if valid:
        detail += f"; credit memo {memo.number if memo else ''} {m(valid)}"
    if invalid:
        detail += f"; {m(invalid)} back to collection"
    if written:
        detail += f"; {m(written)} written off"
    _event(
        d,
        actor=actor,
        action="resolved",
        on_date=on_date,
        from_status=current.status,
        to_status=Status.RESOLVED,
        detail=detail,
    )
    _record(d, actor=actor, action="resolve", before=before, note=note)
    _activity(d, actor=actor, subject=f"resolved: {detail}", notes=note, key=f"{_step_count(d)}:resolved")
    if note:
        DisputeNote.objects.create(dispute=d, author=actor if getattr(actor, "pk", None) else None, body=note)
    for f in (
        "status",
        "resolution",
        "root_cause",
        "resolved_on",
        "valid_minor",
        "invalid_minor",
        "written_off_minor",
        "credit_memo",
    ):
        setattr(dispute, f, getattr(d, f))
    return d


@transaction.atomic
def close(*, actor: Any, dispute: Dispute, on_date: dt.date) -> Dispute:
    """Close a resolved dispute (nothing left to do on it)."""
    if (
        Dispute.objects.filter(pk=dispute.pk, status=Status.RESOLVED).update(
            status=Status.CLOSED, closed_on=on_date
        )
        != 1
    ):
        cur = Dispute.objects.get(pk=dispute.pk)
        raise Conflict(
            f"{cur.number} is {cur.get_status_display().lower()}; only a resolved dispute can be closed"
        )
    d = Dispute.objects.select_related("customer").get(pk=dispute.pk)
    _event(
        d, actor=actor, action="closed", on_date=on_date, from_status=Status.RESOLVED, to_status=Status.CLOSED
    )
    _record(d, actor=actor, action="close", before={"status": Status.RESOLVED, "closed_on": None})
    _activity(d, actor=actor, subject="closed", key=f"{_step_count(d)}:closed")
    dispute.status, dispute.closed_on = d.status, d.closed_on
    return d


@transaction.atomic
def reopen(*, actor: Any, dispute: Dispute, on_date: dt.date, reason: str) -> Dispute:
    """Reopen a resolved or closed dispute whose resolution posted nothing (back to in research)."""
    if not reason.strip():
        raise InvalidInput("say why the dispute is reopened", field="reason")
    d = _lock(dispute)
    if d.status not in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(f"{d.number} is {d.get_status_display().lower()}, not resolved or closed")
    if d.credit_memo_id or d.valid_minor or d.written_off_minor:
        raise Conflict(
            f"{d.number} posted a credit memo or a write-off; correct it in the ledger or open a new dispute"
        )
    before = audit.snapshot(d)
    old = d.status
    d.status = Status.IN_RESEARCH
    d.resolution = ""
    d.root_cause = ""
    d.resolved_on = None
    d.resolved_by = None
    d.invalid_minor = 0
    d.closed_on = None
    d.save()
    _event(
        d, actor=actor, action="reopened", on_date=on_date, from_status=old, to_status=d.status, detail=reason
    )
    _record(d, actor=actor, action="reopen", before=before, note=reason)
    _activity(d, actor=actor, subject="reopened", notes=reason, key=f"{_step_count(d)}:reopened")
    dispute.status = d.status
    return d


def import_disputes(*, actor: Any, path: Any, dry_run: bool = False) -> Any:
    """Import existing disputes from a CSV/XLSX file, all or nothing (see `ardesk.disputes.importer`)."""
    from .importer import import_file

    return import_file(actor=actor, path=path, dry_run=dry_run)
