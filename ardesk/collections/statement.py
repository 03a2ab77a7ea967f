"""The statement attached to a dunning message (PDF via reportlab, and CSV), and dunning letters.

Both are drawn from the prepared message context (`selectors.message_context`), so what the customer reads
in the email, the PDF and the CSV is the same list of invoices and amounts.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

PAGE_W, PAGE_H = A4
MARGIN = 48


def statement_csv(ctx: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Invoice", "Invoice date", "Due date", "Days past due", "Open", "Currency"])
    for row in ctx["invoices"]:
        w.writerow(
            [
                row["number"],
                row["invoice_date"],
                row["due_date"],
                row["days_past_due"],
                row["open"],
                row["currency"],
            ]
        )
    return buf.getvalue().encode()


def statement_pdf(ctx: dict[str, Any], *, title: str = "Statement of account", letter: str = "") -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=0, invariant=1)
    c.setTitle(f"{title} {ctx['customer']['account_number']} {ctx['as_of']}")
    c.setAuthor("ardesk")
    y = PAGE_H - MARGIN
    c.setFont("Helvetica-Bold", 14)
    c.drawString(MARGIN, y, f"{ctx['company']} - {title}")
    y -= 22
    c.setFont("Helvetica", 10)
    c.drawString(
        MARGIN, y, f"{ctx['customer']['name']} ({ctx['customer']['account_number']}), as of {ctx['as_of']}"
    )
    y -= 24
    if letter:
        for line in letter.splitlines():
            c.drawString(MARGIN, y, line[:110])
            y -= 13
            if y < MARGIN + 40:
                c.showPage()
                c.setFont("Helvetica", 10)
                y = PAGE_H - MARGIN
        y -= 10
    c.setFont("Helvetica-Bold", 10)
    cols = [MARGIN, MARGIN + 110, MARGIN + 200, MARGIN + 290, MARGIN + 460]
    for x, head in zip(cols, ["Invoice", "Invoice date", "Due date", "Days past due", "Open"], strict=True):
        c.drawString(x, y, head)
    c.setFont("Helvetica", 10)
    for row in ctx["invoices"]:
        y -= 14
        if y < MARGIN:
            c.showPage()
            c.setFont("Helvetica", 10)
            y = PAGE_H - MARGIN
        c.drawString(cols[0], y, row["number"])
        c.drawString(cols[1], y, row["invoice_date"])
        c.drawString(cols[2], y, row["due_date"])
        c.drawRightString(cols[3] + 60, y, str(row["days_past_due"]))
        c.drawRightString(PAGE_W - MARGIN, y, f"{row['open']} {row['currency']}")
    y -= 20
    c.setFont("Helvetica-Bold", 10)
    c.drawRightString(PAGE_W - MARGIN, y, f"Total: {ctx['total']}")
    c.showPage()
    c.save()
    return buf.getvalue()
