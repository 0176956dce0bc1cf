"""KoBoToolbox and ODK Central exports of the official XLSForm (fixtures generated from its names)."""

from __future__ import annotations

import json
from pathlib import Path

from htcds.sources import FormExportSource, FormJsonSource, checked_rows, open_source
from htcds.sources import _xlsform_names as committed
from htcds.sources.kobo import build_name_map
from htcds.validation import errors
from tests.fixtures.sources import XLSFORM, kobo_table, odata_json, write_csv, write_kobo_json, write_xlsx


def _check(source: object, n: int) -> list[dict[str, object]]:
    rows = list(checked_rows(source))  # type: ignore[arg-type]
    assert len(rows) == n
    for _, _, _, problems in rows:
        assert errors(problems) == [], problems
    return [r[2] for r in rows]


def test_it_keeps_the_committed_name_map_in_step_with_the_official_xlsform(shared: Path) -> None:
    data = build_name_map(shared / "htcds" / XLSFORM)
    assert data == {"fields": committed.FIELDS, "labels": committed.LABELS, "choices": committed.CHOICES,
                    "repeated_labels": committed.REPEATED_LABELS}  # fmt: skip
    assert committed.FIELDS["prs_First_Name"] == "prs_FirstName"
    assert committed.FIELDS["vic_Methods_of_Control"] == "vic_MethodsOfControl"


def test_it_reads_a_kobo_csv_with_group_paths_and_space_joined_choices(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "kobo.csv", kobo_table(3), delimiter=";")
    source = open_source(path)
    assert isinstance(source, FormExportSource)
    bundles = _check(source, 3)
    first = bundles[0]
    assert first["case"]["id"] == "00000000-0000-0000-0000-000000000001"  # _uuid
    assert first["persons"][0]["prs_FirstName"] == "Ana"
    assert first["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "PhysicalThreats"]
    assert first["consents"][0]["con_Consent"] is True
    assert source.problems == []  # KoBo's own columns are not reported as unmapped


def test_it_reads_odk_central_csv_and_xlsx_with_one_column_per_choice(shared: Path, tmp_path: Path) -> None:
    table = kobo_table(3, sep="-", split_choices=True, xlsform=shared / "htcds" / XLSFORM)
    assert "grp_victim-vic_Methods_of_Control-DebtBondage " in table[0]  # the XLSForm's own trailing space
    for path in (write_csv(tmp_path / "odk.csv", table), write_xlsx(tmp_path / "odk.xlsx", table)):
        bundles = _check(open_source(path), 3)
        assert bundles[2]["participants"][0]["vic_MethodsOfControl"] == ["TakesEarnings", "DebtBondage"]
    # Only the per-choice columns, without the joined one:
    joined = table[0].index("grp_victim-vic_Methods_of_Control")
    flags_only = [r[:joined] + r[joined + 1 :] for r in table]
    bundles = _check(open_source(write_csv(tmp_path / "flags.csv", flags_only)), 3)
    assert set(bundles[0]["participants"][0]["vic_MethodsOfControl"]) == {"DebtBondage", "PhysicalThreats"}


def test_it_reads_kobo_and_odata_json_with_the_same_keys_as_the_csv(tmp_path: Path) -> None:
    kobo = open_source(write_kobo_json(tmp_path / "kobo.json", 2))
    assert isinstance(kobo, FormJsonSource)
    odata_path = tmp_path / "odata.json"
    odata_path.write_text(json.dumps(odata_json(2)), "utf-8")
    odata = open_source(odata_path)
    keys_kobo = [k for _, k, _ in kobo]
    bundles = [b for _, _, b in odata]
    assert keys_kobo == [b["case"]["id"] for b in bundles]  # "uuid:" prefix dropped, so both agree
    assert bundles[0]["persons"][0]["prs_Birthdate"] == "1990-01-10"
    assert [p.code for p in kobo.problems] == []


def test_it_reads_an_export_with_label_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "labels.csv", [["First Name", "Gender", "Methods of Control", "_uuid"],
                                               ["Ana", "Transgender Feminine\xa0", "Debt bondage ;False promises", "u1"]])  # fmt: skip
    [(_, key, bundle)] = list(open_source(path))
    assert key == "u1"
    assert bundle["persons"][0]["prs_Gender"] == "TransgenderFeminine"
    assert bundle["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "FalsePromises"]


def test_it_keeps_a_flag_of_one_row_out_of_the_next_rows_with_the_same_joined_cell(shared: Path, tmp_path: Path) -> None:
    table = kobo_table(4, sep="-", split_choices=True, xlsform=shared / "htcds" / XLSFORM)
    # Row 1 ticks one more choice in its own column than its joined cell says; row 4 has the same joined cell.
    table[1][table[0].index("grp_victim-vic_Methods_of_Control-FalsePromises")] = 1
    bundles = _check(open_source(write_csv(tmp_path / "odk.csv", table)), 4)
    assert bundles[0]["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "PhysicalThreats", "FalsePromises"]
    assert bundles[3]["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "PhysicalThreats"]
