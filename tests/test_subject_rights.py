from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from phare.accounts.models import Organisation, User
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Person
from phare.ops import actions as ops

pytestmark = pytest.mark.django_db
MARK = "QXMARK"


@pytest.fixture
def worker() -> User:
    org = Organisation.objects.create(slug="refuge", org_Name="Refuge")
    return User.objects.create_user("worker", password="x" * 16, organisation=org, role="case_worker")


@pytest.fixture
def case(worker: User) -> Any:
    case = actions.open_case(worker, person_data={"prs_FirstName": f"{MARK}first", "prs_SecondName": f"{MARK}second",
                                                  "prs_Email": "qx@example.org", "prs_Birthdate": date(1990, 2, 3),
                                                  "prs_Gender": "Feminine"},
                             context={"vic_MethodsOfControl": ["DebtBondage"]})  # fmt: skip
    actions.add_participant(worker, case, role="Perpetrator", person_data={"prs_FirstName": "PERPNAME"})
    actions.add_comment(worker, case, "COMMENTTEXT about someone else")
    return case


def victim(case: Any) -> Person:
    return Person.objects.get(participations__case=case, participations__role="Victim")


def test_it_exports_the_persons_data_without_third_parties(worker: User, case: Any, tmp_path: Path) -> None:
    data = ops.export_person(worker, victim(case))
    text = json.dumps(data)
    assert f"{MARK}first" in text and "1990-02-03" in text and "DebtBondage" in text
    assert "PERPNAME" not in text and "COMMENTTEXT" not in text
    assert data["cases"][0]["role"] == "Victim"
    assert AuditEvent.objects.filter(action="person.exported").count() == 1
    pdf = ops.export_person_pdf(data)
    assert pdf.startswith(b"%PDF")


def test_it_exports_from_the_command_line_as_json_and_pdf(worker: User, case: Any, tmp_path: Path) -> None:
    uid = str(victim(case).uid)
    call_command("person", "export", "--org", "refuge", "--person", uid, "--out", str(tmp_path / "p.json"))
    call_command("person", "export", "--org", "refuge", "--person", uid, "--out", str(tmp_path / "p.pdf"))
    assert json.loads((tmp_path / "p.json").read_text())["person"]["uid"] == uid
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")


def test_it_gives_the_person_their_documents_decrypted_in_the_export_archive(worker: User, case: Any, tmp_path: Path) -> None:
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from phare.documents.actions import upload_document

    theirs = b"%PDF-1.4\nQXDOC their passport\n%%EOF\n"
    perpetrator = Person.objects.get(participations__case=case, participations__role="Perpetrator")
    doc = upload_document(worker, case, SimpleUploadedFile("pass port.pdf", theirs), kind="identity",
                          person=victim(case), title="Passport")  # fmt: skip
    upload_document(worker, case, SimpleUploadedFile("other.pdf", b"%PDF-1.4\nPERPDOC\n"), kind="legal", person=perpetrator)
    out = tmp_path / "p.zip"
    call_command("person", "export", "--org", "refuge", "--person", str(victim(case).uid), "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("person.json"))
        assert [d["title"] for d in data["documents"]] == ["Passport"]
        entry = data["documents"][0]
        assert entry["file"] == f"documents/{doc.uid}-pass_port.pdf" and entry["filename"] == "pass port.pdf"
        assert names == {"person.json", "person.pdf", entry["file"]}
        assert archive.read(entry["file"]) == theirs  # decrypted, whole
        assert archive.read("person.pdf").startswith(b"%PDF")
        assert not any(b"PERPDOC" in archive.read(n) for n in names)  # another person's document stays out
    assert AuditEvent.objects.filter(action="document.downloaded", target_id=str(doc.uid)).count() == 1
    assert AuditEvent.objects.get(action="person.exported").detail["records"] == 1


def every_readable_value() -> str:
    """Everything the database yields through Django (decrypting what still can be) plus raw columns."""
    chunks = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.append(repr(cur.fetchall()))
    from django.apps import apps

    for model in apps.get_models():
        try:
            chunks.append(repr(list(model._default_manager.values())))
        except Exception:  # a value sealed with a destroyed key reads as None, never raises
            raise
    return "\n".join(chunks)


def test_it_erases_a_person_so_no_trace_of_their_fields_can_be_read(worker: User, case: Any) -> None:
    person = victim(case)
    assert MARK in every_readable_value()
    ops.erase_person(worker, person, reason="request 2026-17")
    person = Person.objects.get(pk=person.pk)
    assert (person.prs_FirstName, person.prs_Birthdate, person.prs_Email) == (None, None, None)
    assert MARK not in every_readable_value()
    assert "qx@example.org" not in every_readable_value()
    assert AuditEvent.objects.filter(action="person.erased", target_id=str(person.uid)).exists()


def test_it_refuses_erasure_without_a_reason_or_under_legal_hold(worker: User, case: Any) -> None:
    with pytest.raises(ValueError):
        ops.erase_person(worker, victim(case), reason=" ")
    ops.place_legal_hold(worker, case, "court order")
    with pytest.raises(ops.OnLegalHoldError):
        ops.erase_person(worker, victim(case), reason="request")
    assert victim(case).prs_FirstName == f"{MARK}first"
