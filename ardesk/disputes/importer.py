"""Import of existing disputes from a CSV or XLSX file (`ardesk disputes import FILE`).

One row per disputed invoice; rows sharing a `reference` form one dispute (its other columns are read
from the first of them). Columns (header names compare case-insensitively, spaces and underscores alike):

    reference*, customer* (account number), invoice* (number), amount* (disputed on that invoice),
    reason* (code), opened_on* (YYYY-MM-DD), owner (username), department, status (default open),
    customer_reason_code, customer_reference, description, kind (dispute or deduction),
    resolution, root_cause, resolved_on, valid_amount   (* required)

Active disputes (open, in research, waiting...) hold their amount from the import on; resolved or closed
ones are history: their resolution is recorded and nothing is posted in the ledger (the ERP already did).

All or nothing: every problem of the file is reported (row, column, value, reason) and a file with any
problem imports nothing. Idempotent: a reference already imported is skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from ardesk.core import audit
from ardesk.core.errors import InvalidInput
from ardesk.core.money import Money, minor_units
from ardesk.imports.parsing import (
    DateParser,
    FileProblem,
    NumberParser,
    ReadOptions,
    amount_to_minor,
    normalise_header,
    read_table,
)
from ardesk.ledger.models import Customer, Invoice

from . import services
from .defaults import ensure_reason_codes
from .models import (
    ACTIVE_STATUSES,
    Channel,
    Department,
    Dispute,
    DisputeEvent,
    DisputeLine,
    Kind,
    ReasonCode,
    Resolution,
    RootCause,
    Status,
)

COLUMNS = [
    "reference",
    "customer",
    "invoice",
    "amount",
    "reason",
    "opened_on",
    "owner",
    "department",
    "status",
    "customer_reason_code",
    "customer_reference",
    "description",
    "kind",
    "resolution",
    "root_cause",
    "resolved_on",
    "valid_amount",
]
REQUIRED = ("reference", "customer", "invoice", "amount", "reason", "opened_on")


@dataclass(frozen=True, order=True)
class Problem:
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        shown = f" ({self.value!r})" if self.value else ""
        return f"{where}{shown}: {self.reason}"


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


class _Refused(Exception):
    pass


def _read(path: Path, report: Report) -> list[_Row]:
    try:
        table = read_table(
            path,
            ReadOptions(),
            is_header=lambda cells: "reference" in {normalise_header(c).replace(" ", "_") for c in cells},
        )
    except (FileProblem, OSError) as exc:
        report.problems.append(
            Problem(getattr(exc, "row", None) or 0, "", "", getattr(exc, "message", str(exc)))
        )
        return []
    names = [normalise_header(h).replace(" ", "_") for h in table.header]
    unknown = [h for h, n in zip(table.header, names, strict=True) if n and n not in COLUMNS]
    for h in unknown:
        report.problems.append(
            Problem(table.header_row, h, "", f"unknown column (expected some of {', '.join(COLUMNS)})")
        )
    for col in REQUIRED:
        if col not in names:
            report.problems.append(Problem(table.header_row, col, "", "required column is missing"))
    if report.problems:
        return []
    rows = []
    for number, cells in table.rows:
        if not any(c.strip() for c in cells):
            continue
        rows.append(
            _Row(number, {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names) if n})
        )
    return rows


def import_file(*, actor: Any, path: Path, dry_run: bool = False) -> Report:
    """Check the whole file, then (unless a dry run or any problem) create the disputes in one transaction."""
    report = Report()
    rows = _read(Path(path), report)
    report.rows = len(rows)
    if report.problems:
        return report
    try:
        with transaction.atomic():
            _import(actor, rows, report)
            if report.problems or dry_run:
                raise _Refused
    except _Refused:
        if report.problems:
            report.created = []
            report.skipped = []
    report.problems.sort()
    return report


def _import(actor: Any, rows: list[_Row], report: Report) -> None:
    dates = DateParser()
    numbers = NumberParser()
    User = get_user_model()
    ensure_reason_codes()
    reasons = {r.code: r for r in ReasonCode.objects.all()}
    groups: dict[str, list[_Row]] = {}
    for r in rows:
        if not r.cells.get("reference"):
            report.problems.append(Problem(r.number, "reference", "", "required"))
            continue
        groups.setdefault(r.cells["reference"], []).append(r)
    cache: dict[tuple[str, str], Any] = {}

    def lookup(kind: str, key: str) -> Any:
        if (kind, key) not in cache:
            if kind == "customer":
                cache[(kind, key)] = Customer.objects.filter(account_number=key).first()
            elif kind == "invoice":
                cache[(kind, key)] = Invoice.objects.filter(number=key).first()
            else:
                cache[(kind, key)] = User.objects.filter(username=key, is_active=True).first()
        return cache[(kind, key)]

    for ref, group in groups.items():
        key = f"import:{ref}"
        if Dispute.objects.filter(dedupe_key=key).exists():
            report.skipped.append(ref)
            continue
        head = group[0]
        c = head.cells
        bad = len(report.problems)

        def problem(row: _Row, col: str, reason: str) -> None:
            report.problems.append(Problem(row.number, col, row.cells.get(col, ""), reason))

        for col in REQUIRED:
            for r in group:
                if not r.cells.get(col):
                    problem(r, col, "required")
        if len(report.problems) > bad:
            continue
        customer = lookup("customer", c["customer"])
        if customer is None:
            problem(head, "customer", "no customer with this account number")
        reason = reasons.get(c["reason"])
        if reason is None:
            problem(head, "reason", f"unknown reason code (one of {', '.join(sorted(reasons))})")
        try:
            opened_on = dates(c["opened_on"])
        except ValueError as exc:
            problem(head, "opened_on", str(exc))
            opened_on = None
        owner = None
        if c.get("owner"):
            owner = lookup("user", c["owner"])
            if owner is None:
                problem(head, "owner", "no active user with this username")
        choice_cols = (
            ("department", Department),
            ("status", Status),
            ("kind", Kind),
            ("resolution", Resolution),
            ("root_cause", RootCause),
        )
        values: dict[str, str] = {}
        for col, enum in choice_cols:
            v = c.get(col, "")
            if v and v not in enum.values:
                problem(head, col, f"not one of {', '.join(enum.values)}")
            values[col] = v
        status = values["status"] or Status.OPEN
        active = status in ACTIVE_STATUSES
        resolved_on = None
        if not active:
            if not values["resolution"]:
                problem(head, "resolution", f"required when the status is {status}")
            if not values["root_cause"]:
                problem(head, "root_cause", f"required when the status is {status}")
            try:
                resolved_on = dates(c.get("resolved_on", ""))
                if opened_on and resolved_on < opened_on:
                    problem(head, "resolved_on", "before opened_on")
            except ValueError as exc:
                problem(head, "resolved_on", str(exc))
        lines: list[tuple[Invoice, int]] = []
        currency = None
        for r in group:
            inv = lookup("invoice", r.cells["invoice"])
            if inv is None:
                problem(r, "invoice", "no invoice with this number")
                continue
            if customer is not None and inv.customer_id != customer.pk:
                problem(r, "invoice", f"belongs to another customer than {customer.account_number}")
                continue
            if any(i.pk == inv.pk for i, _ in lines):
                problem(r, "invoice", f"named twice in dispute {ref}")
                continue
            currency = currency or inv.currency
            try:
                minor = amount_to_minor(numbers(r.cells["amount"]), minor_units(inv.currency), inv.currency)
            except ValueError as exc:
                problem(r, "amount", str(exc))
                continue
            if minor <= 0:
                problem(r, "amount", "must be positive")
                continue
            if active and minor > inv.open_minor:
                problem(r, "amount", f"more than the {inv.open_amount} open on {inv.number}")
                continue
            lines.append((inv, minor))
        valid_minor = 0
        if c.get("valid_amount") and currency:
            try:
                valid_minor = amount_to_minor(numbers(c["valid_amount"]), minor_units(currency), currency)
            except ValueError as exc:
                problem(head, "valid_amount", str(exc))
        if len(report.problems) > bad or report.problems:
            continue  # once anything is wrong only checking goes on
        assert customer is not None and reason is not None and opened_on is not None
        common = {
            "customer_reason_code": c.get("customer_reason_code", ""),
            "customer_reference": c.get("customer_reference", ""),
            "description": c.get("description", ""),
        }
        try:
            if active:
                d = services.open_dispute(
                    actor=actor,
                    customer=customer,
                    lines=[services.LineIn(inv, Money(m, inv.currency)) for inv, m in lines],
                    reason=reason,
                    opened_on=opened_on,
                    channel=Channel.IMPORT,
                    kind=values["kind"] or Kind.DISPUTE,
                    owner=owner,
                    department=values["department"] or None,
                    dedupe_key=key,
                    customer_reason_code=common["customer_reason_code"],
                    customer_reference=common["customer_reference"],
                    description=common["description"],
                )
                if status != Status.OPEN:
                    Dispute.objects.filter(pk=d.pk).update(status=status)
                    DisputeEvent.objects.create(
                        dispute=d,
                        actor=actor if getattr(actor, "pk", None) else None,
                        action="status",
                        from_status=Status.OPEN,
                        to_status=status,
                        on_date=opened_on,
                        detail="as imported",
                    )
            else:
                total = sum(m for _, m in lines)
                res = Resolution(values["resolution"])
                valid = total if res == Resolution.VALID else valid_minor if res == Resolution.PARTIAL else 0
                written = total if res == Resolution.WRITTEN_OFF else 0
                if valid > total:
                    problem(head, "valid_amount", "more than the disputed amount")
                    continue
                d = Dispute.objects.create(
                    customer=customer,
                    kind=values["kind"] or Kind.DISPUTE,
                    channel=Channel.IMPORT,
                    reason=reason,
                    currency=currency or customer.currency,
                    amount_minor=total,
                    owner=owner,
                    department=values["department"] or reason.default_department,
                    status=status,
                    opened_on=opened_on,
                    due_on=opened_on + dt.timedelta(days=reason.sla_days),
                    resolution=res,
                    root_cause=values["root_cause"],
                    resolved_on=resolved_on,
                    valid_minor=valid,
                    written_off_minor=written,
                    invalid_minor=total - valid - written,
                    closed_on=resolved_on if status == Status.CLOSED else None,
                    dedupe_key=key,
                    **common,
                )
                DisputeLine.objects.bulk_create(
                    [DisputeLine(dispute=d, invoice=inv, amount_minor=m) for inv, m in lines]
                )
                DisputeEvent.objects.create(
                    dispute=d,
                    actor=actor if getattr(actor, "pk", None) else None,
                    action="imported",
                    to_status=status,
                    on_date=opened_on,
                    detail=f"imported as {status}",
                )
                audit.record(actor=actor, action="dispute.import", obj=d, after=audit.snapshot(d))
        except InvalidInput as exc:
            report.problems.append(Problem(head.number, str(exc.details.get("field", "")), "", exc.message))
            continue
        report.created.append(ref)
