"""The dashboards' inline charts: whole-number ticks for counts, a year under its first month, no text smaller than
a phone can show (the browser test measures it rendered)."""

from __future__ import annotations

import itertools
import re

from phare.dashboards import svg
from phare.dashboards.figures import Cell, Figure, Row


def test_it_ticks_counts_in_whole_numbers() -> None:
    assert svg.count_ticks(0) == [0, 1]
    assert svg.count_ticks(1) == [0, 1]
    assert svg.count_ticks(3) == [0, 1, 2, 3]
    assert svg.count_ticks(7) == [0, 2, 4, 6, 8]
    assert svg.count_ticks(126) == [0, 50, 100, 150]
    for peak in range(0, 2000, 7):
        ticks = svg.count_ticks(peak)
        assert ticks[0] == 0 and ticks[-1] >= peak and len(ticks) <= 5
        assert len({b - a for a, b in itertools.pairwise(ticks)}) <= 1


def _monthly(n: int, peak: int) -> Figure:
    rows = [Row(f"{2024 + (i // 12)}-{i % 12 + 1:02d}", f"M{i}", [Cell(peak if i == 3 else 1, str(peak if i == 3 else 1))])
            for i in range(n)]  # fmt: skip
    return Figure("m", "operations", "Monthly", "months", ["New"], rows)


def test_it_labels_a_monthly_chart_by_year_with_whole_number_ticks() -> None:
    out = svg.months(_monthly(36, 1))
    ticks = re.findall(r'text-anchor="end" direction="ltr">([^<]+)</text>', out)
    assert ticks == ["0", "1"]  # never 0.5 rounded to a second 0
    years = re.findall(r'text-anchor="start" direction="ltr">(\d{4})</text>', out)
    assert years == ["2024", "2025", "2026"]
    assert "M5</text>" not in out  # month names only in tooltips and the table


def test_it_draws_every_chart_text_at_the_readable_size() -> None:
    fig = Figure("b", "operations", "Bars", "bar", ["Cases"], [Row("x", "A long category label " * 3, [Cell(4, "4")])])
    for out in (svg.bars(fig), svg.months(_monthly(12, 9))):
        assert f'font-size="{svg.FONT}"' in out and "font-size=\"8" not in out and "font-size=\"11\"" not in out
        assert re.search(r'viewBox="0 0 (\d+)', out).group(1) == str(svg.WIDTH)  # type: ignore[union-attr]


def test_it_names_a_few_months_and_never_crowds_two_years() -> None:
    from django.utils import translation

    from phare.dashboards.figures import axis_labels

    with translation.override("fr"):
        assert [label for _i, label in axis_labels(["2026-07", "2026-08", "2026-09"], 6)] == ["juil.", "août", "sept."]
    codes = ["2025-12", *[f"2026-{m:02d}" for m in range(1, 13)]]
    assert axis_labels(codes, 6, min_gap=3) == [(1, "2026")]  # December 2025 alone would crowd 2026


def test_it_puts_two_figures_on_each_report_page_and_the_map_alone() -> None:
    from phare.dashboards.exports import _pages

    figs = [_monthly(3, 1) for _ in range(5)]
    figs.insert(2, Figure("map", "profile", "Map", "map", ["People"], []))
    assert [[f.kind for f in page] for page in _pages(figs)] == [["months", "months"], ["map"], ["months", "months"],
                                                                 ["months"]]  # fmt: skip


def test_it_sums_up_each_category_chart_in_words_before_the_charts() -> None:
    from phare.dashboards.figures import highlights

    fig = Figure("x", "profile", "Type of exploitation", "bar", ["People"],
                 [Row("", "Not recorded", [Cell(40, "40")]), Row("ForcedLabour", "Forced labour", [Cell(12, "12")]),
                  Row("Sexual", "Sexual exploitation", [Cell(None, "<11")])], totals=[Cell(60, "60")])  # fmt: skip
    assert [h[1:] for h in highlights([fig, _monthly(3, 2)])] == [("Forced labour", "12", "60")]
