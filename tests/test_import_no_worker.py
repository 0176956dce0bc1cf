"""The import page says when no worker has picked a job up within a minute (the worker is not running)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from phare.accounts.models import Role
from phare.jobs import (
    handlers,  # noqa: F401  (registers the job kinds, as the worker does)
    queue,
)
from phare.jobs.models import Job
from tests.fixtures.sources import big_template_rows, write_csv

pytestmark = pytest.mark.django_db
WARNING = b"No worker has picked this import up"


def test_it_warns_when_no_worker_has_picked_the_import_up_within_a_minute(
    org: Any, make_user: Any, client_for: Any, tmp_path: Path
) -> None:
    client = client_for(make_user(Role.SUPERVISOR, org))
    path = write_csv(tmp_path / "cases.csv", list(big_template_rows(2)))
    r = client.post("/data/import/", {"file": SimpleUploadedFile("cases.csv", path.read_bytes(), "text/csv")})
    pk = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
    assert WARNING not in client.get(f"/data/import/{pk}/").content  # just queued: no alarm
    Job.objects.filter(pk=pk).update(run_after=Job.objects.get(pk=pk).run_after - timedelta(seconds=61))
    assert WARNING in client.get(f"/data/import/{pk}/").content
    assert WARNING in client.get(f"/data/import/{pk}/", headers={"HX-Request": "true"}).content  # the polled part too
    assert queue.drain() == 1  # a worker comes: the warning goes
    assert WARNING not in client.get(f"/data/import/{pk}/").content


def test_it_does_not_warn_about_a_job_not_yet_due(org: Any) -> None:
    job = queue.enqueue("import.run", {}, organisation=org, delay=timedelta(minutes=5))
    assert not queue.unclaimed_too_long(job)
    Job.objects.filter(pk=job.pk).update(run_after=job.run_after - timedelta(minutes=6, seconds=1))
    assert queue.unclaimed_too_long(Job.objects.get(pk=job.pk))
