"""Background recount of a dashboard snapshot, queued when a page served figures older than the data."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from phare.dashboards.queries import REFRESH_JOB, Filters, refresh
from phare.jobs.models import Job
from phare.jobs.queue import handler


@handler(REFRESH_JOB)
def refresh_snapshot(job: Job) -> dict[str, Any]:
    if job.organisation_id is None:
        raise ValueError("a dashboard recount needs an organisation")
    filters = Filters.from_payload(job.payload)
    raw = refresh(job.organisation_id, filters, timezone.localdate())
    return {"people": raw.get("people", {}).get("total", 0)}
