"""Pure parsing: numbers, dates, delimiters, encodings, headers, profiles, the error log, export
neutralisation. No database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ardesk.core.exports import neutralise
from ardesk.imports.parsing import (
    DateParser,
    FileProblem,
    NumberParser,
    amount_to_minor,
    detect_encoding,
    human_date_format,
    normalise_header,
    parse_bool,
    read_table,
    sniff_delimiter,
)
from ardesk.imports.profiles import (
    ProfileError,
    header_test,
    load_profile,
    match_columns,
    parse_profile,
    parse_profile_text,
    shipped_profiles,
)
from ardesk.imports.report import ErrorLog, RowError
from ardesk.imports.schema import Kind

US = NumberParser(".", ",")
EU = NumberParser(",", ".")


@pytest.mark.parametrize(
    ("parser", "text", "expected"),
    [
        (US, "1234.50", (123450, 2)),
        (US, "1,234.50", (123450, 2)),
        (US, "(1,234.50)", (-123450, 2)),
        (US, "1234.50-", (-123450, 2)),
        (US, "-$1,234", (-1234, 0)),
        (US, "$ 12.5", (125, 1)),
        (US, "+7", (7, 0)),
        (US, "1,234,567.891", (1234567891, 3)),
        (EU, "1.234,50", (123450, 2)),
        (EU, "1.234,50-", (-123450, 2)),
        (EU, "1234,5", (12345, 1)),
        (EU, "€1.000", (1000, 0)),
        (NumberParser(".", ""), "1000.00", (100000, 2)),
        (NumberParser(",", " "), "1 234,50", (123450, 2)),
        (NumberParser(".", "'"), "1'234.50", (123450, 2)),
    ],
)
def test_numbers(parser, text, expected):
    assert parser(text) == expected


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (US, "abc", "'abc' is not a number in the format 1,234.56"),
        (US, "1.234,50", "'1.234,50' is not a number in the format 1,234.56"),
        (US, "12,34.5", "'12,34.5' is not a number in the format 1,234.56"),
        (US, "1e5", "'1e5' is not a number in the format 1,234.56"),
        (US, "", "'' is not a number in the format 1,234.56"),
        (EU, "1,234.50", "'1,234.50' is not a number in the format 1.234,56"),
        (EU, "1.5", "'1.5' is not a number in the format 1.234,56"),
    ],
)
def test_not_numbers(parser, text, message):
    with pytest.raises(ValueError) as exc:
        parser(text)
    assert str(exc.value) == message


def test_number_parser_refuses_equal_separators():
    with pytest.raises(ValueError, match="single, different characters"):
        NumberParser(",", ",")


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False))
def test_any_amount_round_trips_in_every_format(value):
    minor = int(value.scaleb(2))
    plain = f"{abs(value):.2f}"
    grouped = f"{abs(value):,.2f}"
    european = grouped.replace(",", "_").replace(".", ",").replace("_", ".")
    negative = value < 0
    cases = [
        (US, ("-" if negative else "") + plain),
        (US, f"({grouped})" if negative else grouped),
        (US, grouped + ("-" if negative else "")),
        (EU, european + ("-" if negative else "")),
    ]
    for parser, text in cases:
        assert amount_to_minor(parser(text), 2, "USD") == minor


def test_amount_to_minor():
    assert amount_to_minor((12340, 3), 2, "USD") == 1234
    assert amount_to_minor((5, 0), 3, "KWD") == 5000
    with pytest.raises(ValueError, match=r"^12\.345 has more than 2 decimal places for USD$"):
        amount_to_minor((12345, 3), 2, "USD")
    with pytest.raises(ValueError, match=r"^10\.5 has more than 0 decimal places for JPY$"):
        amount_to_minor((105, 1), 0, "JPY")
    with pytest.raises(ValueError, match="is too large"):
        amount_to_minor((10**16, 0), 2, "USD")


def test_dates():
    sap = DateParser(["%d.%m.%Y"])
    assert sap("31.01.2026") == dt.date(2026, 1, 31)
    assert sap("2026-01-31") == dt.date(2026, 1, 31)  # ISO always (XLSX date cells arrive so)
    assert sap("2026-01-31 00:00:00") == dt.date(2026, 1, 31)
    assert sap.cache["31.01.2026"] == dt.date(2026, 1, 31)
    us = DateParser(["%m/%d/%Y", "%m/%d/%y"])
    assert us("01/31/2026") == us("1/31/26") == dt.date(2026, 1, 31)
    with pytest.raises(ValueError) as exc:
        us("31/01/2026")
    assert (
        str(exc.value)
        == "'31/01/2026' is not a valid date in the format MM/DD/YYYY or MM/DD/YY or YYYY-MM-DD"
    )
    with pytest.raises(ValueError) as exc:
        sap("30.02.2026")
    assert str(exc.value) == "'30.02.2026' is not a valid date in the format DD.MM.YYYY or YYYY-MM-DD"
    with pytest.raises(ValueError, match=r"^'1899-12-30' is out of range \(years 1900-2199\)$"):
        sap("1899-12-30")
    assert human_date_format("%Y%m%d") == "YYYYMMDD"


def test_bools():
    assert [parse_bool(t) for t in ("yes", "Y", "x", "1", "TRUE", "no", "0", "false", "N")] == [True] * 5 + [
        False
    ] * 4
    with pytest.raises(ValueError, match=r"^'maybe' is not yes or no$"):
        parse_bool("maybe")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a|b|c\n1|2|3\n", "|"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ('name;note\n"Acme, Inc.";"a, b, c"\n', ";"),
        ('"x\ny",b;c\n', ","),
        ("single\n1\n", ","),
        ("", ","),
    ],
)
def test_sniff_delimiter(sample, expected):
    assert sniff_delimiter(sample) == expected


def test_normalise_header():
    assert normalise_header("\ufeff Net-Due_Date ") == normalise_header("net due date") == "net due date"
    assert normalise_header("Doc. Date") == "doc date"


def test_detect_encoding(tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes("a,b\n1,ä\n".encode())
    assert detect_encoding(p) == ("utf-8", [], 2)
    p.write_bytes("\ufeffa,b\n".encode())
    assert detect_encoding(p)[0] == "utf-8-sig"
    p.write_bytes("a,b\n1,€\n".encode("cp1252"))
    assert detect_encoding(p) == (
        "cp1252",
        ["the file is not UTF-8 (first bad byte at offset 6); it was read as Windows-1252"],
        2,
    )
    p.write_bytes(b"a,b\n1,\x81\n")  # undefined in Windows-1252
    assert detect_encoding(p)[0] == "latin-1"
    p.write_bytes("a\tb\n1\t2\n".encode("utf-16"))
    assert detect_encoding(p)[0] == "utf-16"


def test_read_table_rows_are_spreadsheet_rows(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text('title line\n\nnumber,note\nA,"two\nlines"\n\nB,x\n', encoding="utf-8")
    table = read_table(p, is_header=lambda cells: "number" in cells)
    assert (table.header, table.header_row) == (["number", "note"], 3)
    assert list(table.rows) == [(4, ["A", "two\nlines"]), (5, []), (6, ["B", "x"])]


def test_read_table_utf16_excel_text(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes("number\tamount\nA\t1,5\n".encode("utf-16"))
    table = read_table(p)
    assert (table.delimiter, table.header, list(table.rows)) == (
        "\t",
        ["number", "amount"],
        [(2, ["A", "1,5"])],
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"\x00\x01\x02abc", "the file is not a CSV or XLSX file (binary content at character 0)"),
        (bytes(range(1, 32)) * 10, "the file is not a CSV or XLSX file (it is full of control characters)"),
    ],
)
def test_not_tables(tmp_path, content, message):
    p = tmp_path / "f.csv"
    p.write_bytes(content)
    with pytest.raises(FileProblem) as exc:
        read_table(p)
    assert exc.value.message == message


def test_shipped_profiles_load():
    assert shipped_profiles() == ["ardesk", "quickbooks", "sap"]
    sap = load_profile("sap")
    assert (sap.decimal, sap.thousands, sap.date_formats[0]) == (",", ".", "%d.%m.%Y")
    assert sap.mapping(Kind.INVOICES).columns["amount"][0] == "Amount in local currency"
    assert sap.mapping(Kind.APPLICATIONS).identity  # not mapped by SAP: ardesk's names
    assert load_profile(None).name == "ardesk"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colums": {}}, "mapping profile x: unknown setting colums (allowed: "),
        ({"kinds": {"bills": {}}}, "mapping profile x: unknown import kind 'bills'"),
        (
            {"kinds": {"invoices": {"columns": {"amout": "Amount"}}}},
            "mapping profile x: kinds.invoices.columns: amout is not an ardesk invoices field",
        ),
        ({"dates": ["DD.MM.YYYY"]}, "mapping profile x: dates must be a list of formats such as '%d.%m.%Y'"),
        (
            {"numbers": {"decimal": ",", "thousands": ","}},
            "mapping profile x: numbers: the decimal and thousands",
        ),
        (
            {"kinds": {"invoices": {"values": {"status": {"D": "argued"}}}}},
            "mapping profile x: kinds.invoices.values.status: argued is not one of disputed, open",
        ),
        (
            {"kinds": {"payments": {"options": {"implied_payment_date": "due_date"}}}},
            "mapping profile x: kinds.payments.options: unknown setting implied_payment_date",
        ),
        ({"format": {"delimiter": ";;"}}, "mapping profile x: format.delimiter must be one character"),
    ],
)
def test_profile_errors_name_the_setting(data, message):
    with pytest.raises(ProfileError) as exc:
        parse_profile(data, default_name="x")
    assert exc.value.message.startswith(message)


def test_profile_text_and_unknown_names(tmp_path):
    with pytest.raises(ProfileError, match="is not valid YAML or JSON"):
        parse_profile_text("kinds: [", source="p.yaml")
    with pytest.raises(
        ProfileError, match=r"^unknown mapping profile 'oracle': use one of ardesk, quickbooks, sap"
    ):
        load_profile("oracle")
    p = tmp_path / "mine.json"
    p.write_text('{"dates": "%d/%m/%Y"}', encoding="utf-8")
    assert load_profile(str(p)).date_formats == ("%d/%m/%Y",)
    assert load_profile(str(p)).name == "mine"


def test_match_columns_and_header_test():
    mapping = load_profile("sap").mapping(Kind.INVOICES)
    header = ["Account", "Document Number", "Document Date", "Net due date", "Amount in LC", "Text"]
    match = match_columns(header, Kind.INVOICES, mapping)
    assert {b.field: b.index for b in match.bindings} == {
        "number": 1,
        "customer": 0,
        "invoice_date": 2,
        "due_date": 3,
        "amount": 4,
    }
    assert match.missing == []
    missing = match_columns(["Account", "Document Date"], Kind.INVOICES, mapping)
    assert missing.missing == [("number", "Document Number"), ("amount", "Amount in local currency")]
    is_header = header_test(Kind.INVOICES, mapping)
    assert is_header(header) and not is_header(["Customer line items", "", ""])


def test_error_log_keeps_the_first_rows_and_counts_all():
    log = ErrorLog(limit=3)
    for row in (9, 2, 7, 5, 3, 2):
        log.add(row, "c", "v", f"r{row}")
    assert log.count == 6
    assert [(e.row, e.reason) for e in log.sorted()] == [(2, "r2"), (2, "r2"), (3, "r3")]
    assert str(RowError(3, "amount", "x", "bad")) == "row 3, column 'amount', value 'x': bad"


def test_neutralise():
    assert neutralise("=SUM(A1)") == "'=SUM(A1)"
    assert neutralise("@cmd") == "'@cmd"
    assert neutralise("-12") == "'-12"
    assert neutralise(-12) == -12
    assert neutralise(Decimal("-1.50")) == Decimal("-1.50")
    assert neutralise(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert neutralise(None) == ""
    assert neutralise("Acme") == "Acme"
