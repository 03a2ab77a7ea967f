"""Small HTML and export readers for the page tests."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from openpyxl import load_workbook


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each body cell (row headers included) of `<table id=table_id>`, tags stripped,
    whitespace collapsed."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert match, f"no table {table_id}"
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def csv_rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def xlsx_rows(response: Any) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in wb.active.iter_rows(values_only=True)]
