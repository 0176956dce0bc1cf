"""Documents of a case (issue 19): sealed at rest with the person's key, limited in size and type, never served
inline, readable only by those who may open the case and read personal data, every upload, view, download and
deletion audited; erasing the person leaves them unreadable."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.cases.models import CaseEvent, CaseParticipant
from phare.crypto import keys
from phare.documents import access as doc_access
from phare.documents import actions
from phare.documents.models import Document
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db

MARKER = b"Zqxdocmarker-Amaka-Obi-passport"
PDF = b"%PDF-1.4\n" + MARKER + b"\n%%EOF\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _files() -> list[Path]:
    root = Path(settings.DATA_DIR) / "files" / "documents"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(autouse=True)
def _no_files_before() -> None:
    import shutil

    shutil.rmtree(Path(settings.DATA_DIR) / "files" / "documents", ignore_errors=True)


@pytest.fixture
def team() -> dict[str, Any]:
    org = make_org()
    owner = make_user(org, Role.CASE_WORKER, "owner")
    case = make_case(owner)
    return {"org": org, "owner": owner, "case": case, "colleague": make_user(org, Role.CASE_WORKER, "colleague"),
            "boss": make_user(org, Role.SUPERVISOR, "boss"), "analyst": make_user(org, Role.ANALYST, "analyst"),
            "stranger": make_user(make_org("beta"), Role.SUPERVISOR, "stranger"),
            "person": CaseParticipant.objects.get(case=case).person}  # fmt: skip


def _upload(cl: Client, number: str, content: bytes = PDF, name: str = "passport.pdf", **extra: str) -> Any:
    return cl.post(f"/cases/{number}/documents/add/", {"file": SimpleUploadedFile(name, content), "kind": "identity",
                                                       "title": "Passport", **extra})  # fmt: skip


def test_it_keeps_an_upload_sealed_and_gives_it_back_as_an_attachment(team: dict[str, Any]) -> None:
    cl = _client(team["owner"])
    case = team["case"]
    r = _upload(cl, case.number, person=str(team["person"].uid))
    assert r.status_code == 302, r.content.decode()[:2000]
    doc = Document.objects.get()
    assert doc.subject == str(team["person"].uid) and doc.content_type == "application/pdf"
    assert all(MARKER not in p.read_bytes() for p in _files()) and _files()
    page = cl.get(f"/cases/{case.number}/").content.decode()
    assert "Passport" in page and f"/cases/{case.number}/documents/{doc.uid}/download/" in page
    r = cl.get(f"/cases/{case.number}/documents/{doc.uid}/download/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF  # type: ignore[attr-defined]
    assert r["Content-Disposition"].startswith("attachment;") and r["Content-Type"] == "application/octet-stream"
    assert r["X-Content-Type-Options"] == "nosniff" and "sandbox" in r["Content-Security-Policy"]
    actions_seen = set(AuditEvent.objects.filter(target_id=str(doc.uid)).values_list("action", flat=True))
    assert actions_seen == {"document.uploaded", "document.downloaded"}
    assert CaseEvent.objects.filter(case=case, kind="added", detail__record="document").exists()
    assert "Added: document" in cl.get(f"/cases/{case.number}/").content.decode()


def test_it_makes_a_preview_of_an_image_on_the_server(team: dict[str, Any]) -> None:
    cl = _client(team["owner"])
    r = _upload(cl, team["case"].number, _png(), "photo.png", kind="photo")
    assert r.status_code == 302
    doc = Document.objects.get()
    r = cl.get(f"/cases/{team['case'].number}/documents/{doc.uid}/preview/")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
    assert max(Image.open(io.BytesIO(r.content)).size) <= actions.PREVIEW_PX
    assert AuditEvent.objects.filter(action="document.viewed", target_id=str(doc.uid)).exists()


@pytest.mark.parametrize(("content", "name", "says"), [
    (b"MZ\x90\x00 a program", "letter.pdf", "PDF files and JPEG"),
    (b"<html><script>alert(1)</script>", "photo.jpg", "PDF files and JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"broken", "photo.png", "cannot be read"),
    (b"", "empty.pdf", "empty"),
])  # fmt: skip
def test_it_refuses_what_is_not_a_document_it_keeps(team: dict[str, Any], content: bytes, name: str, says: str) -> None:
    r = _upload(_client(team["owner"]), team["case"].number, content, name)
    assert r.status_code == 200 and says in r.content.decode() and 'id="error-summary"' in r.content.decode()
    assert not Document.objects.exists() and not _files()


def test_it_refuses_a_file_over_the_limit(team: dict[str, Any], settings: Any) -> None:
    settings.PHARE_DOCUMENT_MAX_MB = 1
    r = _upload(_client(team["owner"]), team["case"].number, PDF + b"0" * (1024 * 1024))
    assert r.status_code == 200 and "larger than 1 MB" in r.content.decode()
    assert not Document.objects.exists()


@pytest.mark.parametrize("who", ["colleague", "analyst", "stranger"])
def test_it_answers_not_found_to_who_may_not_open_the_case(team: dict[str, Any], who: str) -> None:
    doc = actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.pdf", PDF), kind="identity")
    cl = _client(team[who])
    base = f"/cases/{team['case'].number}/documents"
    for url in (f"{base}/{doc.uid}/download/", f"{base}/{doc.uid}/preview/"):
        assert cl.get(url).status_code == 404, url
    # A role that writes nothing is refused every form before anything is looked up (403, alike for any id).
    refused = 403 if who == "analyst" else 404
    assert cl.get(f"{base}/{doc.uid}/delete/").status_code == refused
    assert cl.post(f"{base}/{doc.uid}/delete/", {"confirm": "on"}).status_code == refused
    assert _upload(cl, team["case"].number).status_code == refused
    assert Document.objects.count() == 1
    assert not doc_access.visible_documents(team[who]).exists()
    assert not AuditEvent.objects.filter(action="document.downloaded").exists()


def test_it_opens_the_documents_to_a_colleague_assigned_to_the_case(team: dict[str, Any]) -> None:
    """The control for the test above: the same colleague, once assigned, gets the document."""
    doc = actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.pdf", PDF), kind="identity")
    case_actions.assign_worker(team["boss"], team["case"], team["colleague"])
    r = _client(team["colleague"]).get(f"/cases/{team['case'].number}/documents/{doc.uid}/download/")
    assert r.status_code == 200


def test_it_deletes_a_document_and_its_file(team: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    doc = actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.png", _png()), kind="photo")
    assert len(_files()) == 2  # the file and its preview
    with django_capture_on_commit_callbacks(execute=True):
        r = _client(team["owner"]).post(f"/cases/{team['case'].number}/documents/{doc.uid}/delete/", {"confirm": "on"})
    assert r.status_code == 302
    assert not Document.objects.exists() and not _files()
    assert AuditEvent.objects.filter(action="document.deleted", target_id=str(doc.uid)).exists()


def test_it_marks_a_document_as_the_signed_consent(team: dict[str, Any]) -> None:
    consent = case_actions.record_consent(team["owner"], team["case"], {"con_Consent": True, "con_Purpose": ["CaseManagement"]})
    r = _upload(_client(team["owner"]), team["case"].number, kind="consent", consent=str(consent.uid))
    assert r.status_code == 302
    assert Document.objects.get().consent_id == consent.pk


def test_it_leaves_an_erased_persons_documents_unreadable(team: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    from phare.ops.actions import erase_person

    doc = actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.pdf", PDF), kind="identity",
                                  person=team["person"])  # fmt: skip
    assert actions.sealed_file(doc).read_bytes() == PDF
    backup = {p: p.read_bytes() for p in _files()}  # what a backup taken before the erasure holds
    with django_capture_on_commit_callbacks(execute=True):
        erase_person(team["boss"], team["person"], reason="request 12")
    # Erasure removes the rows and the sealed files on disk...
    assert not Document.objects.filter(pk=doc.pk).exists() and not _files()
    assert AuditEvent.objects.get(action="person.erased").detail["documents_deleted"] == 1
    r = _client(team["owner"]).get(f"/cases/{team['case'].number}/documents/{doc.uid}/download/")
    assert r.status_code == 404
    # ...and a copy restored from an older backup no longer opens: the person's key is gone.
    for path, data in backup.items():
        path.write_bytes(data)
    keys.reset_caches()
    from phare.crypto.sealed import SealedFileError

    with pytest.raises(SealedFileError):
        actions.sealed_file(doc).read_bytes()


def test_it_removes_a_case_level_document_sealed_with_the_erased_persons_key(team: dict[str, Any],
                                                                            django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    from phare.ops.actions import erase_person

    about_case = actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("c.pdf", PDF), kind="legal")
    assert about_case.person_id is None and about_case.subject == str(team["person"].uid)
    other_case = make_case(team["owner"])
    kept = actions.upload_document(team["owner"], other_case, SimpleUploadedFile("k.pdf", PDF), kind="legal")
    with django_capture_on_commit_callbacks(execute=True):
        erase_person(team["boss"], team["person"], reason="request 13")
    assert list(Document.objects.values_list("pk", flat=True)) == [kept.pk]
    assert actions.sealed_file(kept).read_bytes() == PDF and len(_files()) == 1


@pytest.mark.parametrize("verb", ["erase_case", "anonymise_case"])
def test_it_removes_the_documents_and_their_files_when_retention_purges_a_case(team: dict[str, Any], verb: str,
                                                                               django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    from phare.ops import actions as ops

    actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.pdf", PDF), kind="identity",
                            person=team["person"])  # fmt: skip
    actions.upload_document(team["owner"], team["case"], _png_upload(), kind="photo")
    other_case = make_case(team["owner"])
    kept = actions.upload_document(team["owner"], other_case, SimpleUploadedFile("k.pdf", PDF), kind="legal")
    # The person is in another case too: their key lives on, so only the purge of the case removes its documents.
    case_actions.add_participant(team["owner"], other_case, role="Victim", person=team["person"])
    assert len(_files()) == 4  # two PDFs, a photo and its preview
    with django_capture_on_commit_callbacks(execute=True):
        getattr(ops, verb)(team["boss"], team["case"])
    assert list(Document.objects.values_list("pk", flat=True)) == [kept.pk]
    assert _files() == [actions.sealed_file(kept).path]


def _png_upload() -> Any:
    return SimpleUploadedFile("photo.png", _png())


def test_it_refuses_an_upload_to_a_closed_case(team: dict[str, Any]) -> None:
    case_actions.close_case(team["owner"], team["case"], reason="Back home")
    r = _upload(_client(team["owner"]), team["case"].number)
    assert r.status_code == 200 and "reopen it" in r.content.decode()
    assert not Document.objects.exists()


def test_it_deletes_the_documents_with_a_mistaken_case(team: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    actions.upload_document(team["owner"], team["case"], SimpleUploadedFile("p.pdf", PDF), kind="identity")
    with django_capture_on_commit_callbacks(execute=True):
        case_actions.delete_case(team["boss"], team["case"], "opened twice")
    assert not Document.objects.exists() and not _files()


def test_it_moves_documents_when_two_records_merge(team: dict[str, Any]) -> None:
    second = make_case(team["owner"])
    other = CaseParticipant.objects.get(case=second).person
    doc = actions.upload_document(team["owner"], second, SimpleUploadedFile("p.pdf", PDF), kind="identity", person=other,
                                  title="ID card")  # fmt: skip
    case_actions.merge_persons(team["boss"], team["person"], other)
    doc.refresh_from_db()
    assert doc.person_id == team["person"].pk and doc.subject == str(team["person"].uid)
    keys.reset_caches()
    assert actions.sealed_file(doc).read_bytes() == PDF and doc.title == "ID card"


# --- the API ---------------------------------------------------------------------------------------------


def test_it_takes_and_lists_documents_through_the_api(team: dict[str, Any]) -> None:
    from tests.test_api import V1, bearer, token_for

    api = Client()
    owner = bearer(token_for(team["owner"]))
    case = team["case"]
    r = api.post(f"{V1}/cases/{case.uid}/documents", {"file": SimpleUploadedFile("id.pdf", PDF), "kind": "identity",
                                                      "title": "ID", "person_id": str(team["person"].uid)}, **owner)  # fmt: skip
    assert r.status_code == 201, r.content
    doc_id = r.json()["id"]
    assert r.json()["person_id"] == str(team["person"].uid)
    listed = api.get(f"{V1}/cases/{case.uid}/documents", **owner).json()["items"]
    assert [d["id"] for d in listed] == [doc_id]
    r = api.get(f"{V1}/cases/{case.uid}/documents/{doc_id}/content", **owner)
    assert r.status_code == 200 and r.content == PDF and r["Content-Disposition"].startswith("attachment;")
    r = api.post(f"{V1}/cases/{case.uid}/documents", {"file": SimpleUploadedFile("x.exe", b"MZ\x90"), "kind": "other"}, **owner)
    assert r.status_code == 422
    # A colleague who cannot open the case: not found, alike for the list, the content and an upload.
    colleague = bearer(token_for(team["colleague"]))
    assert api.get(f"{V1}/cases/{case.uid}/documents", **colleague).status_code == 404
    assert api.get(f"{V1}/cases/{case.uid}/documents/{doc_id}/content", **colleague).status_code == 404
    r = api.post(f"{V1}/cases/{case.uid}/documents", {"file": SimpleUploadedFile("p.pdf", PDF), "kind": "identity"},
                 **colleague)  # fmt: skip
    assert r.status_code == 404
    assert Document.objects.count() == 1
