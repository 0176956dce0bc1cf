"""The worker's side of imports started from the pages: a dry run, or the import itself, of an uploaded file; and
of a large export from the case list. The files are sealed at rest (phare.imports.actions): an import reads a copy
of its upload held in memory, and its report's rows go on the job's row sealed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from time import monotonic
from typing import Any

from django.utils import timezone

from phare.accounts.models import Organisation, User
from phare.imports.actions import (
    EXPORT_JOB,
    JOB,
    errors_file_of,
    export_cases,
    export_file_of,
    export_filters_of,
    file_of,
    load_saved_mapping,
    problems_file_of,
    progress_file_of,
    seal_result,
)
from phare.imports.models import SavedMapping
from phare.imports.service import Report, run_import
from phare.jobs import queue
from phare.jobs.models import Job

SECONDS_PER_ROW = timedelta(seconds=0.01)  # ten times a measured import's pace, for the lease of an atomic import
SHOWN_ROWS = 200  # rows with problems or possible duplicates kept in the job's result for the page


def _to_file(path: Path, total: int | None) -> Callable[[int], None]:
    """Progress written to a small file, at most once a second (replaced whole: a reader never sees half)."""
    last = 0.0

    def report(done: int) -> None:
        nonlocal last
        now = monotonic()
        if now - last < 1.0:
            return
        last = now
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": total}), "utf-8")
        os.replace(tmp, path)

    return report


def summary(report: Report) -> dict[str, Any]:
    data = report.to_dict()
    rows = data.pop("rows", [])
    noteworthy = [r for r in rows if r["problems"] or r["duplicates"]]
    data["rows"] = noteworthy[:SHOWN_ROWS]
    data["rows_noteworthy"] = len(noteworthy)
    data["duplicates"] = sum(1 for r in noteworthy if r["duplicates"])
    return data


@queue.handler(EXPORT_JOB)
def run_export(job: Job) -> dict[str, Any]:
    """A large export from the case list: the same filters, the same verb as the pages' inline export."""
    from phare.cases.filters import applied_filters, filter_cases, filter_form

    p = job.payload
    if job.organisation_id is None:
        raise ValueError("an export job names its organisation")
    actor = User.objects.get(pk=p["actor"], organisation_id=job.organisation_id, is_active=True)
    form = filter_form(actor, export_filters_of(job))
    if not form.is_valid():
        raise ValueError(f"the export's filters no longer read: {form.errors.as_text()}")
    out = export_file_of(job)
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {"cases": export_cases(actor, filter_cases(actor, form), p["format"], out, applied_filters(form))}


@queue.handler(JOB)
def run_file(job: Job) -> dict[str, Any]:
    p = job.payload
    if job.organisation_id is None:
        raise ValueError("an import job names its organisation")
    org = Organisation.objects.get(pk=job.organisation_id)
    actor = User.objects.get(pk=p["actor"], organisation=org)
    upload = file_of(job)
    saved = SavedMapping.objects.filter(pk=p["mapping"], organisation=org).first() if p.get("mapping") else None
    mapping = load_saved_mapping(saved) if saved else None
    dry_run = bool(p.get("dry_run"))
    errors_csv = None if dry_run else errors_file_of(job)
    dry = None if dry_run else Job.objects.filter(pk=p.get("dry_job"), organisation=org).first()
    total = sum(int((dry.result or {}).get(k) or 0) for k in ("created", "updated", "unchanged", "rejected")) if dry else None
    atomic = not dry_run and p.get("mode") == "atomic"
    if atomic:
        # An all-or-nothing import is one transaction: its progress and lease renewals stay invisible to other
        # workers until it ends. Take a lease long enough for the whole file now, from its dry run's row count.
        Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() + queue.LEASE + SECONDS_PER_ROW * (total or 0))
    with upload.clear_copy() as path:  # in memory only, under the file's own name, for the length of the run
        report = run_import(path, org, actor, mapping=mapping, dry_run=dry_run, mode=p.get("mode", "atomic"), error_csv=errors_csv,
                            problems_json=None if dry_run else problems_file_of(job), progress=_to_file(progress_file_of(job), total) if atomic else
                            lambda n: queue.report_progress(job, n, total), source_name=p.get("source") or "",
                            organisations=p.get("organisations") or {})  # fmt: skip
    progress_file_of(job).unlink(missing_ok=True)
    if not dry_run:
        # The uploaded file is not needed once imported (the rejected rows stay for download until discarded).
        upload.unlink(missing_ok=True)
        if not (errors_csv and errors_csv.exists()):
            shutil.rmtree(upload.parent, ignore_errors=True)
    return seal_result(job, summary(report))
