"""Imports store exactly what a file meant, or refuse the row with its problem (issue 17). Each test imports a file
of tests/fixtures/files/ through `phare import` and reads the stored values back through `phare export json`."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from phare.accounts.models import Role
from tests.fixtures.sources import write_xlsx

pytestmark = pytest.mark.django_db

FILES = Path(__file__).resolve().parent / "fixtures" / "files"


def run_import(org: Any, path: Path, *args: str) -> dict[str, Any]:
    """`phare import --json`, with the rejected rows written away from the fixtures."""
    out = io.StringIO()
    errors = Path(tempfile.mkdtemp()) / "errors.csv"
    with contextlib.suppress(SystemExit):  # a refused file: the report is still printed
        call_command("import", str(path), "--org", org.slug, "--json", "--errors", str(errors), *args, stdout=out,
                     stderr=io.StringIO())  # fmt: skip
    return dict(json.loads(out.getvalue()))


def exported(org: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """Every case of the organisation as `phare export json` writes it, oldest first."""
    out = tmp_path / f"export-{org.slug}.json"
    call_command("export", "json", "--org", org.slug, "--out", str(out), stdout=io.StringIO())
    bundles: list[dict[str, Any]] = json.loads(out.read_text("utf-8"))["bundles"]
    return bundles


def person(bundle: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = bundle["persons"][0]
    return first


def by_name(bundles: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {person(b)["prs_FirstName"]: b for b in bundles}


def problems_of(report: dict[str, Any], row: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = next((r["problems"] for r in report["rows"] if r["row"] == row), [])
    return found


@pytest.fixture
def admin(org: Any, make_user: Any) -> Any:
    return make_user(Role.ADMIN, org)


def test_it_never_reads_a_year_alone_nor_text_as_an_excel_serial(org: Any, admin: Any, tmp_path: Path) -> None:
    """"1990" was stored as 1905-06-12 (Excel's day 1990) and "44927" as 2023-01-01: a year alone is refused with
    its problem, and text is never a serial; a spreadsheet cell typed as a number in a date column still is."""
    report = run_import(org, FILES / "year_alone.csv", "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (2, 2)
    year = problems_of(report, 2)
    assert [(p["code"], p["field"], p["value"]) for p in year] == [("invalid-date", "prs_Birthdate", "1990")]
    assert "year alone" in year[0]["message"]
    assert [p["code"] for p in problems_of(report, 3)] == ["invalid-date"]
    stored = by_name(exported(org, tmp_path))
    assert set(stored) == {"Chidi", "Dana"}
    assert person(stored["Chidi"])["prs_Birthdate"] == "1988-05-04"
    assert person(stored["Dana"])["prs_Birthdate"] == "1988-05-04"  # day first
    # The same rows in a workbook, the year and the serial typed as numbers: the serial is a date there.
    rows = [line.split(",") for line in (FILES / "year_alone.csv").read_text().splitlines()]
    rows[1][2], rows[2][2] = 1990, 44927  # type: ignore[call-overload]
    rows[1][0], rows[2][0] = "Esi", "Farah"
    report = run_import(org, write_xlsx(tmp_path / "year_alone.xlsx", [rows[0], rows[1], rows[2]]), "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (1, 1)
    assert "year alone" in problems_of(report, 2)[0]["message"]
    assert person(by_name(exported(org, tmp_path))["Farah"])["prs_Birthdate"] == "2023-01-01"


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copy(FILES / name, tmp_path / name))


def test_it_stores_phones_in_e164_reading_local_numbers_in_the_organisations_country(org: Any, admin: Any,
                                                                                      tmp_path: Path) -> None:  # fmt: skip
    """"+44 (0)20 7946 0958" was stored as +4402079460958 (the trunk zero kept) and local numbers were refused."""
    org.org_ShippingCountry = "NG"
    org.save()
    report = run_import(org, FILES / "phones.csv", "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (5, 1), [(r["row"], r["problems"]) for r in report["rows"] if r["problems"]]
    assert {p["field"] for p in problems_of(report, 7)} == {"prs_MobilePhone"}
    stored = {n: (person(b).get("prs_MobilePhone"), person(b).get("prs_HomePhone"))
              for n, b in by_name(exported(org, tmp_path)).items()}  # fmt: skip
    assert stored == {"Ana": ("+442079460958", None), "Bola": ("+2348031234567", "+2348095550101"),
                      "Chidi": ("+2348031234568", None), "Dana": ("+2348031234569", None),
                      "Esi": ("+442079460959", "+442079460960")}  # fmt: skip


def test_it_reads_a_local_number_typed_on_the_case_page_in_the_organisations_country(org: Any) -> None:
    from phare.cases.forms import PersonForm

    org.org_ShippingCountry = "NG"
    org.save()
    form = PersonForm({"prs_FirstName": "Ana", "prs_MobilePhone": "0803 123 4567",
                       "prs_HomePhone": "+44 (0)20 7946 0958"}, organisation_id=org.pk)  # fmt: skip
    assert form.is_valid(), form.errors
    assert form.model_data()["prs_MobilePhone"] == "+2348031234567"
    assert form.model_data()["prs_HomePhone"] == "+442079460958"


def test_it_decides_the_encoding_on_the_whole_file(org: Any, admin: Any, tmp_path: Path) -> None:
    """A Windows-1252 accent after the first 64 KiB became U+FFFD ("Zo\ufffd"); Excel's "Unicode text" (UTF-16,
    tabs) and a file in neither encoding crashed or were misread."""
    report = run_import(org, FILES / "cp1252_late_accent.csv")
    assert (report["created"], report["rejected"]) == (2_370, 0)
    stored = by_name(exported(org, tmp_path))
    assert person(stored["Zoë"])["prs_SecondName"] == "Müller"
    assert person(stored["Zoë"])["prs_Citizenship"] == ["CI"]
    text = _copy("utf16_unicode_text.txt", tmp_path).rename(tmp_path / "unicode.csv")
    report = run_import(org, text)
    assert report["created"] == 3
    stored = by_name(exported(org, tmp_path))
    assert person(stored["Анна"])["prs_SecondName"] == "Иванова" and person(stored["فاطمة"])["prs_SecondName"] == "الزهراء"
    report = run_import(org, FILES / "neither_utf8_nor_cp1252.csv")
    assert report["created"] == 0
    assert [p["code"] for p in report["file_problems"]] == ["unreadable-file"]
    assert "CSV UTF-8" in report["file_problems"][0]["message"]


def test_it_reads_the_mailing_block_by_its_visible_labels_whatever_cells_are_filled(org: Any, admin: Any,
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    """The official templates name the mailing columns in one order (row 1, hidden) and label them in another
    (row 2): the data of a 200-row sample decided which to trust, so a street with a postal code only, or a city that
    is also a country, swapped the address."""
    report = run_import(org, FILES / "mailing_by_labels.csv")
    assert (report["created"], report["rejected"]) == (203, 0)
    assert {p["code"] for p in report["file_problems"]} == {"header-mismatch"}
    stored = by_name(exported(org, tmp_path))
    mailing = {n: {k.removeprefix("prs_Mailing"): v for k, v in person(stored[n]).items() if k.startswith("prs_Mailing")}
               for n in ("Ana", "Bola", "Dana")}  # fmt: skip
    assert mailing == {"Ana": {"Street": "12 Marina Way", "PostalCode": "018956"},
                       "Bola": {"City": "Singapore", "Country": "SG"},
                       "Dana": {"Street": "3 Rue Neuve", "City": "Lyon", "State": "Rhône", "PostalCode": "69002",
                                "Country": "FR"}}  # fmt: skip


def test_it_refuses_two_columns_with_one_header_instead_of_keeping_the_last(org: Any, admin: Any,
                                                                            tmp_path: Path) -> None:  # fmt: skip
    from phare.cases.models import Case

    report = run_import(org, FILES / "duplicate_headers.csv")
    assert [p["code"] for p in report["file_problems"]] == ["duplicate-column"]
    assert "B (prs_SecondName) and D (prs_SecondName)" in report["file_problems"][0]["message"]
    assert report["created"] == 0 and not Case.objects.filter(organisation=org).exists()
    with pytest.raises(CommandError, match="cannot be imported as it is"):
        call_command("import", str(FILES / "duplicate_headers.csv"), "--org", org.slug, "--dry-run",
                     stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip


def test_it_finds_the_header_below_a_title_and_fails_a_sheet_that_matches_nothing(org: Any, admin: Any,
                                                                                  tmp_path: Path) -> None:  # fmt: skip
    report = run_import(org, FILES / "title_line.csv")
    assert report["created"] == 2
    assert [p["code"] for p in report["file_problems"]] == ["title-rows"]
    assert person(by_name(exported(org, tmp_path))["Bola"])["prs_Gender"] == "Masculine"
    with pytest.raises(CommandError, match="cannot be imported as it is"):
        call_command("import", str(FILES / "nothing_matches.csv"), "--org", org.slug, stdout=io.StringIO(),
                     stderr=io.StringIO())  # fmt: skip
    report = run_import(org, FILES / "nothing_matches.csv", "--mapping", str(FILES / "legacy_codes.yaml"))
    assert [p["code"] for p in report["file_problems"] if p["severity"] == "error"] == ["unrecognised-layout"]


def test_it_reads_numeric_codes_yes_no_keys_and_one_zero_booleans_of_a_mapped_workbook(org: Any, admin: Any,
                                                                                      tmp_path: Path) -> None:  # fmt: skip
    """A code typed as 1 in XLSX came back as 1.0 and matched no `values:` key; `Yes:` unquoted is True in YAML;
    a boolean typed 1/0 was refused."""
    sheet = write_xlsx(tmp_path / "legacy.xlsx", [["Ref", "Name", "Surname", "Sex", "Consent", "Deceased"],
                                                  ["A1", "Ana", "Adeyemi", 1, "Yes", 0],
                                                  ["A2", "Bola", "Baker", 2, "No", 1]])  # fmt: skip
    report = run_import(org, sheet, "--mapping", str(FILES / "legacy_codes.yaml"))
    assert (report["created"], report["rejected"]) == (2, 0), report
    stored = by_name(exported(org, tmp_path))
    assert (person(stored["Ana"])["prs_Gender"], person(stored["Bola"])["prs_Gender"]) == ("Feminine", "Masculine")
    assert [c["con_Consent"] for c in stored["Ana"]["consents"]] == [True]
    assert [c["con_Consent"] for c in stored["Bola"]["consents"]] == [False]
    assert (person(stored["Ana"])["prs_Deceased"], person(stored["Bola"])["prs_Deceased"]) == (False, True)


def test_it_refuses_a_mapping_with_a_wrong_date_format_or_a_missing_id_column(org: Any, admin: Any,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    from phare.cases.models import Case

    sheet = write_xlsx(tmp_path / "legacy.xlsx", [["Ref", "Name", "Surname"], ["A1", "Ana", "Adeyemi"]])
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  Name: prs_FirstName\n  Born: {field: prs_Birthdate, date_format: '%d/%q'}\n")
    with pytest.raises(CommandError, match="cannot be imported as it is"):
        call_command("import", str(sheet), "--org", org.slug, "--mapping", str(bad), stdout=io.StringIO(),
                     stderr=io.StringIO())  # fmt: skip
    missing = tmp_path / "missing.yaml"
    missing.write_text("id_column: Case number\ncolumns:\n  Name: prs_FirstName\n  Surname: prs_SecondName\n")
    report = run_import(org, sheet, "--mapping", str(missing))
    assert [p["code"] for p in report["file_problems"]] == ["invalid-mapping"] and report["created"] == 0
    assert not Case.objects.filter(organisation=org).exists()


def test_it_accepts_every_value_of_the_templates_own_drop_down_lists(org: Any, admin: Any, tmp_path: Path) -> None:
    """"Holy See" and "Congo, Democratic Republic of the", picked from the template's own country list, were refused."""
    report = run_import(org, FILES / "template_dropdown_countries.csv")
    assert (report["created"], report["rejected"]) == (2, 0)
    stored = by_name(exported(org, tmp_path))
    assert (person(stored["Ana"])["prs_Citizenship"], person(stored["Ana"])["prs_MailingCountry"]) == (["VA"], "CD")
    assert (person(stored["Bola"])["prs_Citizenship"], person(stored["Bola"])["prs_MailingCountry"]) == (["CD"], "VA")


def test_it_reads_every_drop_down_value_of_the_official_multi_select_template() -> None:
    """Each list of the template's `validation` sheet, read as the import reads a cell of its column."""
    from python_calamine import CalamineWorkbook

    from htcds.catalogue import load
    from htcds.sources.values import make_converter
    from htcds.validation import validate_record
    from tests.htcds.conftest import shared_dir

    path = shared_dir() / "htcds" / "HTCDS Excel Spreadsheet multi select with validation v2.0.xlsm"
    if not path.exists():
        pytest.skip("the official templates are not here (PHARE_SHARED)")
    lists = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("validation").to_python()
    fields = {"Gender": "prs_Gender", "Country": "prs_Citizenship", "Country Code": "prs_Citizenship",
              "Method of Recruitment": "vic_MethodOfRecruitment", "Methods of Control": "vic_MethodsOfControl",
              "Type of Exploitation": "vic_TypeOfExploitation", "Forced Labour Industry": "vic_ForcedLabourIndustry",
              "Vulnerabilities": "vic_Vulnerabilities", "Status": "cas_Status",
              "Reason for Incoming Referral": "cas_ReasonForIncomingReferral",
              "Reason for Outgoing Referral": "cas_ReasonForOutgoingReferral", "Trafficking Status": "vic_TraffickingStatus",
              "Trafficking Status Decision Making Organization": "vic_TraffickingStatusDecisionMakingOrg"}  # fmt: skip
    cat = load()
    refused = []
    for j, header in enumerate(lists[2]):
        name = fields.get(str(header))
        if name is None:
            continue
        convert, entity = make_converter(cat[name]), cat[name].entity
        record_of = "participant" if entity == "victim" else entity
        for row in lists[3:]:
            if j < len(row) and row[j] not in ("", None):
                value, _ = convert(row[j])
                record = {name: value, **({"role": "Victim"} if record_of == "participant" else {})}
                if any(p.field == name and p.severity == "error" for p in validate_record(record_of, record)):
                    refused.append((header, row[j]))
    assert refused == []


def test_it_stores_a_reimported_change_in_every_entity_and_empties_cleared_cells(org: Any, admin: Any,
                                                                                tmp_path: Path) -> None:  # fmt: skip
    """Only the person and the victim's context were updated: a changed status, referral details, consent, event
    and plan stayed as first imported, and an emptied cell kept its old value."""
    first = run_import(org, FILES / "reimport_v1.csv")
    assert first["created"] == 2
    again = _copy("reimport_v2.csv", tmp_path).rename(tmp_path / "reimport_v1.csv")  # the same file, edited
    report = run_import(org, again)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 1)
    stored = by_name(exported(org, tmp_path))
    ana, bola = stored["Ana"], stored["Bola"]
    assert ana["case"]["cas_Status"] == "FollowUp"
    assert [r.get("cas_IncomingReferralDetails") for r in ana["referrals"]] == ["Sent by the police"]
    assert [c["con_Consent"] for c in ana["consents"]] == [False]
    assert [e["hte_City"] for e in ana["events"]] == ["Abuja"]
    assert [p["spl_Objectives"] for p in ana["support_plans"]] == ["Find work"]
    assert "prs_MailingCity" not in person(ana)  # emptied in the file
    assert bola["case"]["cas_Status"] == "Active" and person(bola)["prs_MailingCity"] == "Kumasi"
    assert [e["hte_City"] for e in bola["events"]] == ["Accra"]


def test_it_keeps_two_files_that_number_their_cases_alike_apart(org: Any, admin: Any, tmp_path: Path) -> None:
    """Two shelters' files both number their cases 1 and 2: the second import overwrote the first's people. Each
    file is its own source by default; --source names a later version as the same source."""
    first = run_import(org, FILES / "shelter_a.csv")
    second = run_import(org, FILES / "shelter_b.csv")
    assert (first["source"], second["source"]) == ("shelter_a.csv", "shelter_b.csv")
    assert (first["created"], second["created"], second["updated"]) == (2, 2, 0)
    assert set(by_name(exported(org, tmp_path))) == {"Ana", "Bola", "Chidi", "Dana"}
    june = tmp_path / "shelter_a_june.csv"
    june.write_text((FILES / "shelter_a.csv").read_text().replace("Adeyemi", "Adeyemi-Okafor"))
    report = run_import(org, june, "--source", "shelter_a.csv")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 1)
    stored = by_name(exported(org, tmp_path))
    assert set(stored) == {"Ana", "Bola", "Chidi", "Dana"}
    assert person(stored["Ana"])["prs_SecondName"] == "Adeyemi-Okafor"
    assert person(stored["Chidi"])["prs_SecondName"] == "Costa"


def test_it_imports_under_the_source_name_given_on_the_check_page(org: Any, admin: Any, client_for: Any,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    from phare.imports.models import ImportedRecord
    from phare.jobs import (
        handlers,  # noqa: F401  (registers the job kinds, as the worker does)
        queue,
    )

    client = client_for(admin)
    r = client.post("/data/import/", {"file": SimpleUploadedFile("shelter_a.csv", (FILES / "shelter_a.csv").read_bytes())})
    pk = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
    queue.drain()
    page = client.get(f"/data/import/{pk}/")
    assert b'name="source" value="shelter_a.csv"' in page.content
    client.post(f"/data/import/{pk}/confirm/", {"source": "Shelter A register"})
    queue.drain()
    assert set(ImportedRecord.objects.filter(organisation=org).values_list("source", flat=True)) == {"Shelter A register"}


def validate(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = 0
    try:
        call_command("htcds", "validate", str(path), "--json", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, dict(json.loads(out.getvalue()))


@pytest.mark.parametrize("name", ["cp1252_late_accent.csv", "utf16_unicode_text.txt", "year_alone.csv", "phones.csv",
                                  "mailing_by_labels.csv", "duplicate_headers.csv", "title_line.csv",
                                  "nothing_matches.csv", "template_dropdown_countries.csv", "reimport_v1.csv",
                                  "neither_utf8_nor_cp1252.csv", "empty.csv", "header_only.csv", "kobo_labels.csv",
                                  "kobo_group_labels.csv", "own_export_cases.csv", "directory_names.csv",
                                  "utf16_bom_tabs.csv", "odk_dash_groups.csv", "french_excel_semicolons.csv",
                                  "title_shifted.csv", "bom_only.csv", "ragged_row.csv", "tasks_v1.json",
                                  "french_decimal_commas.csv"])  # fmt: skip
def test_it_gives_the_verdict_of_a_dry_run_in_phare_htcds_validate(name: str, org: Any, admin: Any,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    """One reader: `phare htcds validate` read files its own way (tracebacks on Windows-1252, semicolons and
    UTF-16; the filled templates called invalid; an empty file "0 records valid")."""
    from phare.imports.service import refused

    org.org_ShippingCountry = "NG"
    org.save()
    path = _copy(name, tmp_path)
    if path.suffix == ".txt":
        path = path.rename(path.with_suffix(".csv"))
    dry = run_import(org, path, "--dry-run")
    code, report = validate(path, "--country", "NG")
    accepted = dry["rejected"] == 0 and not refused(dry["file_problems"]) and dry["created"] > 0
    assert (code == 0) is accepted and report["valid"] is accepted, (report["problems"][:3], dry["file_problems"])
    assert report["records"] == sum(dry[k] for k in ("created", "updated", "unchanged", "rejected"))
    rejected_rows = {r["row"] for r in dry["rows"] if r["outcome"] == "rejected"}
    assert {p["row"] for p in report["problems"] if p["severity"] == "error" and p["row"]} == rejected_rows


def test_it_says_created_0_when_an_all_or_nothing_import_is_rolled_back_and_exits_non_zero(org: Any, admin: Any) -> None:
    from phare.cases.models import Case

    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("import", str(FILES / "year_alone.csv"), "--org", org.slug, "--json", stdout=out)
    assert exited.value.code == 1
    report = json.loads(out.getvalue())
    assert (report["created"], report["would_create"], report["rejected"], report["rolled_back"]) == (0, 2, 2, True)
    assert not Case.objects.filter(organisation=org).exists()
    with pytest.raises(CommandError):  # a mapping file that is not there
        call_command("import", str(FILES / "shelter_a.csv"), "--org", org.slug, "--mapping", str(FILES / "nowhere.yaml"),
                     stdout=io.StringIO())  # fmt: skip
    with pytest.raises(SystemExit) as exited:  # a file that is not there
        call_command("import", str(FILES / "nowhere.csv"), "--org", org.slug, "--json", stdout=io.StringIO())
    assert exited.value.code == 1
    with pytest.raises(CommandError, match="no such file"):
        call_command("htcds", "validate", str(FILES / "nowhere.csv"), stdout=io.StringIO())


def test_it_creates_an_organisation_with_its_first_administrator_and_no_demo_users(db: Any) -> None:
    from phare.accounts.models import EnrolmentCode, Organisation, User
    from phare.audit.models import AuditEvent

    out = io.StringIO()
    call_command("org", "create", "safe-haven", "--name", "Safe Haven", "--country", "Nigeria", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    org = Organisation.objects.get(slug="safe-haven")
    assert (org.org_Name, org.org_ShippingCountry) == ("Safe Haven", "NG")
    assert list(User.objects.filter(organisation=org).values_list("username", "role")) == [("safe-haven-admin", "admin")]
    text = out.getvalue()
    password = text.split("password: ")[1].split()[0]
    assert User.objects.get(username="safe-haven-admin").check_password(password)
    assert EnrolmentCode.objects.filter(user__organisation=org, used_at__isnull=True).count() == 1
    assert "enrolment code: " in text
    assert AuditEvent.objects.filter(action="organisation.create").exists()
    with pytest.raises(CommandError, match="exists already"):
        call_command("org", "create", "safe-haven", "--name", "Again", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a country"):
        call_command("org", "create", "other", "--name", "Other", "--country", "Atlantis", stdout=io.StringIO())


def test_it_gives_each_case_the_owner_its_file_names(org: Any, admin: Any, make_user: Any) -> None:
    """The `Case Owner` column was dropped: every case went to whoever imported. A username or a full name finds the
    user; an unknown owner is a warning with its fix (the case then goes to the importer, who is named)."""
    from phare.cases.models import Case

    ada = make_user(Role.CASE_WORKER, org, username="ada.worker")
    grace = make_user(Role.CASE_WORKER, org, username="gh", first_name="Grace", last_name="Hopper")
    report = run_import(org, FILES / "case_owners.csv")
    assert (report["created"], report["rejected"]) == (3, 0)
    owners = {c.primary_person.prs_FirstName if c.primary_person else "": c.cas_CaseOwner
              for c in Case.objects.filter(organisation=org).select_related("primary_person", "cas_CaseOwner")}  # fmt: skip
    assert owners == {"Ana": ada, "Bola": grace, "Chidi": admin}
    warning = [p for p in report["file_problems"] if p["code"] == "unknown-owner"]
    assert [p["value"] for p in warning] == ["Nobody Known"]
    assert "(row 4)" in warning[0]["message"] and admin.username in warning[0]["message"] and warning[0]["fix"]
    assert "cas_CaseOwner" not in str([p for p in report["file_problems"] if p["code"] == "lookup-not-imported"])


def test_it_generates_an_xlsform_that_enforces_what_the_import_enforces() -> None:
    """The form took local numbers the import then refused, and let a case be closed without a reason."""
    import re

    from htcds.sources.values import phone_text
    from htcds.sources.xlsform import xlsform_sheets

    survey = {r[1]: r for r in xlsform_sheets(extended=True)["survey"][1:] if r[1]}
    closure = survey["cas_ReasonForCaseClosure"]
    assert closure[4] == "${cas_Status} = 'Closed' or ${cas_Status} = 'ClosedReferred'"
    pattern = re.search(r"regex\(\., '(.*)'\)", survey["prs_MobilePhone"][5])
    assert pattern is not None
    for typed in ("+44 (0)20 7946 0958", "+234 803.123.4567", "+1-202-555-0143", "0803 123 4567", "803 123 4567",
                  "+0 123 4567", "call me"):  # fmt: skip
        takes = re.fullmatch(pattern.group(1), typed) is not None
        stored = phone_text(typed)
        assert takes is bool(re.fullmatch(r"\+[1-9]\d{6,14}", stored)), (typed, stored)


def test_it_flags_the_same_person_twice_in_a_file_and_across_scripts(org: Any, admin: Any, tmp_path: Path) -> None:
    """Names in Cyrillic, Arabic or Chinese were never compared (only a-z survived folding), and two rows of one
    file for the same person were not flagged."""
    report = run_import(org, FILES / "same_person_twice.csv")
    assert report["created"] == 5
    flagged = {r["row"]: [p["fix"] for p in r["problems"] if p["code"] == "duplicate-in-file"] for r in report["rows"]}
    assert flagged == {3: ["compare with row 2; keep one row per person"],
                       5: ["compare with row 4; keep one row per person"]}  # fmt: skip
    from phare.cases.actions import name_tokens

    assert name_tokens("Анна", "Иванова") == ["anna", "ivanova"]
    report = run_import(org, _copy("same_person_twice.csv", tmp_path).rename(tmp_path / "other-source.csv"))
    assert all(r["duplicates"] for r in report["rows"] if r["row"] in (2, 3))  # both scripts match Anna Ivanova


@pytest.mark.parametrize("name", ["kobo_labels.csv", "kobo_group_labels.csv", "kobo_group_labels.xlsx"])
def test_it_reads_a_kobo_export_with_the_xlsforms_labels_as_headers(org: Any, admin: Any, tmp_path: Path,
                                                                    name: str) -> None:  # fmt: skip
    """IOM's XLSForm labels prs_Title "Second Name", as it labels prs_Second_Name: a label export has two "Second
    Name" columns, in the form's order. "Mailing Zip/Postal Code" and "Mailing State/Province" hold a "/" (as group
    labels do, "Person/Address/..."): the postal code was read as a trafficking event's and the state left out."""
    path = FILES / name
    if path.suffix == ".xlsx":  # KoBo's XLSX export: the same sheet in a workbook
        with (FILES / "kobo_group_labels.csv").open(newline="", encoding="utf-8") as fh:
            path = write_xlsx(tmp_path / name, list(csv.reader(fh)))
    report = run_import(org, path)
    assert (report["created"], report["rejected"]) == (2, 0)
    assert not [p for p in report["file_problems"] if p["code"] in ("unmapped-column", "duplicate-column")]
    stored = by_name(exported(org, tmp_path))
    amina, chidi = person(stored["Amina"]), person(stored["Chidi"])
    assert (amina["prs_SecondName"], amina["prs_Title"]) == ("Okafor", "Seamstress")
    assert (chidi["prs_SecondName"], chidi["prs_Title"]) == ("Eze", "Driver")
    assert (amina["prs_MailingPostalCode"], amina["prs_MailingState"], amina["prs_MailingStreet"]) == (
        "100001", "Lagos State", "12 Example Road")  # fmt: skip
    assert (chidi["prs_MailingPostalCode"], chidi["prs_MailingState"]) == ("GA-123-4567", "Greater Accra")
    assert all("events" not in b for b in stored.values())  # a postal code is no trafficking event
    assert stored["Amina"]["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage", "FalsePromises"]
    assert stored["Chidi"]["case"]["cas_Status"] == "FollowUp"
    assert stored["Chidi"]["consents"][0]["con_Consent"] is False


def test_it_refuses_a_row_with_values_beyond_the_last_header(org: Any, admin: Any, tmp_path: Path) -> None:
    """"12, Marina Way" unquoted shifted the row: street "12", city "Marina Way", and "Lagos" in a column without a
    header was dropped unseen. The row is refused naming the columns, values and fix; the quoted row goes in."""
    report = run_import(org, FILES / "ragged_row.csv", "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (1, 1)
    [problem] = problems_of(report, 2)
    assert (problem["code"], problem["column"], problem["value"]) == ("cells-beyond-header", "F", "Lagos")
    assert "'Lagos'" in problem["message"] and "quote the cell" in problem["fix"]
    stored = by_name(exported(org, tmp_path))
    assert set(stored) == {"Bola"}
    assert (person(stored["Bola"])["prs_MailingStreet"], person(stored["Bola"])["prs_MailingCity"]) == ("3, Rue Neuve", "Lyon")
    # The rejected-rows copy keeps "Lagos" where it was typed (its added columns come after it): imported as it is,
    # the row is refused again; corrected (the street quoted), it goes in whole.
    copy = Path(tempfile.mkdtemp()) / "ragged.errors.csv"
    call_command("import", str(FILES / "ragged_row.csv"), "--org", org.slug, "--mode", "skip-bad", "--source", "again",
                 "--errors", str(copy), stdout=io.StringIO())  # fmt: skip
    rows = list(csv.reader(copy.open(newline="", encoding="utf-8")))
    assert rows[1][:6] == ["Ana", "Adeyemi", "Feminine", "12", " Marina Way", "Lagos"] and rows[1][6] == "2"
    assert [p["code"] for p in problems_of(run_import(org, copy, "--dry-run"), 2)] == ["cells-beyond-header"]
    rows[1][3:6] = ["12, Marina Way", "Lagos", ""]
    with copy.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    assert run_import(org, copy)["created"] == 1
    ana = person(by_name(exported(org, tmp_path))["Ana"])
    assert (ana["prs_MailingStreet"], ana["prs_MailingCity"]) == ("12, Marina Way", "Lagos")
    # The same row in a workbook (read by columns) is refused alike.
    with (FILES / "ragged_row.csv").open(newline="", encoding="utf-8") as fh:
        sheet = write_xlsx(tmp_path / "ragged.xlsx", list(csv.reader(fh)))
    report = run_import(org, sheet, "--mode", "skip-bad", "--dry-run")
    assert [p["code"] for p in problems_of(report, 2)] == ["cells-beyond-header"]


def test_it_stores_what_messy_real_life_files_meant(org: Any, admin: Any, tmp_path: Path) -> None:
    """Files as they come: Excel's UTF-16 "Unicode text" with its mark and a tab inside a quoted cell, an ODK Central
    export whose groups are joined by "-", a French Excel CSV (semicolons, Windows-1252, day-first dates), a title
    shifted right and down above the header, and a workbook whose dates are text in several ways."""
    org.org_ShippingCountry = "FR"
    org.save()
    for name in ("utf16_bom_tabs.csv", "odk_dash_groups.csv", "french_excel_semicolons.csv", "title_shifted.csv"):
        report = run_import(org, FILES / name)
        assert report["rejected"] == 0 and report["created"] >= 2, (name, report["file_problems"])
    stored = by_name(exported(org, tmp_path))
    assert (person(stored["Zoë"])["prs_SecondName"], person(stored["Zoë"])["prs_MobilePhone"]) == ("Müller", "+41446681800")
    assert person(stored["فاطمة"])["prs_Birthdate"] == "1988-03-02"
    assert (person(stored["Amina"])["prs_MailingCity"], stored["Chidi"]["case"]["cas_Status"]) == ("Lagos", "FollowUp")
    assert (person(stored["Élodie"])["prs_Birthdate"], person(stored["Élodie"])["prs_MailingCity"]) == ("1992-04-03", "Besançon")
    assert person(stored["Noël"])["prs_Birthdate"] == "1980-12-25"
    assert person(stored["Bola"])["prs_Gender"] == "Masculine"
    import datetime

    typed = ["1990-04-02", "02/04/1990", "2 April 1990", "02.04.1990", "19900402", datetime.date(1990, 4, 2), "1990",
             "31/12/1990", "12/31/1990"]  # fmt: skip
    sheet = write_xlsx(tmp_path / "text_dates.xlsx", [["prs_FirstName", "prs_SecondName", "prs_Birthdate"],
                                                      *[[f"T{i}", "Text", d] for i, d in enumerate(typed)]])  # fmt: skip
    report = run_import(org, sheet, "--mode", "skip-bad")
    assert {r["row"] for r in report["rows"] if r["outcome"] == "rejected"} == {8, 10}  # a year alone; month first
    assert problems_of(report, 10)[0]["fix"] == "1990-12-31"
    stored = by_name(exported(org, tmp_path))
    assert {person(stored[f"T{i}"])["prs_Birthdate"] for i in range(6)} == {"1990-04-02"}
    assert person(stored["T7"])["prs_Birthdate"] == "1990-12-31"


def test_it_validates_and_imports_its_own_blank_template_filled_in(org: Any, admin: Any, tmp_path: Path) -> None:
    """`phare htcds validate` refused Phare's own blank template once filled in, which the import took."""
    import openpyxl

    from htcds.sources.xlsform import write_blank_template

    path = write_blank_template(tmp_path / "blank.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Case Sheet"]
    names = [c.value for c in ws[1]]
    filled = {"prs_FirstName": "Nadu", "prs_SecondName": "Okoro", "prs_Gender": "Feminine", "prs_Birthdate": "1991-07-08",
              "prs_Citizenship": "Nigeria", "cas_Status": "Follow Up", "vic_MethodsOfControl": "Debt bondage",
              "cas_CaseOwner": admin.username}  # fmt: skip
    for name, value in filled.items():
        ws.cell(row=3, column=names.index(name) + 1, value=value)
    wb.save(path)
    code, checked = validate(path)
    assert (code, checked["valid"], checked["records"]) == (0, True, 1), checked["problems"]
    report = run_import(org, path)
    assert (report["created"], report["rejected"]) == (1, 0)
    [bundle] = exported(org, tmp_path)
    assert {k: person(bundle).get(k) for k in ("prs_SecondName", "prs_Birthdate", "prs_Citizenship")} == {
        "prs_SecondName": "Okoro", "prs_Birthdate": "1991-07-08", "prs_Citizenship": ["NG"]}  # fmt: skip
    assert (bundle["case"]["cas_Status"], bundle["case"]["cas_CaseOwner"]) == ("FollowUp", admin.username)
    assert bundle["participants"][0]["vic_MethodsOfControl"] == ["DebtBondage"]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_it_refuses_a_one_mebibyte_cell_cleanly_in_validate_and_import(org: Any, admin: Any, tmp_path: Path,
                                                                       suffix: str) -> None:  # fmt: skip
    from phare.cases.models import Case

    rows = [["prs_FirstName", "prs_SecondName", "prs_Gender"], ["Ana", "x" * (1 << 20), "Feminine"],
            ["Bola", "Baker", "Feminine"]]  # fmt: skip
    path = tmp_path / f"huge.{suffix}"
    if suffix == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    else:
        write_xlsx(path, rows)
    code, checked = validate(path)
    if suffix == "csv":  # the cell is over the limit a file is measured by: the file is refused, nothing written
        assert code == 1 and [p["code"] for p in checked["problems"]] == ["file-too-large"]
        report = run_import(org, path)
        assert [p["code"] for p in report["file_problems"]] == ["file-too-large"] and report["created"] == 0
        assert "PHARE_IMPORT_MAX_CELL_CHARS" in report["file_problems"][0]["message"]
        assert not Case.objects.filter(organisation=org).exists()
        return
    # A workbook cell holds at most 32,767 characters (openpyxl stops there as Excel does): that row is refused,
    # the same in validate and import, and the text report shows the cell's start and length, not all of it.
    assert code == 1 and [(p["row"], p["code"]) for p in checked["problems"]] == [(2, "too-long")]
    report = run_import(org, path, "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (1, 1)
    assert [p["code"] for p in problems_of(report, 2)] == ["too-long"]
    out = io.StringIO()
    call_command("import", str(path), "--org", org.slug, "--dry-run", stdout=out)
    assert "(32,767 characters)" in out.getvalue() and len(out.getvalue()) < 1000


def test_it_answers_json_bundles_of_the_wrong_shape_with_problems_never_a_traceback(org: Any, admin: Any,
                                                                                     tmp_path: Path) -> None:  # fmt: skip
    """`"persons": "nope"` crashed the import (AttributeError in the reader) while validate reported it."""
    path = FILES / "odd_bundles.json"
    code, checked = validate(path)
    assert code == 1
    assert {p["row"] for p in checked["problems"] if p["severity"] == "error"} == {1, 2, 3, 4, 5}
    report = run_import(org, path, "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (1, 4)
    assert {r["row"] for r in report["rows"] if r["outcome"] == "rejected"} == {1, 2, 4, 5}
    assert [p["code"] for p in report["file_problems"]] == ["not-a-bundle"]
    assert problems_of(report, 1)[0]["code"] == "not-a-list"
    assert list(by_name(exported(org, tmp_path))) == ["Good"]
    out = io.StringIO()
    call_command("import", str(path), "--org", org.slug, "--dry-run", stdout=out)
    assert "column persons value 'nope'" in out.getvalue()


def test_it_refuses_an_id_typed_as_a_number_of_more_than_15_digits(org: Any, admin: Any, tmp_path: Path) -> None:
    """An identity number typed as a number in a workbook keeps 15 digits: 12345678901234567890 was stored as
    12345678901234569216. Such a cell is refused with the fix; a shorter number, or the same typed as text, goes in."""
    sheet = write_xlsx(tmp_path / "ids.xlsx", [["prs_FirstName", "prs_SecondName", "prs_IdentityNumber"],
                                               ["Long", "Id", 12345678901234567890], ["Card", "Id", 4111111111111111],
                                               ["Short", "Id", 123456789012345], ["Text", "Id", "12345678901234567890"]])  # fmt: skip
    code, checked = validate(sheet)
    assert code == 1 and {p["row"] for p in checked["problems"] if p["severity"] == "error"} == {2, 3}
    report = run_import(org, sheet, "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (2, 2)
    [problem] = problems_of(report, 2)
    assert (problem["field"], problem["column"]) == ("prs_IdentityNumber", "C (prs_IdentityNumber)")
    assert "more than 15 digits" in problem["message"] and "Text" in problem["fix"]
    stored = by_name(exported(org, tmp_path))
    assert person(stored["Short"])["prs_IdentityNumber"] == "123456789012345"
    assert person(stored["Text"])["prs_IdentityNumber"] == "12345678901234567890"
