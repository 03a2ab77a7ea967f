"""The AR overview as a PDF, drawn with reportlab (no browser, no network, built-in fonts).

One landscape page per currency: the options line, the KPI tiles with their change, the aging table and
a bar chart of it, and the top past-due customers. Amounts are the same formatted strings as on screen.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from ardesk.core.money import format_minor

from .exports import BASIS, MODES
from .selectors import Overview, Panel

PAGE_W, PAGE_H = landscape(A4)
MARGIN = 36
INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#64748b")
LINE = colors.HexColor("#e2e8f0")
BRAND = colors.HexColor("#1e3a5f")
BETTER = colors.HexColor("#2f855a")
WORSE = colors.HexColor("#c53030")
BAR_COLORS = ["#2f855a", "#d69e2e", "#dd6b20", "#dd6b20", "#c53030", "#c53030", "#9b2c2c"]


def overview_pdf(
    ov: Overview, *, filters: Sequence[tuple[str, str]] = (), title: str = "AR overview"
) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=0, invariant=1)
    c.setTitle(f"{title} as of {ov.opts.as_of.isoformat()}")
    c.setAuthor("ardesk")
    if not ov.panels:
        _header(c, ov, filters, title, None)
        c.setFont("Helvetica", 11)
        c.drawString(MARGIN, PAGE_H - 130, "No open receivables in this scope.")
        c.showPage()
    for panel in ov.panels:
        _header(c, ov, filters, title, panel.currency)
        _tiles(c, panel, ov, top=PAGE_H - 92)
        _aging(c, panel, ov, top=PAGE_H - 240)
        _top(c, panel, top=PAGE_H - 240)
        _footer(c)
        c.showPage()
    c.save()
    return buf.getvalue()


def _header(
    c: Canvas, ov: Overview, filters: Sequence[tuple[str, str]], title: str, currency: str | None
) -> None:
    o = ov.opts
    c.setFillColor(BRAND)
    c.rect(0, PAGE_H - 8, PAGE_W, 8, stroke=0, fill=1)
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 17)
    c.drawString(MARGIN, PAGE_H - 44, title + (f" · {currency}" if currency else ""))
    c.setFont("Helvetica", 9)
    c.setFillColor(MUTED)
    line = (
        f"As of {o.as_of.isoformat()} · compared with {o.previous.isoformat()} (one window earlier) · "
        f"window {o.window_days} days · aging on {BASIS[o.basis]} · {MODES[o.currency_mode]}"
    )
    if o.currency_mode == "base":
        line += f" ({o.base_currency})"
    c.drawString(MARGIN, PAGE_H - 60, line)
    extra = [f"entity {o.entity}"] if o.entity else []
    extra += [f"{label.lower()} {value}" for label, value in filters]
    c.drawString(
        MARGIN, PAGE_H - 73, "Filters: " + (", ".join(extra) if extra else "none (everything in your scope)")
    )


def _tiles(c: Canvas, panel: Panel, ov: Overview, top: float) -> None:
    cols = 5
    gap = 10
    w = (PAGE_W - 2 * MARGIN - gap * (cols - 1)) / cols
    h = 58
    for i, t in enumerate(panel.tiles):
        x = MARGIN + (i % cols) * (w + gap)
        y = top - (i // cols) * (h + gap) - h
        c.setStrokeColor(LINE)
        c.setFillColor(colors.white)
        c.roundRect(x, y, w, h, 5, stroke=1, fill=1)
        c.setFillColor(MUTED)
        c.setFont("Helvetica-Bold", 7.5)
        c.drawString(x + 9, y + h - 14, t.label.upper())
        c.setFillColor(INK)
        c.setFont("Helvetica-Bold", 13)
        c.drawString(x + 9, y + h - 32, _fit(t.text, "Helvetica-Bold", 13, w - 18))
        c.setFont("Helvetica", 7.5)
        c.setFillColor({"better": BETTER, "worse": WORSE}.get(t.direction, MUTED))
        c.drawString(
            x + 9, y + 9, _fit(f"{t.change_text} vs {ov.opts.previous.isoformat()}", "Helvetica", 7.5, w - 18)
        )


def _aging(c: Canvas, panel: Panel, ov: Overview, top: float) -> None:
    labels = ov.opts.bucket_labels
    cur = panel.currency
    left, width = MARGIN, (PAGE_W - 2 * MARGIN) * 0.56
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(left, top, f"Aging ({BASIS[ov.opts.basis]})")
    # the table: one column per bucket and the total
    cols = [*labels, "Open AR"]
    values = [*panel.row.buckets, panel.row.open_ar]
    # the total gets a wider column: it holds the largest amount
    total_w = width * 0.19
    col_w = (width - total_w) / len(labels)
    rights = [left + (i + 1) * col_w - 4 for i in range(len(labels))] + [left + width - 4]
    y = top - 20
    c.setFont("Helvetica-Bold", 7.5)
    c.setFillColor(MUTED)
    for right, label in zip(rights, cols, strict=True):
        c.drawRightString(right, y, label.upper())
    c.setStrokeColor(LINE)
    c.line(left, y - 4, left + width, y - 4)
    c.setFillColor(INK)
    for i, (right, v) in enumerate(zip(rights, values, strict=True)):
        font = "Helvetica-Bold" if i == len(values) - 1 else "Helvetica"
        c.setFont(font, 8)
        w = (total_w if i == len(values) - 1 else col_w) - 6
        c.drawRightString(right, y - 16, _fit(format_minor(v, cur), font, 8, w))
    c.setFont("Helvetica", 7.5)
    c.setFillColor(MUTED)
    c.drawString(
        left,
        y - 32,
        f"Unapplied cash {format_minor(panel.row.unapplied_cash, cur)} and open credits "
        f"{format_minor(panel.row.open_credits, cur)} {cur} are not netted in the buckets.",
    )
    # the bar chart
    chart_top, chart_h = y - 50, 170
    base = chart_top - chart_h
    high = max([v for v in panel.row.buckets if v > 0] or [1])
    bar_w = width / len(labels)
    c.setStrokeColor(LINE)
    c.line(left, base, left + width, base)
    for i, v in enumerate(panel.row.buckets):
        h = max(v, 0) / high * (chart_h - 18)
        x = left + i * bar_w + bar_w * 0.15
        c.setFillColor(colors.HexColor(BAR_COLORS[min(i, len(BAR_COLORS) - 1)]))
        if h:
            c.rect(x, base, bar_w * 0.7, h, stroke=0, fill=1)
        c.setFillColor(INK)
        c.setFont("Helvetica", 7)
        c.drawCentredString(x + bar_w * 0.35, base + h + 4, format_minor(v, cur))
        c.setFillColor(MUTED)
        c.drawCentredString(x + bar_w * 0.35, base - 11, labels[i])


def _top(c: Canvas, panel: Panel, top: float) -> None:
    left = MARGIN + (PAGE_W - 2 * MARGIN) * 0.62
    width = PAGE_W - MARGIN - left
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(left, top, "Top past-due customers")
    y = top - 20
    c.setFont("Helvetica-Bold", 7.5)
    c.setFillColor(MUTED)
    c.drawString(left, y, "CUSTOMER")
    c.drawRightString(left + width - 60, y, f"PAST DUE ({panel.currency})")
    c.drawRightString(left + width, y, "% OF AR")
    c.setStrokeColor(LINE)
    c.line(left, y - 4, left + width, y - 4)
    c.setFont("Helvetica", 8)
    c.setFillColor(INK)
    if not panel.top_past_due:
        c.drawString(left, y - 16, "Nothing past due.")
    for i, row in enumerate(panel.top_past_due):
        ry = y - 16 - i * 14
        c.drawString(left, ry, _fit(row.label, "Helvetica", 8, width - 140))
        c.drawRightString(left + width - 60, ry, format_minor(row.past_due, panel.currency))
        c.drawRightString(left + width, ry, "–" if row.pct_past_due is None else f"{row.pct_past_due}%")


def _footer(c: Canvas) -> None:
    c.setFont("Helvetica", 7)
    c.setFillColor(MUTED)
    c.drawString(
        MARGIN,
        22,
        "Buckets hold open invoices and add up to open AR. DSO, Best Possible DSO, ADD and CEI use credit "
        "sales invoiced in the window; ADP covers invoices paid in full in it. Blank (–) = undefined.",
    )
    c.drawRightString(PAGE_W - MARGIN, 22, "ardesk")


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, shortened with an ellipsis to fit `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
