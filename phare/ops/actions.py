"""Retention, legal hold and data-subject rights: one function per verb, each audited in its transaction.

Anonymising keeps what statistics need (status, dates, gender, citizenship, types of exploitation) and
destroys identities: every person key of the case is destroyed (crypto-shredding, which also reaches backups
taken before, once they are decrypted with a key that no longer unwraps anything) and case-level free text,
sealed with the organisation's key and liable to name people, is blanked or deleted.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from phare.audit.log import record
from phare.cases.models import (
    Assessment,
    Case,
    CaseEvent,
    CaseParticipant,
    Consent,
    Person,
    PersonIndex,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto.keys import shred_person
from phare.crypto.sealed import SealedFileError
from phare.documents.actions import chunks, documents_of, open_document, remove_documents
from phare.documents.models import Document
from phare.jobs import queue
from phare.ops.models import LegalHold, PurgeRecord, RetentionPolicy

# Free-text fields sealed with the organisation key, per model: blanked when a case is anonymised.
CASE_FREE_TEXT: list[tuple[type[Any], list[str]]] = [
    (Referral, ["cas_ReferringPrimaryCaseWorker", "cas_IncomingReferralDetails", "cas_ReferredPrimaryCaseWorker",
                "cas_OutgoingReferralDetails"]),
    (TraffickingEvent, ["hte_Street", "hte_PostalCode", "hte_Latitude", "hte_Longitude", "hte_Description"]),
    (SupportPlan, ["spl_Objectives", "spl_ActionPlan"]),
    (Consent, ["withdrawn_reason"]),
    (Assessment, ["answer_notes", "asm_Notes"]),
    (CaseParticipant, ["vic_DetailsOfVulnerabilities", "per_RoleDetails"]),
]  # fmt: skip


class OnLegalHoldError(Exception):
    pass


def under_hold(case: Case) -> bool:
    return LegalHold.objects.filter(case=case, released_at__isnull=True).exists()


def place_legal_hold(actor: Any, case: Case, reason: str, request: Any = None) -> LegalHold:
    if not reason.strip():
        raise ValueError("a legal hold needs a reason")
    with transaction.atomic():
        hold = LegalHold.objects.create(organisation_id=case.organisation_id, case=case, reason=reason, placed_by=actor)
        record("legal_hold.placed", actor=actor, target=case, request=request, detail={"hold": hold.pk})
    return hold


def release_legal_hold(actor: Any, hold: LegalHold, request: Any = None) -> None:
    with transaction.atomic():
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.save(update_fields=["released_at", "released_by"])
        record("legal_hold.released", actor=actor, target=hold.case, request=request, detail={"hold": hold.pk})


def set_retention_policy(actor: Any, organisation: Any, action: str, years: int, active: bool = True) -> RetentionPolicy:
    if action not in RetentionPolicy.Action.values or years < 1:
        raise ValueError("retention needs an action (anonymise or erase) and at least one year")
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.update_or_create(
            organisation=organisation, defaults={"action": action, "years_after_closure": years, "active": active}
        )
        record("retention.policy_set", actor=actor, organisation=organisation,
               detail={"action": action, "years": years, "active": active})  # fmt: skip
    return policy


def _shred_persons(case: Case) -> int:
    """Destroy the keys of the case's people who appear in no other case that is still kept."""
    person_ids = set(CaseParticipant.objects.filter(case=case).values_list("person_id", flat=True))
    shredded = 0
    for person in Person.objects.filter(pk__in=person_ids):
        elsewhere = CaseParticipant.objects.filter(person=person).exclude(case=case)
        if elsewhere.exists():
            continue
        shredded += int(shred_person(person.uid))
        PersonIndex.objects.filter(person=person).delete()
        remove_documents(documents_of(person))
    return shredded


def anonymise_case(actor: Any, case: Case, reason: str = "retention") -> PurgeRecord:
    with transaction.atomic():
        if under_hold(case):
            raise OnLegalHoldError(f"case {case.number} is under legal hold")
        shredded = _shred_persons(case)
        # Documents name people whatever key seals them: none survives an anonymised case.
        documents = remove_documents(Document.objects.filter(case=case))
        for model, fields in CASE_FREE_TEXT:
            for row in model.objects.filter(case=case):
                for name in fields:
                    setattr(row, name, "")
                row.save(update_fields=fields)
        case.comments.all().delete()
        CaseEvent.objects.filter(case=case).exclude(note="").delete()
        case.cas_ReasonForCaseClosure = ""
        case.save(update_fields=["cas_ReasonForCaseClosure"])
        purge = PurgeRecord.objects.create(organisation_id=case.organisation_id, case_number=case.number,
                                           case_id_at_purge=case.pk, action="anonymise", persons_shredded=shredded)  # fmt: skip
        record("case.anonymised", actor=actor, organisation=case.organisation, target=case,
               detail={"reason": reason, "persons_shredded": shredded, "documents_deleted": documents})  # fmt: skip
    return purge


def erase_case(actor: Any, case: Case, reason: str = "retention") -> PurgeRecord:
    with transaction.atomic():
        if under_hold(case):
            raise OnLegalHoldError(f"case {case.number} is under legal hold")
        shredded = _shred_persons(case)
        orphans = list(CaseParticipant.objects.filter(case=case).values_list("person_id", flat=True))
        # The rows would go with the case; their sealed files on disk would not.
        documents = remove_documents(Document.objects.filter(case=case))
        purge = PurgeRecord.objects.create(organisation_id=case.organisation_id, case_number=case.number,
                                           case_id_at_purge=case.pk, action="erase", persons_shredded=shredded)  # fmt: skip
        record("case.erased", actor=actor, organisation=case.organisation, target=case,
               detail={"reason": reason, "persons_shredded": shredded, "documents_deleted": documents})  # fmt: skip
        case.delete()
        Person.objects.filter(pk__in=orphans).filter(participations__isnull=True).delete()
    return purge


def due_for_purge(organisation: Any, today: date | None = None) -> tuple[RetentionPolicy | None, list[Case], int]:
    """Cases the organisation's policy says to purge now, and how many are held back by a legal hold."""
    policy = RetentionPolicy.objects.filter(organisation=organisation, active=True).first()
    if policy is None:
        return None, [], 0
    today = today or timezone.localdate()
    try:
        cutoff = today.replace(year=today.year - policy.years_after_closure)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - policy.years_after_closure, day=28)
    done = PurgeRecord.objects.filter(organisation=organisation).values("case_id_at_purge")
    candidates = Case.objects.filter(
        Q(cas_Status__in=["Closed", "ClosedReferred"]), organisation=organisation, cas_ClosedDate__lt=cutoff
    ).exclude(pk__in=done)
    held = candidates.filter(legal_holds__released_at__isnull=True, legal_holds__isnull=False).distinct()
    return policy, list(candidates.exclude(pk__in=held.values("pk"))), held.count()


def job_keep() -> timedelta:
    """How long a finished job's row is kept: PHARE_JOB_KEEP_DAYS, and never less than an upload waiting for its
    confirmation (whose check is a finished job)."""
    return timedelta(days=max(settings.PHARE_JOB_KEEP_DAYS, settings.PHARE_UPLOAD_KEEP_DAYS))


def run_retention(organisation: Any, actor: Any = None, today: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    policy, due, held = due_for_purge(organisation, today)
    summary: dict[str, Any] = {"organisation": organisation.slug, "policy": policy.action if policy else None,
                               "due": len(due), "held": held, "done": 0, "dry_run": dry_run}  # fmt: skip
    if dry_run:
        summary["jobs_due"] = queue.purge_finished(organisation.pk, job_keep(), dry_run=True)
        return summary
    from phare.imports.actions import sweep_uploads

    # Files uploaded for an import that was never confirmed nor discarded.
    summary["uploads_deleted"] = sweep_uploads(organisation.pk, timedelta(days=settings.PHARE_UPLOAD_KEEP_DAYS))
    # Finished jobs' rows: an import's report and an export's request, sealed, still name what people typed.
    summary["jobs_deleted"] = queue.purge_finished(organisation.pk, job_keep())
    if policy is None:
        if summary["uploads_deleted"] or summary["jobs_deleted"]:
            with transaction.atomic():
                record("retention.run", actor=actor, organisation=organisation, detail=summary)
        return summary
    verb = anonymise_case if policy.action == RetentionPolicy.Action.ANONYMISE else erase_case
    for case in due:
        verb(actor, case)  # each case in its own transaction: an interrupted purge resumes where it stopped
        summary["done"] += 1
    with transaction.atomic():
        record("retention.run", actor=actor, organisation=organisation, detail=summary)
    return summary


def run_instance_retention(dry_run: bool = False) -> dict[str, Any]:
    """What retention deletes that belongs to no organisation: finished jobs of the instance itself."""
    key = "jobs_due" if dry_run else "jobs_deleted"
    return {"organisation": None, key: queue.purge_finished(None, job_keep(), dry_run=dry_run)}


# --- data-subject rights -------------------------------------------------------------------------------------

PERSON_FIELDS = [f.name for f in Person._meta.concrete_fields if f.name.startswith("prs_")]
LEFT_OUT = (
    "Case comments, other people in the case (including perpetrators), and the names of case workers of other "
    "organisations are left out: they are other people's data."
)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value if value is None or isinstance(value, bool | int | float | list | dict) else str(value)


def _fields(obj: Any, prefixes: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for f in obj._meta.concrete_fields:
        if f.name.startswith(prefixes):
            value = getattr(obj, f.attname)
            if value not in (None, "", []):
                out[f.name] = _plain(value)
    return out


def export_person(actor: Any, person: Person, request: Any = None) -> dict[str, Any]:
    """Everything held about one person, for a subject access request."""
    with transaction.atomic():
        data: dict[str, Any] = {
            "generated": timezone.now().isoformat(),
            "organisation": str(person.organisation),
            "person": {"uid": str(person.uid), **_fields(person, ("prs_",))},
            "cases": [],
            "left_out": LEFT_OUT,
        }
        for p in CaseParticipant.objects.filter(person=person).select_related("case"):
            case = p.case
            data["cases"].append({
                "case": case.number,
                "status": case.cas_Status,
                "opened": _plain(case.cas_OpenedDate),
                "closed": _plain(case.cas_ClosedDate),
                "role": p.role,
                "context": _fields(p, ("vic_", "per_")),
                "consents": [_fields(c, ("con_",)) for c in Consent.objects.filter(case=case, person=person)],
                "support_plans": [_fields(s, ("spl_",)) for s in SupportPlan.objects.filter(case=case, person=person)],
                "events": [_fields(e, ("hte_",)) for e in TraffickingEvent.objects.filter(case=case, person=person)],
                "assessments": [{**_fields(a, ("asm_",)), "answers": a.answers}
                                for a in Assessment.objects.filter(case=case, person=person)],
            })  # fmt: skip
        data["documents"] = [_document_entry(doc) for doc in
                             documents_of(person).select_related("case").order_by("uploaded_at", "pk")]  # fmt: skip
        record("person.exported", actor=actor, target=person, request=request,
               detail={"cases": len(data["cases"]), "records": len(data["documents"])})  # fmt: skip
    return data


def _document_entry(doc: Document) -> dict[str, Any]:
    return {"uid": str(doc.uid), "case": doc.case.number, "kind": doc.kind, "title": doc.title or "",
            "filename": doc.filename or "", "type": doc.content_type, "size": doc.size,
            "uploaded": doc.uploaded_at.isoformat()}  # fmt: skip


def write_person_archive(actor: Any, person: Person, out: IO[bytes], request: Any = None) -> dict[str, Any]:
    """A subject access export as one zip: person.json, person.pdf and every document of the person, decrypted
    (each read audited as a download). A document that no longer opens is listed with `file` empty."""
    data = export_person(actor, person, request)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in data["documents"]:
            name = "".join(c if c.isalnum() or c in "._-" else "_" for c in entry["filename"] or "document")[:120]
            entry["file"] = f"documents/{entry['uid']}-{name}"  # its place in the archive
            doc = Document.objects.select_related("case", "organisation").get(uid=entry["uid"])
            try:
                with transaction.atomic():
                    content = b"".join(chunks(open_document(actor, doc, request=request)))
            except (SealedFileError, OSError):
                entry["file"] = ""
                continue
            archive.writestr(entry["file"], content)
        archive.writestr("person.json", json.dumps(data, indent=1, ensure_ascii=False))
        archive.writestr("person.pdf", export_person_pdf(data))
    return data


def export_person_pdf(data: dict[str, Any]) -> bytes:
    import io
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    story: list[Any] = [Paragraph("Personal data held by " + escape(data["organisation"]), styles["Title"]),
                        Paragraph("Generated " + escape(data["generated"]), styles["Normal"]), Spacer(1, 12)]  # fmt: skip

    def table(rows: dict[str, Any]) -> Table:
        cells = [[escape(k), Paragraph(escape(", ".join(map(str, v)) if isinstance(v, list) else str(v)), styles["Normal"])]
                 for k, v in rows.items()]  # fmt: skip
        return Table(cells or [["", ""]], colWidths=[200, 300], hAlign="LEFT")

    story += [Paragraph("Person", styles["Heading2"]), table(data["person"])]
    for case in data["cases"]:
        story += [Spacer(1, 12), Paragraph(f"Case {escape(case['case'])} ({escape(case['role'])})", styles["Heading2"]),
                  table({k: case[k] for k in ("status", "opened", "closed") if case[k]}), table(case["context"])]  # fmt: skip
        for section in ("consents", "support_plans", "events", "assessments"):
            for item in case[section]:
                story += [Paragraph(section.replace("_", " ").capitalize(), styles["Heading3"]), table(item)]
    for item in data.get("documents", []):
        story += [Paragraph("Document", styles["Heading3"]), table({k: v for k, v in item.items() if v not in ("", None)})]
    story += [Spacer(1, 12), Paragraph(escape(data["left_out"]), styles["Italic"])]
    SimpleDocTemplate(buf, pagesize=A4, title="Subject access export").build(story)
    return buf.getvalue()


def erase_person(actor: Any, person: Person, reason: str, request: Any = None) -> None:
    """Erasure by crypto-shredding: the person's key is destroyed, so every field sealed with it is gone from
    the database, its replicas and every backup; their blind-index entries are deleted."""
    if not reason.strip():
        raise ValueError("erasure needs a reason (e.g. the request's reference)")
    with transaction.atomic():
        held = Case.objects.filter(participants__person=person, legal_holds__released_at__isnull=True,
                                   legal_holds__isnull=False)  # fmt: skip
        if held.exists():
            raise OnLegalHoldError("the person is in a case under legal hold")
        shred_person(person.uid)
        PersonIndex.objects.filter(person=person).delete()
        documents = remove_documents(documents_of(person))
        # Derived from the birth date: it goes with it.
        CaseParticipant.objects.filter(person=person).update(age_band_at_registration="")
        record("person.erased", actor=actor, target=person, request=request,
               detail={"reason": reason, "documents_deleted": documents})  # fmt: skip
