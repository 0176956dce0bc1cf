"""`phare htcds ...` as a user runs it: exit codes and output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl

from tests.htcds.test_validation import good_bundle


def phare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phare.cli", *args], capture_output=True, text=True, timeout=120)


def test_it_lists_fields_as_json() -> None:
    out = phare("htcds", "fields", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    names = {f["name"] for f in data["fields"]}
    assert "vic_MethodsOfControl" in names and len(data["questions"]) == 9


def test_it_exits_0_for_a_valid_bundle_list_and_1_with_every_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([good_bundle(), good_bundle()]))
    out = phare("htcds", "validate", str(good))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 record(s), 0 error(s)" in out.stdout

    bad_bundle: dict[str, Any] = good_bundle()
    bad_bundle["case"]["cas_Status"] = "Follow up"
    bad_bundle["persons"][0]["prs_Gender"] = "F"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([good_bundle(), bad_bundle]))
    out = phare("htcds", "validate", str(bad), "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["errors"] == 2
    # Numbered as the import numbers them (the second item of the list), the same id twice a warning.
    assert {(p["row"], p["field"], p["suggestion"]) for p in report["problems"] if p["severity"] == "error"} == {
        (2, "cas_Status", "FollowUp"),
        (2, "prs_Gender", None),
    }


def test_it_explains_a_broken_json_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"case": ')
    out = phare("htcds", "validate", str(broken))
    assert out.returncode == 1
    assert "is not JSON" in out.stdout and "Traceback" not in out.stderr


def test_it_validates_the_official_template_filled_with_labels(shared: Path, tmp_path: Path) -> None:
    """The template filled with its own labels is what the import takes whole: valid, the labels read as values
    (it called such files invalid, 44 to 46 errors, while the import took them)."""
    path = tmp_path / "filled.xlsx"
    shutil.copy(shared / "htcds" / "HTCDS Excel Spreadsheet v2.0.xlsx", path)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    row = {"prs_FirstName": "Nadu", "prs_Gender": "Feminine", "cas_Status": "Active",
           "vic_MethodsOfControl": "Debt bondage ;False promises", "vic_TraffickingStatus": "ActualVictimOfTrafficking",
           "vic_TraffickinStatusDecisionMakingOrg": "NGO", "prs_Citizenship": "NG"}  # fmt: skip
    for name, value in row.items():
        ws.cell(row=3, column=header.index(name) + 1, value=value)
    wb.save(path)
    out = phare("htcds", "validate", str(path), "--json")
    report = json.loads(out.stdout)
    assert out.returncode == 0, out.stdout
    assert (report["records"], report["errors"], report["kind"]) == (1, 0, "htcds-template")
    ws.cell(row=3, column=header.index("prs_Gender") + 1, value="Femnine!")
    wb.save(path)
    out = phare("htcds", "validate", str(path), "--json")
    report = json.loads(out.stdout)
    assert out.returncode == 1
    assert [(p["row"], p["field"], p["severity"]) for p in report["problems"] if p["severity"] == "error"] == [
        (3, "prs_Gender", "error")]


def test_it_writes_schema_files(tmp_path: Path) -> None:
    out = phare("htcds", "schema", "--out", str(tmp_path / "schema"), "--json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["written"]) == 11
