"""Enqueue, claim and run background jobs.

Claiming is one conditional UPDATE, so two workers never run the same job. A worker holds a lease; a job
whose lease expired (the worker was killed with -9, the machine rebooted) is claimed again, so handlers must
be idempotent: they key their writes (an import's rows by source key, a purge by record id) so that running
twice changes nothing the second time.

A job row holds no personal value in clear: an organisation's job's error message (which may quote a value from a
file) is sealed with the organisation's key (`error_of` opens it), handlers seal what their payload and result
would hold (phare.imports.actions), and `purge_finished` deletes finished rows once retention says so.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from phare import rls
from phare.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[Job], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}
LEASE = timedelta(minutes=10)


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def enqueue(kind: str, payload: dict[str, Any] | None = None, *, organisation: Any = None,
            delay: timedelta | None = None, max_attempts: int = 3) -> Job:  # fmt: skip
    return Job.objects.create(
        kind=kind,
        payload=payload or {},
        organisation_id=getattr(organisation, "pk", organisation),  # an Organisation or its id
        run_after=timezone.now() + (delay or timedelta()),
        max_attempts=max_attempts,
    )


# A queued job no worker has claimed this long after it was due means no worker is running (`phare worker`).
UNCLAIMED_WARNING = timedelta(minutes=1)


def unclaimed_too_long(job: Job) -> bool:
    """True while a job has waited for a worker for longer than UNCLAIMED_WARNING after it was due."""
    return job.status == Job.Status.QUEUED and timezone.now() - job.run_after > UNCLAIMED_WARNING


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(worker: str | None = None, kinds: list[str] | None = None) -> Job | None:
    """Take the oldest runnable job, or one whose previous worker's lease ran out.

    A job whose lease ran out on its last allowed attempt is failed instead: a job that kills its worker
    (out of memory, a crash in a C library) would otherwise be taken over and kill the next worker forever."""
    while True:
        now = timezone.now()
        runnable = Q(status=Job.Status.QUEUED, run_after__lte=now) | Q(status=Job.Status.RUNNING, lease_until__lt=now)
        qs = Job.objects.filter(runnable)
        if kinds:
            qs = qs.filter(kind__in=kinds)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                qs = qs.select_for_update(skip_locked=True)
            job = qs.order_by("run_after", "id").first()
            if job is None:
                return None
            if job.status == Job.Status.RUNNING and job.attempts >= job.max_attempts:
                Job.objects.filter(pk=job.pk).filter(runnable).update(
                    status=Job.Status.FAILED, lease_until=None, finished=now,
                    error=f"the worker stopped during each of its {job.attempts} attempts (lease expired)",
                )  # fmt: skip
                continue
            # The status/lease condition makes the claim safe on SQLite too, where there is no SKIP LOCKED.
            claimed = Job.objects.filter(pk=job.pk).filter(runnable).update(
                status=Job.Status.RUNNING, locked_by=worker or worker_name(), lease_until=now + LEASE,
                attempts=job.attempts + 1,
            )  # fmt: skip
        if not claimed:
            return None
        job.refresh_from_db()
        return job


def _error_text(job: Job, exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(exc)).strip()
    if job.organisation_id is None:
        return text
    from phare.crypto.sealed import seal_value

    return seal_value(job.organisation_id, "job-error", str(job.pk), text)


def error_of(job: Job) -> str:
    """The job's error message as the pages show it (an organisation's job's message is sealed on its row)."""
    from phare.crypto.sealed import VALUE_PREFIX, SealedFileError, open_value

    if job.organisation_id is None or not job.error.startswith(VALUE_PREFIX + ":"):
        return job.error  # the worker's own messages (a lease that ran out) name no value
    try:
        return str(open_value(job.organisation_id, "job-error", str(job.pk), job.error))
    except SealedFileError:
        return ""


def purge_finished(organisation_id: int | None, older_than: timedelta, dry_run: bool = False) -> int:
    """Delete the rows of the jobs of `organisation_id` (None: the instance's own) that finished, done or failed,
    more than `older_than` ago; returns how many (with `dry_run`, how many would be)."""
    mine = Q(organisation__isnull=True) if organisation_id is None else Q(organisation_id=organisation_id)
    finished = Job.objects.filter(mine, status__in=[Job.Status.DONE, Job.Status.FAILED],
                                  finished__lt=timezone.now() - older_than)  # fmt: skip
    if dry_run:
        return finished.count()
    return int(finished.delete()[0])


def run_one(job: Job) -> Job:
    from phare.crypto import keys

    keys.forget_shredded()
    fn = HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        with rls.acting_for(job.organisation_id, role=rls.app_role()) if job.organisation_id else nullcontext():
            result = fn(job) or {}
    except Exception as exc:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        final = job.attempts >= job.max_attempts
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED if final else Job.Status.QUEUED,
            error=_error_text(job, exc),
            run_after=timezone.now() + timedelta(seconds=30 * job.attempts),
            lease_until=None,
            finished=timezone.now() if final else None,
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.DONE, result=result, lease_until=None, finished=timezone.now(), error=""
        )
    job.refresh_from_db()
    return job


def report_progress(job: Job, done: int, total: int | None = None) -> None:
    """Progress for the UI's progress bar; also renews the lease so a long job is not taken over."""
    Job.objects.filter(pk=job.pk).update(
        progress={"done": done, "total": total}, lease_until=timezone.now() + LEASE
    )


def drain(worker: str | None = None, limit: int | None = None) -> int:
    """Run jobs until none is runnable (or `limit` ran); returns how many ran."""
    ran = 0
    while limit is None or ran < limit:
        job = claim(worker)
        if job is None:
            break
        run_one(job)
        ran += 1
    return ran
