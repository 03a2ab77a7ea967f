"""Readers for the KPI pages' HTML."""

from __future__ import annotations

import re
import zlib

from tests.web.helpers import csv_rows, table_rows, xlsx_rows

__all__ = ["changes", "csv_rows", "foot_rows", "pdf_text", "table_rows", "tiles", "xlsx_rows"]


def tiles(html: str) -> list[tuple[str, str]]:
    """(key, value text) of each KPI tile, in page order (currency panels in order)."""
    return re.findall(r'data-kpi="(\w+)" title="([^"]*)"', html)


def changes(html: str) -> list[tuple[str, str]]:
    """(key, change text) of each KPI tile."""
    return re.findall(r'data-change="(\w+)"[^>]*>([^<]*)<', html)


def foot_rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of the <tfoot> rows of `<table id=table_id>`."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tfoot>(.*?)</tfoot>', html, re.S)
    assert match, f"no tfoot in {table_id}"
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def pdf_text(data: bytes) -> str:
    """The text of a PDF's content streams (inflated when compressed), for looking up strings."""
    out = [data.decode("latin-1")]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)
