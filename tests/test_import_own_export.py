"""Phare's own exports imported back: into the organisation they came from they update the same cases (case number
and victim record uid), into an empty one they recreate them field by field. The cases come from
tests/fixtures/files/own_export_cases.csv; what is stored is read back through `phare export`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "files" / "own_export_cases.csv"


@pytest.fixture
def org() -> Any:
    from phare.accounts.models import Organisation, User

    o = Organisation.objects.create(org_Name="Test NGO", slug="test-ngo")
    User.objects.create_user("admin1", password="x-long-password-1", organisation=o, role="admin")
    User.objects.create_user("case1", password="x-long-password-2", organisation=o, role="case_worker")
    User.objects.create_user("super1", password="x-long-password-3", organisation=o, role="supervisor")
    return o


def _import(path: Path, slug: str, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import", str(path), "--org", slug, "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def _export(fmt: str, slug: str, out: Path) -> Path:
    call_command("export", fmt, "--org", slug, "--out", str(out), stdout=io.StringIO())
    return out


def _bundles(path: Path) -> list[dict[str, Any]]:
    """The bundles of a JSON export without what is each organisation's own (ids, numbers, person uids)."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if k not in ("id", "person")}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    return [clean(b) for b in json.loads(path.read_text("utf-8"))["bundles"]]


def _bands(slug: str) -> list[tuple[str, str]]:
    from phare.cases.models import CaseParticipant

    return list(CaseParticipant.objects.filter(case__organisation__slug=slug).order_by("case__seq")
                .values_list("case__cas_OpenedDate", "age_band_at_registration"))  # fmt: skip


def test_it_names_lookups_in_exports_and_carries_the_opened_date(org: Any, tmp_path: Path) -> None:
    assert _import(FIXTURE, "test-ngo", "--add-organisations")["created"] == 4
    rows = list(csv.DictReader(_export("csv", "test-ngo", tmp_path / "out.csv").open(encoding="utf-8")))[1:]
    first = next(r for r in rows if r["prs_FirstName"] == "Urdimo")
    assert (first["cas_CaseOwner"], first["cas_ReferringOrganisation"], first["cas_ReferredOrganisation"]) == (
        "super1", "Shelter for women", "Border police")  # fmt: skip
    assert first["vic_LocationOfExploitation"] == "Green Valley Farm"
    assert (first["cas_OpenedDate"], first["cas_ClosedDate"]) == ("2021-08-17", "2023-01-30")
    assert first["id"].startswith("2021-") and len(first["record_uid"]) == 36
    # "border police" on another row is the same directory entry, not a second one
    third = next(r for r in rows if r["prs_FirstName"] == "Kourthoum")
    assert third["cas_ReferringOrganisation"] == "Border police"
    bundle = json.loads(_export("json", "test-ngo", tmp_path / "out.json").read_text("utf-8"))["bundles"][0]
    assert bundle["case"]["cas_CaseOwner"] == "super1"
    assert {r["direction"]: r.get("cas_ReferringOrganisation") or r.get("cas_ReferredOrganisation")
            for r in bundle["referrals"]} == {"Incoming": "Shelter for women", "Outgoing": "Border police"}  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_it_reimports_its_own_export_onto_the_same_cases(org: Any, tmp_path: Path, fmt: str) -> None:
    from phare.cases.models import Case

    _import(FIXTURE, "test-ngo", "--add-organisations")
    before = _bundles(_export("json", "test-ngo", tmp_path / "before.json"))
    path = _export(fmt, "test-ngo", tmp_path / f"cases.{fmt}")
    out = io.StringIO()
    call_command("htcds", "validate", str(path), "--json", stdout=out)  # the same reader: valid, nothing to warn of
    checked = json.loads(out.getvalue())
    assert (checked["valid"], checked["records"], checked["problems"]) == (True, 4, [])
    report = _import(path, "test-ngo")
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (0, 0, 4, 0)
    assert not [p for p in report["file_problems"] if p["code"] in ("unknown-organisation", "unknown-owner")]
    assert Case.objects.filter(organisation=org).count() == 4
    assert _bundles(_export("json", "test-ngo", tmp_path / "after.json")) == before


def test_it_stores_the_one_cell_changed_in_its_own_export(org: Any, tmp_path: Path) -> None:
    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export("csv", "test-ngo", tmp_path / "cases.csv")
    before = _bundles(_export("json", "test-ngo", tmp_path / "before.json"))
    text = path.read_text("utf-8")
    assert text.count("Lenroul") == 1
    path.write_text(text.replace("Lenroul", "Lenroul-Adeyemi"), "utf-8")
    report = _import(path, "test-ngo")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 3)
    after = _bundles(_export("json", "test-ngo", tmp_path / "after.json"))
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1
    b, a = changed[0]
    assert a["persons"][0]["prs_SecondName"] == "Lenroul-Adeyemi"
    a["persons"][0]["prs_SecondName"] = "Lenroul"
    assert a == b  # nothing else moved
    again = _import(path, "test-ngo")
    assert (again["updated"], again["unchanged"]) == (0, 4)


def test_it_does_not_take_another_organisations_export_for_its_own_cases(org: Any, tmp_path: Path) -> None:
    """The same case numbers in another organisation's export are new cases there: the record uid must match too."""
    from phare.accounts.models import Organisation, User
    from phare.cases.models import Case

    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export("csv", "test-ngo", tmp_path / "cases.csv")
    other = Organisation.objects.create(org_Name="Other NGO", slug="other-ngo")
    User.objects.create_user("admin2", password="x-long-password-4", organisation=other, role="admin")
    _import(FIXTURE, "other-ngo", "--add-organisations")
    numbers = set(Case.objects.filter(organisation=other).values_list("number", flat=True))
    assert numbers == set(Case.objects.filter(organisation=org).values_list("number", flat=True))
    report = _import(path, "other-ngo", "--add-organisations")
    assert (report["created"], report["updated"]) == (4, 0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_it_recreates_its_export_in_an_empty_organisation_field_by_field(org: Any, tmp_path: Path, fmt: str) -> None:
    from phare.accounts.models import Organisation, User
    from phare.cases.models import ExternalOrganisation

    _import(FIXTURE, "test-ngo", "--add-organisations")
    first = _export("json", "test-ngo", tmp_path / "first.json")
    path = _export(fmt, "test-ngo", tmp_path / f"cases.{fmt}")
    empty = Organisation.objects.create(org_Name="New NGO", slug="new-ngo")
    User.objects.create_user("admin2", password="x-long-password-4", organisation=empty, role="admin")
    # The same people work there (user names are unique across a Phare instance, so they move with the data).
    User.objects.filter(username__in=["case1", "super1"]).update(organisation=empty)
    dry = _import(path, "new-ngo", "--dry-run")
    unmatched = {p["value"] for p in dry["file_problems"] if p["code"] == "unknown-organisation"}
    assert unmatched == {"Shelter for women", "Border police", "Police anti-trafficking unit", "Children's shelter",
                         "Embassy consular section", "Green Valley Farm"}  # fmt: skip
    report = _import(path, "new-ngo", "--add-organisations")
    assert (report["created"], report["rejected"]) == (4, 0)
    assert not [p for p in report["file_problems"] if p["code"] == "unknown-owner"]
    assert ExternalOrganisation.objects.filter(organisation=empty).count() == 6
    second = _export("json", "new-ngo", tmp_path / "second.json")
    keep = (lambda b: b) if fmt == "json" else _sheet_part  # a sheet holds one row's records
    assert [keep(b) for b in _bundles(second)] == [keep(b) for b in _bundles(first)]
    assert _bands("new-ngo") == _bands("test-ngo") and all(band for _, band in _bands("new-ngo"))
    sheet = [{k: v for k, v in r.items() if k not in ("id", "record_uid")}
             for r in csv.DictReader(_export("csv", "new-ngo", tmp_path / "second.csv").open(encoding="utf-8"))]  # fmt: skip
    original = [{k: v for k, v in r.items() if k not in ("id", "record_uid")}
                for r in csv.DictReader(_export("csv", "test-ngo", tmp_path / "first.csv").open(encoding="utf-8"))]  # fmt: skip
    assert sheet == original


def _sheet_part(bundle: dict[str, Any]) -> dict[str, Any]:
    """What a sheet row carries of a bundle: the case, its victim, first consent and referrals."""
    return {k: bundle[k] for k in ("case", "persons", "participants", "referrals") if k in bundle} | {
        "consents": bundle.get("consents", [])[:1]}  # fmt: skip


def test_it_refuses_a_row_that_changes_a_closed_case_and_reopens_one_the_row_reopens(org: Any, tmp_path: Path) -> None:
    """A closed case is read-only: a row changing its victim's context was a traceback; it is now that row's problem,
    and a row that also gives the case an open status reopens it first."""
    from phare.cases.models import Case

    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export("csv", "test-ngo", tmp_path / "cases.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    head = rows[0]
    closed = next(r for r in rows[2:] if r[head.index("cas_Status")] == "ClosedReferred")
    closed[head.index("vic_TraffickingStatus")] = "NotAVictimOfTrafficking"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    report = _import(path, "test-ngo", "--mode", "skip-bad")
    assert (report["updated"], report["rejected"]) == (0, 1)
    [problem] = [p for r in report["rows"] for p in r["problems"] if p["code"] == "closed-case"]
    assert problem["row"] == rows.index(closed) + 1 and problem["column"].endswith("(cas_Status)")
    closed[head.index("cas_Status")] = "Active"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    report = _import(path, "test-ngo")
    assert (report["updated"], report["rejected"]) == (1, 0)
    case = Case.objects.get(organisation=org, number=closed[head.index("id")])
    assert case.cas_Status == "Active" and case.trafficking_status == "NotAVictimOfTrafficking"


def test_it_sets_aside_a_row_whose_change_a_case_verb_refuses_never_a_traceback(
        org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare.cases import actions

    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export("csv", "test-ngo", tmp_path / "cases.csv")
    path.write_text(path.read_text("utf-8").replace("Lenroul", "Lenroul-Adeyemi").replace("Kaiposho", "Kaipo"), "utf-8")
    real = actions.update_person

    def refusing(actor: Any, person: Any, data: dict[str, Any], request: Any = None) -> list[str]:
        if data.get("prs_SecondName") == "Kaipo":
            raise actions.Invalid({"prs_SecondName": ["refused by a rule"]})
        return real(actor, person, data, request)

    monkeypatch.setattr(actions, "update_person", refusing)
    report = _import(path, "test-ngo", "--mode", "skip-bad")
    assert (report["updated"], report["rejected"], report["unchanged"]) == (1, 1, 2)
    [problem] = [p for r in report["rows"] for p in r["problems"] if p["code"] == "invalid-update"]
    assert "refused by a rule" in problem["message"]
    names = {b["persons"][0]["prs_SecondName"] for b in _bundles(_export("json", "test-ngo", tmp_path / "after.json"))}
    assert {"Lenroul-Adeyemi", "Kaiposho"} <= names and "Kaipo" not in names
    assert (tmp_path / "cases.csv.errors.csv").read_text("utf-8").count("Kaipo") == 1


def test_it_stores_a_changed_and_an_emptied_value_of_a_json_export_in_every_record(org: Any, tmp_path: Path) -> None:
    """A bundle leaves an empty field out: re-imported, a record it holds without a field empties that field."""
    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export("json", "test-ngo", tmp_path / "cases.json")
    data = json.loads(path.read_text("utf-8"))
    amina = next(b for b in data["bundles"] if b["persons"][0]["prs_FirstName"] == "Urdimo")
    del amina["persons"][0]["prs_MobilePhone"]  # emptied
    incoming = next(r for r in amina["referrals"] if r["direction"] == "Incoming")
    incoming["cas_IncomingReferralDetails"] = "Came with a social worker and a cousin"  # changed
    del amina["participants"][0]["vic_LocationOfExploitation"]  # emptied lookup
    amina["consents"][0]["con_Consent"] = False
    amina["case"]["cas_Status"] = "Active"  # reopened, so its records may change
    path.write_text(json.dumps(data), "utf-8")
    report = _import(path, "test-ngo")
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (0, 1, 3, 0)
    after = json.loads(_export("json", "test-ngo", tmp_path / "after.json").read_text("utf-8"))["bundles"]
    stored = next(b for b in after if b["persons"][0]["prs_FirstName"] == "Urdimo")
    assert "prs_MobilePhone" not in stored["persons"][0]
    assert "vic_LocationOfExploitation" not in stored["participants"][0]
    assert next(r for r in stored["referrals"] if r["direction"] == "Incoming")["cas_IncomingReferralDetails"] == (
        "Came with a social worker and a cousin")  # fmt: skip
    assert stored["consents"][0]["con_Consent"] is False and stored["case"]["cas_Status"] == "Active"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_it_hands_a_case_over_to_the_owner_an_edited_export_names(org: Any, tmp_path: Path, fmt: str) -> None:
    from phare.cases.models import Case, CaseEvent

    _import(FIXTURE, "test-ngo", "--add-organisations")
    path = _export(fmt, "test-ngo", tmp_path / f"cases.{fmt}")
    if fmt == "csv":
        rows = list(csv.reader(path.open(encoding="utf-8")))
        row = next(r for r in rows[2:] if r[rows[0].index("prs_FirstName")] == "Fobiamoum")
        row[rows[0].index("cas_CaseOwner")] = "case1"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    else:
        data = json.loads(path.read_text("utf-8"))
        next(b for b in data["bundles"] if b["persons"][0]["prs_FirstName"] == "Fobiamoum")["case"]["cas_CaseOwner"] = "case1"
        path.write_text(json.dumps(data), "utf-8")
    report = _import(path, "test-ngo")
    assert (report["updated"], report["unchanged"]) == (1, 3)
    case = Case.objects.get(organisation=org, primary_person__isnull=False, seq=4)
    assert case.cas_CaseOwner is not None and case.cas_CaseOwner.username == "case1"
    assert CaseEvent.objects.filter(case=case, kind="reassigned").count() == 1


def _tasks(slug: str, tmp_path: Path, name: str) -> dict[str, list[dict[str, Any]]]:
    """Each case's tasks as `phare export json` writes them, by the victim's first name, without their ids."""
    bundles = json.loads(_export("json", slug, tmp_path / name).read_text("utf-8"))["bundles"]
    return {b["persons"][0]["prs_FirstName"]: [{k: v for k, v in t.items() if k != "id"} for t in b.get("x_phare_tasks", [])]
            for b in bundles}  # fmt: skip


def test_it_stores_a_reimported_bundles_changed_and_new_tasks(org: Any, tmp_path: Path) -> None:
    """A re-imported JSON bundle changed every record of its case but its tasks (x_phare_tasks): a task marked done,
    given a new due date, notes or assignee, and a new task were dropped and the row said "unchanged"."""
    import shutil

    path = Path(shutil.copy(FIXTURE.with_name("tasks_v1.json"), tmp_path / "tasks.json"))
    assert _import(path, "test-ngo")["created"] == 1
    shutil.copy(FIXTURE.with_name("tasks_v2.json"), path)  # the same source, edited: tasks found by their titles
    report = _import(path, "test-ngo")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 0)
    assert _tasks("test-ngo", tmp_path, "a.json") == {"Ana": [
        {"title": "Call the shelter", "assignee": "admin1", "due": "2026-01-10", "done": "2026-01-09"},
        {"title": "Book the interpreter", "assignee": "super1", "due": "2026-01-20", "notes": "Hausa, a woman"},
        {"title": "Visit the clinic", "assignee": "admin1", "due": "2026-02-01"}]}  # fmt: skip
    assert _import(path, "test-ngo")["unchanged"] == 1  # nothing more to store: "updated" only of what changed
    # Phare's own export, edited: tasks found by their ids (uids), a renamed one stays the same task.
    own = _export("json", "test-ngo", tmp_path / "own.json")
    data = json.loads(own.read_text("utf-8"))
    tasks = data["bundles"][0]["x_phare_tasks"]
    uids = [t["id"] for t in tasks]
    tasks[0].pop("done")  # reopened
    tasks[2]["title"] = "Visit the clinic with Ana"
    own.write_text(json.dumps(data), "utf-8")
    report = _import(own, "test-ngo")
    assert (report["created"], report["updated"]) == (0, 1)
    after = json.loads(_export("json", "test-ngo", tmp_path / "b.json").read_text("utf-8"))["bundles"][0]
    after = after["x_phare_tasks"]
    assert [t["id"] for t in after] == uids
    assert "done" not in after[0] and after[2]["title"] == "Visit the clinic with Ana"
