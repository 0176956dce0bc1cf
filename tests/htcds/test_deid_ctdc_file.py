"""Reading CTDC's published files as they come: -99, 0 and 00, the 2021 banner, TSV, any value."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from htcds.deid._table import MISSING
from htcds.deid.ctdc_file import as_missing, read_ctdc, read_ctdc_text
from htcds.deid.ctdc_kanon import anonymise_ctdc, family_table, qi_set
from htcds.deid.risk import risk_report
from tests.fixtures.ctdc_layout import BANNER, ctdc_file


def test_it_reads_missing_and_unknown_countries_the_ctdc_way(tmp_path: Path) -> None:
    file = read_ctdc(ctdc_file(tmp_path / "c.csv", 200))
    assert len(file.rows) == 200 and not file.problems
    assert not {v for r in file.rows for v in r.values()} & {"-99", "00", "-99.0"}
    assert all(r["citizenship"] not in ("0", "00") for r in file.rows)
    assert all(r["yearOfRegistration"] == MISSING or r["yearOfRegistration"].isdigit() for r in file.rows)
    assert any(r["citizenship"] == MISSING for r in file.rows)
    assert all(r["ageBroad"] != "-99" for r in file.rows)


def test_it_skips_the_2021_banner_line_and_column(tmp_path: Path) -> None:
    file = read_ctdc(ctdc_file(tmp_path / "c.csv", 50, layout="2021"))
    assert file.banner_lines == 1 and file.banner_columns == [BANNER]
    assert file.columns[0] == "yearOfRegistration" and len(file.rows) == 50 and not file.problems


def test_it_reads_the_tab_separated_synthetic_layout(tmp_path: Path) -> None:
    file = read_ctdc(ctdc_file(tmp_path / "c.tsv", 30, layout="synthetic"))
    assert file.delimiter == "\t" and len(file.rows) == 30 and "gender" in file.columns


def test_it_names_row_column_and_fix_for_an_unknown_code(tmp_path: Path) -> None:
    n = 40
    columns = read_ctdc(ctdc_file(tmp_path / "a.csv", 1)).columns
    bad = ["XX" if c == "citizenship" else "2016" if c == "yearOfRegistration" else "7" if c == "isSexualExploit"
           else "-99" for c in columns]  # fmt: skip
    file = read_ctdc(ctdc_file(tmp_path / "c.csv", n, extra=[bad]))
    codes = {(p.code, p.row, p.column) for p in file.problems}
    assert codes == {("unknown-country", n + 2, "citizenship"), ("not-a-flag", n + 2, "isSexualExploit")}
    country = next(p for p in file.problems if p.column == "citizenship")
    assert "ISO 3166-1 alpha-2" in str(country) and f"line {n + 2}" in str(country)
    flag = next(p for p in file.problems if p.column == "isSexualExploit")
    assert flag.fix == "write 1 (yes), 0 (no) or -99 (unknown)"
    assert as_missing(file) == 2 and file.rows[-1]["citizenship"] == MISSING


CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL), min_size=1, max_size=30))
def test_it_never_fails_on_any_value(cells: list[tuple[str, str, str, str]]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["gender", "ageBroad", "citizenship", "yearOfRegistration"])
    writer.writerows(cells)
    file = read_ctdc_text(out.getvalue())
    as_missing(file)
    if file.rows:
        families = qi_set(file.columns)
        risk_report(family_table(file.rows, families), list(families), k=2)
        if len(file.rows) >= 2:
            anonymise_ctdc(file.rows, 2)


def test_it_keeps_every_column_of_a_repeated_name_and_sums_up_the_file() -> None:
    text = "gender,gender,gender,ageBroad,citizenship,myNote\nFemale,Male,Female,18--20,NG,x\nMale,Female,Male,banana,XX,y\n"
    file = read_ctdc_text(text)
    # A repeated header would otherwise overwrite the first column's values with the last one's.
    assert file.columns == ["gender", "gender.1", "gender.2", "ageBroad", "citizenship", "myNote"]
    assert [(r["gender"], r["gender.1"], r["gender.2"]) for r in file.rows] == [("Female", "Male", "Female"),
                                                                              ("Male", "Female", "Male")]  # fmt: skip
    assert [(p.code, p.row, p.column, p.value) for p in file.problems] == [
        ("unknown-age-band", 3, "ageBroad", "banana"),
        ("unknown-country", 3, "citizenship", "XX"),
    ]
    # The fix is what the person who sent the file reads: it names the codes to use.
    assert file.problems[1].fix == "write an ISO 3166-1 alpha-2 code (e.g. NG), or 0, 00 or -99 if unknown"
    assert "18--20" in file.problems[0].fix and "-99 if unknown" in file.problems[0].fix
    summary = file.summary()
    assert (summary["rows"], summary["columns"], summary["ctdc_columns"], summary["problems"]) == (2, 6, 3, 2)
