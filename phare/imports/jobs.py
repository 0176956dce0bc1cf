"""The worker's side of imports started from the pages: a dry run, or the import itself, of an uploaded file."""

from __future__ import annotations

import shutil
from typing import Any

from phare.accounts.models import Organisation, User
from phare.imports.actions import JOB, errors_file_of, file_of, load_saved_mapping
from phare.imports.models import SavedMapping
from phare.imports.service import Report, run_import
from phare.jobs import queue
from phare.jobs.models import Job

SHOWN_ROWS = 200  # rows with problems or possible duplicates kept in the job's result for the page


def summary(report: Report) -> dict[str, Any]:
    data = report.to_dict()
    rows = data.pop("rows", [])
    noteworthy = [r for r in rows if r["problems"] or r["duplicates"]]
    data["rows"] = noteworthy[:SHOWN_ROWS]
    data["rows_noteworthy"] = len(noteworthy)
    data["duplicates"] = sum(1 for r in noteworthy if r["duplicates"])
    return data


@queue.handler(JOB)
def run_file(job: Job) -> dict[str, Any]:
    p = job.payload
    if job.organisation_id is None:
        raise ValueError("an import job names its organisation")
    org = Organisation.objects.get(pk=job.organisation_id)
    actor = User.objects.get(pk=p["actor"], organisation=org)
    path = file_of(job)
    saved = SavedMapping.objects.filter(pk=p["mapping"], organisation=org).first() if p.get("mapping") else None
    mapping = load_saved_mapping(saved) if saved else None
    dry_run = bool(p.get("dry_run"))
    errors_csv = None if dry_run else errors_file_of(job)
    report = run_import(path, org, actor, mapping=mapping, dry_run=dry_run, mode=p.get("mode", "atomic"),
                        error_csv=errors_csv, progress=lambda n: queue.report_progress(job, n))  # fmt: skip
    if not dry_run:
        # The uploaded file holds personal data in clear: gone once imported (the rejected rows stay for
        # download until discarded).
        path.unlink(missing_ok=True)
        if not (errors_csv and errors_csv.exists()):
            shutil.rmtree(path.parent, ignore_errors=True)
    return summary(report)
