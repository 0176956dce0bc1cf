"""The official templates, filled in the way organisations fill them (fixtures generated here)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from htcds.sources import TemplateSource, checked_rows, open_source, tabular
from htcds.validation import errors
from tests.fixtures.sources import OFFICIAL_PLAIN, fill_official, template_row


def _rows(n: int) -> list[dict[str, object]]:
    rnd = random.Random(1)
    return [template_row(i, rnd) for i in range(n)]


def test_it_reads_a_filled_official_template_with_its_quirks(shared: Path, tmp_path: Path) -> None:
    path = fill_official(shared, tmp_path / "filled.xlsm", _rows(6))
    source = open_source(path)
    assert isinstance(source, TemplateSource)
    rows = list(checked_rows(source))
    assert [r[0] for r in rows] == [3, 4, 5, 6, 7, 8]
    for _, _, _bundle, problems in rows:
        assert errors(problems) == [], problems
    b0 = rows[0][2]
    person, victim = b0["persons"][0], b0["participants"][0]
    assert victim["vic_MethodsOfControl"] == ["DebtBondage"]  # "Debt bondage " with its trailing space
    assert victim["vic_TraffickingStatusDecisionMakingOrg"] == "Police"  # the misspelt column
    assert victim["vic_ForcedLabourIndustry"] == "E_WaterSupplySewerageWasteManagement"  # a label with ";"
    assert person["prs_Citizenship"] == ["NG"]
    assert person["prs_Birthdate"] == "1980-01-01"  # a real date
    # Address values typed under the labels are read by the labels, and the mix-up is reported.
    assert person["prs_MailingStreet"] == "0 Example Street" and person["prs_MailingCountry"] == "NG"
    assert {p.code for p in source.problems} == {"header-mismatch"}
    assert b0["referrals"] == [
        {"direction": "Incoming", "cas_IncomingReferralDate": "2021-01-01", "cas_ReasonForIncomingReferral":
         "AdditionalServicesRequired"},
        {"direction": "Outgoing", "cas_ReasonForOutgoingReferral": "Other"},  # the column without a field name
    ]  # fmt: skip
    b1, b2 = rows[1][2], rows[2][2]
    assert b1["case"]["cas_Status"] == "FollowUp"  # "Follow up"
    assert b1["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "PhysicalThreats"]
    assert b1["persons"][0]["prs_Birthdate"] == "1987-08-12"  # Excel serial 32001
    assert b1["referrals"][0]["cas_IncomingReferralDate"] == "2021-01-02"  # serial 44198
    assert b2["persons"][0]["prs_Birthdate"] == "1992-03-03"  # text, day first
    assert b1["consents"] == [{"person": "p1", "con_Consent": False}]


def test_it_reads_the_plain_template_and_keys_rows_by_content(shared: Path, tmp_path: Path) -> None:
    rows = _rows(3)
    first = list(open_source(fill_official(shared, tmp_path / "a.xlsx", rows, OFFICIAL_PLAIN)))
    # The same cases in another order keep their keys: re-imports recognise them.
    second = list(open_source(fill_official(shared, tmp_path / "b.xlsx", rows[::-1], OFFICIAL_PLAIN)))
    assert sorted(k for _, k, _ in first) == sorted(k for _, k, _ in second)
    assert all(k.startswith("fp-") for _, k, _ in first)


def test_it_reports_bad_values_with_row_column_and_fix(shared: Path, tmp_path: Path) -> None:
    row = template_row(0, random.Random(1)) | {"prs_Gender": "Femnine", "prs_Birthdate": "not a date"}
    source = open_source(fill_official(shared, tmp_path / "bad.xlsm", [row]))
    [(number, _, _, problems)] = list(checked_rows(source))
    by_field = {p.field: p for p in errors(problems)}
    assert number == 3
    assert by_field["prs_Gender"].suggestion == "Feminine"
    assert by_field["prs_Gender"].value == "Femnine"
    assert source.column_of(by_field["prs_Gender"]) == "H (prs_Gender)"
    assert by_field["prs_Birthdate"].code == "invalid-date"


def test_it_accepts_label_row_first_and_reports_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text("First Name,Gender,Methods of Control,Shoe size\nprs_FirstName,prs_Gender,vic_MethodsOfControl,\n"
                    "Ana,Masculine ,Debt bondage ;False promises,42\n", "utf-8")  # fmt: skip
    source = open_source(path)
    [(number, _, bundle)] = list(source)
    assert number == 3
    assert bundle["persons"][0] == {"id": "p1", "prs_FirstName": "Ana", "prs_Gender": "Masculine"}
    assert bundle["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "FalsePromises"]
    assert [(p.code, p.value) for p in source.problems] == [("unmapped-column", "Shoe size")]


def test_it_keeps_the_first_value_of_a_single_choice_given_several(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("prs_FirstName,cas_Status,prs_Gender\nAna,Active;Closed,F\n", "utf-8")
    source = open_source(path)
    [(_, _, bundle)] = list(source)
    assert bundle["case"]["cas_Status"] == "Active"
    assert bundle["persons"][0]["prs_Gender"] == "Feminine"
    assert [p.code for p in source.problems] == ["many-values-for-single-choice"]


def test_it_turns_an_unreadable_file_into_a_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    source = open_source(broken)
    assert list(source) == []
    assert [p.code for p in source.problems] == ["unreadable-file"]
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n", "utf-8")
    assert [p.code for p in open_source(other).problems] == ["unrecognised-layout"]
    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    (problem,) = open_source(empty).problems
    assert problem.code == "empty-file" and "empty.csv" in problem.message and problem.suggestion


def test_it_reads_a_short_sheet_whose_every_header_is_an_htcds_name_or_label(tmp_path: Path) -> None:
    for header in ("prs_FirstName,prs_SecondName", "First Name,Gender"):
        path = tmp_path / "short.csv"
        path.write_text(f"{header}\nAmaka,Obi\n" if "prs_" in header else f"{header}\nAmaka,Feminine\n", "utf-8")
        source = open_source(path)
        ((_, _, bundle),) = list(source)
        assert source.kind == "htcds-template" and bundle["persons"][0]["prs_FirstName"] == "Amaka"
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("First Name,Village\nAmaka,Ikeja\n", "utf-8")  # one header is not HTCDS: a mapping decides
    assert [p.code for p in open_source(mixed).problems] == ["unrecognised-layout"]


def test_it_reads_a_spreadsheet_once_for_detection_and_rows_and_again_when_asked(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from htcds.sources import base, detect
    from tests.fixtures.sources import big_template_rows, write_xlsx

    path = write_xlsx(tmp_path / "cases.xlsx", list(big_template_rows(5)), sheet="Case Sheet")
    opened: list[Path] = []
    real_open = tabular.open_table

    def counting(p: Path, sheet: str | None = None) -> Any:
        opened.append(p)
        return real_open(p, sheet)

    monkeypatch.setattr(detect, "open_table", counting)
    monkeypatch.setattr(tabular, "open_table", counting)
    source = open_source(path)
    assert isinstance(source, base.TabularSource)
    first = [key for _, key, _ in source]
    assert len(first) == 5 and len(opened) == 1  # detection's load is the one the rows came from
    assert [key for _, key, _ in source] == first and len(opened) == 2  # a second pass opens it again


def test_it_reads_the_same_cases_from_a_template_saved_as_csv_xlsx_or_ods(tmp_path: Path) -> None:
    from tests.fixtures.sources import big_template_rows, write_csv, write_ods, write_xlsx

    rows = list(big_template_rows(30))  # real dates, Excel serial numbers and text dates among the cells
    read = {}
    for path in (write_csv(tmp_path / "t.csv", rows), write_xlsx(tmp_path / "t.xlsx", rows),
                 write_ods(tmp_path / "t.ods", rows)):  # fmt: skip
        source = open_source(path)
        assert isinstance(source, TemplateSource), path
        got = list(checked_rows(source))
        assert all(errors(p) == [] for *_, p in got), path
        read[path.suffix] = [bundle for _, _, bundle, _ in got]
    assert len(read[".csv"]) == 30
    assert read[".csv"] == read[".xlsx"] == read[".ods"]


def test_it_reads_a_column_of_month_first_dates_as_written_and_says_so(tmp_path: Path) -> None:
    from tests.fixtures.sources import write_csv

    head = ["prs_FirstName", "prs_SecondName", "prs_Birthdate", "cas_IncomingReferralDate"]
    # Birthdates written the United States way (12/31/1990 only reads month first); referral dates day first.
    rows = [head, ["Ana", "Obi", "12/31/1990", "31/01/2021"], ["Bo", "Ade", "04/05/1988", "04/05/2021"]]
    source = open_source(write_csv(tmp_path / "us.csv", rows))
    got = list(checked_rows(source))
    assert all(errors(p) == [] for *_, p in got)
    assert [b["persons"][0]["prs_Birthdate"] for _, _, b, _ in got] == ["1990-12-31", "1988-04-05"]  # 5 April
    assert [b["referrals"][0]["cas_IncomingReferralDate"] for _, _, b, _ in got] == ["2021-01-31", "2021-05-04"]
    (warning,) = [p for p in source.problems if p.code == "month-first-dates"]
    assert warning.field == "prs_Birthdate" and warning.value == "12/31/1990" and warning.severity == "warning"


def test_it_keeps_a_column_with_dates_of_both_orders_day_first_and_offers_the_other_reading_as_the_fix(
    tmp_path: Path,
) -> None:
    from tests.fixtures.sources import write_csv

    rows = [["prs_FirstName", "prs_SecondName", "prs_Birthdate"], ["Ana", "Obi", "31/12/1990"],
            ["Bo", "Ade", "12/31/1988"]]  # fmt: skip
    source = open_source(write_csv(tmp_path / "mixed.csv", rows))
    got = list(checked_rows(source))
    assert got[0][2]["persons"][0]["prs_Birthdate"] == "1990-12-31"
    (problem,) = errors(got[1][3])
    assert problem.code == "invalid-date" and problem.suggestion == "1988-12-31"
    assert not [p for p in source.problems if p.code == "month-first-dates"]
