"""Reading a sheet by columns gives exactly what reading it row by row gives: rows, keys, bundles, problems."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htcds.catalogue import load
from htcds.sources import MappedSource, TemplateSource, checked_rows, open_source, parse_mapping
from htcds.sources import columns as columns_module
from htcds.sources.base import Source, TabularSource
from htcds.sources.checked import checked_row_by_row
from htcds.sources.layout import TEMPLATE_FIELDS
from tests.fixtures.sources import big_template_rows, fill_official, kobo_table, template_row, write_csv, write_xlsx

# Cells people type, good and bad, per kind of column: every note, rule and check should be met by some draw.
CELLS: dict[str, list[Any]] = {
    "text": ["Ana", "  Bola ", "", "   ", "x\xa0y", "bad\x00text", "a" * 300, "Łódź", "O'Brien", 'say "hi"', "12"],
    "email": ["a@b.org", "A@B.ORG", "not-an-email", "", " c@d.net ", "two\nlines@x.org"],
    "phone": ["+44 7700 900123", "07700 900123", "+0 12", "abc", "", "+2348012345678"],
    "date": ["2021-01-02", "02/03/2020", "31/12/1999", "2999-01-01", "yesterday", "", "44197", "1990-02-30"],
    "choice": ["Active", "Follow up", "Closed", "Closed Referred", "Nonsense", "", "Active;Closed"],
    "multi": ["Debt bondage ", "Debt bondage;Physical threats", "Debt bondage;Debt bondage", "Unknown thing", ""],
    "country": ["Nigeria", "NG", "Viet Nam", "Atlantis", "", "Nigeria;Ghana"],
    "boolean": ["Yes", "No", "maybe", "", "TRUE"],
    "industry": ["Construction", "Manufacturing", "Water supply; sewerage, waste management and remediation", "?", ""],
}
# Fields whose pairs and groups drive the rules across fields.
RULES = {
    "cas_Status": ["Closed", "Closed Referred", "Active", ""],
    "cas_ReasonForCaseClosure": ["", "", "Other"],
    "cas_OpenedDate": ["2021-01-01", "2022-06-01", ""],
    "cas_ClosedDate": ["2020-01-01", "2023-01-01", ""],
    "con_Date": ["2021-01-01", ""],
    "con_WithdrawnDate": ["2020-01-01", "2022-01-01", ""],
    "vic_ForcedLabourIndustry": ["Manufacturing", "Agriculture, forestry and fishing", ""],
    "vic_ForcedLabourIndustryTier2": ["C10_ManufactureOfFoodProducts", "A02_ForestryAndLogging", ""],
    "vic_ForcedLabourIndustryTier3": ["A011_GrowingOfNonPerennialCrops", ""],
    "per_RoleDetails": ["", "", "recruiter"],  # a perpetrator's field on the template's victim
}


def _kind(name: str) -> str:
    f = load()[name]
    if f.codelist == "country":
        return "country"
    if f.text_format == "email":
        return "email"
    if f.text_format == "e164":
        return "phone"
    if name.startswith("vic_ForcedLabourIndustry"):
        return "industry"
    return {"date": "date", "choice": "choice", "multi_choice": "multi", "boolean": "boolean"}.get(f.kind.value, "text")


def _same(a: Source, b: Source) -> list[Any]:
    """Read `a` by columns and `b` (the same file) row by row; fail on any difference."""
    assert isinstance(a, TabularSource)
    by_columns = list(checked_rows(a))
    by_rows = list(checked_row_by_row(b, iter(b)))
    assert [r[:3] for r in by_columns] == [r[:3] for r in by_rows]
    assert [[p.to_dict() for p in r[3]] for r in by_columns] == [[p.to_dict() for p in r[3]] for r in by_rows]
    assert [p.to_dict() for p in a.problems] == [p.to_dict() for p in b.problems]
    assert a.columns == b.columns
    return by_columns


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns_module, "BLOCK", 7)  # many blocks, and rows of one case across their edges


@pytest.mark.usefixtures("small_blocks")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), fields=st.lists(st.sampled_from([*TEMPLATE_FIELDS, *RULES]), min_size=1, max_size=14,
                                       unique=True))  # fmt: skip
def test_it_reads_any_template_sheet_by_columns_as_row_by_row(tmp_path_factory: pytest.TempPathFactory,
                                                                 data: st.DataObject, fields: list[str]) -> None:  # fmt: skip
    n = data.draw(st.integers(0, 30))
    rows: list[list[Any]] = [list(fields)]
    for _ in range(n):
        row = [data.draw(st.sampled_from(RULES.get(f) or CELLS[_kind(f)])) for f in fields]
        cut = data.draw(st.integers(0, 3))
        rows.append(row[: len(row) - cut] if cut == 3 else row)  # some rows shorter than the header
    path = write_csv(tmp_path_factory.mktemp("cols") / "sheet.csv", rows)
    a, b = open_source(path), open_source(path)
    if not isinstance(a, TabularSource):
        return  # too few recognised headers to be a template: nothing to compare
    _same(a, b)


def test_it_reads_the_benchmark_sheet_by_columns_and_skips_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", list(big_template_rows(2500)))
    rows = _same(open_source(path), open_source(path))
    assert len(rows) == 2500
    assert rows[0][1].startswith("fp-")  # no id column: keys are fingerprints of the content


def test_it_reads_a_filled_official_template_by_columns(shared: Path, tmp_path: Path) -> None:
    rnd = random.Random(3)
    path = fill_official(shared, tmp_path / "filled.xlsm", [template_row(i, rnd) for i in range(40)])
    rows = _same(open_source(path), open_source(path))
    assert isinstance(open_source(path), TemplateSource)
    assert len(rows) == 40


def test_it_reads_a_form_export_by_columns_with_or_without_a_column_per_choice(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow: list[int] = []
    by_rows = columns_module.ColumnReader._slow

    def counted(self: Any, raw: list[Any], row: int) -> Any:
        slow.append(row)
        return by_rows(self, raw, row)

    monkeypatch.setattr(columns_module.ColumnReader, "_slow", counted)
    xlsform = shared / "htcds" / "htcds_xlsform.xlsx"
    for split in (False, True):
        table = kobo_table(25, split_choices=split, xlsform=xlsform)
        if split:  # row 3 ticks a choice its joined cell leaves out: only that row is read row by row
            table[2][table[0].index("grp_victim/vic_Methods_of_Control/TakesEarnings")] = 1
        path = write_xlsx(tmp_path / f"kobo-{split}.xlsx", table)
        slow.clear()
        rows = _same(open_source(path), open_source(path))
        assert len(rows) == 25
        assert slow == ([3] if split else [])
    # Without the joined column, every row with a tick is merged row by row.
    joined = table[0].index("grp_victim/vic_Methods_of_Control")
    path = write_csv(tmp_path / "ticks-only.csv", [r[:joined] + r[joined + 1 :] for r in table])
    rows = _same(open_source(path), open_source(path))
    assert "TakesEarnings" in rows[1][2]["participants"][0]["vic_MethodsOfControl"]


def test_it_reads_a_mapped_sheet_with_constants_an_id_column_and_another_role(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Export of 2024"], ["Ref", "Name", "Status", "Closed on", "Opened", "Country", "Notes",
                                                  "Method"]]  # fmt: skip
    for i in range(30):
        rows.append([f"R{i % 27}" if i % 5 else "", f"Name {i}", ["open", "closed", "Closed"][i % 3],
                     "2020-01-01" if i % 4 else "", "2021-05-05", ["NG", "Atlantis"][i % 7 == 0], "x" if i % 2 else "",
                     "Debt bondage" if i % 6 == 0 else ""])  # fmt: skip
    mapping = parse_mapping(yaml.safe_load(
        """
source: legacy
header_row: 2
id_column: Ref
role: Perpetrator
columns:
  Name: prs_FirstName
  Status: {field: cas_Status, values: {open: Active, closed: Closed}}
  Closed on: cas_ClosedDate
  Opened: cas_OpenedDate
  Country: prs_Citizenship
  Notes: cas_ReasonForCaseClosure
  Method: vic_MethodsOfControl
constants:
  con_Consent: true
  cas_CaseOwner: officer
"""
    ))
    path = write_csv(tmp_path / "legacy.csv", rows)
    got = _same(MappedSource(path, mapping), MappedSource(path, mapping))
    codes = {p.code for r in got for p in r[3]}
    # Blank ids, repeated ids, a closed case without reason, closing before opening, a victim's field on a
    # perpetrator, a bad country: each found, by the row-by-row code.
    assert {"missing-id", "duplicate-key", "closure-reason-required", "date-order", "field-not-for-role",
            "invalid-country"} <= codes  # fmt: skip


def test_it_falls_back_to_rows_for_plans_it_does_not_cover(tmp_path: Path) -> None:
    mapping = parse_mapping({"source": "s", "columns": {"A": "prs_FirstName", "B": "prs_FirstName"}})
    path = write_csv(tmp_path / "two.csv", [["A", "B"], ["x", "y"], ["", "z"]])
    source = MappedSource(path, mapping)
    plan, _, _ = source._start()
    assert not columns_module.supported(plan)  # two columns for one field
    got = _same(MappedSource(path, mapping), MappedSource(path, mapping))
    assert [r[2]["persons"][0]["prs_FirstName"] for r in got] == ["y", "z"]


def test_it_finds_every_rule_across_fields_by_columns(tmp_path: Path) -> None:
    fields = ["prs_FirstName", "cas_CaseOwner", *RULES]
    rnd = random.Random(5)
    rows = [fields] + [["Ana", "w1", *(rnd.choice(RULES[f]) for f in RULES)] for _ in range(400)]
    path = write_csv(tmp_path / "rules.csv", rows)
    got = _same(open_source(path), open_source(path))
    codes = {p.code for r in got for p in r[3]}
    assert {"closure-reason-required", "date-order", "inconsistent-subdivision", "field-not-for-role"} <= codes
    paths = {p.path for r in got for p in r[3] if p.code == "inconsistent-subdivision"}
    assert {"participants[0].vic_ForcedLabourIndustryTier2", "participants[0].vic_ForcedLabourIndustryTier3"} <= paths
    dates = {p.path for r in got for p in r[3] if p.code == "date-order"}
    assert {"case.cas_ClosedDate", "consents[0].con_WithdrawnDate"} <= dates


def test_it_meets_every_kind_of_bad_cell_by_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {"text": "prs_FirstName", "email": "prs_Email", "phone": "prs_MobilePhone", "date": "cas_OpenedDate",
              "choice": "cas_Status", "multi": "vic_MethodsOfControl", "country": "prs_Citizenship",
              "boolean": "con_Consent", "industry": "vic_ForcedLabourIndustry"}  # fmt: skip
    assert set(fields) == set(CELLS) and all(_kind(f) == k for k, f in fields.items())
    kinds = sorted(fields)
    good = [CELLS[k][0] for k in kinds]
    # Each cell alone in an otherwise good row, so that nothing else in its row sends it to the row-by-row code.
    # Without the non-breaking space, which sends a whole block of its column cell by cell (tested above).
    rows: list[list[Any]] = [[fields[k] for k in kinds], good]
    for j, k in enumerate(kinds):
        for cell in CELLS[k]:
            if "\xa0" not in cell:
                rows.append([*good[:j], cell, *good[j + 1 :]])
    path = write_csv(tmp_path / "cells.csv", rows)
    monkeypatch.setattr(columns_module, "BLOCK", 1)  # each bad cell the only one its column check sees
    got = _same(open_source(path), open_source(path))
    assert got[0][3] == []  # the good row is good
    codes = {p.code for r in got for p in r[3]}
    assert {"invalid-character", "too-long", "invalid-email", "invalid-phone", "invalid-date", "future-date",
            "invalid-choice", "invalid-country", "many-values-for-single-choice"} <= codes, codes


def test_it_tells_spreadsheet_cells_apart_by_type(tmp_path: Path) -> None:
    # TRUE, 1 and 1.0 are equal in Python; in a text column they are "True", "1" and "1".
    names = ["prs_FirstName", "prs_SecondName", "vic_AgeWhenTrafficked", "con_Consent", "cas_OpenedDate"]
    cells = [True, 1, 1.0, "1", 0, False, None, "", 2.5, date(2020, 1, 2), datetime(2020, 1, 2, 10, 30)]
    rows: list[list[Any]] = [names]
    for i in range(40):
        rows.append([cells[(i * k + k) % len(cells)] for k in (1, 3, 5, 7, 9)])
    path = write_xlsx(tmp_path / "types.xlsx", rows)
    got = _same(open_source(path), open_source(path))
    first = {r[2]["persons"][0].get("prs_FirstName") for r in got}
    assert {"True", "1"} <= first  # not whichever of TRUE and 1 came first


def test_it_converts_true_and_one_apart_in_a_remembering_column() -> None:
    from htcds.sources.values import make_converter

    for name in ("cas_OpenedDate", "prs_Gender", "con_Consent"):
        field = load()[name]
        cells = (True, 1, 1.0, 1, True)  # equal to Python, not to a person reading the sheet
        alone = [make_converter(field)(raw) for raw in cells]  # each by a fresh converter
        convert = make_converter(field)  # one converter, which remembers what it saw
        assert [convert(raw) for raw in cells] == alone, name


def test_it_converts_e_mail_cells_as_the_generic_coercion_does() -> None:
    from htcds.coerce import coerce_value
    from htcds.sources.values import make_converter

    field = load()["prs_Email"]
    for raw in ["  A@B.ORG ", "x\xa0Y@z.com", "", "   ", 1.0, 1.5, 7, True, date(2020, 1, 2), datetime(2020, 1, 2, 3, 4)]:
        cell = raw.replace("\xa0", " ").strip() if isinstance(raw, str) else raw
        generic = coerce_value(field, cell.isoformat() if isinstance(cell, date) else cell)
        assert make_converter(field)(raw)[0] == generic, raw
