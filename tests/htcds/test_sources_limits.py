"""Files over the import limits are refused before they are read, with the limit named and what to do; never a
traceback, never gigabytes of memory (issue 16: "Uploads are bounded")."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from htcds.sources import limits, open_source
from htcds.sources.tabular import open_table
from tests.fixtures.sources import big_template_rows, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_limits() -> Iterator[None]:
    before = limits.LIMITS
    yield
    limits.LIMITS = before


def _sparse_xlsx(path: Path, far: str) -> Path:
    """A workbook of two cells, A1 and `far`: a few kilobytes that span the whole rectangle up to `far`."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "prs_FirstName"
    ws[far] = "x"
    wb.save(path)
    return path


def _problem(path: Path) -> tuple[str, str]:
    source = open_source(path)
    list(source)
    errors = [p for p in source.problems if p.severity == "error"]
    assert errors, "the file was read"
    return errors[0].code, errors[0].message


def test_it_refuses_a_sheet_whose_cells_span_more_than_the_cell_limit(tmp_path: Path, small_limits: None) -> None:
    limits.configure(max_cells=100_000)
    code, message = _problem(_sparse_xlsx(tmp_path / "wide.xlsx", "Z5000"))  # 26 x 5,000 = 130,000 cells
    assert code == "file-too-large"
    assert "5,000 rows by 26 columns" in message and "PHARE_IMPORT_MAX_CELLS" in message and "copy only the rows and columns" in message
    limits.configure(max_cells=200_000)
    assert open_table(tmp_path / "wide.xlsx").rows is not None  # under the limit: read


def test_it_refuses_a_cell_far_down_before_the_reader_allocates_the_sheet(tmp_path: Path) -> None:
    """The real attack: a 5 kB workbook naming XFD1048576 makes the spreadsheet reader ask for 550 GB and abort
    the process. Run apart, so that without the check the abort fails this test, not the test run."""
    path = _sparse_xlsx(tmp_path / "bomb.xlsx", "XFD1048576")
    assert path.stat().st_size < 10_000
    script = ("import sys; from pathlib import Path; from htcds.sources import open_source; s = open_source(Path(sys.argv[1])); "
              "list(s); print(s.problems[0].code)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "file-too-large"


def test_it_refuses_rows_beyond_the_row_limit(tmp_path: Path, small_limits: None) -> None:
    limits.configure(max_rows=1_000)
    code, message = _problem(_sparse_xlsx(tmp_path / "long.xlsx", "A1001"))
    assert code == "file-too-large" and "row 1,001" in message and "PHARE_IMPORT_MAX_ROWS" in message
    csv_path = write_csv(tmp_path / "long.csv", list(big_template_rows(1_000)))
    code, message = _problem(csv_path)
    assert code == "file-too-large" and "1,002 lines" in message


def test_it_refuses_a_workbook_that_inflates_beyond_the_size_limit(tmp_path: Path, small_limits: None) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["prs_FirstName", "prs_SecondName", "prs_Gender"])
    for _ in range(2_000):
        ws.append(["A" * 1_000, "B", "Feminine"])  # compresses a thousandfold
    wb.save(tmp_path / "big.xlsx")
    assert (tmp_path / "big.xlsx").stat().st_size < 100_000
    limits.configure(max_bytes=1 * limits.MIB)
    code, message = _problem(tmp_path / "big.xlsx")
    assert code == "file-too-large" and "1 MB (PHARE_IMPORT_MAX_MB)" in message


def test_it_refuses_a_zip_part_that_inflates_beyond_the_size_it_claims(tmp_path: Path, small_limits: None) -> None:
    """A zip may claim a small size for a part that inflates to much more: the count is of what comes out."""
    good = write_xlsx(tmp_path / "good.xlsx", list(big_template_rows(3)))
    forged = tmp_path / "forged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(forged, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
    data = bytearray(forged.read_bytes())
    with zipfile.ZipFile(forged) as zf:
        sheet = next(i for i in zf.infolist() if i.filename.startswith("xl/worksheets/"))
    # Its size in the central directory and local header, forged to 10 bytes.
    central = data.rfind(sheet.filename.encode()) - 46
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    local = sheet.header_offset
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    forged.write_bytes(bytes(data))
    code, message = _problem(forged)
    assert code == "unreadable-file" and "is damaged" in message


def test_it_refuses_a_cell_over_the_length_limit_in_xlsx_and_csv(tmp_path: Path, small_limits: None) -> None:
    rows = list(big_template_rows(3))
    rows[3][rows[0].index("prs_SecondName")] = "x" * 2_000
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rows[0].index("prs_SecondName")] if rows[0].index("prs_SecondName") < 26 else ""
    limits.configure(max_cell_chars=1_000)
    code, message = _problem(write_xlsx(tmp_path / "long-cell.xlsx", rows))
    assert code == "file-too-large" and "PHARE_IMPORT_MAX_CELL_CHARS" in message
    assert f"Row 4, column {column}" in message and "2,000 characters" in message
    code, message = _problem(write_csv(tmp_path / "long-cell.csv", rows))
    assert code == "file-too-large" and "line 4" in message and "PHARE_IMPORT_MAX_CELL_CHARS" in message


def test_it_gives_a_300000_character_csv_field_a_clean_problem_under_the_default_limits(tmp_path: Path) -> None:
    rows = list(big_template_rows(2))
    rows[2][rows[0].index("prs_SecondName")] = "y" * 300_000
    code, message = _problem(write_csv(tmp_path / "field.csv", rows))
    assert code == "file-too-large" and "32,767" in message


def test_it_refuses_json_nested_deeper_than_the_limit_or_larger_than_the_size_limit(tmp_path: Path,
                                                                                   small_limits: None) -> None:  # fmt: skip
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps({"case": {"id": "1", "x": json.loads("[" * 100 + "]" * 100)}}))
    code, message = _problem(deep)
    assert code == "file-too-large" and "PHARE_IMPORT_MAX_JSON_DEPTH" in message
    very = tmp_path / "very-deep.json"
    very.write_text("[" * 200_000 + "]" * 200_000)  # deeper than the decoder's own recursion
    assert _problem(very)[0] == "file-too-large"
    lines = tmp_path / "deep.jsonl"
    lines.write_text(json.dumps({"case": {"id": "1"}}) + "\n" + "[" * 200 + "]" * 200 + "\n")
    assert _problem(lines)[0] == "file-too-large"
    limits.configure(max_bytes=1_000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"case": {"id": "1", "notes": "z" * 2_000}}))
    code, message = _problem(big)
    assert code == "file-too-large" and "PHARE_IMPORT_MAX_MB" in message


def test_it_reads_the_benchmark_sized_template_under_the_default_limits(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "cases.xlsx", list(big_template_rows(500)))
    limits.check_workbook(path)  # the defaults leave room for 1,000,000 rows of the template
    assert len(list(open_source(path))) == 500
