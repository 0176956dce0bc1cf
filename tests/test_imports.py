"""`phare import` end to end on SQLite: dry run, atomic and skip-bad modes, re-import, duplicates flagged."""

from __future__ import annotations

import io
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.fixtures.sources import big_template_rows, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Any:
    from phare.accounts.models import Organisation, User

    o = Organisation.objects.create(org_Name="Test NGO", slug="test-ngo")
    User.objects.create_user("admin1", password="x-long-password-1", organisation=o, role="admin")
    return o


def _file(tmp_path: Path, n: int, bad_row: int | None = None) -> Path:
    rows = list(big_template_rows(n))
    if bad_row is not None:
        rows[bad_row + 2][rows[0].index("prs_Gender")] = "Femnine!"
    return write_csv(tmp_path / "cases.csv", rows)


def _run(path: Path, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import", str(path), "--org", "test-ngo", "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def test_it_dry_runs_then_imports_and_reimports_without_duplicates(org: Any, tmp_path: Path) -> None:
    from phare.cases.models import Case
    from phare.imports.models import ImportedRecord

    path = _file(tmp_path, 5)
    dry = _run(path, "--dry-run")
    assert (dry["created"], dry["rejected"]) == (5, 0) and Case.objects.count() == 0
    first = _run(path)
    assert first["created"] == 5 and Case.objects.count() == 5 and ImportedRecord.objects.count() == 5
    again = _run(path)
    assert (again["created"], again["unchanged"]) == (0, 5) and Case.objects.count() == 5


def test_it_rejects_the_whole_file_in_atomic_mode_and_sets_bad_rows_aside_otherwise(org: Any, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    from phare.cases.models import Case

    path = _file(tmp_path, 4, bad_row=1)
    with pytest.raises(CommandError):
        call_command("import", str(path), "--org", "test-ngo", stdout=io.StringIO(), stderr=io.StringIO())
    assert Case.objects.count() == 0
    report = _run(path, "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (3, 1) and Case.objects.count() == 3
    errors = (tmp_path / "cases.csv.errors.csv").read_text("utf-8")
    assert "Femnine!" in errors and "invalid-choice" in errors and "Feminine" in errors


def test_it_flags_possible_duplicates_of_existing_people(org: Any, tmp_path: Path) -> None:
    import re

    from phare.cases.models import Case

    path = _file(tmp_path, 2)
    _run(path)
    rows = list(big_template_rows(2, seed=99))
    other = write_csv(
        tmp_path / "other.csv", [r + (["id"] if i == 0 else [""] if i == 1 else [f"X{i}"]) for i, r in enumerate(rows)]
    )
    report = _run(other, "--dry-run")
    assert report["created"] == 2
    assert len(report["rows"]) == 2 and all(r["duplicates"] for r in report["rows"])
    out = io.StringIO()
    call_command("import", str(other), "--org", "test-ngo", "--dry-run", stdout=out)
    first = sorted(Case.objects.filter(organisation=org).values_list("number", flat=True))
    said = re.findall(r"possible duplicate: compare with case ([\d-]+)", out.getvalue())
    assert sorted(said) == first  # the cases to compare, not the database's person ids


def test_it_imports_only_as_a_role_that_may_import(org: Any, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    from phare.accounts.models import Role, User
    from phare.cases.models import Case

    User.objects.create_user("worker1", password="x-long-password-3", organisation=org, role=Role.CASE_WORKER)
    with pytest.raises(CommandError, match="allowed to import"):
        _run(_file(tmp_path, 2), "--user", "worker1")
    assert not Case.objects.filter(organisation=org).exists()


def test_it_exports_what_it_imported(org: Any, tmp_path: Path) -> None:
    _run(_file(tmp_path, 3))
    out = tmp_path / "out.json"
    call_command("export", "json", "--org", "test-ngo", "--out", str(out), stdout=io.StringIO())
    bundles = json.loads(out.read_text("utf-8"))["bundles"]
    assert len(bundles) == 3
    assert bundles[0]["persons"][0]["prs_FirstName"] == "Ana"
    random.shuffle(bundles)


def test_it_exports_a_filtered_list_and_only_as_a_role_that_may_export(org: Any, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    from phare.accounts.models import Role, User
    from phare.audit.models import AuditEvent
    from phare.cases import actions
    from phare.cases.models import Case

    _run(_file(tmp_path, 3))
    admin = User.objects.get(username="admin1")
    closed = Case.objects.filter(organisation=org).order_by("seq")[1]
    actions.close_case(admin, closed, reason="Safe")
    out = tmp_path / "closed.json"
    call_command("export", "json", "--org", "test-ngo", "--out", str(out), "--filter", "status=Closed",
                 stdout=io.StringIO())  # fmt: skip
    assert [b["case"]["id"] for b in json.loads(out.read_text("utf-8"))["bundles"]] == [closed.number]
    assert AuditEvent.objects.get(action="export.cases").detail["filters"] == {"status": "Closed"}
    User.objects.create_user("worker1", password="x-long-password-3", organisation=org, role=Role.CASE_WORKER)
    refused = tmp_path / "refused.json"
    with pytest.raises(CommandError, match="allowed to export"):  # a case worker sees names but may not export
        call_command("export", "json", "--org", "test-ngo", "--out", str(refused), "--user", "worker1")
    with pytest.raises(CommandError, match="opened_from"):
        call_command("export", "json", "--org", "test-ngo", "--out", str(refused), "--filter", "opened_from=soon")
    assert not refused.exists() and AuditEvent.objects.filter(action="export.cases").count() == 1


def test_it_writes_the_rows_the_case_verbs_would(org: Any, tmp_path: Path) -> None:
    from phare.audit.log import verify
    from phare.audit.models import AuditEvent
    from phare.cases import actions
    from phare.cases.models import Case, CaseEvent, CaseParticipant, Consent, Referral

    _run(_file(tmp_path, 3))
    cases = list(Case.objects.filter(organisation=org).order_by("seq"))
    assert [c.seq for c in cases] == [1, 2, 3]
    for case in cases:
        assert case.cas_CaseOwner.username == "admin1"
        assert case.primary_person is not None and case.primary_person.prs_FirstName  # sealed, and opens again
        assert case.exploitation_summary.startswith("|") and case.trafficking_status
        victim = CaseParticipant.objects.get(case=case)
        assert victim.role == "Victim" and victim.vic_TypeOfExploitation and victim.age_band_at_registration
        directions = set(Referral.objects.filter(case=case).values_list("direction", flat=True))
        assert directions and directions <= {"Incoming", "Outgoing"}
        assert Consent.objects.filter(case=case, person=case.primary_person).exists()
        assert CaseEvent.objects.filter(case=case, kind="opened").exists()
    # The blind index finds an imported person, as it would one entered by hand.
    person = cases[0].primary_person
    typed = {"prs_Email": "".join(person.prs_Email), "prs_Birthdate": date.fromisoformat(person.prs_Birthdate.isoformat())}
    found = actions.find_matches(org.pk, typed)
    assert [p.pk for p, _ in found] == [person.pk]
    batch = AuditEvent.objects.get(action="import.batch")
    assert batch.detail["created"] == [c.number for c in cases]
    assert verify().ok


def test_it_round_trips_an_export_into_an_empty_organisation(org: Any, tmp_path: Path) -> None:
    from phare.accounts.models import Organisation, User
    from phare.cases import actions
    from phare.cases.models import Case

    _run(_file(tmp_path, 4))
    # What a template row cannot carry but a JSON bundle does: comments, events, plans, assessments.
    case = Case.objects.filter(organisation=org).order_by("seq").first()
    assert case is not None
    actor = case.cas_CaseOwner
    actions.add_comment(actor, case, "Met at the shelter", on=date(2024, 2, 1))
    actions.add_event(actor, case, {"hte_Type": "Recruitment", "hte_Country": "NG", "hte_Date": date(2023, 1, 5)})
    actions.add_support_plan(actor, case, {"spl_Type": "Health", "spl_StartDate": date(2024, 1, 1)})
    actions.record_assessment(actor, case, {"asm_Level": "Individual", "asm_Date": date(2024, 1, 2)},
                              [{"question": "ind_age", "answer": "Yes"}])  # fmt: skip
    first = tmp_path / "first.json"
    call_command("export", "json", "--org", "test-ngo", "--out", str(first), stdout=io.StringIO())
    other = Organisation.objects.create(org_Name="Second NGO", slug="second-ngo")
    User.objects.create_user("admin2", password="x-long-password-2", organisation=other, role="admin")
    out = io.StringIO()
    call_command("import", str(first), "--org", "second-ngo", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 4
    second = tmp_path / "second.json"
    call_command("export", "json", "--org", "second-ngo", "--out", str(second), stdout=io.StringIO())

    def records(path: Path) -> list[Any]:
        bundles = json.loads(path.read_text("utf-8"))["bundles"]
        # Ids, numbers and users are each organisation's own; everything else must come back the same.
        strip = {"id", "cas_CaseNumber", "number", "person", "cas_CaseOwner"}

        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items() if k not in strip}
            if isinstance(x, list):
                return [clean(v) for v in x]
            return x

        return sorted((clean(b) for b in bundles), key=lambda b: json.dumps(b, sort_keys=True))

    assert records(first) == records(second)
    kept = [b for b in json.loads(second.read_text("utf-8"))["bundles"] if b.get("comments")]
    assert len(kept) == 1 and kept[0]["comments"][0]["cco_CaseComment"] == "Met at the shelter"
    assert {"events", "support_plans", "assessments"} <= set(kept[0])


def test_it_streams_batches_and_still_rolls_back_a_whole_atomic_file(org: Any, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Rows are written as they are read; a bad row after several written batches still leaves nothing."""
    from django.core.management.base import CommandError

    from phare.audit.models import AuditEvent
    from phare.cases.models import Case, Person
    from phare.imports import service
    from phare.imports.models import ImportedRecord

    monkeypatch.setattr(service, "WRITE_BATCH", 2)
    path = _file(tmp_path, 7, bad_row=6)  # three batches are written before the last row is read
    with pytest.raises(CommandError):
        call_command("import", str(path), "--org", "test-ngo", stdout=io.StringIO(), stderr=io.StringIO())
    assert (Case.objects.count(), Person.objects.count(), ImportedRecord.objects.count()) == (0, 0, 0)
    assert not AuditEvent.objects.filter(action__startswith="import.").exists()
    report = _run(path, "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (6, 1) and Case.objects.count() == 6
    assert AuditEvent.objects.filter(action="import.batch").count() == 3


def test_it_flags_the_same_people_in_the_real_run_as_in_the_dry_run(org: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """People created earlier in the same import are not "possible duplicates" of later rows: the real run,
    which writes as it goes, reports what the dry run reported."""
    from phare.imports import service

    monkeypatch.setattr(service, "WRITE_BATCH", 1)
    monkeypatch.setattr(service, "BATCH", 1)
    _run(_file(tmp_path, 2))
    rows = list(big_template_rows(2, seed=99))
    twice = [rows[0], rows[1], rows[2], rows[3], rows[2]]  # the second data row appears twice
    path = write_csv(tmp_path / "twice.csv", [r + (["id"] if i == 0 else [""] if i == 1 else [f"T{i}"])
                                              for i, r in enumerate(twice)])  # fmt: skip
    dry, real = _run(path, "--dry-run"), _run(path)
    assert real["created"] == 3
    assert [r["duplicates"] for r in real["rows"]] == [r["duplicates"] for r in dry["rows"]]
    assert len(real["rows"]) == 3 and all(r["duplicates"] for r in real["rows"])  # each one of an earlier import's people


def test_it_warns_once_per_organisation_name_the_directory_does_not_hold(org: Any, tmp_path: Path) -> None:
    from phare.cases.models import CaseParticipant, ExternalOrganisation

    _run(_file(tmp_path, 3))
    out = tmp_path / "out.json"
    call_command("export", "json", "--org", "test-ngo", "--out", str(out), stdout=io.StringIO())
    data = json.loads(out.read_text("utf-8"))
    for i, b in enumerate(data["bundles"]):
        b["case"]["id"] = f"L{i}"
        b["participants"][0]["vic_LocationOfExploitation"] = "Farm Ltd" if i else "farm  LTD"  # one name, typed twice
    path = tmp_path / "lookups.json"
    path.write_text(json.dumps(data), "utf-8")
    report = _run(path, "--dry-run")
    warnings = [p for p in report["file_problems"] if p["code"] == "unknown-organisation"]
    assert len(warnings) == 1 and warnings[0]["field"] == "vic_LocationOfExploitation"
    assert warnings[0]["value"] == "farm LTD" and warnings[0]["rows"] == [1, 2, 3] and "left empty" in warnings[0]["message"]
    assert not any(p["code"] in ("unknown-organisation", "lookup-not-imported") for r in report["rows"] for p in r["problems"])
    text = io.StringIO()
    call_command("import", str(path), "--org", "test-ngo", "--dry-run", stdout=text)
    said = [line for line in text.getvalue().splitlines() if "unknown-organisation" in line]
    assert len(said) == 1 and "farm LTD (row 1, 2, 3)" in said[0] and "--add-organisations" in said[0]
    ExternalOrganisation.objects.create(organisation=org, org_Name="Farm Ltd")
    report = _run(path)
    assert report["created"] == 3 and not [p for p in report["file_problems"] if p["code"] == "unknown-organisation"]
    farm = ExternalOrganisation.objects.get(organisation=org)
    assert CaseParticipant.objects.filter(case__organisation=org, vic_LocationOfExploitation=farm).count() == 3


def test_it_writes_nothing_of_a_file_cut_short_by_a_limit_and_exits_non_zero(org: Any, tmp_path: Path) -> None:
    """A cell over the length limit 4,000 rows down: the rows before it are not the file, so an all-or-nothing
    import writes none of them, and the command fails without a traceback."""
    from django.core.management.base import CommandError

    from phare.cases.models import Case

    rows = list(big_template_rows(4_500))
    rows[4_002][rows[0].index("prs_SecondName")] = "y" * 300_000
    path = write_csv(tmp_path / "cases.csv", rows)
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import", str(path), "--org", "test-ngo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    errors = [p for p in data["file_problems"] if p["severity"] == "error"]
    assert [p["code"] for p in errors] == ["file-too-large"]
    assert "PHARE_IMPORT_MAX_CELL_CHARS" in errors[0]["message"]
    assert Case.objects.count() == 0
    with pytest.raises(CommandError, match="cannot be imported as it is"):
        call_command("import", str(path), "--org", "test-ngo", stdout=io.StringIO(), stderr=io.StringIO())
    assert Case.objects.count() == 0
