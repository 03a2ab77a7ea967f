"""Mapping profiles: how an ERP's export maps onto ardesk's import fields.

A profile (YAML or JSON) names, per import kind, the file's column for each ardesk field, and says how the
ERP writes dates and numbers, which codes mean which values, and what to assume when a column is absent:

    name: sap
    dates: ["%d.%m.%Y"]
    numbers: {decimal: ",", thousands: "."}
    defaults: {currency: EUR}
    kinds:
      invoices:
        columns: {number: Document Number, customer: Account, amount: Amount in local currency}
        constants: {status: open}           # every row, whatever the file says
        defaults: {terms: NET30}            # when the column is absent or the cell is empty
        values: {status: {D: disputed}}     # ERP code -> ardesk value
        filter: {column: Document Type, values: [RV, DR]}   # other rows are skipped
        options: {create_customers: true}

A kind with `columns` reads only the columns listed; a kind without them reads ardesk's column names.

Options: `create_customers` (invoices, payments, credits: an unknown account becomes a new customer, named
by the `customer_name` column), `implied_payment_date` (invoices with an `open_amount` below the amount:
which date the paid part is recorded on when the file has no paid date), `ignore_sign` (payments, credits:
ERPs that show receipts and credits as negative amounts).

Shipped profiles live in `ardesk/imports/profiles/*.yaml`; `load_profile` takes one of their names or a
path. Pure functions: no database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ardesk.core.errors import InvalidInput

from .parsing import NumberParser, ReadOptions, normalise_header
from .schema import FIELDS, Kind, T, field_map

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_PROFILE = "ardesk"

TOP_KEYS = {"name", "description", "format", "dates", "numbers", "defaults", "kinds"}
FORMAT_KEYS = {"delimiter", "encoding", "skip_rows", "sheet"}
KIND_KEYS = {"columns", "constants", "defaults", "values", "filter", "options"}
KIND_OPTIONS: dict[Kind, set[str]] = {
    Kind.INVOICES: {"create_customers", "implied_payment_date"},
    Kind.PAYMENTS: {"create_customers", "ignore_sign"},
    Kind.CREDITS: {"create_customers", "ignore_sign"},
}
IMPLIED_PAYMENT_DATES = ("paid_date", "due_date", "invoice_date")


class ProfileError(InvalidInput):
    code = "invalid_profile"


@dataclass(frozen=True)
class KindMapping:
    columns: dict[str, tuple[str, ...]]  # field -> the column names that carry it, in preference order
    constants: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {casefolded code: value}
    filter_column: str | None = None
    filter_values: frozenset[str] = frozenset()
    options: dict[str, Any] = field(default_factory=dict)
    identity: bool = False  # ardesk's own column names (the profile does not map this kind)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    source: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # as loaded, so a batch can store and replay it
    delimiter: str = "auto"
    encoding: str = "auto"
    skip_rows: int | None = None
    sheet: str | None = None
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    decimal: str = "."
    thousands: str = ","
    kinds: dict[Kind, KindMapping] = field(default_factory=dict)

    def mapping(self, kind: Kind) -> KindMapping:
        found = self.kinds.get(kind)
        if found is not None:
            return found
        return identity_mapping(kind, defaults=self.data.get("defaults") or {})

    def read_options(self) -> ReadOptions:
        return ReadOptions(
            delimiter=self.delimiter,
            encoding=self.encoding,
            skip_rows=self.skip_rows,
            sheet=self.sheet,
            decimal=self.decimal,
        )


def identity_mapping(kind: Kind, defaults: dict[str, Any] | None = None) -> KindMapping:
    fields = field_map(kind)
    return KindMapping(
        columns={name: (name,) for name in fields},
        defaults={k: str(v) for k, v in (defaults or {}).items() if k in fields},
        identity=True,
    )


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(ref: str | None) -> Profile:
    """A shipped profile by name (`sap`), or a YAML/JSON file by path."""
    ref = (ref or DEFAULT_PROFILE).strip()
    shipped = PROFILE_DIR / f"{ref}.yaml"
    if "/" not in ref and "\\" not in ref and shipped.is_file():
        return parse_profile_text(shipped.read_text(encoding="utf-8"), source=ref, default_name=ref)
    path = Path(ref)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"cannot read mapping profile {ref}: {exc}") from None
        return parse_profile_text(text, source=str(path), default_name=path.stem)
    raise ProfileError(
        f"unknown mapping profile {ref!r}: use one of {', '.join(shipped_profiles())} "
        "or the path of a .yaml or .json file"
    )


def parse_profile_text(text: str, *, source: str, default_name: str = "custom") -> Profile:
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"mapping profile {source} is not valid YAML or JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"mapping profile {source} must be a mapping of settings")
    return parse_profile(data, source=source, default_name=default_name)


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str | int | float):
        return (str(value),)
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise ProfileError(f"{where} must be a column name or a list of column names")


def _dict(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _unknown(keys: Any, allowed: set[str], where: str) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        raise ProfileError(
            f"{where}: unknown setting {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})"
        )


def _check_fields(kind: Kind, names: Any, where: str) -> None:
    fields = field_map(kind)
    bad = sorted(set(names) - set(fields))
    if bad:
        raise ProfileError(
            f"{where}: {', '.join(bad)} is not an ardesk {kind.value} field (fields: {', '.join(fields)})"
        )


def parse_profile(data: dict[str, Any], *, source: str = "", default_name: str = "custom") -> Profile:
    """Validate a loaded profile and build it; every mistake names the setting."""
    where = f"mapping profile {source or default_name}"
    _unknown(data, TOP_KEYS, where)
    fmt = _dict(data.get("format"), f"{where}: format")
    _unknown(fmt, FORMAT_KEYS, f"{where}: format")
    delimiter = str(fmt.get("delimiter", "auto"))
    if delimiter not in ("auto", "tab", "\\t") and len(delimiter) != 1:
        raise ProfileError(f"{where}: format.delimiter must be one character, 'tab' or 'auto'")
    skip = fmt.get("skip_rows")
    if skip is not None and (not isinstance(skip, int) or skip < 0):
        raise ProfileError(f"{where}: format.skip_rows must be a whole number")
    dates = data.get("dates", ["%Y-%m-%d"])
    if isinstance(dates, str):
        dates = [dates]
    if not isinstance(dates, list) or not dates or not all(isinstance(d, str) and "%" in d for d in dates):
        raise ProfileError(f"{where}: dates must be a list of formats such as '%d.%m.%Y'")
    numbers = _dict(data.get("numbers"), f"{where}: numbers")
    _unknown(numbers, {"decimal", "thousands"}, f"{where}: numbers")
    decimal = str(numbers.get("decimal", "."))
    thousands = str(numbers.get("thousands", "," if decimal == "." else "."))
    try:
        NumberParser(decimal, thousands)
    except ValueError as exc:
        raise ProfileError(f"{where}: numbers: {exc}") from None
    top_defaults = {k: str(v) for k, v in _dict(data.get("defaults"), f"{where}: defaults").items()}
    _unknown(top_defaults, {"currency", "entity"}, f"{where}: defaults")

    kinds: dict[Kind, KindMapping] = {}
    for kind_name, spec in _dict(data.get("kinds"), f"{where}: kinds").items():
        try:
            kind = Kind(kind_name)
        except ValueError:
            raise ProfileError(
                f"{where}: unknown import kind {kind_name!r} (kinds: {', '.join(k.value for k in Kind)})"
            ) from None
        kinds[kind] = _parse_kind(kind, _dict(spec, f"{where}: kinds.{kind_name}"), top_defaults, where)
    return Profile(
        name=str(data.get("name") or default_name),
        description=str(data.get("description") or ""),
        source=source,
        data=data,
        delimiter=delimiter,
        encoding=str(fmt.get("encoding", "auto")),
        skip_rows=skip,
        sheet=fmt.get("sheet"),
        date_formats=tuple(dates),
        decimal=decimal,
        thousands=thousands,
        kinds=kinds,
    )


def _parse_kind(kind: Kind, spec: dict[str, Any], top_defaults: dict[str, str], where: str) -> KindMapping:
    here = f"{where}: kinds.{kind.value}"
    _unknown(spec, KIND_KEYS, here)
    columns = {k: _strs(v, f"{here}.columns.{k}") for k, v in _dict(spec.get("columns"), here).items()}
    constants = {k: str(v) for k, v in _dict(spec.get("constants"), f"{here}.constants").items()}
    fields = field_map(kind)
    defaults = {k: v for k, v in top_defaults.items() if k in fields}
    defaults.update({k: str(v) for k, v in _dict(spec.get("defaults"), f"{here}.defaults").items()})
    values = {
        k: {str(code).casefold(): str(val) for code, val in _dict(v, f"{here}.values.{k}").items()}
        for k, v in _dict(spec.get("values"), f"{here}.values").items()
    }
    for part, names in (
        ("columns", columns),
        ("constants", constants),
        ("defaults", defaults),
        ("values", values),
    ):
        _check_fields(kind, names, f"{here}.{part}")
    for fname, table in values.items():
        spec_field = fields[fname]
        if spec_field.type is T.CHOICE:
            allowed = {v for v, _ in spec_field.choices}
            bad = sorted({v for v in table.values() if v not in allowed})
            if bad:
                raise ProfileError(
                    f"{here}.values.{fname}: {', '.join(bad)} is not one of {', '.join(sorted(allowed))}"
                )
    flt = _dict(spec.get("filter"), f"{here}.filter")
    filter_column: str | None = None
    filter_values: frozenset[str] = frozenset()
    if flt:
        _unknown(flt, {"column", "values"}, f"{here}.filter")
        if "column" not in flt or "values" not in flt:
            raise ProfileError(f"{here}.filter needs a column and the values of the rows to keep")
        filter_column = str(flt["column"])
        filter_values = frozenset(v.casefold() for v in _strs(flt["values"], f"{here}.filter.values"))
    options = _dict(spec.get("options"), f"{here}.options")
    _unknown(options, KIND_OPTIONS.get(kind, set()), f"{here}.options")
    for flag in ("create_customers", "ignore_sign"):
        if flag in options and not isinstance(options[flag], bool):
            raise ProfileError(f"{here}.options.{flag} must be true or false")
    implied = options.get("implied_payment_date")
    if implied is not None and implied not in IMPLIED_PAYMENT_DATES:
        raise ProfileError(
            f"{here}.options.implied_payment_date must be one of {', '.join(IMPLIED_PAYMENT_DATES)}"
        )
    if not columns:  # constants or value maps only: the columns keep ardesk's names
        columns = {name: (name,) for name in fields}
    return KindMapping(
        columns=columns,
        constants=constants,
        defaults=defaults,
        values=values,
        filter_column=filter_column,
        filter_values=filter_values,
        options=options,
    )


# --- header resolution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    field: str
    index: int  # position of the column in the file
    column: str  # the column's name as the file spells it (for error reports)


@dataclass
class ColumnMatch:
    bindings: list[Binding]
    missing: list[tuple[str, str]]  # (ardesk field, expected column name)
    duplicates: list[str]


def match_columns(header: list[str], kind: Kind, mapping: KindMapping) -> ColumnMatch:
    """Bind each mapped field to a column of the header; list the required ones that are missing."""
    index: dict[str, int] = {}
    duplicates: list[str] = []
    for i, name in enumerate(header):
        key = normalise_header(name)
        if not key:
            continue
        if key in index:
            duplicates.append(name.strip())
            continue
        index[key] = i
    bindings: list[Binding] = []
    missing: list[tuple[str, str]] = []
    for spec in FIELDS[kind]:
        if spec.name in mapping.constants:
            continue
        names = mapping.columns.get(spec.name, ())
        found = next((index[normalise_header(n)] for n in names if normalise_header(n) in index), None)
        if found is not None:
            bindings.append(Binding(spec.name, found, header[found].strip()))
        elif spec.required and spec.name not in mapping.defaults:
            missing.append((spec.name, names[0] if names else spec.name))
    return ColumnMatch(bindings=bindings, missing=missing, duplicates=duplicates)


def header_test(kind: Kind, mapping: KindMapping) -> Any:
    """A predicate telling whether a row is the header: it names every required column."""
    required = [
        {normalise_header(n) for n in mapping.columns.get(f.name, ())}
        for f in FIELDS[kind]
        if f.required and f.name not in mapping.constants and f.name not in mapping.defaults
    ]

    def is_header(cells: list[str]) -> bool:
        names = {normalise_header(c) for c in cells}
        return all(options & names for options in required)

    return is_header
