"""Charts as small inline SVG, drawn on the server: no JavaScript, no fonts to fetch, a few kilobytes each.

Only presentation attributes are used (no `style`), so the pages keep a strict Content-Security-Policy.
Right-to-left languages put the labels on the right and grow the bars leftwards; time axes and the map keep
their usual orientation, with the text itself in the reading direction.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from phare.dashboards import world
from phare.dashboards.figures import MONTHS_SHOWN, Figure, axis_labels, num

COLOURS = ("#0b5cad", "#d9730d", "#2a9d8f", "#7b4fa0")
SUPPRESSED = "#c4c9d2"
TEXT = "#1d2433"
MUTED = "#5b6577"
MAP_SCALE = ("#eef2f7", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")


def _t(s: object) -> str:
    return escape(str(s), quote=True)


def _clip(label: str, n: int = 34) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


# Charts are drawn at about a phone's width and never stretched beyond it (dashboards.css), so that on a 390 px
# screen they shrink by at most a tenth: FONT stays above 11 px there.
WIDTH = 380
FONT = 13


def _open(width: int, height: int, fig: Figure, rtl: bool) -> list[str]:
    d = ' direction="rtl"' if rtl else ""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="t-{fig.key}" class="chart" font-family="system-ui, sans-serif" '
        f'font-size="{FONT}"{d}>',
        f'<title id="t-{fig.key}">{_t(fig.title)}</title>',
    ]


def count_ticks(peak: int, most: int = 5) -> list[int]:
    """Whole-number axis ticks from 0 to at least `peak`, at a step of 1, 2 or 5 times a power of ten, at most
    `most` of them: counts never get a tick at 0.5."""
    peak = max(peak, 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if -(-peak // (step * factor)) <= most - 1:
                step *= factor
                top = -(-peak // step) * step
                return list(range(0, top + 1, step))
        step *= 10


def bars(fig: Figure, rtl: bool = False, width: int = WIDTH) -> SafeString:
    """Horizontal bars, one row per category (first column only)."""
    row_h, top, label_w, value_w = 24, 6, 150, 48
    rows = fig.rows
    height = top * 2 + max(len(rows), 1) * row_h
    out = _open(width, height, fig, rtl)
    peak = max(fig.max_value(), 1)
    span = width - label_w - value_w - 10
    for i, row in enumerate(rows):
        y = top + i * row_h
        cell = row.cells[0]
        length = 0.0 if cell.value is None else span * cell.value / peak
        if cell.value is None:
            length = 6
        colour = SUPPRESSED if cell.value is None else COLOURS[0]
        if rtl:
            lx, anchor = width - 4, "start"
            bx = width - label_w - length
            vx = bx - 4
        else:
            lx, anchor = 4, "start"
            bx = label_w
            vx = label_w + length + 4
        out.append(f'<text x="{lx}" y="{y + 16}" fill="{TEXT}" text-anchor="{anchor}">{_t(_clip(row.label, 21))}'
                   f'<title>{_t(row.label)}</title></text>')  # fmt: skip
        out.append(f'<rect x="{bx:.1f}" y="{y + 4}" width="{length:.1f}" height="{row_h - 8}" fill="{colour}"/>')
        out.append(f'<text x="{vx:.1f}" y="{y + 16}" fill="{MUTED}" text-anchor="start">{_t(cell.text)}</text>')
    if not rows:
        out.append(f'<text x="{width // 2}" y="{top + 15}" fill="{MUTED}" text-anchor="middle">{_t(_("No data"))}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # every text goes through escape()


def months(fig: Figure, rtl: bool = False, width: int = WIDTH, height: int = 220) -> SafeString:
    """Grouped vertical bars per month (the last MONTHS_SHOWN months), a legend on top, whole-number ticks, and the
    year under its first month (month names would not fit side by side; the table beside has each month)."""
    rows = fig.rows[-MONTHS_SHOWN:]
    left, right, top, bottom = 40, 8, 30, 26
    out = _open(width, height, fig, rtl)
    series = len(fig.columns)
    ticks = count_ticks(max((c.value or 0 for r in rows for c in r.cells), default=0), most=5)
    peak = ticks[-1] or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    legend_step = max(plot_w // max(series, 1), 90)
    for j, name in enumerate(fig.columns):
        # Right to left: the swatch on the right of its name, both read from the right edge.
        x = width - right - 12 - j * legend_step if rtl else left + j * legend_step
        tx = x - 4 if rtl else x + 16
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{COLOURS[j % len(COLOURS)]}"/>')
        out.append(f'<text x="{tx}" y="17" fill="{TEXT}" direction="{"rtl" if rtl else "ltr"}" '
                   f'unicode-bidi="embed">{_t(_clip(name, 12))}</text>')  # fmt: skip
    for value in ticks:
        y = top + plot_h * (1 - value / peak)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6eb"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" fill="{MUTED}" text-anchor="end" direction="ltr">'
                   f'{_t(num(value))}</text>')  # fmt: skip
    if rows:
        slot = plot_w / len(rows)
        bw = max(slot * 0.8 / series, 1)
        for i, row in enumerate(rows):
            x0 = left + i * slot + slot * 0.1
            for j, cell in enumerate(row.cells):
                h = 3 if cell.value is None else plot_h * cell.value / peak
                colour = SUPPRESSED if cell.value is None else COLOURS[j % len(COLOURS)]
                out.append(f'<rect x="{x0 + j * bw:.1f}" y="{top + plot_h - h:.1f}" width="{bw:.1f}" '
                           f'height="{h:.1f}" fill="{colour}"><title>{_t(row.label)} · {_t(fig.columns[j])}: '
                           f'{_t(cell.text)}</title></rect>')  # fmt: skip
        # A year's label is about 32 units wide.
        for i, label in axis_labels([r.code for r in rows], 6, min_gap=int(40 // slot) + 1):
            at = left + i * slot
            out.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}" '
                       f'stroke="{MUTED}"/><text x="{at:.1f}" y="{height - bottom + 20}" fill="{MUTED}" '
                       f'text-anchor="start" direction="ltr">{_t(label)}</text>')  # fmt: skip
    else:
        out.append(f'<text x="{width // 2}" y="{height // 2}" fill="{MUTED}" text-anchor="middle">{_t(_("No data"))}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))


def shade(value: int | None, peak: int) -> str:
    if value is None:
        return SUPPRESSED
    if not value or not peak:
        return MAP_SCALE[0]
    step = min(len(MAP_SCALE) - 1, 1 + int((len(MAP_SCALE) - 2) * value / peak))
    return MAP_SCALE[step]


def tile_map(fig: Figure, rtl: bool = False, tile: int = 17) -> SafeString:
    """The tile-grid world map: one square per country near its place in the world, shaded by count."""
    x0, y0, x1, y1 = world.extent()
    gap = 1
    width = (x1 - x0 + 1) * (tile + gap) + 8
    height = (y1 - y0 + 1) * (tile + gap) + 30
    out = _open(width, height, fig, rtl)
    values = {r.code: r.cells[0] for r in fig.rows if r.code}
    labels = {r.code: r.label for r in fig.rows}
    peak = max((c.value or 0 for c in values.values()), default=0)
    for code, (cx, cy) in sorted(world.layout().items()):
        x = 4 + (cx - x0) * (tile + gap)
        y = 4 + (cy - y0) * (tile + gap)
        cell = values.get(code)
        fill = shade(cell.value if cell else 0, peak)
        dark = cell is not None and cell.value is not None and peak and cell.value / peak > 0.45
        name = labels.get(code, code)
        tip = f"{name}: {cell.text}" if cell else name
        out.append(f'<g><title>{_t(tip)}</title><rect x="{x}" y="{y}" width="{tile}" height="{tile}" rx="2" '
                   f'fill="{fill}"/><text x="{x + tile / 2}" y="{y + tile / 2 + 3.5}" font-size="8.5" '
                   f'text-anchor="middle" direction="ltr" fill="{"#fff" if dark else MUTED}">{code}</text></g>')  # fmt: skip
    # Legend: the shade steps, from 1 to the highest count.
    ly = height - 20
    for i, colour in enumerate(MAP_SCALE):
        out.append(f'<rect x="{4 + i * 22}" y="{ly}" width="20" height="10" fill="{colour}"/>')
    out.append(f'<text x="{4 + len(MAP_SCALE) * 22 + 4}" y="{ly + 9}" fill="{MUTED}" direction="ltr">0 - '
               f'{_t(num(peak))}</text>')  # fmt: skip
    out.append("</svg>")
    return mark_safe("".join(out))


def render(fig: Figure, rtl: bool = False) -> SafeString:
    if fig.kind == "months":
        return months(fig, rtl)
    if fig.kind == "map":
        return tile_map(fig, rtl)
    return bars(fig, rtl)


def table(fig: Figure) -> SafeString:
    """The figure's accessible table (caption, header, rows, total), built here rather than in the template:
    a few hundred rows render in a millisecond."""
    e = _t
    out = [f"<table><caption>{e(fig.title)}</caption><thead><tr><th scope=\"col\">{e(_('Category'))}</th>"]
    out.extend(f'<th scope="col" class="num">{e(c)}</th>' for c in fig.columns)
    out.append("</tr></thead><tbody>")
    for row in fig.rows:
        out.append(f'<tr><th scope="row">{e(row.label)}</th>')
        for cell in row.cells:
            if cell.value is None:
                out.append(f'<td class="num supp">{e(cell.text)}</td>')
            else:
                out.append(f'<td class="num">{cell.text}</td>')
        out.append("</tr>")
    if not fig.rows:
        out.append(f'<tr><td colspan="{len(fig.columns) + 1}">{e(_("No data"))}</td></tr>')
    out.append("</tbody>")
    if fig.totals:
        out.append(f'<tfoot><tr><th scope="row">{e(_("Total"))}</th>')
        out.extend(f'<td class="num">{e(c.text)}</td>' for c in fig.totals)
        out.append("</tr></tfoot>")
    out.append("</table>")
    return mark_safe("".join(out))  # every text goes through escape(); numbers come from number_format
