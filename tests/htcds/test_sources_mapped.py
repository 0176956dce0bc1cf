"""Other spreadsheets through a YAML mapping file, and mapping suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from htcds.sources import MappedSource, MappingError, checked_rows, open_source, parse_mapping, suggest_mapping
from htcds.sources.mapped import suggestions_to_yaml
from htcds.validation import errors
from tests.fixtures.sources import write_csv, write_ods, write_xlsx

MAPPING = """
source: shelter-2019
id_column: Case No
date_format: month-first
split: ","
columns:
  Given name: prs_FirstName
  Sex: {field: prs_Gender, values: {W: Feminine}}
  Nationality: {field: prs_Citizenship, split: "/", values: {Nigerian: NG, Ghanaian: GH}}
  Registered: {field: cas_OpenedDate, date_format: "%d.%m.%Y"}
  DOB: prs_Birthdate
  Control: vic_MethodsOfControl
  Notes: ignore
constants:
  cas_Status: Active
"""

ROWS = [
    ["Case No", "Given name", "Sex", "Nationality", "Registered", "DOB", "Control", "Notes", "Extra"],
    ["C-1", "Ana", "W", "Nigerian/Ghanaian", "03.04.2021", "04/25/1990", "Debt bondage, False promises", "x", "y"],
    ["", "Bo", "M", "Ghanaian", "05.06.2021", "12/01/1989", "", "", ""],
]


def test_it_imports_a_sheet_through_a_mapping(tmp_path: Path) -> None:
    mapping_path = tmp_path / "m.yaml"
    mapping_path.write_text(MAPPING, "utf-8")
    for path in (write_csv(tmp_path / "s.csv", ROWS), write_xlsx(tmp_path / "s.xlsx", ROWS), write_ods(tmp_path / "s.ods", ROWS)):
        source = open_source(path, mapping_path)
        assert isinstance(source, MappedSource) and source.name == "shelter-2019"
        rows = list(checked_rows(source))
        assert all(errors(p) == [] for *_, p in rows)
        (_, key1, b1, _), (_, key2, b2, _) = rows
        assert key1 == "C-1" and key2.startswith("fp-")
        assert b1["persons"][0] == {"id": "p1", "prs_FirstName": "Ana", "prs_Gender": "Feminine",
                                    "prs_Citizenship": ["NG", "GH"], "prs_Birthdate": "1990-04-25"}  # fmt: skip
        assert b1["case"] == {"id": "C-1", "cas_OpenedDate": "2021-04-03", "cas_Status": "Active"}
        assert b1["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "FalsePromises"]
        assert b2["persons"][0]["prs_Birthdate"] == "1989-12-01"
        codes = sorted((p.code, p.row) for p in source.problems)
        assert codes == [("missing-id", 3), ("unmapped-column", 1)]


def test_it_reports_every_mistake_of_a_mapping_file() -> None:
    with pytest.raises(MappingError) as exc:
        parse_mapping(
            yaml.safe_load("columns:\n  A: prs_FirstNme\n  B: {values: {}}\nconstants:\n  nope: 1\nrole: Boss\n")
        )
    problems = exc.value.problems
    assert [p.code for p in problems] == ["invalid-mapping"] * 4
    assert problems[1].suggestion == "prs_FirstName"


def test_it_suggests_a_mapping_from_headers_and_values() -> None:
    headers = ["Ref", "Given name", "Family name", "Sex", "Born", "Tel", "Contact", "Country of origin", "Col9"]
    rows = [["A1", "Ana", "Eze", "F", "25/03/1990", "+234 803 123 4567", "a@example.org", "Nigeria", "Ghana"],
            ["A2", "Bo", "Ode", "male", "02/01/1991", "0803 123 4568", "b@example.org", "Ghana", "Togo"]]  # fmt: skip
    by_col = {s.column: s for s in suggest_mapping(headers, rows)}
    assert by_col["Ref"].is_id
    assert by_col["Given name"].field == "prs_FirstName" and by_col["Given name"].confidence >= 0.9
    assert by_col["Family name"].field == "prs_SecondName"
    assert by_col["Sex"].field == "prs_Gender"
    assert by_col["Born"].field == "prs_Birthdate" and by_col["Born"].date_format == "day-first"
    assert by_col["Tel"].field == "prs_MobilePhone"
    assert by_col["Contact"].field == "prs_Email"  # from the values alone
    assert by_col["Col9"].field is not None and "countr" in by_col["Col9"].reason
    assert by_col["Country of origin"].field == "prs_Citizenship"
    assert not by_col["Col9"].field.startswith("org_")  # a partner organisation's field only as a last resort
    draft = yaml.safe_load(suggestions_to_yaml(list(by_col.values())))
    assert draft["id_column"] == "Ref"
    parse_mapping(draft)  # a draft is a valid mapping


def test_it_prefers_the_person_and_case_fields_when_only_the_values_speak() -> None:
    headers = ["Phone number", "Other number", "Where exploited"]
    rows = [["+234 803 123 4567", "+234 803 123 4568", "Italy"], ["0803 123 4569", "0803 123 4560", "Spain"]]
    by_col = {s.column: s for s in suggest_mapping(headers, rows)}
    assert by_col["Phone number"].field == "prs_MobilePhone"
    assert by_col["Other number"].field in ("prs_MobilePhone", "prs_HomePhone")  # not an organisation's phone
    assert by_col["Where exploited"].field is not None and not by_col["Where exploited"].field.startswith("org_")


def test_it_reads_month_first_dates_when_the_mapping_does_not_say_and_the_column_shows_them(tmp_path: Path) -> None:
    rows = [["Name", "Born", "Seen"], ["Ana", "12/31/1990", "31/01/2021"], ["Bo", "04/05/1988", "04/05/2021"]]
    path = write_csv(tmp_path / "us.csv", rows)
    silent = parse_mapping({"source": "s", "columns": {"Name": "prs_FirstName", "Born": "prs_Birthdate",
                                                       "Seen": "cas_OpenedDate"}})  # fmt: skip
    source = MappedSource(path, silent)
    got = [b for _, _, b, p in checked_rows(source) if not errors(p)]
    assert [b["persons"][0]["prs_Birthdate"] for b in got] == ["1990-12-31", "1988-04-05"]
    assert [b["case"]["cas_OpenedDate"] for b in got] == ["2021-01-31", "2021-05-04"]  # this column stays day first
    assert [(p.code, p.field) for p in source.problems if p.code == "month-first-dates"] == [("month-first-dates",
                                                                                              "prs_Birthdate")]  # fmt: skip
    # A mapping that says day first is obeyed: 12/31/1990 is then an error, with the other reading as its fix.
    said = parse_mapping({"source": "s", "date_format": "day-first", "columns": {"Name": "prs_FirstName",
                                                                                "Born": "prs_Birthdate"}})  # fmt: skip
    first = next(iter(checked_rows(MappedSource(path, said))))
    assert [(p.code, p.suggestion) for p in errors(first[3])] == [("invalid-date", "1990-12-31")]
