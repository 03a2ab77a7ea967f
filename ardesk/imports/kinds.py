"""What each import kind checks and writes.

A processor receives the parsed rows of one file (`add`), then checks them against each other and the
database (`resolve`), then writes them in bulk (`write`), all inside the caller's transaction. A row is
identified by its natural key (see `schema`), so importing the same file twice changes nothing:

- master data (customers, contacts) present with other values is updated, one audit row per record
  with the values before and after;
- posted records (invoices, payments, credit memos, applications) present with other values are an
  error for that row: they are never edited in place, a correction is posted instead.

Cached balances are written with the rows they follow from: an invoice's `open_minor`, `status` and
`closed_on`, a payment's or credit memo's `unapplied_minor`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from ardesk.core.errors import Conflict
from ardesk.core.models import AuditLog
from ardesk.core.money import MINOR_UNITS, format_minor
from ardesk.ledger import bulk
from ardesk.ledger.models import (
    Application,
    Contact,
    CreditMemo,
    Customer,
    Invoice,
    LegalEntity,
    Payment,
    PaymentTerms,
    PortfolioAssignment,
)

from .parsing import Amount, amount_to_minor, format_amount
from .profiles import KindMapping
from .report import ErrorLog
from .schema import Kind

Progress = Callable[[str, int, int | None], None]
CHUNK = 5_000
OPEN_STATES = (Invoice.Status.OPEN.value, Invoice.Status.DISPUTED.value)


@dataclass
class Context:
    kind: Kind
    mapping: KindMapping
    errors: ErrorLog
    columns: dict[str, str]  # ardesk field -> the file's column name, for error reports
    mapped: frozenset[str]  # fields the file (or a profile constant) provides
    defaults: dict[str, Any]  # parsed profile defaults
    file_name: str = ""
    lock: bool = False  # lock the rows read (the write run)
    progress: Progress | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, model: str, what: str, n: int = 1) -> None:
        bucket = self.counts.setdefault(model, {})
        bucket[what] = bucket.get(what, 0) + n


Rec = dict[str, Any]


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _locked(qs: models.QuerySet[Any], lock: bool) -> models.QuerySet[Any]:
    return qs.select_for_update(of=("self",)) if lock and connection.features.has_select_for_update else qs


class CustomerInfo(NamedTuple):
    id: int
    account: str
    entity_id: int
    currency: str
    terms_id: int | None
    net_days: int | None
    parent_id: int | None


SCAN_FROM = 20_000  # keys; from here on a table scan may beat IN lists
SCAN_FACTOR = 3  # ...when the table holds at most this many rows per key wanted


def fetch_by(
    qs: models.QuerySet[Any], key: str, wanted: Iterable[Any], fields: tuple[str, ...], *, lock: bool = False
) -> Iterator[tuple[Any, ...]]:
    """The rows of `qs` whose `key` is among `wanted`, as tuples of `fields`.

    A few keys are looked up by index in chunks. A million keys in IN lists cost more than reading a table
    of comparable size once (5 s against 2 s on SQLite for a re-imported 1M-invoice file), so a large
    batch against a table not much larger than it is answered by one scan. Locked reads always use the
    index."""
    keys = set(wanted)
    if not keys:
        return
    if not lock and len(keys) >= SCAN_FROM and qs.count() <= SCAN_FACTOR * len(keys):
        pos = fields.index(key)
        for row in qs.values_list(*fields).iterator(chunk_size=20_000):
            if row[pos] in keys:
                yield row
        return
    for part in chunks(sorted(keys)):
        yield from _locked(qs.filter(**{f"{key}__in": part}), lock).values_list(*fields)


CUSTOMER_INFO = (
    "id", "account_number", "entity_id", "currency", "payment_terms_id", "payment_terms__net_days",
    "parent_id",
)  # fmt: skip


def lookup_customers(accounts: Iterable[str]) -> dict[str, CustomerInfo]:
    return {
        row[1]: CustomerInfo(*row)
        for row in fetch_by(Customer.objects.all(), "account_number", accounts, CUSTOMER_INFO)
    }


def customers_by_id(ids: Iterable[int]) -> dict[int, CustomerInfo]:
    return {row[0]: CustomerInfo(*row) for row in fetch_by(Customer.objects.all(), "id", ids, CUSTOMER_INFO)}


def _fmt(minor: int, currency: str) -> str:
    return format_minor(minor, currency).replace(",", "")


# (field, label, value in the database, value in the file, how to show them: the currency of amounts,
# or a function)
Check = tuple[str, str, Any, Any, "str | Callable[[Any], str] | None"]


def _show(value: Any, how: str | Callable[[Any], str] | None) -> str:
    if callable(how):
        return how(value)
    if value is None:
        return ""
    if how is not None and isinstance(value, int):
        return _fmt(value, how)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _insert_defaults(model: type[models.Model], given: list[str]) -> tuple[list[str], tuple[Any, ...]]:
    """Columns not given that are NOT NULL get the model default, so a bulk row is complete."""
    skip = set(given) | {"id", "created_at", "updated_at"}
    names: list[str] = []
    values: list[Any] = []
    for f in model._meta.concrete_fields:
        if f.attname in skip or f.null:
            continue
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            continue
        default = f.get_default()
        names.append(f.attname)
        values.append(str(default) if isinstance(default, str) else default)
    return names, tuple(values)


def insert(
    ctx: Context, model: type[models.Model], fields: list[str], rows: list[tuple[Any, ...]], label: str
) -> int:
    if not rows:
        return 0
    extra, tail = _insert_defaults(model, fields)
    done = 0
    total = len(rows)

    def step(n: int) -> None:
        nonlocal done
        done += n
        if ctx.progress:
            ctx.progress(f"writing {label}", done, total)

    data: Iterable[tuple[Any, ...]] = rows if not tail else (r + tail for r in rows)
    return bulk.insert_rows(model, [*fields, *extra], data, progress=step)


class Processor:
    kind: Kind

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rows: list[tuple[int, Rec]] = []
        self.new_customers: list[tuple[str, str, int, str]] = []  # created from this file

    # helpers --------------------------------------------------------------------------------------

    def col(self, name: str) -> str:
        return self.ctx.columns.get(name, name)

    def err(self, row: int, name: str, value: Any, reason: str) -> None:
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = format_amount(value)
        self.ctx.errors.add(row, self.col(name), value, reason)

    def account_of(self, customer_id: int) -> str:
        """The account number of a customer id (a negative id: one created from this file)."""
        if customer_id < 0:
            return self.new_customers[-customer_id - 1][0]
        return Customer.objects.filter(pk=customer_id).values_list("account_number", flat=True).first() or ""

    def value(self, rec: Rec, name: str) -> Any:
        """The row's value, else the profile default, else None."""
        v = rec.get(name)
        return v if v is not None else self.ctx.defaults.get(name)

    def minor(
        self, row: int, name: str, amount: Amount, currency: str, *, positive: bool = True
    ) -> int | None:
        try:
            value = amount_to_minor(amount, MINOR_UNITS[currency], currency)
        except ValueError as exc:
            self.err(row, name, amount, str(exc))
            return None
        if positive and value <= 0:
            self.err(
                row, name, amount, f"{name.replace('_', ' ')} must be positive, got {format_amount(amount)}"
            )
            return None
        return value

    def first_seen(self, seen: dict[Any, int], key: Any, row: int, name: str, value: Any, what: str) -> bool:
        """Record a natural key; a second occurrence in the file is an error. True when new."""
        first = seen.get(key)
        if first is not None:
            self.err(row, name, value, f"duplicate {what} (first on row {first})")
            return False
        seen[key] = row
        return True

    def posted_conflict(
        self, row: int, name: str, what: str, field_label: str, db_value: str, file_value: str
    ) -> None:
        self.err(
            row,
            name,
            file_value,
            f"{what} already exists with {field_label} {db_value or '(blank)'}, file says "
            f"{file_value or '(blank)'}; post a correction instead",
        )

    def default_entity(self) -> tuple[int, str] | None:
        """(id, functional currency) of the profile's default entity, else of the only entity."""
        code = self.ctx.defaults.get("entity")
        if code:
            found = LegalEntity.objects.filter(code=code).values_list("id", "functional_currency").first()
            return found
        entities = list(LegalEntity.objects.values_list("id", "functional_currency")[:2])
        return entities[0] if len(entities) == 1 else None

    def terms_by_code(self) -> dict[str, tuple[int, int]]:
        return {
            code: (pk, days) for pk, code, days in PaymentTerms.objects.values_list("id", "code", "net_days")
        }

    def customers_or_create(
        self,
        found: dict[str, CustomerInfo],
        accounts_rows: dict[str, list[int]],
        names: dict[str, str],
        currencies: dict[str, str | None],
    ) -> dict[str, CustomerInfo]:
        """Add the unknown accounts (with their rows) to the customers found, created when the profile says
        so (they are written before the rows that need them); otherwise every row of theirs is an error."""
        unknown = list(accounts_rows)
        if not self.ctx.mapping.options.get("create_customers"):
            for account in unknown:
                for row in accounts_rows[account]:
                    self.err(row, "customer", account, f"unknown customer account {account!r}")
            return found
        entity = self.default_entity()
        if entity is None:
            for account in unknown:
                for row in accounts_rows[account]:
                    self.err(
                        row,
                        "customer",
                        account,
                        f"unknown customer account {account!r}, and no legal entity to create it in "
                        "(set defaults.entity in the mapping profile)",
                    )
            return found
        for account in unknown:
            currency = currencies.get(account) or entity[1]
            self.new_customers.append((account, names.get(account) or account, entity[0], currency))
            # A placeholder id (negative) until write() reserves the real ones.
            found[account] = CustomerInfo(
                -len(self.new_customers), account, entity[0], currency, None, None, None
            )
        self.ctx.count("customers", "created", len(self.new_customers))
        return found

    def write_new_customers(self) -> dict[int, int]:
        """Insert the customers created from this file; returns placeholder id -> real id."""
        new = self.new_customers
        if not new:
            return {}
        ids = bulk.reserve_ids(Customer, len(new))
        rows = [(ids[i], acc, name, ent, cur) for i, (acc, name, ent, cur) in enumerate(new)]
        insert(
            self.ctx, Customer, ["id", "account_number", "name", "entity_id", "currency"], rows, "customers"
        )
        return {-(i + 1): ids[i] for i in range(len(new))}

    # the protocol -----------------------------------------------------------------------------------

    def add(self, row: int, rec: Rec) -> None:
        self.rows.append((row, rec))

    def resolve(self) -> None:
        raise NotImplementedError

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        raise NotImplementedError

    def record(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        """The import's one batch audit row; an import that changes nothing (the same file again) writes
        none."""
        counts = self.ctx.counts.values()
        created = sum(c.get("created", 0) for c in counts)
        if not created and not any(c.get("updated") for c in counts):
            return
        bulk.record_batch(
            actor=actor,
            action=f"import.{self.kind.value}",
            object_type="imports.ImportBatch",
            count=created,
            note=note,
            details={**details, "counts": self.ctx.counts},
        )


def plain_defaults(model: type[models.Model]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        default = f.get_default()
        out[f.attname] = str(default) if isinstance(default, str) else default
    return out


def audit_rows(
    actor: Any,
    action: str,
    object_type: str,
    changes: list[tuple[int, dict[str, Any], dict[str, Any]]],
    note: str,
) -> None:
    """One audit row per changed record, with only the changed values before and after."""
    AuditLog.objects.bulk_create(
        [
            AuditLog(
                actor=actor if getattr(actor, "pk", None) else None,
                action=action,
                object_type=object_type,
                object_id=str(pk),
                before=before,
                after=after,
                note=note,
            )
            for pk, before, after in changes
        ],
        batch_size=2000,
    )


def settle_invoices(totals: dict[int, tuple[int, dt.date]]) -> None:
    """Take applications off invoices already in the database: open amount down, and when it reaches
    zero the status becomes paid on the date of the last application. The guard refuses (and the whole
    import rolls back) if a concurrent change left less open than the file applies."""
    if not totals:
        return
    table = connection.ops.quote_name(Invoice._meta.db_table)
    sql = (
        f"UPDATE {table} SET open_minor = open_minor - %s, "  # noqa: S608 - quoted identifiers
        "status = CASE WHEN open_minor - %s = 0 THEN %s ELSE status END, "
        "closed_on = CASE WHEN open_minor - %s = 0 THEN %s ELSE closed_on END "
        "WHERE id = %s AND open_minor >= %s AND status IN (%s, %s)"
    )
    params = [
        (amt, amt, Invoice.Status.PAID.value, amt, last, pk, amt, *OPEN_STATES)
        for pk, (amt, last) in totals.items()
    ]
    _update_all(sql, params, "invoices")


def settle_sources(model: type[Payment] | type[CreditMemo], totals: dict[int, int]) -> None:
    if not totals:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"UPDATE {table} SET unapplied_minor = unapplied_minor - %s "  # noqa: S608 - quoted identifiers
        "WHERE id = %s AND unapplied_minor >= %s"
    )
    _update_all(sql, [(amt, pk, amt) for pk, amt in totals.items()], model._meta.verbose_name_plural)


def _update_all(sql: str, params: list[tuple[Any, ...]], what: Any) -> None:
    changed = 0
    with connection.cursor() as cur:
        for part in chunks(params):
            cur.executemany(sql, part)
            changed += max(cur.rowcount, 0)
    if changed != len(params):
        raise Conflict(f"{what} changed while the file was being imported; nothing was imported, try again")


# --- customers -----------------------------------------------------------------------------------------

CUSTOMER_TEXT = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "tax_id",
    "territory",
    "region",
    "industry",
    "segment",
    "erp_reference",
)
CUSTOMER_CHOICES = ("risk_class", "status")  # a blank cell means "not given"


class CustomerProcessor(Processor):
    """Customers by account number. Present ones are updated field by field, one audit row each;
    an empty cell empties a text field. Entity and currency are fixed once a customer exists."""

    kind = Kind.CUSTOMERS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[str, int] = {}
        self.creates: list[dict[str, Any]] = []
        self.updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []  # (pk, before, after)

    def add(self, row: int, rec: Rec) -> None:
        account = rec["account_number"]
        if self.first_seen(self.seen, account, row, "account_number", account, f"customer account {account}"):
            self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        mapped = ctx.mapped
        entities = {
            code: (pk, cur)
            for pk, code, cur in LegalEntity.objects.values_list("id", "code", "functional_currency")
        }
        terms = self.terms_by_code()
        usernames = {r["collector"] for _, r in self.rows if r.get("collector")}
        users = dict(
            get_user_model()
            .objects.filter(username__in=usernames, is_active=True)
            .values_list("username", "id")
        )
        existing: dict[str, Customer] = {}
        for part in chunks(list(self.seen)):
            for c in _locked(Customer.objects.filter(account_number__in=part), ctx.lock):
                existing[c.account_number] = c
        outside = {r["parent"] for _, r in self.rows if r.get("parent")} - set(self.seen)
        db_parents = {a: info.id for a, info in lookup_customers(outside).items()}
        default_code = ctx.defaults.get("entity")
        only_entity = next(iter(entities.values())) if len(entities) == 1 else None
        file_parent: dict[str, str | None] = {}
        planned: list[tuple[int, str, dict[str, Any], Customer | None]] = []

        for row, rec in self.rows:
            account = rec["account_number"]
            current = existing.get(account)
            ok = True
            values: dict[str, Any] = {}
            for name in CUSTOMER_TEXT:
                if name in mapped:
                    values[name] = rec.get(name) or ""
            for name in CUSTOMER_CHOICES:
                v = self.value(rec, name)
                if v is not None:
                    values[name] = v
            code = rec.get("entity")
            entity = None
            if code is not None:
                entity = entities.get(code)
                if entity is None:
                    known = ", ".join(sorted(entities)) or "none"
                    self.err(row, "entity", code, f"unknown legal entity {code!r} (known: {known})")
                    ok = False
                elif current is not None and entity[0] != current.entity_id:
                    self.err(
                        row,
                        "entity",
                        code,
                        f"customer {account} belongs to another legal entity; "
                        "a customer cannot move between entities",
                    )
                    ok = False
            elif current is None:
                entity = entities.get(default_code) if default_code else only_entity
                if entity is None:
                    why = (
                        f"the profile's default entity {default_code!r} does not exist"
                        if default_code
                        else "no legal entity given: add an entity column or set defaults.entity "
                        "in the profile"
                    )
                    self.err(row, "entity", default_code or "", why)
                    ok = False
            currency = rec.get("currency")
            if current is not None:
                if currency is not None and currency != current.currency:
                    self.err(
                        row,
                        "currency",
                        currency,
                        f"customer {account} is in {current.currency}; "
                        "its currency cannot be changed by an import",
                    )
                    ok = False
                currency = current.currency
            else:
                currency = currency or ctx.defaults.get("currency") or (entity[1] if entity else "USD")
            if "payment_terms" in mapped or "payment_terms" in ctx.defaults:
                code = self.value(rec, "payment_terms")
                if code is None:
                    values["payment_terms_id"] = None
                elif code in terms:
                    values["payment_terms_id"] = terms[code][0]
                else:
                    known = ", ".join(sorted(terms)) or "none"
                    self.err(row, "payment_terms", code, f"unknown payment terms {code!r} (known: {known})")
                    ok = False
            if "collector" in mapped:
                username = rec.get("collector")
                if username is None:
                    values["collector_id"] = None
                elif username in users:
                    values["collector_id"] = users[username]
                else:
                    self.err(row, "collector", username, f"unknown user {username!r}")
                    ok = False
            if "credit_limit" in mapped:
                amount = rec.get("credit_limit")
                values["credit_limit_minor"] = None
                if amount is not None:
                    limit = self.minor(row, "credit_limit", amount, currency, positive=False)
                    if limit is None:
                        ok = False
                    elif limit < 0:
                        self.err(row, "credit_limit", amount, "credit limit cannot be negative")
                        ok = False
                    values["credit_limit_minor"] = limit
            if "parent" in mapped:
                parent = rec.get("parent")
                file_parent[account] = parent
                if parent is None:
                    values["parent_id"] = None
                elif parent == account:
                    self.err(row, "parent", parent, "a customer cannot be its own parent")
                    ok = False
                elif parent in existing:
                    values["parent_id"] = existing[parent].pk
                elif parent in self.seen:
                    values["parent_new"] = parent  # created by this file: its id is known when written
                elif parent in db_parents:
                    values["parent_id"] = db_parents[parent]
                else:
                    self.err(
                        row,
                        "parent",
                        parent,
                        f"unknown parent account {parent!r} (not in the database or in this file)",
                    )
                    ok = False
            if ok:
                if current is None:
                    values.update(account_number=account, entity_id=entity[0], currency=currency)  # type: ignore[index]
                planned.append((row, account, values, current))

        looped = self._loops(file_parent)
        for row, account, values, current in planned:
            if account in looped:
                self.err(
                    row,
                    "parent",
                    values.get("parent_new") or file_parent.get(account) or "",
                    f"parent accounts form a loop through {account}",
                )
                continue
            if current is None:
                self.creates.append(values)
                continue
            now_values = {k: getattr(current, k) for k in values if k != "parent_new"}
            after = {k: v for k, v in values.items() if k == "parent_new" or now_values[k] != v}
            if after:
                before = {k: now_values[k] for k in after if k != "parent_new"}
                if "parent_new" in after:
                    before["parent_id"] = current.parent_id
                self.updates.append((current.pk, before, after))
                ctx.count("customers", "updated")
            else:
                ctx.count("customers", "unchanged")
        ctx.count("customers", "created", len(self.creates))

    def _loops(self, file_parent: dict[str, str | None]) -> set[str]:
        """Accounts whose parent chain (this file's parents over the database's) comes back to them."""
        if not file_parent:
            return set()
        parent_of: dict[str, str | None] = dict(file_parent)
        frontier = {p for p in file_parent.values() if p and p not in parent_of}
        while frontier:
            found = dict(
                Customer.objects.filter(account_number__in=frontier).values_list(
                    "account_number", "parent__account_number"
                )
            )
            for account in frontier:
                parent_of[account] = found.get(account)
            frontier = {p for p in found.values() if p and p not in parent_of}
        looped: set[str] = set()
        for start in file_parent:
            node, seen = parent_of.get(start), {start}
            while node is not None and node not in seen:
                seen.add(node)
                node = parent_of.get(node)
            if node == start:
                looped.add(start)
        return looped

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        ctx = self.ctx
        now = timezone.now()
        actor_id = getattr(actor, "pk", None)
        created: dict[str, int] = {}
        if self.creates:
            ids = bulk.reserve_ids(Customer, len(self.creates))
            created = {v["account_number"]: ids[i] for i, v in enumerate(self.creates)}
            fields = [
                "id",
                "account_number",
                "entity_id",
                "currency",
                *CUSTOMER_TEXT,
                *CUSTOMER_CHOICES,
                "payment_terms_id",
                "collector_id",
                "credit_limit_minor",
                "parent_id",
            ]
            defaults = plain_defaults(Customer)
            rows, assignments = [], []
            for i, v in enumerate(self.creates):
                v["id"] = ids[i]
                if "parent_new" in v:
                    v["parent_id"] = created[v.pop("parent_new")]
                rows.append(tuple(v[f] if f in v else defaults[f] for f in fields))
                if v.get("collector_id"):
                    assignments.append((ids[i], v["collector_id"], now, actor_id, "import"))
            insert(ctx, Customer, fields, rows, "customers")
            insert(
                ctx,
                PortfolioAssignment,
                ["customer_id", "collector_id", "started_at", "assigned_by_id", "reason"],
                assignments,
                "assignments",
            )
        if self.updates:
            reassigned: list[tuple[int, int | None]] = []
            for pk, _before, after in self.updates:
                if "parent_new" in after:
                    after["parent_id"] = created[after.pop("parent_new")]
                Customer.objects.filter(pk=pk).update(**after, updated_at=now)
                if "collector_id" in after:
                    reassigned.append((pk, after["collector_id"]))
            if reassigned:
                PortfolioAssignment.objects.filter(
                    customer_id__in=[pk for pk, _ in reassigned], ended_at__isnull=True
                ).update(ended_at=now)
                insert(
                    ctx,
                    PortfolioAssignment,
                    ["customer_id", "collector_id", "started_at", "assigned_by_id", "reason"],
                    [(pk, cid, now, actor_id, "import") for pk, cid in reassigned if cid],
                    "assignments",
                )
            audit_rows(actor, "customer.update", "ledger.Customer", self.updates, note)
        self.record(actor=actor, note=note, details=details)


# --- contacts ------------------------------------------------------------------------------------------

CONTACT_TEXT = ("email", "phone", "time_zone")
CONTACT_GIVEN = ("role", "preferred_channel", "is_primary", "opt_out_email", "opt_out_phone", "opt_out_sms")


class ContactProcessor(Processor):
    """Contacts by (customer account, name); present ones are updated, one audit row each."""

    kind = Kind.CONTACTS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[tuple[str, str], int] = {}
        self.creates: list[dict[str, Any]] = []
        self.updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []

    def add(self, row: int, rec: Rec) -> None:
        key = (rec["customer"], rec["name"])
        if self.first_seen(
            self.seen, key, row, "name", rec["name"], f"contact {rec['name']} of {rec['customer']}"
        ):
            self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        customers = lookup_customers(r["customer"] for _, r in self.rows)
        existing: dict[tuple[int, str], Contact] = {}
        for part in chunks(sorted({c.id for c in customers.values()})):
            for contact in _locked(Contact.objects.filter(customer_id__in=part), ctx.lock):
                existing[(contact.customer_id, contact.name)] = contact
        for row, rec in self.rows:
            cust = customers.get(rec["customer"])
            if cust is None:
                self.err(row, "customer", rec["customer"], f"unknown customer account {rec['customer']!r}")
                continue
            values: dict[str, Any] = {n: rec.get(n) or "" for n in CONTACT_TEXT if n in ctx.mapped}
            for n in CONTACT_GIVEN:
                v = self.value(rec, n)
                if v is not None:
                    values[n] = v
            current = existing.get((cust.id, rec["name"]))
            if current is None:
                values.update(customer_id=cust.id, name=rec["name"])
                self.creates.append(values)
                continue
            before = {k: getattr(current, k) for k in values}
            after = {k: v for k, v in values.items() if before[k] != v}
            if after:
                self.updates.append((current.pk, {k: before[k] for k in after}, after))
                ctx.count("contacts", "updated")
            else:
                ctx.count("contacts", "unchanged")
        ctx.count("contacts", "created", len(self.creates))

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        if self.creates:
            fields = ["customer_id", "name", *CONTACT_TEXT, *CONTACT_GIVEN]
            defaults = plain_defaults(Contact)
            insert(
                self.ctx,
                Contact,
                fields,
                [tuple(v.get(f, defaults[f]) for f in fields) for v in self.creates],
                "contacts",
            )
        for pk, _before, after in self.updates:
            Contact.objects.filter(pk=pk).update(**after)
        if self.updates:
            audit_rows(actor, "contact.update", "ledger.Contact", self.updates, note)
        self.record(actor=actor, note=note, details=details)


# --- posted records: shared lookups ---------------------------------------------------------------------


class InvoiceInfo(NamedTuple):
    id: int
    number: str
    customer_id: int
    invoice_date: dt.date
    due_date: dt.date
    currency: str
    amount_minor: int
    tax_minor: int
    po_number: str
    erp_reference: str
    open_minor: int
    status: str


INVOICE_INFO = (
    "id", "number", "customer_id", "invoice_date", "due_date", "currency", "amount_minor", "tax_minor",
    "po_number", "erp_reference", "open_minor", "status",
)  # fmt: skip


def lookup_invoices(numbers: Iterable[str], *, lock: bool) -> dict[str, InvoiceInfo]:
    if not Invoice.objects.exists():
        return {}
    return {
        row[1]: InvoiceInfo(*row)
        for row in fetch_by(Invoice.objects.all(), "number", numbers, INVOICE_INFO, lock=lock)
    }


class SourceInfo(NamedTuple):
    """A payment or a credit memo: what an application draws on."""

    id: int
    key: str  # payment reference or credit memo number
    customer_id: int
    date: dt.date
    currency: str
    amount_minor: int
    unapplied_minor: int
    reversed_on: dt.date | None
    # payment: (method, erp_reference); credit memo: (reason, original invoice number, erp_reference, account)
    extra: tuple[Any, ...]


PAYMENT_INFO = (
    "id", "reference", "customer_id", "payment_date", "currency", "amount_minor", "unapplied_minor",
    "reversed_on", "method", "erp_reference",
)  # fmt: skip


def lookup_payments(keys: Iterable[tuple[int, str]], *, lock: bool) -> dict[tuple[int, str], SourceInfo]:
    """Payments by (customer id, reference)."""
    wanted = set(keys)
    if not wanted or not Payment.objects.exists():
        return {}
    out: dict[tuple[int, str], SourceInfo] = {}
    for pk, ref, cid, date, cur, amt, unapplied, rev, method, erp in fetch_by(
        Payment.objects.all(), "reference", {r for _, r in wanted}, PAYMENT_INFO, lock=lock
    ):
        if (cid, ref) in wanted:
            out[(cid, ref)] = SourceInfo(pk, ref, cid, date, cur, amt, unapplied, rev, (method, erp))
    return out


CREDIT_INFO = (
    "id", "number", "customer_id", "memo_date", "currency", "amount_minor", "unapplied_minor", "reason",
    "original_invoice__number", "erp_reference", "customer__account_number",
)  # fmt: skip


def lookup_credits(numbers: Iterable[str], *, lock: bool) -> dict[str, SourceInfo]:
    if not CreditMemo.objects.exists():
        return {}
    out: dict[str, SourceInfo] = {}
    for pk, num, cid, date, cur, amt, unapplied, reason, orig, erp, account in fetch_by(
        CreditMemo.objects.all(), "number", numbers, CREDIT_INFO, lock=lock
    ):
        out[num] = SourceInfo(pk, num, cid, date, cur, amt, unapplied, None, (reason, orig, erp, account))
    return out


def existing_applications(invoice_ids: Iterable[int]) -> set[tuple[int, str, int, dt.date, int]]:
    """Natural keys (invoice id, "p"/"c", source id, date, amount) of the original (not reversing)
    applications on these invoices. A reversed one still counts: re-importing does not re-apply it."""
    ids = sorted(set(invoice_ids))
    out: set[tuple[int, str, int, dt.date, int]] = set()
    if not ids or not Application.objects.exists():
        return out
    for part in chunks(ids):
        for inv, pay, cred, date, amt in Application.objects.filter(
            invoice_id__in=part, reverses__isnull=True
        ).values_list("invoice_id", "payment_id", "credit_memo_id", "applied_date", "amount_minor"):
            out.add((inv, "p", pay, date, amt) if pay else (inv, "c", cred, date, amt))
    return out


class PostedProcessor(Processor):
    """Shared by invoices, payments and credit memos: the customer of each row, created when the
    profile says so."""

    def resolve_customers(self) -> dict[str, CustomerInfo]:
        accounts = {rec["customer"] for _, rec in self.rows}
        found = lookup_customers(accounts)
        if len(found) == len(accounts):
            return found
        # Unknown accounts: every row of theirs is reported, or they become customers.
        accounts_rows: dict[str, list[int]] = defaultdict(list)
        names: dict[str, str] = {}
        currencies: dict[str, str | None] = {}
        for row, rec in self.rows:
            account = rec["customer"]
            if account in found:
                continue
            accounts_rows[account].append(row)
            if account not in names and rec.get("customer_name"):
                names[account] = rec["customer_name"]
            if account not in currencies:
                currencies[account] = rec.get("currency") or self.ctx.defaults.get("currency")
        return self.customers_or_create(found, accounts_rows, names, currencies)

    def tick(self, i: int) -> None:
        if self.ctx.progress and i % 50_000 == 0:
            self.ctx.progress("checking", i, len(self.rows))

    def currency_of(self, rec: Rec, cust: CustomerInfo) -> str:
        return rec.get("currency") or self.ctx.defaults.get("currency") or cust.currency

    def signed(self, amount: Amount) -> Amount:
        if self.ctx.mapping.options.get("ignore_sign"):
            return (abs(amount[0]), amount[1])
        return amount

    def differs(self, row: int, what: str, checks: list[Check]) -> bool:
        """Report each difference between a posted record and its row; True when any. Values are
        formatted only for the report, so a million unchanged rows cost a comparison each."""
        bad = False
        for name, label, db_value, file_value, currency in checks:
            if db_value != file_value:
                self.posted_conflict(
                    row, name, what, label, _show(db_value, currency), _show(file_value, currency)
                )
                bad = True
        return bad

    def real_id(self, cust_id: int, cust_map: dict[int, int]) -> int:
        return cust_map[cust_id] if cust_id < 0 else cust_id


# --- invoices ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Settlement:
    """A settled-history row: the part of an invoice paid, when, by which payment."""

    row: int
    invoice: int | InvoiceInfo  # index into the new invoices, or the invoice in the database
    cust: CustomerInfo
    reference: str
    paid_date: dt.date
    paid: int
    currency: str


INVOICE_INSERT = [
    "entity_id",
    "customer_id",
    "number",
    "invoice_date",
    "due_date",
    "terms_id",
    "currency",
    "amount_minor",
    "tax_minor",
    "po_number",
    "erp_reference",
    "status",
    "open_minor",
    "closed_on",
]
PAYMENT_INSERT = [
    "entity_id",
    "customer_id",
    "reference",
    "payment_date",
    "currency",
    "amount_minor",
    "unapplied_minor",
    "method",
    "erp_reference",
]
APPLICATION_INSERT = [
    "invoice_id",
    "payment_id",
    "credit_memo_id",
    "amount_minor",
    "applied_date",
    "created_by_id",
]


class InvoiceProcessor(PostedProcessor):
    """Invoices by number. A row with a paid date (or an open amount below the amount) is settled
    history: it also brings the payment (by customer and reference, default PAID-<number>; rows sharing
    a reference share one payment) and the application, and the invoice's open amount and status follow."""

    kind = Kind.INVOICES

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[str, int] = {}
        self.new: list[tuple[Any, ...]] = []
        self.settlements: list[Settlement] = []
        self.new_payments: list[list[Any]] = []
        self.new_apps: list[tuple[Any, Any, int, dt.date]] = []  # (invoice ref, payment ref, amount, date)

    def add(self, row: int, rec: Rec) -> None:
        number = rec["number"]
        first = self.seen.get(number)
        if first is not None:
            self.err(row, "number", number, f"duplicate invoice number {number} (first on row {first})")
            return
        self.seen[number] = row
        invoice_date = rec["invoice_date"]
        due = rec.get("due_date")
        if due is not None and due < invoice_date:
            self.err(row, "due_date", due, f"due date {due} is before the invoice date {invoice_date}")
            return
        paid_date = rec.get("paid_date")
        if paid_date is not None and paid_date < invoice_date:
            self.err(
                row,
                "paid_date",
                paid_date,
                f"paid date {paid_date} is before the invoice date {invoice_date}",
            )
            return
        self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        customers = self.resolve_customers()
        terms = self.terms_by_code()
        # Posted invoices are compared, not changed, so they are not locked; the few whose open amount the
        # file's settlements take down are guarded by the UPDATE itself (settle_invoices).
        existing = lookup_invoices(self.seen, lock=False)
        implied = ctx.mapping.options.get("implied_payment_date")
        default_status = ctx.defaults.get("status") or Invoice.Status.OPEN.value
        default_terms = ctx.defaults.get("terms")
        mapped = ctx.mapped
        due_mapped, tax_mapped = "due_date" in mapped, "tax" in mapped
        po_mapped, erp_mapped = "po_number" in mapped, "erp_reference" in mapped
        settlements = self.settlements
        unchanged = 0
        for i, (row, rec) in enumerate(self.rows):
            if i % 50_000 == 0:
                self.tick(i)
            cust = customers.get(rec["customer"])
            if cust is None:
                continue
            currency = rec.get("currency") or ctx.defaults.get("currency") or cust.currency
            amount = self.minor(row, "amount", rec["amount"], currency)
            if amount is None:
                continue
            tax = 0
            if rec.get("tax") is not None:
                parsed_tax = self.minor(row, "tax", rec["tax"], currency, positive=False)
                if parsed_tax is None:
                    continue
                tax = parsed_tax
                if not 0 <= tax <= amount:
                    self.err(row, "tax", rec["tax"], "tax must be between zero and the invoice amount")
                    continue
            code = rec.get("terms") or default_terms
            terms_id: int | None
            net_days: int | None
            if code:
                found = terms.get(code)
                if found is None:
                    known = ", ".join(sorted(terms)) or "none"
                    self.err(row, "terms", code, f"unknown payment terms {code!r} (known: {known})")
                    continue
                terms_id, net_days = found
            else:
                terms_id, net_days = cust.terms_id, cust.net_days
            invoice_date = rec["invoice_date"]
            due = rec.get("due_date")
            if due is None:
                if net_days is None:
                    self.err(
                        row,
                        "due_date",
                        "",
                        f"no due date, and customer {cust.account} has no payment terms to compute it from",
                    )
                    continue
                due = invoice_date + dt.timedelta(days=net_days)
            number = rec["number"]

            # settled history
            paid = 0
            paid_date = rec.get("paid_date")
            if rec.get("paid_amount") is not None:
                paid = self.minor(row, "paid_amount", rec["paid_amount"], currency)  # type: ignore[assignment]
                if paid is None:
                    continue
            elif paid_date is not None:
                paid = amount
            if rec.get("open_amount") is not None:
                open_left = self.minor(row, "open_amount", rec["open_amount"], currency, positive=False)
                if open_left is None:
                    continue
                if not 0 <= open_left <= amount:
                    self.err(
                        row,
                        "open_amount",
                        rec["open_amount"],
                        f"open amount must be between zero and the invoice amount {_fmt(amount, currency)}",
                    )
                    continue
                if rec.get("paid_amount") is not None and paid != amount - open_left:
                    self.err(
                        row,
                        "open_amount",
                        rec["open_amount"],
                        f"open amount {_fmt(open_left, currency)} "
                        f"is not the amount {_fmt(amount, currency)} less the paid amount "
                        f"{_fmt(paid, currency)}",
                    )
                    continue
                paid = amount - open_left
            if paid > amount:
                self.err(
                    row,
                    "paid_amount",
                    rec["paid_amount"],
                    f"paid amount {_fmt(paid, currency)} is more than "
                    f"the invoice amount {_fmt(amount, currency)}",
                )
                continue
            if paid and paid_date is None:
                if implied == "due_date":
                    paid_date = due
                elif implied == "invoice_date":
                    paid_date = invoice_date
                else:
                    self.err(
                        row,
                        "paid_date",
                        "",
                        "part of the invoice is paid but the row has no paid date "
                        "(map paid_date, or set options.implied_payment_date in the profile)",
                    )
                    continue

            current = existing.get(number)
            if current is not None:
                what = f"invoice {number}"
                checks: list[Check] = [
                    ("customer", "customer", current.customer_id, cust.id, self.account_of),
                    ("invoice_date", "invoice date", current.invoice_date, invoice_date, None),
                    ("currency", "currency", current.currency, currency, None),
                    ("amount", "amount", current.amount_minor, amount, currency),
                ]
                if due_mapped:
                    checks.append(("due_date", "due date", current.due_date, due, None))
                if tax_mapped:
                    checks.append(("tax", "tax", current.tax_minor, tax, currency))
                if po_mapped:
                    checks.append(
                        ("po_number", "PO number", current.po_number, rec.get("po_number") or "", None)
                    )
                if erp_mapped:
                    checks.append(
                        (
                            "erp_reference",
                            "ERP reference",
                            current.erp_reference,
                            rec.get("erp_reference") or "",
                            None,
                        )
                    )
                if self.differs(row, what, checks):
                    continue
                unchanged += 1
                ref: int | InvoiceInfo = current
            else:
                ref = len(self.new)
                self.new.append(
                    (
                        cust.entity_id,
                        cust.id,
                        number,
                        invoice_date,
                        due,
                        terms_id,
                        currency,
                        amount,
                        tax,
                        rec.get("po_number") or "",
                        rec.get("erp_reference") or "",
                        rec.get("status") or default_status,
                    )
                )
            if paid:
                reference = rec.get("payment_reference") or f"PAID-{number}"
                settlements.append(Settlement(row, ref, cust, reference, paid_date, paid, currency))  # type: ignore[arg-type]
        ctx.count("invoices", "created", len(self.new))
        ctx.count("invoices", "unchanged", unchanged)
        if settlements:
            self.resolve_settlements()

    def resolve_settlements(self) -> None:
        ctx = self.ctx
        groups: dict[tuple[int, str], list[Settlement]] = defaultdict(list)
        for s in self.settlements:
            groups[(s.cust.id, s.reference)].append(s)
        payments = lookup_payments([k for k in groups if k[0] > 0], lock=False)
        db_invoices = [s.invoice for s in self.settlements if isinstance(s.invoice, InvoiceInfo)]
        applied = existing_applications(inv.id for inv in db_invoices)
        open_left = {inv.id: inv.open_minor for inv in db_invoices}
        unapplied_left = {p.id: p.unapplied_minor for p in payments.values()}
        for (_cid, reference), items in groups.items():
            first = items[0]
            what = f"payment {reference} of customer {first.cust.account}"
            mixed = [s for s in items if s.currency != first.currency]
            for s in mixed:
                self.err(
                    s.row,
                    "currency",
                    s.currency,
                    f"{what} settles invoices in {first.currency} and {s.currency}",
                )
            if mixed:
                continue
            total = sum(s.paid for s in items)
            date = min(s.paid_date for s in items)
            cur = first.currency
            payment = payments.get((first.cust.id, reference))
            if payment is not None:
                if payment.reversed_on is not None:
                    self.err(
                        first.row,
                        "payment_reference",
                        reference,
                        f"{what} was reversed on {payment.reversed_on}",
                    )
                    continue
                checks: list[Check] = [
                    ("paid_amount", "amount", payment.amount_minor, total, cur),
                    ("paid_date", "date", payment.date, date, None),
                    ("currency", "currency", payment.currency, cur, None),
                ]
                if self.differs(first.row, what, checks):
                    continue
                pay_ref: Any = ("db", payment.id)
                ctx.count("payments", "unchanged")
            else:
                pay_ref = len(self.new_payments)
                self.new_payments.append([first.cust, reference, date, cur, total])
            for s in items:
                inv = s.invoice
                if isinstance(inv, InvoiceInfo):
                    if payment is not None and (inv.id, "p", payment.id, s.paid_date, s.paid) in applied:
                        ctx.count("applications", "unchanged")
                        continue
                    if inv.status not in OPEN_STATES:
                        self.err(
                            s.row,
                            "paid_amount",
                            _fmt(s.paid, cur),
                            f"invoice {inv.number} is {inv.status.replace('_', ' ')}",
                        )
                        continue
                    if s.paid > open_left[inv.id]:
                        self.err(
                            s.row,
                            "paid_amount",
                            _fmt(s.paid, cur),
                            f"invoice {inv.number} has "
                            f"{_fmt(open_left[inv.id], cur)} open; cannot apply {_fmt(s.paid, cur)}",
                        )
                        continue
                    open_left[inv.id] -= s.paid
                if payment is not None:
                    if s.paid > unapplied_left[payment.id]:
                        self.err(
                            s.row,
                            "paid_amount",
                            _fmt(s.paid, cur),
                            f"{what} has "
                            f"{_fmt(unapplied_left[payment.id], cur)} unapplied; "
                            f"cannot apply {_fmt(s.paid, cur)}",
                        )
                        continue
                    unapplied_left[payment.id] -= s.paid
                inv_ref = ("db", inv.id) if isinstance(inv, InvoiceInfo) else inv
                self.new_apps.append((inv_ref, pay_ref, s.paid, s.paid_date))
        ctx.count("payments", "created", len(self.new_payments))
        ctx.count("applications", "created", len(self.new_apps))

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        ctx = self.ctx
        cust_map = self.write_new_customers()
        paid_new: dict[int, tuple[int, dt.date]] = {}
        for inv_ref, _pay, amt, date in self.new_apps:
            if isinstance(inv_ref, int):
                before = paid_new.get(inv_ref)
                paid_new[inv_ref] = (amt, date) if before is None else (before[0] + amt, max(before[1], date))
        invoice_ids: list[int] = []
        if self.new:
            fields = INVOICE_INSERT
            with_ids = bool(self.new_apps)
            if with_ids:
                invoice_ids = bulk.reserve_ids(Invoice, len(self.new))
                fields = ["id", *INVOICE_INSERT]
            rows: list[tuple[Any, ...]] = []
            append = rows.append
            for i, r in enumerate(self.new):
                if r[1] < 0:
                    r = (r[0], cust_map[r[1]], *r[2:])
                settled = paid_new.get(i)
                if settled is None:
                    tail: tuple[Any, ...] = (r[7], None)
                else:
                    left = r[7] - settled[0]
                    if left == 0:
                        r = (*r[:11], Invoice.Status.PAID.value)
                    tail = (left, settled[1] if left == 0 else None)
                append((invoice_ids[i], *r, *tail) if with_ids else (*r, *tail))
            insert(ctx, Invoice, fields, rows, "invoices")
        payment_ids: list[int] = []
        if self.new_payments:
            payment_ids = bulk.reserve_ids(Payment, len(self.new_payments))
            applied_new: dict[int, int] = defaultdict(int)
            for _inv, pay_ref, amt, _date in self.new_apps:
                if isinstance(pay_ref, int):
                    applied_new[pay_ref] += amt
            insert(
                ctx,
                Payment,
                ["id", *PAYMENT_INSERT],
                [
                    (
                        payment_ids[i],
                        cust.entity_id,
                        self.real_id(cust.id, cust_map),
                        ref,
                        date,
                        cur,
                        total,
                        total - applied_new[i],
                        Payment.Method.OTHER.value,
                        "",
                    )
                    for i, (cust, ref, date, cur, total) in enumerate(self.new_payments)
                ],
                "payments",
            )
        actor_id = getattr(actor, "pk", None)
        app_rows = []
        db_invoice_totals: dict[int, tuple[int, dt.date]] = {}
        db_payment_totals: dict[int, int] = defaultdict(int)
        for inv_ref, pay_ref, amt, date in self.new_apps:
            if isinstance(inv_ref, int):
                inv_id = invoice_ids[inv_ref]
            else:
                inv_id = inv_ref[1]
                before = db_invoice_totals.get(inv_id)
                db_invoice_totals[inv_id] = (
                    (amt, date) if before is None else (before[0] + amt, max(before[1], date))
                )
            if isinstance(pay_ref, int):
                pay_id = payment_ids[pay_ref]
            else:
                pay_id = pay_ref[1]
                db_payment_totals[pay_id] += amt
            app_rows.append((inv_id, pay_id, None, amt, date, actor_id))
        insert(ctx, Application, APPLICATION_INSERT, app_rows, "applications")
        settle_invoices(db_invoice_totals)
        settle_sources(Payment, db_payment_totals)
        self.record(actor=actor, note=note, details=details)


# --- payments ------------------------------------------------------------------------------------------


class PaymentProcessor(PostedProcessor):
    """Receipts by (customer account, reference), unapplied until applications are imported."""

    kind = Kind.PAYMENTS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[tuple[str, str], int] = {}
        self.new: list[tuple[Any, ...]] = []

    def add(self, row: int, rec: Rec) -> None:
        key = (rec["customer"], rec["reference"])
        what = f"payment {rec['reference']} of customer {rec['customer']}"
        if self.first_seen(self.seen, key, row, "reference", rec["reference"], what):
            self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        customers = self.resolve_customers()
        wanted = [(customers[a].id, r) for a, r in self.seen if a in customers and customers[a].id > 0]
        existing = lookup_payments(wanted, lock=False)
        default_method = ctx.defaults.get("method") or Payment.Method.ACH.value
        unchanged = 0
        for i, (row, rec) in enumerate(self.rows):
            self.tick(i)
            cust = customers.get(rec["customer"])
            if cust is None:
                continue
            currency = self.currency_of(rec, cust)
            amount = self.minor(row, "amount", self.signed(rec["amount"]), currency)
            if amount is None:
                continue
            method = rec.get("method") or default_method
            current = existing.get((cust.id, rec["reference"]))
            if current is not None:
                checks: list[Check] = [
                    ("payment_date", "date", current.date, rec["payment_date"], None),
                    ("currency", "currency", current.currency, currency, None),
                    ("amount", "amount", current.amount_minor, amount, currency),
                ]
                if "method" in ctx.mapped:
                    checks.append(("method", "method", current.extra[0], method, None))
                if "erp_reference" in ctx.mapped:
                    checks.append(
                        (
                            "erp_reference",
                            "ERP reference",
                            current.extra[1],
                            rec.get("erp_reference") or "",
                            None,
                        )
                    )
                if not self.differs(row, f"payment {rec['reference']} of customer {cust.account}", checks):
                    unchanged += 1
                continue
            self.new.append(
                (
                    cust.entity_id,
                    cust.id,
                    rec["reference"],
                    rec["payment_date"],
                    currency,
                    amount,
                    amount,
                    method,
                    rec.get("erp_reference") or "",
                )
            )
        ctx.count("payments", "created", len(self.new))
        ctx.count("payments", "unchanged", unchanged)

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        cust_map = self.write_new_customers()
        rows = [r if r[1] > 0 else (r[0], cust_map[r[1]], *r[2:]) for r in self.new]
        insert(self.ctx, Payment, PAYMENT_INSERT, rows, "payments")
        self.record(actor=actor, note=note, details=details)


# --- credit memos --------------------------------------------------------------------------------------

CREDIT_INSERT = [
    "entity_id",
    "customer_id",
    "number",
    "memo_date",
    "currency",
    "amount_minor",
    "unapplied_minor",
    "reason",
    "original_invoice_id",
    "erp_reference",
]


class CreditProcessor(PostedProcessor):
    """Credit memos by number, unapplied until applications are imported."""

    kind = Kind.CREDITS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[str, int] = {}
        self.new: list[tuple[Any, ...]] = []

    def add(self, row: int, rec: Rec) -> None:
        number = rec["number"]
        if self.first_seen(self.seen, number, row, "number", number, f"credit memo number {number}"):
            self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        customers = self.resolve_customers()
        existing = lookup_credits(self.seen, lock=False)
        originals = lookup_invoices(
            (r["original_invoice"] for _, r in self.rows if r.get("original_invoice")), lock=False
        )
        unchanged = 0
        for i, (row, rec) in enumerate(self.rows):
            self.tick(i)
            cust = customers.get(rec["customer"])
            if cust is None:
                continue
            currency = self.currency_of(rec, cust)
            amount = self.minor(row, "amount", self.signed(rec["amount"]), currency)
            if amount is None:
                continue
            original_id = None
            if rec.get("original_invoice"):
                original = originals.get(rec["original_invoice"])
                if original is None:
                    self.err(
                        row,
                        "original_invoice",
                        rec["original_invoice"],
                        f"unknown invoice {rec['original_invoice']!r}",
                    )
                    continue
                if original.customer_id != cust.id:
                    self.err(
                        row,
                        "original_invoice",
                        rec["original_invoice"],
                        f"invoice {original.number} belongs to customer "
                        f"{self.account_of(original.customer_id)}, not {cust.account}",
                    )
                    continue
                original_id = original.id
            number = rec["number"]
            current = existing.get(number)
            if current is not None:
                reason, orig_number, erp, account = current.extra
                checks: list[Check] = [
                    ("customer", "customer", account, cust.account, None),
                    ("memo_date", "date", current.date, rec["memo_date"], None),
                    ("currency", "currency", current.currency, currency, None),
                    ("amount", "amount", current.amount_minor, amount, currency),
                ]
                for name, db_value in (
                    ("original_invoice", orig_number or ""),
                    ("reason", reason),
                    ("erp_reference", erp),
                ):
                    if name in ctx.mapped:
                        label = {
                            "original_invoice": "original invoice",
                            "erp_reference": "ERP reference",
                        }.get(name, name)
                        checks.append((name, label, db_value, rec.get(name) or "", None))
                if not self.differs(row, f"credit memo {number}", checks):
                    unchanged += 1
                continue
            self.new.append(
                (
                    cust.entity_id,
                    cust.id,
                    number,
                    rec["memo_date"],
                    currency,
                    amount,
                    amount,
                    rec.get("reason") or "",
                    original_id,
                    rec.get("erp_reference") or "",
                )
            )
        ctx.count("credit memos", "created", len(self.new))
        ctx.count("credit memos", "unchanged", unchanged)

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        cust_map = self.write_new_customers()
        rows = [r if r[1] > 0 else (r[0], cust_map[r[1]], *r[2:]) for r in self.new]
        insert(self.ctx, CreditMemo, CREDIT_INSERT, rows, "credit memos")
        self.record(actor=actor, note=note, details=details)


# --- applications --------------------------------------------------------------------------------------


class ApplicationProcessor(Processor):
    """Cash or credits applied to invoices. Over-application is checked across the whole file: the
    rows together may not take an invoice below zero open or a payment below zero unapplied."""

    kind = Kind.APPLICATIONS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.new: list[tuple[int, int | None, int | None, int, dt.date]] = []

    def add(self, row: int, rec: Rec) -> None:
        has_pay, has_credit = bool(rec.get("payment_reference")), bool(rec.get("credit_number"))
        if has_pay == has_credit:
            name = (
                "payment_reference" if has_pay or "payment_reference" in self.ctx.mapped else "credit_number"
            )
            self.err(
                row,
                name,
                rec.get("payment_reference") or "",
                "give either a payment reference or a credit memo number" + (", not both" if has_pay else ""),
            )
            return
        self.rows.append((row, rec))

    def resolve(self) -> None:
        ctx = self.ctx
        invoices = lookup_invoices((r["invoice"] for _, r in self.rows), lock=ctx.lock)
        owners = customers_by_id(inv.customer_id for inv in invoices.values())
        credits = lookup_credits(
            (r["credit_number"] for _, r in self.rows if r.get("credit_number")), lock=ctx.lock
        )
        payers = lookup_customers(r["payer"] for _, r in self.rows if r.get("payer"))
        wanted: set[tuple[int, str]] = set()
        for _, rec in self.rows:
            ref = rec.get("payment_reference")
            inv = invoices.get(rec["invoice"])
            if not ref or inv is None:
                continue
            if rec.get("payer"):
                if rec["payer"] in payers:
                    wanted.add((payers[rec["payer"]].id, ref))
            else:
                wanted.add((inv.customer_id, ref))
                parent_id = owners[inv.customer_id].parent_id
                if parent_id:
                    wanted.add((parent_id, ref))
        payments = lookup_payments(wanted, lock=ctx.lock)
        applied = existing_applications(inv.id for inv in invoices.values())
        open_left = {inv.id: inv.open_minor for inv in invoices.values()}
        left: dict[tuple[str, int], int] = {}
        seen: dict[tuple[Any, ...], int] = {}
        unchanged = 0
        for i, (row, rec) in enumerate(self.rows):
            if ctx.progress and i % 50_000 == 0:
                ctx.progress("checking", i, len(self.rows))
            inv = invoices.get(rec["invoice"])
            if inv is None:
                self.err(row, "invoice", rec["invoice"], f"unknown invoice {rec['invoice']!r}")
                continue
            cur = inv.currency
            owner = owners[inv.customer_id]
            amount = self.minor(row, "amount", rec["amount"], cur)
            if amount is None:
                continue
            source: SourceInfo | None
            if rec.get("payment_reference"):
                ref, kind, src_field = rec["payment_reference"], "p", "payment_reference"
                if rec.get("payer"):
                    payer = payers.get(rec["payer"])
                    if payer is None:
                        self.err(row, "payer", rec["payer"], f"unknown customer account {rec['payer']!r}")
                        continue
                    source = payments.get((payer.id, ref))
                    whose = rec["payer"]
                else:
                    source = payments.get((inv.customer_id, ref)) or (
                        payments.get((owner.parent_id, ref)) if owner.parent_id else None
                    )
                    whose = owner.account
                if source is None:
                    self.err(row, src_field, ref, f"unknown payment {ref!r} of customer {whose}")
                    continue
                what = f"payment {ref}"
            else:
                ref, kind, src_field = rec["credit_number"], "c", "credit_number"
                source = credits.get(ref)
                if source is None:
                    self.err(row, src_field, ref, f"unknown credit memo {ref!r}")
                    continue
                what = f"credit memo {ref}"
            applied_date = rec["applied_date"]
            key = (inv.id, kind, source.id, applied_date, amount)
            first = seen.get(key)
            if first is not None:
                self.err(
                    row,
                    "amount",
                    rec["amount"],
                    f"duplicate application of {what} to {inv.number} on "
                    f"{applied_date} (first on row {first})",
                )
                continue
            seen[key] = row
            if source.currency != cur:
                self.err(
                    row, src_field, ref, f"{what} is in {source.currency}, invoice {inv.number} in {cur}"
                )
                continue
            if source.customer_id not in (inv.customer_id, owner.parent_id):
                self.err(
                    row,
                    src_field,
                    ref,
                    f"{what} is from another customer than {owner.account} "
                    "or its parent, so it cannot pay invoice " + inv.number,
                )
                continue
            if source.reversed_on is not None:
                self.err(row, src_field, ref, f"{what} was reversed on {source.reversed_on}")
                continue
            if applied_date < source.date:
                self.err(
                    row,
                    "applied_date",
                    applied_date,
                    f"applied date {applied_date} is before the date of {what} ({source.date})",
                )
                continue
            if applied_date < inv.invoice_date:
                self.err(
                    row,
                    "applied_date",
                    applied_date,
                    f"applied date {applied_date} is before the invoice "
                    f"date of {inv.number} ({inv.invoice_date})",
                )
                continue
            if key in applied:
                unchanged += 1
                continue
            if inv.status not in OPEN_STATES and inv.status != Invoice.Status.PAID:
                self.err(
                    row, "invoice", inv.number, f"invoice {inv.number} is {inv.status.replace('_', ' ')}"
                )
                continue
            if amount > open_left[inv.id]:
                self.err(
                    row,
                    "amount",
                    rec["amount"],
                    f"invoice {inv.number} has {_fmt(open_left[inv.id], cur)} "
                    f"open after the rows above; cannot apply {_fmt(amount, cur)}",
                )
                continue
            src_key = (kind, source.id)
            available = left.get(src_key, source.unapplied_minor)
            if amount > available:
                self.err(
                    row,
                    "amount",
                    rec["amount"],
                    f"{what} has {_fmt(available, cur)} unapplied after the "
                    f"rows above; cannot apply {_fmt(amount, cur)}",
                )
                continue
            open_left[inv.id] -= amount
            left[src_key] = available - amount
            self.new.append(
                (
                    inv.id,
                    source.id if kind == "p" else None,
                    source.id if kind == "c" else None,
                    amount,
                    applied_date,
                )
            )
        ctx.count("applications", "created", len(self.new))
        ctx.count("applications", "unchanged", unchanged)

    def write(self, *, actor: Any, note: str, details: dict[str, Any]) -> None:
        actor_id = getattr(actor, "pk", None)
        insert(self.ctx, Application, APPLICATION_INSERT, [(*r, actor_id) for r in self.new], "applications")
        invoices: dict[int, tuple[int, dt.date]] = {}
        pays: dict[int, int] = defaultdict(int)
        creds: dict[int, int] = defaultdict(int)
        for inv_id, pay_id, cred_id, amt, date in self.new:
            before = invoices.get(inv_id)
            invoices[inv_id] = (amt, date) if before is None else (before[0] + amt, max(before[1], date))
            if pay_id:
                pays[pay_id] += amt
            else:
                creds[cred_id] += amt  # type: ignore[index]
        settle_invoices(invoices)
        settle_sources(Payment, pays)
        settle_sources(CreditMemo, creds)
        self.record(actor=actor, note=note, details=details)


PROCESSORS: dict[Kind, type[Processor]] = {
    Kind.CUSTOMERS: CustomerProcessor,
    Kind.CONTACTS: ContactProcessor,
    Kind.INVOICES: InvoiceProcessor,
    Kind.PAYMENTS: PaymentProcessor,
    Kind.CREDITS: CreditProcessor,
    Kind.APPLICATIONS: ApplicationProcessor,
}
