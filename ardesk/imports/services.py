"""Importing files into the AR subledger, for the command line and the web alike.

`run_import` reads a file with a mapping profile, checks every row (against the other rows and the
database) and, unless it is a dry run or anything is wrong, writes it in one transaction: a file with
any error imports nothing. The report names file, row (as a spreadsheet shows it, header = row 1),
column, value and reason for every problem; it keeps the first 1,000 and counts them all.

The web keeps the upload in an `ImportBatch` (file under MEDIA_ROOT/imports/): `create_batch` stores and
checks it, `confirm_batch` imports it, once.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.validators import validate_email
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import get_valid_filename

from ardesk.core import audit
from ardesk.core.errors import Conflict, InvalidInput
from ardesk.core.money import MINOR_UNITS
from ardesk.ledger.models import Customer, Invoice

from .kinds import PROCESSORS, Context, Processor, Progress
from .models import ImportBatch
from .parsing import (
    MAX_FIELD_CHARS,
    DateParser,
    FileProblem,
    NumberParser,
    Table,
    format_amount,
    normalise_header,
    parse_bool,
    read_table,
)
from .profiles import Profile, header_test, load_profile, match_columns, parse_profile
from .report import ErrorLog, ImportReport
from .schema import FIELDS, FieldSpec, Kind, T

PREVIEW_ROWS = 20
SQLITE_BULK_CACHE_KIB = 256 * 1024

__all__ = ["Progress", "confirm_batch", "create_batch", "import_path", "recheck_batch", "run_import"]


# --- cell converters -----------------------------------------------------------------------------------


def _currency(text: str) -> str:
    code = text.upper()
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown currency code {text!r}")
    return code


def _country(text: str) -> str:
    code = text.upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError(f"{text!r} is not a two-letter country code (ISO 3166)")
    return code


def _email(text: str) -> str:
    try:
        validate_email(text)
    except ValidationError:
        raise ValueError(f"{text!r} is not an email address") from None
    return text


def _choice(spec: FieldSpec) -> Callable[[str], str]:
    table = {}
    for value, label in spec.choices:
        table[value.casefold()] = value
        table[label.casefold()] = value
    allowed = ", ".join(v for v, _ in spec.choices)

    def convert(text: str) -> str:
        found = table.get(text.casefold())
        if found is None:
            raise ValueError(f"{text!r} is not one of: {allowed}")
        return found

    return convert


def converters(kind: Kind, profile: Profile) -> dict[str, Callable[[str], Any] | None]:
    dates = DateParser(profile.date_formats)
    numbers = NumberParser(profile.decimal, profile.thousands)
    out: dict[str, Callable[[str], Any] | None] = {}
    for spec in FIELDS[kind]:
        out[spec.name] = (
            {
                T.TEXT: None,
                T.DATE: dates,
                T.AMOUNT: numbers,
                T.CURRENCY: _currency,
                T.BOOL: parse_bool,
                T.EMAIL: _email,
                T.COUNTRY: _country,
            }.get(spec.type)
            if spec.type is not T.CHOICE
            else _choice(spec)
        )
    return out


def _profile_values(
    texts: dict[str, str], convs: dict[str, Callable[[str], Any] | None], errors: ErrorLog, what: str
) -> dict[str, Any]:
    """A profile's defaults or constants, parsed like cells; a bad one is a file-level error."""
    out: dict[str, Any] = {}
    for name, text in texts.items():
        conv = convs[name]
        try:
            out[name] = conv(text) if conv else text
        except ValueError as exc:
            errors.add(0, name, text, f"the profile's {what} for {name} is invalid: {exc}")
    return out


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return format_amount(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- running an import ---------------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A million retained rows make the cyclic collector rescan them again and again; the rows hold no
    cycles, so it waits until the import is done."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def _bulk_session() -> Iterator[None]:
    """SQLite's default page cache (2 MB) thrashes on a million-row insert into an indexed table; give
    this connection a bigger one for the import, then put it back."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        old = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(old)}")


def _as_profile(profile: Profile | str | None) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def run_import(
    *,
    actor: Any,
    kind: Kind | str,
    path: Path | str,
    file_name: str | None = None,
    profile: Profile | str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    details: dict[str, Any] | None = None,
    on_success: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Check and (unless `dry_run` or anything is wrong) import one file, all or nothing.

    `progress(stage, done, total)` is called as rows are read, checked and written. `on_success` runs
    inside the import's transaction after the rows are written (the batch bookkeeping uses it)."""
    started = time.perf_counter()
    kind = Kind(kind)
    profile = _as_profile(profile)
    path = Path(path)
    report = ImportReport(
        kind=kind.value, file_name=file_name or path.name, profile=profile.name, dry_run=dry_run
    )
    errors = ErrorLog()
    try:
        with _gc_paused():
            prepared = _open(report, errors, kind, path, profile)
            if prepared is not None:
                table, reader = prepared
                processor = PROCESSORS[kind](reader.ctx)
                reader.ctx.progress = progress
                if reader.read(table, processor, report, progress):
                    _check_and_write(report, processor, actor, dry_run, details or {}, on_success)
    finally:
        report.error_count = errors.count
        report.errors = errors.sorted()
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def _open(
    report: ImportReport, errors: ErrorLog, kind: Kind, path: Path, profile: Profile
) -> tuple[Table, RowReader] | None:
    """Open the file, find its header and bind the profile's columns; None when that already fails."""
    mapping = profile.mapping(kind)
    if mapping.identity and profile.kinds:
        report.warnings.append(
            f"the profile {profile.name!r} does not map {kind.value}; ardesk's column names are used"
        )
    try:
        table = read_table(path, profile.read_options(), is_header=header_test(kind, mapping))
    except FileProblem as exc:
        errors.add(exc.row or 0, "", "", exc.message)
        return None
    except FileNotFoundError:
        errors.add(0, "", "", "the file cannot be read: it does not exist")
        return None
    except OSError as exc:
        errors.add(0, "", "", f"the file cannot be read: {exc.strerror or exc}")
        return None
    report.encoding, report.delimiter = table.encoding, table.delimiter
    report.warnings.extend(table.warnings)
    match = match_columns(table.header, kind, mapping)
    found = ", ".join(repr(h.strip()) for h in table.header if h.strip()) or "none"
    for field_name, expected in match.missing:
        errors.add(
            table.header_row,
            expected,
            "",
            f"missing column {expected!r} (for ardesk's {field_name}); the file has columns: {found}",
        )
    if match.missing:
        return None
    for dup in match.duplicates:
        report.warnings.append(f"the column {dup!r} appears more than once; the first one is read")
    convs = converters(kind, profile)
    defaults = _profile_values(mapping.defaults, convs, errors, "default")
    constants = _profile_values(mapping.constants, convs, errors, "constant")
    if errors:
        return None
    bound = {b.field for b in match.bindings}
    # Every row starts from the constants and the defaults of the fields the file has no column for.
    base = {**{k: v for k, v in defaults.items() if k not in bound}, **constants}
    columns = {b.field: b.column for b in match.bindings}
    for name in base:
        columns.setdefault(name, f"({'constant' if name in constants else 'default'} {name})")
    ctx = Context(
        kind=kind,
        mapping=mapping,
        errors=errors,
        columns=columns,
        mapped=frozenset(bound | set(base)),
        defaults=defaults,
        file_name=report.file_name,
    )
    filter_idx: int | None = None
    if mapping.filter_column:
        wanted = normalise_header(mapping.filter_column)
        filter_idx = next((i for i, h in enumerate(table.header) if normalise_header(h) == wanted), None)
        if filter_idx is None:
            report.warnings.append(
                f"the filter column {mapping.filter_column!r} is not in the file; every row is read"
            )
    specs = {f.name: f for f in FIELDS[kind]}
    plan = [
        Step(
            b.field,
            b.index,
            convs[b.field],
            specs[b.field].required,
            specs[b.field].max_length,
            b.column,
            mapping.values.get(b.field),
            defaults.get(b.field),
        )
        for b in match.bindings
    ]
    return table, RowReader(ctx, plan, base, filter_idx, mapping.filter_values)


class Step(NamedTuple):
    """How one bound column becomes one field of a row."""

    field: str
    position: int
    convert: Callable[[str], Any] | None
    required: bool
    max_length: int | None
    column: str
    codes: dict[str, str] | None  # the profile's value map
    default: Any


@dataclass
class RowReader:
    ctx: Context
    plan: list[Step]
    base: dict[str, Any]
    filter_idx: int | None
    filter_values: frozenset[str]

    def read(
        self, table: Table, processor: Processor, report: ImportReport, progress: Progress | None
    ) -> bool:
        """Parse every row, report its problems, and hand the good ones to the processor. False when the
        file itself turned out unreadable or empty."""
        err = self.ctx.errors.add
        add = processor.add
        plan, base, filter_idx, filter_values = self.plan, self.base, self.filter_idx, self.filter_values
        header = table.header
        header_len = len(header)
        extra_names = [k for k in base if k not in {s.field for s in plan}]
        report.preview_header = ["row", *[s.field for s in plan], *extra_names]
        preview = report.preview_rows
        approx = table.approx_rows or None
        rows = skipped = 0
        try:
            for rowno, cells in table.rows:
                if not any(cells):
                    continue
                if filter_idx is not None:
                    value = cells[filter_idx].strip().casefold() if filter_idx < len(cells) else ""
                    if value not in filter_values:
                        skipped += 1
                        continue
                rows += 1
                if progress is not None and rows % 20_000 == 0:
                    progress("reading", rows, approx)
                n = len(cells)
                if n > header_len and any(c.strip() for c in cells[header_len:]):
                    err(
                        rowno,
                        "",
                        "",
                        f"the row has {n} values but the header has {header_len} columns "
                        "(a delimiter inside a value that is not quoted?)",
                    )
                    continue
                if max(map(len, cells)) > MAX_FIELD_CHARS:
                    for i, c in enumerate(cells):
                        if len(c) > MAX_FIELD_CHARS:
                            reason = (
                                f"the value is {len(c):,} characters long; the limit is {MAX_FIELD_CHARS:,}"
                            )
                            err(rowno, header[i].strip(), c, reason)
                    continue
                rec = base.copy()
                ok = True
                for name, idx, convert, required, max_length, column, codes, default in plan:
                    raw = cells[idx].strip() if idx < n else ""
                    if not raw:
                        if default is not None:
                            rec[name] = default
                        elif required:
                            err(rowno, column, "", f"{name.replace('_', ' ')} is required")
                            ok = False
                        continue
                    if codes is not None:
                        raw = codes.get(raw.casefold(), raw)
                    if max_length is not None and len(raw) > max_length:
                        label = name.replace("_", " ")
                        err(
                            rowno, column, raw, f"{label} is {len(raw)} characters long; at most {max_length}"
                        )
                        ok = False
                    elif convert is None:
                        rec[name] = raw
                    else:
                        try:
                            rec[name] = convert(raw)
                        except ValueError as exc:
                            err(rowno, column, raw, str(exc))
                            ok = False
                if ok:
                    add(rowno, rec)
                if len(preview) < PREVIEW_ROWS:
                    shown = [
                        _display(rec[s.field]) if s.field in rec else _cell(cells, s.position) for s in plan
                    ]
                    preview.append([str(rowno), *shown, *[_display(base[k]) for k in extra_names]])
        except FileProblem as exc:
            err(exc.row or 0, "", "", exc.message)
            return False
        report.rows, report.skipped = rows, skipped
        if progress is not None:
            progress("reading", rows, rows)
        if rows == 0 and not self.ctx.errors:
            err(table.header_row, "", "", "the file has a header but no data rows")
            return False
        return True


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _check_and_write(
    report: ImportReport,
    processor: Processor,
    actor: Any,
    dry_run: bool,
    details: dict[str, Any],
    on_success: Callable[[ImportReport], None] | None,
) -> None:
    """Check the rows against each other and the database; write them in one transaction when it is
    not a dry run and nothing at all is wrong."""
    ctx = processor.ctx
    if dry_run or ctx.errors:
        processor.resolve()  # reads only: every remaining problem is still reported
        report.counts = ctx.counts
        return
    note = f"import of {report.file_name} ({ctx.kind.value}, profile {report.profile})"
    ctx.lock = True
    try:
        with _bulk_session(), transaction.atomic():
            processor.resolve()
            report.counts = ctx.counts
            if ctx.errors:
                return
            processor.write(actor=actor, note=note, details={"file": report.file_name, **details})
            _after_import(actor, processor)
            report.imported = True
            if on_success is not None:
                on_success(report)
    except Conflict as exc:
        ctx.errors.add(0, "", "", exc.message)
        report.imported = False
    except DatabaseError as exc:
        ctx.errors.add(0, "", "", f"the database refused the import: {str(exc).strip()}")
        report.imported = False


# --- after-import hooks (settings.ARDESK_AFTER_IMPORT) ----------------------------------------------------


def money_touched(processor: Processor) -> tuple[list[int], dt.date] | None:
    """The customers whose money a payments or applications import just wrote, and the latest payment or
    applied date in those rows (None for other kinds, or when nothing new was written)."""
    kind = processor.ctx.kind
    new: list[Any] = getattr(processor, "new", [])
    if kind not in (Kind.PAYMENTS, Kind.APPLICATIONS) or not new:
        return None
    if kind == Kind.PAYMENTS:  # (entity, customer id or -placeholder, reference, payment_date, ...)
        ids = {r[1] for r in new if r[1] > 0}
        accounts = [processor.new_customers[-r[1] - 1][0] for r in new if r[1] < 0]
        if accounts:
            ids |= set(Customer.objects.filter(account_number__in=accounts).values_list("pk", flat=True))
        return sorted(ids), max(r[3] for r in new)
    invoice_ids = sorted({r[0] for r in new})  # (invoice id, payment id, credit id, amount, applied_date)
    ids = set()
    for i in range(0, len(invoice_ids), 500):
        part = invoice_ids[i : i + 500]
        ids |= set(Invoice.objects.filter(pk__in=part).values_list("customer_id", flat=True))
    return sorted(ids), max(r[4] for r in new)


def _after_import(actor: Any, processor: Processor) -> None:
    """Inside the import's transaction, after its rows are written, tell the apps that follow the ledger
    (`settings.ARDESK_AFTER_IMPORT`: dotted paths of callables taking actor, kind, customer_ids and as_of).

    `as_of` is the latest payment or applied date in the file, not the clock: a backdated file is judged as
    of its own dates, so a promise whose deadline had not passed on that day stays open (the scheduled
    `ardesk promises` run judges it later), while money that settles a promise marks it kept at once."""
    touched = money_touched(processor)
    if touched is None:
        return
    customer_ids, as_of = touched
    for path in getattr(settings, "ARDESK_AFTER_IMPORT", ()):
        import_string(path)(
            actor=actor, kind=processor.ctx.kind.value, customer_ids=customer_ids, as_of=as_of
        )


# --- batches -------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _store_report(batch: ImportBatch, report: ImportReport, *, checked: bool) -> None:
    batch.rows = report.rows
    batch.counts = report.counts
    batch.error_count = report.error_count
    batch.errors = [e.as_dict() for e in report.errors]
    batch.warnings = report.warnings
    batch.preview = {"header": report.preview_header, "rows": report.preview_rows}
    if checked:
        batch.checked_at = timezone.now()


def _previous_import(sha256: str, kind: str, exclude: int | None = None) -> ImportBatch | None:
    qs = ImportBatch.objects.filter(sha256=sha256, kind=kind, status=ImportBatch.Status.IMPORTED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("-imported_at").first()


def _already_warning(previous: ImportBatch | None) -> list[str]:
    if previous is None or previous.imported_at is None:
        return []
    return [
        f"this file was already imported on {previous.imported_at:%Y-%m-%d %H:%M} (batch {previous.pk}); "
        "importing it again changes only what differs"
    ]


def create_batch(
    *, actor: Any, kind: Kind | str, upload: Any, profile: Profile | str | None = None
) -> ImportBatch:
    """Store an uploaded file under MEDIA_ROOT/imports/ and check it (a dry run). Nothing is imported
    until `confirm_batch`."""
    kind = Kind(kind)
    profile = _as_profile(profile)
    size = getattr(upload, "size", 0) or 0
    limit = settings.ARDESK_MAX_UPLOAD_BYTES
    if size > limit:
        raise InvalidInput(f"the file is {size:,} bytes; the limit is {limit:,}")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    name = get_valid_filename(Path(upload.name or "upload").name)[:150] or "upload"
    with transaction.atomic():
        batch = ImportBatch(
            kind=kind.value,
            file_name=upload.name[:255] if upload.name else name,
            sha256=digest.hexdigest(),
            size_bytes=size,
            profile=profile.name[:100],
            profile_data=profile.data,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=timezone.now(),
        )
        upload.seek(0)
        batch.stored_file.save(name, File(upload), save=False)
        batch.save()
        audit.record(
            actor=actor,
            action="import.upload",
            obj=batch,
            after={
                "kind": batch.kind,
                "file": batch.file_name,
                "sha256": batch.sha256,
                "profile": batch.profile,
            },
        )
    check_batch(actor=actor, batch=batch)
    return batch


def _batch_profile(batch: ImportBatch) -> Profile:
    if batch.profile_data:
        return parse_profile(batch.profile_data, source=batch.profile, default_name=batch.profile)
    return load_profile(batch.profile)


def check_batch(*, actor: Any, batch: ImportBatch) -> ImportReport:
    """Dry-run the stored file and keep the report on the batch."""
    report = run_import(
        actor=actor,
        kind=batch.kind,
        path=Path(batch.stored_file.path),
        file_name=batch.file_name,
        profile=_batch_profile(batch),
        dry_run=True,
    )
    report.warnings = (
        _already_warning(_previous_import(batch.sha256, batch.kind, exclude=batch.pk)) + report.warnings
    )
    _store_report(batch, report, checked=True)
    batch.status = ImportBatch.Status.VALIDATED if report.ok else ImportBatch.Status.INVALID
    batch.save()
    return report


@transaction.atomic
def recheck_batch(*, actor: Any, batch: ImportBatch) -> ImportReport:
    """Check a batch that had errors again (after fixing master data in ardesk, say)."""
    if not batch.can_recheck:
        raise Conflict(
            f"batch {batch.pk} is {batch.get_status_display().lower()}; it cannot be checked again"
        )
    report = check_batch(actor=actor, batch=batch)
    audit.record(actor=actor, action="import.recheck", obj=batch, after={"errors": report.error_count})
    return report


def confirm_batch(*, actor: Any, batch: ImportBatch, progress: Progress | None = None) -> ImportReport:
    """Import a checked batch, once: a second confirm (a double click, two people) is refused."""
    with transaction.atomic():
        claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.VALIDATED).update(
            status=ImportBatch.Status.IMPORTING
        )
    if claimed != 1:
        batch.refresh_from_db()
        raise Conflict(f"batch {batch.pk} is {batch.get_status_display().lower()}; it cannot be imported now")

    def done(report: ImportReport) -> None:
        _store_report(batch, report, checked=False)
        batch.status = ImportBatch.Status.IMPORTED
        batch.imported_by = actor if getattr(actor, "pk", None) else None
        batch.imported_at = timezone.now()
        batch.save()

    try:
        report = run_import(
            actor=actor,
            kind=batch.kind,
            path=Path(batch.stored_file.path),
            file_name=batch.file_name,
            profile=_batch_profile(batch),
            progress=progress,
            details={"batch": batch.pk, "sha256": batch.sha256},
            on_success=done,
        )
    except BaseException:
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.IMPORTING).update(
            status=ImportBatch.Status.FAILED
        )
        raise
    if not report.imported:
        _store_report(batch, report, checked=False)
        batch.status = ImportBatch.Status.FAILED
        batch.save()
    return report


def import_path(
    *,
    actor: Any,
    kind: Kind | str,
    path: Path | str,
    profile: Profile | str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """The command line's import: the file stays where it is; a batch row records what happened
    (not for a dry run, which changes nothing)."""
    kind = Kind(kind)
    profile = _as_profile(profile)
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    sha = sha256_of(path)
    previous = _previous_import(sha, kind.value)
    if dry_run:
        report = run_import(
            actor=actor, kind=kind, path=path, profile=profile, dry_run=True, progress=progress
        )
        report.warnings = _already_warning(previous) + report.warnings
        return report
    now = timezone.now()
    batch = ImportBatch(
        kind=kind.value,
        file_name=str(path)[-255:],
        sha256=sha,
        size_bytes=path.stat().st_size,
        profile=profile.name[:100],
        profile_data=profile.data,
        status=ImportBatch.Status.IMPORTING,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_at=now,
        checked_at=now,
    )

    def done(report: ImportReport) -> None:
        _store_report(batch, report, checked=False)
        batch.status = ImportBatch.Status.IMPORTED
        batch.imported_by = batch.created_by
        batch.imported_at = timezone.now()
        batch.save()

    report = run_import(
        actor=actor,
        kind=kind,
        path=path,
        file_name=path.name,
        profile=profile,
        progress=progress,
        details={"sha256": sha},
        on_success=done,
    )
    report.warnings = _already_warning(previous) + report.warnings
    if not report.imported:
        with transaction.atomic():
            _store_report(batch, report, checked=False)
            batch.status = ImportBatch.Status.FAILED
            batch.save()
    return report
