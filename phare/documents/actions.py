"""The verbs of documents: upload, open (preview, download), delete. Each runs in one transaction with its audit
event; files are written sealed before the row exists and removed only once the deletion has committed, so a
rolled-back action leaves no row without its file and no file lost while its row remains."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from phare.audit import log as audit
from phare.cases.actions import Invalid, _case_event, require_open
from phare.cases.models import Case, Consent, Person
from phare.crypto.sealed import SealedFile
from phare.documents.models import Document, DocumentKind

# What a document may be, recognised by its first bytes, never by the name or the type the browser claims.
SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"%PDF-", 0, "application/pdf", "pdf"),
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"WEBP", 8, "image/webp", "webp"),
)
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
PREVIEW_PX = 480


def max_bytes() -> int:
    return int(getattr(settings, "PHARE_DOCUMENT_MAX_MB", 20)) * 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, if it is one Phare keeps."""
    for magic, at, ctype, _ext in SIGNATURES:
        if head[at : at + len(magic)] == magic and (ctype != "image/webp" or head[:4] == b"RIFF"):
            return ctype
    return None


def _folder(organisation_id: int) -> Path:
    folder = Path(settings.DATA_DIR) / "files" / "documents" / str(organisation_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def sealed_file(doc: Document, preview: bool = False) -> SealedFile:
    name = f"{doc.uid}.preview" if preview else str(doc.uid)
    return SealedFile(_folder(doc.organisation_id) / name, doc.organisation_id, "document-preview" if preview else "document",
                      subject=doc.subject or None)  # fmt: skip


def _subject_for(case: Case, person: Person | None) -> str:
    """Whose key seals the document: the person it is about, else the case's main person, else nobody (the
    organisation's key)."""
    if person is not None:
        return str(person.uid)
    if case.primary_person_id:
        uid = Person.objects.filter(pk=case.primary_person_id).values_list("uid", flat=True).first()
        return str(uid) if uid else ""
    return ""


def _preview(data: IO[bytes]) -> bytes | None:
    """A small JPEG re-encoded from the image (no metadata, no script, nothing of the original's bytes), or None
    when the image does not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(data) as img:
            img.thumbnail((PREVIEW_PX, PREVIEW_PX))
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def upload_document(actor: Any, case: Case, upload: Any, *, kind: str, title: str = "", person: Person | None = None,
                    consent: Consent | None = None, request: HttpRequest | None = None) -> Document:  # fmt: skip
    """Keep an uploaded file with the case, sealed. Refused (Invalid, on the `file` field) when too large, of a
    type Phare does not keep, or an image that does not decode."""
    require_open(case)
    if kind not in DocumentKind.values:
        raise Invalid({"kind": [_("Choose the kind of document.")]})
    for row in (person, consent):
        if row is not None and getattr(row, "organisation_id", None) != case.organisation_id:
            raise PermissionError("rows of different organisations")
    if consent is not None and consent.case_id != case.pk:
        raise Invalid({"consent": [_("Choose a consent of this case.")]})
    size = int(getattr(upload, "size", 0) or 0)
    limit = max_bytes()
    if size == 0:
        raise Invalid({"file": [_("The file is empty.")]})
    if size > limit:
        raise Invalid({"file": [_("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}]})
    upload.seek(0)
    ctype = sniff(upload.read(16))
    if ctype is None:
        raise Invalid({"file": [_("Phare keeps PDF files and JPEG, PNG or WebP images. Scan or save the document as one of them.")]})
    preview = None
    if ctype in IMAGES:
        upload.seek(0)
        preview = _preview(upload)
        if preview is None:
            raise Invalid({"file": [_("This image cannot be read. Save it again as JPEG or PNG.")]})
    name = Path(str(getattr(upload, "name", "") or "document")).name[:200]
    with transaction.atomic():
        doc = Document(organisation_id=case.organisation_id, case=case, person=person,
                       subject=_subject_for(case, person), kind=kind, title=(title or "").strip()[:255],
                       filename=name, content_type=ctype, size=size, has_preview=preview is not None,
                       consent=consent if kind == DocumentKind.CONSENT or consent else None,
                       uploaded_by=actor if getattr(actor, "pk", None) else None, uploaded_at=timezone.now())  # fmt: skip
        files = [sealed_file(doc), sealed_file(doc, preview=True)]
        try:
            upload.seek(0)
            files[0].write_chunks(upload.chunks())
            if preview is not None:
                files[1].write_chunks([preview])
            doc.save()
            _case_event(case, actor, "added", {"record": "document", "uid": str(doc.uid)})
            audit.record("document.uploaded", actor=actor, organisation=case.organisation, target=doc, request=request,
                         detail={"case": case.number, "kind": kind, "size": size, "type": ctype,
                                 "person": str(person.uid) if person else ""})  # fmt: skip
        except BaseException:
            for f in files:  # no file without its row
                f.unlink(missing_ok=True)
            raise
    return doc


def open_document(actor: Any, doc: Document, *, preview: bool = False, request: HttpRequest | None = None) -> IO[bytes]:
    """The document's content (or its preview), opened a chunk at a time; the read is audited first."""
    source = sealed_file(doc, preview=preview)
    stream = source.open("rb")  # opens the header with the key now: a shredded key fails here, before the audit
    audit.record("document.viewed" if preview else "document.downloaded", actor=actor, organisation=doc.organisation,
                 target=doc, request=request, detail={"case": doc.case.number})  # fmt: skip
    return stream


def chunks(stream: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    try:
        while data := stream.read(size):
            yield data
    finally:
        stream.close()


def delete_document(actor: Any, doc: Document, request: HttpRequest | None = None) -> None:
    require_open(doc.case)
    with transaction.atomic():
        files = [sealed_file(doc), sealed_file(doc, preview=True)]
        _case_event(doc.case, actor, "deleted", {"record": "document", "uid": str(doc.uid)})
        audit.record("document.deleted", actor=actor, organisation=doc.organisation, target=doc, request=request,
                     detail={"case": doc.case.number, "kind": doc.kind})  # fmt: skip
        doc.delete()
        transaction.on_commit(lambda: _unlink(files))


def _unlink(files: list[SealedFile]) -> None:
    for f in files:
        f.unlink(missing_ok=True)


def documents_of(person: Person) -> QuerySet[Document]:
    """The documents that are a person's: those about them and those sealed with their key (a case's documents
    about the case as a whole, when the person is its main person). Subject access gives them these; erasure
    removes them."""
    return Document.objects.filter(Q(person=person) | Q(subject=str(person.uid)), organisation_id=person.organisation_id)


def remove_documents(documents: QuerySet[Document]) -> int:
    """Delete the rows now and their files once the deletion has committed (erasure, anonymisation): a person's
    key destroyed leaves the files unreadable, and removing them also leaves nothing of a document sealed with the
    organisation's key. Returns how many documents were removed."""
    rows = list(documents)
    files = [f for doc in rows for f in (sealed_file(doc), sealed_file(doc, preview=True))]
    Document.objects.filter(pk__in=[doc.pk for doc in rows]).delete()
    transaction.on_commit(lambda: _unlink(files))
    return len(rows)


def forget_files_of(case: Case) -> None:
    """The files of a case's documents, removed once the deletion of the case has committed."""
    files = [f for doc in Document.objects.filter(case=case) for f in (sealed_file(doc), sealed_file(doc, preview=True))]
    transaction.on_commit(lambda: _unlink(files))


def move_documents(old: Person, new: Person) -> None:
    """Two records of one person merged: their documents, sealed again with the kept person's key (the other's
    is about to be destroyed)."""
    for doc in Document.objects.filter(subject=str(old.uid)):
        before = [sealed_file(doc), sealed_file(doc, preview=True)]
        title, filename = doc.title, doc.filename
        if doc.person_id == old.pk:
            doc.person = new
        doc.subject = str(new.uid)
        # Same paths: the plaintext goes through a memory copy, then replaces the old file.
        for src in before:
            if not src.exists():
                continue
            data = src.read_bytes()
            dst = sealed_file(doc, preview=src.purpose == "document-preview")
            dst.write_chunks([data])
        doc.title, doc.filename = title, filename
        doc.save()
