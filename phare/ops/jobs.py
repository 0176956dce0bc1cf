"""Background job kinds of the ops app."""

from __future__ import annotations

from typing import Any

from phare.accounts.models import Organisation
from phare.jobs.models import Job
from phare.jobs.queue import handler
from phare.ops.actions import run_instance_retention, run_retention


@handler("retention.run")
def retention(job: Job) -> dict[str, Any]:
    """Purge every organisation's cases that its retention policy says are due, and finished jobs' rows; safe to run
    again."""
    if job.organisation_id is not None:
        return {"runs": [run_retention(org) for org in Organisation.objects.filter(pk=job.organisation_id)]}
    return {"runs": [run_retention(org) for org in Organisation.objects.all()] + [run_instance_retention()]}
