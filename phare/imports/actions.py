"""The verbs of getting data in and out: upload a file (its dry run is queued), confirm it (the import is
queued), discard it, save a column mapping, and export cases. Each writes its audit event in its own
transaction; an import's work runs in the worker (`phare.imports.jobs`), so a 100,000-row file never holds a
web request.

Every file kept here holds personal data and is sealed at rest with the organisation's key
(`phare.crypto.sealed.SealedFile`): the upload waiting for its import, its rejected rows and their problems, and an
export waiting for download. So are the personal values a job row would hold: the rows of an import's report (the
values typed, the problems naming them) and a queued export's filters (a search may be a name)."""

from __future__ import annotations

import gc
import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from htcds.sources import export as writers
from htcds.sources.mapped import Mapping, parse_mapping
from phare.accounts.permissions import EXPORT, can
from phare.audit import log as audit
from phare.cases import bulk
from phare.cases.models import Case, ExternalOrganisation
from phare.crypto.sealed import SealedFile, memory_file, open_value, seal_value
from phare.imports.models import SavedMapping
from phare.jobs import queue
from phare.jobs.models import Job

JOB = "import.file"
SUFFIXES = (".csv", ".xlsx", ".ods", ".json", ".jsonl")
MODES = ("atomic", "skip-bad")


class ImportRefusedError(Exception):
    """The upload or the confirmation cannot go ahead; the message says why and what to do, in the language of the
    request (the pages show it as it is)."""


def files_root() -> Path:
    return Path(settings.DATA_DIR) / "files" / "imports"


def _organisation_of(job: Job) -> int:
    if job.organisation_id is None:
        raise ValueError("an import or export job names its organisation")
    return int(job.organisation_id)


def file_of(job: Job) -> SealedFile:
    """The uploaded file (sealed: `clear_copy()` gives it to a reader)."""
    return SealedFile(files_root() / str(job.payload["file"]), _organisation_of(job), "import-upload")


def errors_file_of(job: Job) -> SealedFile:
    return SealedFile(file_of(job).parent / "rejected-rows.csv", _organisation_of(job), "import-rejected-rows")


def problems_file_of(job: Job) -> SealedFile:
    """The rejected rows' problems as data, beside their CSV: the download writes them in the reader's language."""
    return SealedFile(file_of(job).parent / "rejected-rows.json", _organisation_of(job), "import-problems")


def progress_file_of(job: Job) -> Path:
    """Where an all-or-nothing import says how far it got: its own transaction hides the job's progress column
    until it ends (and on SQLite no other connection may write meanwhile). Counts only: kept in clear."""
    return file_of(job).parent / f"progress-{job.pk}.json"


# The parts of an import's report that hold the file's values: sealed on the job's row, opened by `result_of`.
SEALED_RESULT = ("rows", "file_problems")


def seal_result(job: Job, result: dict[str, Any]) -> dict[str, Any]:
    """An import's report as its job row keeps it: counts in clear, the rows and problems (values typed about
    people, messages naming them) sealed with the organisation's key and bound to this job."""
    kept = {k: v for k, v in result.items() if k not in SEALED_RESULT}
    kept["file_problems_count"] = len(result.get("file_problems") or ())
    kept["sealed"] = seal_value(_organisation_of(job), "import-result", str(job.pk),
                                {k: result.get(k) or [] for k in SEALED_RESULT})  # fmt: skip
    return kept


def result_of(job: Job) -> dict[str, Any]:
    """A job's result as the pages show it: an import's sealed rows and problems opened."""
    result = dict(job.result or {})
    token = result.pop("sealed", None)
    if token:
        result.update(open_value(_organisation_of(job), "import-result", str(job.pk), token))
    return result


def progress_of(job: Job) -> dict[str, Any]:
    """{"done": rows read, "total": rows in the file or None}, the furthest of the job's row and its file."""
    progress = dict(job.progress or {})
    try:
        side = json.loads(progress_file_of(job).read_text("utf-8"))
    except (OSError, ValueError):
        return progress
    if int(side.get("done") or 0) > int(progress.get("done") or 0):
        progress = side
    return progress


def load_saved_mapping(saved: SavedMapping) -> Mapping:
    return parse_mapping(yaml.safe_load(saved.body))


def upload(actor: Any, file: UploadedFile[Any], *, mode: str, mapping: SavedMapping | None = None,
           request: HttpRequest | None = None) -> Job:  # fmt: skip
    """Keep the file (under a directory of its own, readable by Phare only) and queue its dry run."""
    name = get_valid_filename(Path(file.name or "upload").name)
    if not name.lower().endswith(SUFFIXES):
        raise ImportRefusedError(_("%(name)s: Phare imports %(suffixes)s files.") % {"name": name, "suffixes": ", ".join(SUFFIXES)})
    if mode not in MODES:
        raise ImportRefusedError(f"unknown mode {mode!r}")
    if mapping is not None and mapping.organisation_id != actor.organisation_id:
        raise ImportRefusedError("unknown mapping")
    folder = Path(str(actor.organisation_id)) / secrets.token_hex(12)
    (files_root() / folder).mkdir(parents=True, mode=0o700)
    try:
        SealedFile(files_root() / folder / name, actor.organisation_id, "import-upload").write_chunks(file.chunks())
    except BaseException:
        shutil.rmtree(files_root() / folder, ignore_errors=True)
        raise
    payload = {"file": str(folder / name), "name": name, "mode": mode, "dry_run": True, "actor": actor.pk,
               "mapping": mapping.pk if mapping else None}  # fmt: skip
    try:
        with transaction.atomic():
            job = queue.enqueue(JOB, payload, organisation=actor.organisation_id, max_attempts=1)
            audit.record("import.upload", actor=actor, organisation=actor.organisation, target=job, request=request,
                         detail={"file": name, "mode": mode, "mapping": mapping.name if mapping else None})  # fmt: skip
    except BaseException:
        shutil.rmtree(files_root() / folder, ignore_errors=True)  # no job, no audit event: no file either
        raise
    return job


def refused(file_problems: list[dict[str, Any]]) -> bool:
    from phare.imports.service import refused as refusing

    return refusing(file_problems)


def organisation_choices(actor: Any, dry: Job, chosen: dict[str, str]) -> dict[str, str]:
    """For each organisation the check found named in the file but not in the directory: the directory entry it is
    matched to (its id), "add" to add it, or "" to leave it empty, as chosen on the check page; anything else
    (a hidden field edited, another organisation's entry) is refused."""
    from phare.imports.service import ADD

    problems = result_of(dry).get("file_problems") or []
    named = {str(p.get("value")) for p in problems if p.get("code") == "unknown-organisation"}
    ours = {str(pk) for pk in ExternalOrganisation.objects.filter(organisation_id=actor.organisation_id)
            .values_list("pk", flat=True)}  # fmt: skip
    out: dict[str, str] = {}
    for name, choice in chosen.items():
        if name not in named or choice not in (ADD, "", *ours):
            raise ImportRefusedError(_("The choices for the organisations the file names were not the page's: "
                                       "choose again."))  # fmt: skip
        out[name] = choice
    return out


def confirm(actor: Any, dry: Job, request: HttpRequest | None = None, source: str = "",
            organisations: dict[str, str] | None = None) -> Job:  # fmt: skip
    """Queue the import of a file whose dry run finished, under the source name its check showed or `source`; the
    organisations it names that the directory does not hold go where `organisations` says (`organisation_choices`)."""
    if dry.kind != JOB or not dry.payload.get("dry_run") or dry.status != Job.Status.DONE:
        raise ImportRefusedError(_("Only a finished dry run can be imported."))
    if not file_of(dry).exists():
        raise ImportRefusedError(_("This file was imported or discarded already: upload it again."))
    result = result_of(dry)
    file_errors = [p for p in result.get("file_problems") or [] if p.get("severity") == "error"]
    if (file_errors and not any(result.get(k) for k in ("created", "updated"))) or refused(
            result.get("file_problems") or []):
        raise ImportRefusedError(_("Nothing in this file can be imported: see the problems below."))
    if dry.payload.get("mode") == "atomic" and result.get("rejected"):
        raise ImportRefusedError(_("Some rows are rejected and this import is all-or-nothing: correct those rows "
                                   "and upload the file again, or upload it again choosing to set bad rows aside."))
    with transaction.atomic():
        name = source.strip()[:120] or str(result.get("source") or "")
        chosen = organisation_choices(actor, dry, organisations or {})
        job = queue.enqueue(JOB, {**dry.payload, "dry_run": False, "dry_job": dry.pk, "source": name,
                                  "organisations": chosen}, organisation=actor.organisation_id, max_attempts=1)  # fmt: skip
        audit.record("import.confirm", actor=actor, organisation=actor.organisation, target=job, request=request,
                     # counts only: a name typed in a file may be anything
                     detail={"file": dry.payload.get("name"), "dry_run_job": dry.pk,
                             "organisations_added": sum(1 for c in chosen.values() if c == "add"),
                             "organisations_matched": sum(1 for c in chosen.values() if c not in ("add", ""))})  # fmt: skip
    return job


def discard(actor: Any, job: Job, request: HttpRequest | None = None) -> None:
    """Delete an uploaded file (and its rejected rows) that will not be imported, once the event is recorded."""
    folder = file_of(job).parent
    with transaction.atomic():
        audit.record("import.discard", actor=actor, organisation=actor.organisation, target=job, request=request,
                     detail={"file": job.payload.get("name")})  # fmt: skip
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def open_report(actor: Any, job: Job, request: HttpRequest | None = None) -> None:
    """Record that the actor reads a check or import report whose rows show values from the file."""
    with transaction.atomic():
        audit.record("import.viewed", actor=actor, organisation=actor.organisation, target=job, request=request,
                     detail={"file": job.payload.get("name")})  # fmt: skip


def open_rejected_rows(actor: Any, job: Job, request: HttpRequest | None = None) -> None:
    """Record that the actor downloads a job's rejected rows: their values come from the people in the file."""
    with transaction.atomic():
        audit.record("import.rejected_rows_read", actor=actor, organisation=actor.organisation, target=job, request=request,
                     detail={"file": job.payload.get("name")})  # fmt: skip


def save_mapping(actor: Any, name: str, body: str, request: HttpRequest | None = None) -> SavedMapping:
    """Save (or replace) a named mapping; MappingError lists every problem in it."""
    name = name.strip()[:120]
    if not name:
        raise ImportRefusedError(_("Give the mapping a name."))
    parse_mapping(yaml.safe_load(body))
    with transaction.atomic():
        saved, created = SavedMapping.objects.update_or_create(
            organisation_id=actor.organisation_id, name=name, defaults={"body": body, "created_by": actor}
        )
        audit.record("import.mapping_saved", actor=actor, organisation=actor.organisation, target=saved,
                     request=request, detail={"name": name, "new": created})  # fmt: skip
    return saved


# What an export writes: HTCDS JSON bundles (every record of a case), or the official template's layout.
def _write_csv(chunks: Iterable[Any], out: Any) -> int:
    """A CSV export's writer: of the chunks phare.imports.exporting.template_chunks reads, not of bundles."""
    from phare.imports.exporting import write_template_csv

    return write_template_csv(chunks, out)


EXPORT_FORMATS: dict[str, Callable[..., int]] = {
    "json": writers.write_json,
    "csv": _write_csv,
    "xlsx": writers.write_xlsx,
}


def may_export(actor: Any) -> bool:
    """An export holds names and contact details: only roles with the export permission, which all see them."""
    return can(actor, EXPORT) and bool(getattr(actor, "sees_personal_data", False))


def export_cases(actor: Any, cases: QuerySet[Case], fmt: str, out: Path | SealedFile,
                 filters: dict[str, str] | None = None, request: HttpRequest | None = None) -> int:  # fmt: skip
    """Write `cases` (which the caller scoped through phare.access) to `out` as `fmt`; returns how many. The event
    names the format, the count and the filters. A failed export leaves no file behind. `out` is the path a
    command-line user chose, or a file Phare keeps sealed (`export_file`); either way, an XLSX sheet is assembled
    in memory, never in a temporary file in clear."""
    from phare.imports import exporting, writing

    if not may_export(actor):
        raise PermissionDenied
    writer = EXPORT_FORMATS[fmt]
    described = _described(filters or {})
    try:
        # Read outside a transaction: on SQLite each one takes the write lock (IMMEDIATE), and 100,000 cases take
        # most of a minute to write out. The event follows once the file is whole; if it cannot be recorded, the
        # file is deleted, so no export leaves unrecorded.
        # No automatic cycle collection while the file is written (as an import reads): an export allocates
        # millions of short-lived objects, freed by reference counting, and each collection walked them all (a
        # quarter of the time of a CSV export). The few cycles (the json module's encoder makes some per bundle)
        # are collected every EXPORT_COLLECT_EVERY cases, so memory stays flat.
        with bulk.relaxed_gc():
            if fmt == "xlsx":
                # A sheet row holds the case, its victim, consent and referrals: nothing else is read for it.
                with memory_file("sheet.xml") as sheet:
                    n = writers.write_xlsx(_collecting(exporting.sheet_bundles(cases)), out, sheet_file=sheet)
            elif fmt == "csv":
                # The same rows, made from the columns as read, without bundles (tests/test_export_bundles.py).
                if writing.use_writer_process(cases.count()):
                    # This process reads each chunk of cases and unwraps the keys its values name; the second opens
                    # them and makes the rows and their text.
                    chunks = map(tuple, exporting.template_chunks(cases))
                    n = writing.write(writer, chunks, out, per_message=1, cases=exporting.template_chunk_cases)
                else:
                    n = writer(exporting.template_chunks(cases), out)
            else:
                bundles = _collecting(exporting.case_bundles(cases))
                if writing.use_writer_process(cases.count()):
                    # The text is made in a second process while this one reads (phare.imports.writing); XLSX is
                    # not: openpyxl's own work is most of its time, and the sheet it assembles stays in this
                    # process.
                    n = writing.write(writer, bundles, out)
                else:
                    n = writer(bundles, out)
        with transaction.atomic():
            audit.record("export.cases", actor=actor, organisation=actor.organisation, target_type="export",
                         target_id=fmt, request=request,
                         detail={"cases": n, "file": out.name, "filters": described})  # fmt: skip
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return n


EXPORT_COLLECT_EVERY = 5000


def _collecting(bundles: Iterator[Any]) -> Iterator[Any]:
    for n, bundle in enumerate(bundles, 1):
        yield bundle
        if n % EXPORT_COLLECT_EVERY == 0:
            gc.collect(0)  # the youngest generation only: what this stretch of cases allocated


def _described(filters: dict[str, str]) -> dict[str, str]:
    """Filters as an audit event may hold them: a search may be a person's name, and auditors must not read names."""
    out = {k: v for k, v in filters.items() if v}
    if out.get("q"):
        out["q"] = "(search)"
    return out


def exports_root() -> Path:
    """Where an export is written, sealed, before it is sent (a folder per organisation): the file is unlinked once
    opened for sending; one a crash left behind is deleted by `sweep_uploads`."""
    return Path(settings.DATA_DIR) / "files" / "exports"


def export_file(actor: Any, fmt: str) -> SealedFile:
    """A new file for an export the page writes while the person waits (sealed, like the worker's)."""
    root = exports_root() / str(actor.organisation_id)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return SealedFile(root / f"page-{secrets.token_hex(12)}.{fmt}", actor.organisation_id, "export")


EXPORT_KEEP = timedelta(hours=1)
EXPORT_JOB = "export.cases"
# A selection up to this size is written while the person waits (about 1.5 s); a larger one goes to the worker,
# so that no web request or proxy waits a minute for 100,000 cases.
EXPORT_INLINE = 5_000


def queue_export(actor: Any, fmt: str, data: dict[str, str], request: HttpRequest | None = None) -> Job:
    """Hand a large export to the worker (`phare.imports.jobs.run_export`): `data` is the case list's filters as
    posted. The request is recorded with the job; its `export.cases` event is written when the file is."""
    if not may_export(actor):
        raise PermissionDenied
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with transaction.atomic():
        job = queue.enqueue(EXPORT_JOB, {"format": fmt, "actor": actor.pk}, organisation=actor.organisation_id,
                            max_attempts=1)  # fmt: skip
        # The filters wait on the job sealed, bound to it: a search may be a person's name.
        job.payload["data"] = seal_value(actor.organisation_id, "export-filters", str(job.pk), data)
        job.save(update_fields=["payload"])
        audit.record("export.requested", actor=actor, organisation=actor.organisation, target=job, request=request,
                     detail={"format": fmt, "filters": _described(data)})  # fmt: skip
    return job


def export_filters_of(job: Job) -> dict[str, str]:
    """A queued export's filters, as posted (a job queued before they were sealed holds them as they are)."""
    data = job.payload["data"]
    if isinstance(data, dict):
        return data
    return dict(open_value(_organisation_of(job), "export-filters", str(job.pk), data))


def export_file_of(job: Job) -> SealedFile:
    """Where the worker writes a queued export (sealed); it is deleted once downloaded, or after EXPORT_KEEP."""
    path = exports_root() / str(job.organisation_id) / f"export-{job.pk}.{job.payload['format']}"
    return SealedFile(path, _organisation_of(job), "export")


def ready_export(job: Job) -> SealedFile | None:
    """A queued export's file if it is there and younger than EXPORT_KEEP (an older one is deleted now)."""
    out = export_file_of(job)
    try:
        if time.time() - out.path.stat().st_mtime < EXPORT_KEEP.total_seconds():
            return out
    except FileNotFoundError:
        return None
    out.unlink(missing_ok=True)
    return None



def sweep_uploads(organisation_id: int, older_than: timedelta) -> int:
    """Delete this organisation's uploads (and rejected rows) nobody imported or discarded for `older_than`, and
    any export file older than EXPORT_KEEP (a crash between writing and sending one): sealed, they still hold
    personal data. Returns how many were deleted."""
    gone = 0
    folder = files_root() / str(organisation_id)
    cutoff = time.time() - older_than.total_seconds()
    for upload in folder.iterdir() if folder.is_dir() else ():
        if upload.is_dir() and upload.stat().st_mtime < cutoff:
            shutil.rmtree(upload, ignore_errors=True)
            gone += 1
    exports = exports_root() / str(organisation_id)
    cutoff = time.time() - EXPORT_KEEP.total_seconds()
    for export in exports.iterdir() if exports.is_dir() else ():
        if export.stat().st_mtime < cutoff:
            export.unlink(missing_ok=True)
            gone += 1
    return gone
