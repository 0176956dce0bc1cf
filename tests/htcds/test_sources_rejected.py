"""The rejected rows of an import as a sheet to correct and upload again (htcds.sources.rejected)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from htcds.sources import open_source
from htcds.sources.rejected import problems_text, write_rejected_rows
from tests.fixtures.sources import big_template_rows, write_xlsx


def test_it_copies_rejected_rows_as_typed_under_the_sheets_headers(tmp_path: Path) -> None:
    rows = list(big_template_rows(6))  # rows 3 to 8 hold dates as real dates, Excel serials and text
    original = write_xlsx(tmp_path / "cases.xlsx", rows)
    out = tmp_path / "rejected.csv"
    assert write_rejected_rows(open_source(original), {4: ("k4", "[x] one"), 6: ("k6", "[y] two")}, out) == 2
    written = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert written[0][-2:] == ["phare_row", "phare_problems"] and written[1][-2:] == ["phare_row", "phare_problems"]
    assert [r[-2:] for r in written[2:]] == [["4", "[x] one"], ["6", "[y] two"]]
    # Read back, the copied rows give the cases the original rows gave, and the added columns raise nothing.
    back = open_source(out)
    again = {bundle["persons"][0]["prs_FirstName"]: bundle for _, _, bundle in back}
    first = {n: b for n, _, b in open_source(original)}
    for number in (4, 6):
        bundle = first[number]
        got = again[bundle["persons"][0]["prs_FirstName"]]
        assert got["persons"][0] == {**bundle["persons"][0], "id": got["persons"][0]["id"]}
        assert got["participants"] == bundle["participants"]
    assert back.problems == []


def test_it_lists_rejected_items_of_a_json_file_by_key(tmp_path: Path) -> None:
    path = tmp_path / "bundles.json"
    path.write_text(json.dumps([{"case": {"id": "A1"}, "persons": [], "participants": []}]), "utf-8")
    out = tmp_path / "rejected.csv"
    write_rejected_rows(open_source(path), {1: ("A1", "[invalid-date] x")}, out)
    assert list(csv.reader(out.open(newline="", encoding="utf-8"))) == [["source_key", "phare_row", "phare_problems"],
                                                                        ["A1", "1", "[invalid-date] x"]]  # fmt: skip


def test_it_says_where_what_and_the_fix_with_the_code() -> None:
    problems = [{"code": "invalid-choice", "column": "F (prs_Gender)", "message": "'X' is not one.", "fix": "Feminine"},
                {"code": "missing-required", "field": "cas_Status", "message": "Missing.", "fix": None}]  # fmt: skip
    assert problems_text(problems) == ("[invalid-choice] F (prs_Gender): 'X' is not one. (fix: Feminine) | "
                                       "[missing-required] cas_Status: Missing.")  # fmt: skip
    assert problems_text(problems[:1], lambda p: "traduit", "corriger") == "[invalid-choice] F (prs_Gender): traduit (corriger: Feminine)"
