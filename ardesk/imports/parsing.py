"""Reading import files: CSV (any delimiter, any common encoding) and XLSX, and the cell parsers.

Pure functions and small value classes, no database. Row numbers are the ones a spreadsheet shows: the
first record of the file is row 1 (normally the header), a record with quoted newlines is one row, and
blank lines keep their number.

Numbers are parsed into an exact `(digits, decimals)` pair (`"1,234.50"` -> `(123450, 2)`), converted to
integer minor units once the currency is known. `float` is never used for amounts: an XLSX number cell is
read through its shortest decimal representation.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_FIELD_CHARS = 10_000
SNIFF_CHARS = 64 * 1024
DELIMITERS = (",", ";", "|", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "|": "pipe", "\t": "tab"}
MAX_MINOR = 10**15  # a quadrillion minor units: far beyond any invoice, far below BIGINT
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls

Amount = tuple[int, int]  # (digits as an integer, number of decimals): 1234.50 -> (123450, 2)


class FileProblem(ValueError):
    """The file as a whole cannot be read (empty, binary, not a table). `row` when one row is to blame."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


# --- cells ---------------------------------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """Header names compare case-insensitively with spaces, underscores, dots and hyphens alike:
    "Net due date", "net_due_date" and "NET-DUE-DATE" are one column."""
    return re.sub(r"[\s_.\-]+", " ", name.replace("\ufeff", "").strip().strip('"').lower()).strip()


def human_date_format(fmt: str) -> str:
    """`%d.%m.%Y` -> `DD.MM.YYYY`, for error messages."""
    for code, text in (
        ("%d", "DD"),
        ("%m", "MM"),
        ("%Y", "YYYY"),
        ("%y", "YY"),
        ("%b", "Mon"),
        ("%B", "Month"),
    ):
        fmt = fmt.replace(code, text)
    return fmt


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")
MIN_YEAR, MAX_YEAR = 1900, 2199


class DateParser:
    """Parses dates in the profile's formats (tried in order), then ISO `YYYY-MM-DD` (which is also how
    XLSX date cells arrive). Results are cached: an export has far fewer distinct dates than rows."""

    def __init__(self, formats: list[str] | tuple[str, ...] = ("%Y-%m-%d",)) -> None:
        self.formats = [f for f in formats if f != "%Y-%m-%d"]
        shown = [*formats] if "%Y-%m-%d" in formats else [*formats, "%Y-%m-%d"]
        self.expected = " or ".join(human_date_format(f) for f in shown)
        self.cache: dict[str, dt.date] = {}

    def __call__(self, text: str) -> dt.date:
        hit = self.cache.get(text)
        if hit is not None:
            return hit
        value = self._parse(text)
        if len(self.cache) < 100_000:
            self.cache[text] = value
        return value

    def _parse(self, text: str) -> dt.date:
        value: dt.date | None = None
        for fmt in self.formats:
            try:
                value = dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a business date, no zone
                break
            except ValueError:
                continue
        if value is None and (m := _ISO_DATE.fullmatch(text)):
            try:
                value = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                value = None
        if value is None:
            raise ValueError(f"{text!r} is not a valid date in the format {self.expected}")
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"{text!r} is out of range (years {MIN_YEAR}-{MAX_YEAR})")
        return value


_SYMBOLS = str.maketrans({"$": None, "€": None, "£": None, "¥": None, "\u00a0": None, "\u202f": None})


class NumberParser:
    """Parses ERP-formatted numbers exactly: `1,234.50`, `(1,234.50)`, `1234.50-` (SAP trailing minus),
    `-$12`, and with `decimal=","`, `thousands="."`: `1.234,50`. Thousands separators must group by three,
    so a file in the wrong number format is refused instead of misread."""

    def __init__(self, decimal: str = ".", thousands: str = ",") -> None:
        if decimal == thousands or len(decimal) != 1 or len(thousands) > 1:
            raise ValueError("the decimal and thousands separators must be single, different characters")
        self.decimal, self.thousands = decimal, thousands
        d = re.escape(decimal)
        self._fast = re.compile(rf"(\d{{1,18}})(?:{d}(\d{{1,12}}))?")
        grouped = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+" if thousands else r"(?!)"
        self._full = re.compile(rf"({grouped}|\d{{1,18}})(?:{d}(\d{{1,12}}))?")
        self.example = f"1{thousands}234{decimal}56"

    def __call__(self, text: str) -> Amount:
        m = self._fast.fullmatch(text)
        if m is not None:
            whole, frac = m.groups()
            if frac is None:
                return int(whole), 0
            return int(whole + frac), len(frac)
        return self._slow(text)

    def _slow(self, text: str) -> Amount:
        s = text.translate(_SYMBOLS).replace(" ", "")
        negative = False
        if s.startswith("(") and s.endswith(")"):
            negative, s = True, s[1:-1].strip()
        if s.endswith("-") and not s.startswith(("-", "+")):
            negative, s = not negative, s[:-1]
        if s.startswith(("-", "+")):
            negative, s = (not negative if s[0] == "-" else negative), s[1:]
        s = s.translate(_SYMBOLS)  # "-$12" once the sign is off
        m = self._full.fullmatch(s)
        if m is None:
            raise ValueError(f"{text!r} is not a number in the format {self.example}")
        whole, frac = m.groups()
        if self.thousands:
            whole = whole.replace(self.thousands, "")
        digits = int(whole + (frac or ""))
        return (-digits if negative else digits), len(frac or "")


def amount_to_minor(value: Amount, exponent: int, currency: str) -> int:
    """Exact conversion to minor units; more decimals than the currency has is an error, not a rounding."""
    digits, decimals = value
    if decimals <= exponent:
        minor = digits * 10 ** (exponent - decimals)
    else:
        minor, rest = divmod(digits, 10 ** (decimals - exponent))
        if rest:
            raise ValueError(f"{format_amount(value)} has more than {exponent} decimal places for {currency}")
    if abs(minor) >= MAX_MINOR:
        raise ValueError(f"{format_amount(value)} is too large")
    return minor


def format_amount(value: Amount) -> str:
    """`(123450, 2)` -> `"1234.50"`."""
    digits, decimals = value
    return str(Decimal(digits).scaleb(-decimals))


TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "t", "on", "ja", "oui", "si"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", "off", "nein", "non"})


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not yes or no")


# --- files ---------------------------------------------------------------------------------------------


@dataclass
class Table:
    """A file read as rows of text cells. `rows` yields `(row_number, cells)` for the data rows."""

    kind: str  # "csv" or "xlsx"
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    approx_rows: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    delimiter: str = "auto"  # "auto" or one character
    encoding: str = "auto"  # "auto" or a Python codec name
    skip_rows: int | None = None  # rows before the header; None = find the header by its column names
    sheet: str | None = None  # XLSX sheet name (default: the first)
    decimal: str = "."  # how XLSX number cells are written out for the number parser


def detect_format(head: bytes) -> str:
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        return "xls"
    return "csv"


def detect_encoding(path: Path) -> tuple[str, list[str], int]:
    """Return (codec, warnings, line count). UTF-8 (with or without BOM) first, then UTF-16 by its BOM,
    then Windows-1252, then Latin-1 (which reads anything), saying so in a warning."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", [], _count_lines(path)
    lines = 0
    bad_at: int | None = None
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            if bad_at is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad_at = offset + exc.start
            offset += len(chunk)
    if bad_at is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_at = offset
    if bad_at is None:
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), [], lines
    data = path.read_bytes()
    for codec, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1 (ISO-8859-1)")):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return (
            codec,
            [f"the file is not UTF-8 (first bad byte at offset {bad_at}); it was read as {label}"],
            lines,
        )
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def check_text(sample: str) -> None:
    """Refuse binary content: NUL characters or a high share of control characters."""
    if not sample.strip("\ufeff \r\n\t"):
        raise FileProblem("the file is empty")
    nul = sample.find("\x00")
    if nul >= 0:
        raise FileProblem(f"the file is not a CSV or XLSX file (binary content at character {nul})")
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(8, len(sample) // 100):
        raise FileProblem("the file is not a CSV or XLSX file (it is full of control characters)")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; | tab that splits the first lines most often and most consistently.
    Quoted text is ignored, so a comma inside "Acme, Inc." does not count."""
    lines = _first_records(sample, 20)
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for cand in DELIMITERS:
        counts = [_count_outside_quotes(line, cand) for line in lines]
        header = counts[0]
        if header == 0:
            continue
        consistent = sum(1 for c in counts if c == header)
        score = (consistent, header)
        if score > best_score:
            best, best_score = cand, score
    return best


def _first_records(sample: str, n: int) -> list[str]:
    """Up to n non-blank logical lines of the sample, joining lines inside quotes."""
    out: list[str] = []
    current: list[str] = []
    in_quotes = False
    for line in sample.splitlines():
        current.append(line)
        in_quotes ^= line.count('"') % 2 == 1
        if not in_quotes:
            joined = "\n".join(current)
            current = []
            if joined.strip():
                out.append(joined)
            if len(out) >= n:
                break
    return out[:-1] if len(out) > 1 and len(sample) >= SNIFF_CHARS else out  # last may be cut off


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


HeaderTest = Any  # Callable[[list[str]], bool]: does this row look like the header?


def read_table(path: Path, options: ReadOptions = ReadOptions(), *, is_header: HeaderTest = None) -> Table:
    """Open `path` as a table. `is_header(cells)` lets the caller find the header row below a preamble
    (report titles, dates) when `options.skip_rows` is None."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise FileProblem("the file is empty")
    with path.open("rb") as fh:
        head = fh.read(8)
    fmt = detect_format(head)
    if fmt in ("xlsx", "xls"):
        return _read_workbook(path, options, is_header)
    return _read_csv(path, options, is_header)


def _read_csv(path: Path, options: ReadOptions, is_header: HeaderTest) -> Table:
    if options.encoding and options.encoding != "auto":
        encoding, lines = options.encoding, _count_lines(path)
        warnings: list[str] = []
    else:
        encoding, warnings, lines = detect_encoding(path)
    with path.open("r", encoding=encoding, errors="strict", newline="") as fh:
        try:
            sample = fh.read(SNIFF_CHARS)
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"the file cannot be read as {encoding}: {exc.reason} at byte {exc.start}"
            ) from None
    check_text(sample)
    if options.delimiter and options.delimiter != "auto":
        delimiter = "\t" if options.delimiter in ("tab", "\\t") else options.delimiter
    else:
        delimiter = sniff_delimiter(sample.lstrip("\ufeff"))

    fh = path.open("r", encoding=encoding, errors="strict", newline="")
    reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=False)
    records = _csv_records(fh, reader)
    header, header_row = _find_header(records, options, is_header)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return Table(
        kind="csv",
        header=header,
        header_row=header_row,
        rows=records,
        encoding=encoding,
        delimiter=delimiter,
        approx_rows=max(lines - header_row, 0),
        warnings=warnings,
    )


def _csv_records(fh: Any, reader: Any) -> Iterator[tuple[int, list[str]]]:
    n = 0
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                text = str(exc)
                if "field larger than field limit" in text:
                    raise FileProblem(
                        f"a field is longer than {csv.field_size_limit():,} characters "
                        f"(the limit is {MAX_FIELD_CHARS:,})",
                        row=n + 1,
                    ) from None
                raise FileProblem(f"the file is not valid CSV: {text}", row=n + 1) from None
            except UnicodeDecodeError as exc:
                raise FileProblem(f"the file cannot be decoded: {exc.reason}", row=n + 1) from None
            n += 1
            yield n, row
    finally:
        fh.close()


def _find_header(
    records: Iterator[tuple[int, list[str]]], options: ReadOptions, is_header: HeaderTest
) -> tuple[list[str], int]:
    skip = options.skip_rows
    first: tuple[int, list[str]] | None = None
    seen: list[tuple[int, list[str]]] = []
    for rowno, cells in records:
        if skip is not None:
            if rowno <= skip:
                continue
            if not any(c.strip() for c in cells):
                continue
            return cells, rowno
        if not any(c.strip() for c in cells):
            continue
        if first is None:
            first = (rowno, cells)
        if is_header is None or is_header(cells):
            return cells, rowno
        seen.append((rowno, cells))
        if len(seen) >= 30:
            break
    if first is None:
        raise FileProblem("the file is empty")
    # No row carried the expected columns: report against the first row, and read the data after it.
    return first[1], first[0]


def _cell_text(value: Any, decimal: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
        return text.replace(".", decimal) if decimal != "." else text
    if isinstance(value, int):
        return str(value)
    return str(value)


def _read_workbook(path: Path, options: ReadOptions, is_header: HeaderTest) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for broken zips and XML
        raise FileProblem(f"the spreadsheet cannot be opened: {exc}") from None
    try:
        sheet = book.get_sheet_by_name(options.sheet) if options.sheet else book.get_sheet_by_index(0)
    except Exception:
        raise FileProblem(
            f"the workbook has no sheet named {options.sheet!r}; sheets: {', '.join(book.sheet_names)}"
        ) from None
    decimal = options.decimal

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i, raw in enumerate(sheet.iter_rows(), start=1):
            yield i, [_cell_text(v, decimal) for v in raw]

    records = rows()
    header, header_row = _find_header(records, options, is_header)
    height = sheet.height if sheet.height else 0
    start_row = sheet.start[0] if sheet.start else 0
    return Table(
        kind="xlsx",
        header=header,
        header_row=header_row,
        rows=records,
        approx_rows=max(start_row + height - header_row, 0),
    )
