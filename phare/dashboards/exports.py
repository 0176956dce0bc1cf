"""Downloads: a figure as CSV or PNG, the whole report as PDF or XLSX.

PNG and PDF are drawn with matplotlib's Agg backend (PDF through `PdfPages`: figures and text pages, nothing
else needed). XLSX is written with openpyxl: a cover sheet, one sheet per section with a table per figure,
and a sheet of native Excel bar charts over those tables. Suppressed cells are written as "<k" text. No cell of the
CSV or the XLSX starts a formula (htcds.cells).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from django.utils import timezone
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from htcds import cells
from phare.dashboards import world
from phare.dashboards.figures import MONTHS_SHOWN, SECTIONS, Figure, axis_labels
from phare.dashboards.svg import COLOURS, MAP_SCALE, SUPPRESSED, shade

PDF_ROWS = 14


def _shape(text: str) -> str:
    """Right-to-left text for matplotlib, which lays glyphs out left to right without shaping: joined and
    reordered when python-bidi and arabic-reshaper are installed, unchanged otherwise."""
    if not get_language_bidi():
        return text
    try:
        import arabic_reshaper
        from bidi.algorithm import get_display
    except ImportError:
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def csv_bytes(fig: Figure) -> bytes:
    """No cell starts a formula (htcds.cells): labels come from names people typed (an owner or partner called
    "=HYPERLINK(...)"), and so may column names and summary texts."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cells.csv_row([_("Code"), _("Category"), *fig.columns]))
    for row in fig.rows:
        w.writerow(cells.csv_row([row.code, row.label, *[c.value if c.value is not None else c.text for c in row.cells]]))
    if fig.totals:
        w.writerow(cells.csv_row(["", _("Total"), *[c.value if c.value is not None else c.text for c in fig.totals]]))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def _clip(label: str, n: int = 40) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def draw(fig: Figure, ax: Axes, max_rows: int = 25) -> None:
    """Draw one figure on matplotlib axes."""
    ax.set_title(_shape(fig.title), fontsize=11, loc="right" if get_language_bidi() else "left")
    if fig.kind == "map":
        _draw_map(fig, ax)
        return
    if fig.kind == "months":
        rows = fig.rows[-MONTHS_SHOWN:]
        n = max(len(fig.columns), 1)
        width = 0.8 / n
        for j, name in enumerate(fig.columns):
            xs = [i + j * width for i in range(len(rows))]
            ys = [r.cells[j].value or 0 for r in rows]
            ax.bar(xs, ys, width=width, color=COLOURS[j % len(COLOURS)], label=_shape(name))
        # Months by name when few, else the year under its first month; counts in whole numbers.
        labels = axis_labels([r.code for r in rows], 12, min_gap=3)
        ax.set_xticks([i for i, _label in labels])
        ax.set_xticklabels([_shape(label) for _i, label in labels], fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return
    rows = fig.rows[:max_rows][::-1]
    values = [r.cells[0].value or 0 for r in rows]
    colours = [SUPPRESSED if r.cells[0].value is None else COLOURS[0] for r in rows]
    ys = list(range(len(rows)))
    ax.barh(list(ys), values, color=colours)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([_shape(_clip(r.label)) for r in rows], fontsize=8)
    peak = max(values, default=0) or 1
    for y, r, v in zip(ys, rows, values, strict=True):
        ax.text(v + peak * 0.01, y, r.cells[0].text, va="center", fontsize=7, color="#5b6577")
    ax.set_xlim(0, peak * 1.15)
    ax.set_ylim(-0.8, max(len(rows), 4) - 0.2)  # a few rows keep slim bars
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    if get_language_bidi():
        ax.invert_xaxis()
        ax.yaxis.tick_right()


def _draw_map(fig: Figure, ax: Axes) -> None:
    x0, y0, x1, y1 = world.extent()
    values = {r.code: r.cells[0].value for r in fig.rows if r.code}
    peak = max((v or 0 for v in values.values()), default=0)
    for code, (cx, cy) in world.layout().items():
        v = values.get(code, 0)
        ax.add_patch(Rectangle((cx, -cy), 0.92, 0.92, color=shade(v, peak)))
        ax.text(cx + 0.46, -cy + 0.42, code, ha="center", va="center", fontsize=4.5,
                color="#ffffff" if v and peak and v / peak > 0.45 else "#5b6577")  # fmt: skip
    for i, colour in enumerate(MAP_SCALE):
        ax.add_patch(Rectangle((x0 + i * 1.2, -y1 - 2), 1.1, 0.6, color=colour))
    ax.text(x0 + len(MAP_SCALE) * 1.2 + 0.3, -y1 - 1.7, f"0 - {peak}", fontsize=6, va="center")
    ax.set_xlim(x0 - 0.5, x1 + 1.5)
    ax.set_ylim(-y1 - 2.5, -y0 + 1.5)
    ax.set_aspect("equal")
    ax.axis("off")


def png_bytes(fig: Figure) -> bytes:
    height = 4.2 if fig.kind in ("months", "map") else max(2.2, 0.6 + 0.28 * min(len(fig.rows), 25))
    mfig = MplFigure(figsize=(8, height), dpi=110)
    ax = mfig.add_subplot()
    draw(fig, ax)
    mfig.tight_layout()
    buf = io.BytesIO()
    mfig.savefig(buf, format="png")
    return buf.getvalue()


def _table_text(fig: Figure, rows: int = PDF_ROWS) -> list[list[str]]:
    out = [[_shape(_("Category")), *[_shape(c) for c in fig.columns]]]
    for r in fig.rows[:rows]:
        out.append([_shape(_clip(r.label, 48)), *[c.text for c in r.cells]])
    if len(fig.rows) > rows:
        out.append([_shape(_("… %(n)s more rows") % {"n": len(fig.rows) - rows}), *["" for _c in fig.columns]])
    if fig.totals:
        out.append([_shape(_("Total")), *[c.text for c in fig.totals]])
    return out


def _pages(figs: Sequence[Figure]) -> list[list[Figure]]:
    """Two figures a page (a month's report fits on a few pages); the map, which needs the width, alone."""
    pages: list[list[Figure]] = []
    for fig in figs:
        if fig.kind == "map":
            pages.append([fig])
        elif pages and len(pages[-1]) == 1 and pages[-1][0].kind != "map":
            pages[-1].append(fig)
        else:
            pages.append([fig])
    return pages


def _box(rect: tuple[float, float, float, float], rtl: bool) -> tuple[float, float, float, float]:
    """A box given for left-to-right pages, mirrored for right-to-left ones."""
    x, y, w, h = rect
    return (1 - x - w, y, w, h) if rtl else rect


def _pdf_table(page: MplFigure, fig: Figure, rect: tuple[float, float, float, float], rtl: bool, size: float) -> None:
    tax = page.add_axes(_box(rect, rtl))
    tax.axis("off")
    table = _table_text(fig)
    t = tax.table(cellText=table[1:], colLabels=table[0], loc="upper center", cellLoc="right" if rtl else "left")
    t.auto_set_font_size(False)
    t.set_fontsize(size)
    t.scale(1, 1.2)
    if fig.summary:
        tax.text(0.0, 0.0, "  ·  ".join(f"{_shape(a)}: {b}" for a, b in fig.summary), fontsize=7,
                 transform=tax.transAxes)  # fmt: skip


def pdf_bytes(title: str, subtitle: Sequence[str], key_figures: Sequence[tuple[str, str]],
              figs: Sequence[Figure]) -> bytes:  # fmt: skip
    """A4 pages: a cover with the key figures, then two figures a page, each chart beside its short table."""
    buf = io.BytesIO()
    rtl = get_language_bidi()
    ha = "right" if rtl else "left"
    xa = 0.92 if rtl else 0.08
    with PdfPages(buf, metadata={"Title": title, "Creator": "Phare", "CreationDate": timezone.now()}) as pdf:
        cover = plt.figure(figsize=(8.27, 11.69))
        cover.text(xa, 0.9, _shape(title), fontsize=20, ha=ha, weight="bold")
        for i, line in enumerate(subtitle):
            cover.text(xa, 0.86 - i * 0.025, _shape(line), fontsize=11, ha=ha, color="#5b6577")
        y = 0.75
        for label, value in key_figures:
            cover.text(xa, y, _shape(label), fontsize=12, ha=ha)
            cover.text(0.08 if rtl else 0.92, y, value, fontsize=12, ha="left" if rtl else "right", weight="bold")
            y -= 0.035
        pdf.savefig(cover)
        plt.close(cover)
        section = ""
        for group in _pages(figs):
            page = plt.figure(figsize=(8.27, 11.69))
            for slot, fig in enumerate(group):
                top = 0.96 if slot == 0 else 0.48  # the top of this figure's half page
                if fig.section != section:
                    section = fig.section
                    page.text(xa, top, _shape(str(SECTIONS.get(section, section))), fontsize=13, ha=ha, weight="bold")
                if fig.kind == "map":
                    draw(fig, page.add_axes(_box((0.08, 0.5, 0.84, 0.42), rtl)), max_rows=PDF_ROWS)
                    _pdf_table(page, fig, (0.08, 0.06, 0.84, 0.4), rtl, 8)
                    continue
                chart = (0.30, top - 0.4, 0.28, 0.34) if fig.kind == "bar" else (0.08, top - 0.38, 0.5, 0.3)
                draw(fig, page.add_axes(_box(chart, rtl)), max_rows=PDF_ROWS)
                _pdf_table(page, fig, (0.62, top - 0.42, 0.34, 0.38), rtl, 7)
                if fig.note:
                    page.text(xa, top - 0.44, _shape(fig.note), fontsize=7, ha=ha, color="#5b6577")
            pdf.savefig(page)
            plt.close(page)
    return buf.getvalue()


# A count stays a number (it sorts and sums) with digit grouping, which the spreadsheet shows with its reader's own
# separators (1,234 / 1 234 / 1.234); a suppressed count is its text ("<11").
COUNT_FORMAT = "#,##0"


def _count(cell: Any, c: Any) -> Any:
    if c.value is None:
        return cells.set_text(cell, c.text)
    cell.value = c.value
    cell.number_format = COUNT_FORMAT
    return cell


def xlsx_bytes(title: str, subtitle: Sequence[str], key_figures: Sequence[tuple[str, str]],
               figs: Sequence[Figure]) -> bytes:  # fmt: skip
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    rtl = get_language_bidi()
    cover = wb.active
    assert cover is not None
    cover.title = _("Summary")[:31]
    cover.sheet_view.rightToLeft = rtl
    cover.append(cells.xlsx_row(cover, [title]))
    cover["A1"].font = Font(bold=True, size=14)
    for line in subtitle:
        cover.append(cells.xlsx_row(cover, [line]))
    cover.append([])
    for label, value in key_figures:
        cover.append(cells.xlsx_row(cover, [label, value]))
    cover.column_dimensions["A"].width = 48
    charts = wb.create_sheet(_("Charts")[:31])
    charts.sheet_view.rightToLeft = rtl
    chart_row = 1
    sheets: dict[str, Any] = {}
    for fig in figs:
        name = str(SECTIONS.get(fig.section, fig.section))[:31]
        ws = sheets.get(name)
        if ws is None:
            ws = wb.create_sheet(name, index=len(sheets) + 1)
            ws.sheet_view.rightToLeft = rtl
            ws.column_dimensions["A"].width = 44
            sheets[name] = ws
        start = ws.max_row + 2 if ws.max_row > 1 else 1
        cells.set_text(ws.cell(row=start, column=1), fig.title).font = Font(bold=True)
        cells.set_text(ws.cell(row=start + 1, column=1), _("Category")).font = Font(bold=True)
        for j, col in enumerate(fig.columns):
            cells.set_text(ws.cell(row=start + 1, column=2 + j), col).font = Font(bold=True)
        r = start + 1
        for row in fig.rows:
            r += 1
            cells.set_text(ws.cell(row=r, column=1), row.label)
            for j, c in enumerate(row.cells):
                _count(ws.cell(row=r, column=2 + j), c)
        if fig.totals:
            r += 1
            cells.set_text(ws.cell(row=r, column=1), _("Total")).font = Font(bold=True)
            for j, c in enumerate(fig.totals):
                _count(ws.cell(row=r, column=2 + j), c).font = Font(bold=True)
        for label, value in fig.summary:
            r += 1
            cells.set_text(ws.cell(row=r, column=1), label)
            cells.set_text(ws.cell(row=r, column=2), value)
        if fig.note:
            r += 1
            cells.set_text(ws.cell(row=r, column=1), fig.note).font = Font(italic=True)
        if fig.rows:
            chart = BarChart()
            chart.type = "col" if fig.kind == "months" else "bar"
            chart.title = fig.title
            chart.height, chart.width = 7.5, 16
            last = start + 1 + len(fig.rows)
            data = Reference(ws, min_col=2, max_col=1 + len(fig.columns), min_row=start + 1, max_row=last)
            cats = Reference(ws, min_col=1, min_row=start + 2, max_row=last)
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(cats)
            charts.add_chart(chart, f"A{chart_row}")
            chart_row += 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
