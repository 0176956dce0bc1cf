from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from phare.jobs import queue
from phare.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls() -> Any:
    seen: list[dict[str, Any]] = []

    @queue.handler("test.echo")
    def echo(job: Job) -> dict[str, Any]:
        seen.append(job.payload)
        return {"echo": job.payload["n"]}

    @queue.handler("test.boom")
    def boom(job: Job) -> None:
        raise ValueError("row 3, field prs_Gender: bad value")

    yield seen
    queue.HANDLERS.pop("test.echo")
    queue.HANDLERS.pop("test.boom")


def test_it_runs_queued_jobs_in_order_and_keeps_their_result(calls: list[dict[str, Any]]) -> None:
    a = queue.enqueue("test.echo", {"n": 1})
    b = queue.enqueue("test.echo", {"n": 2})
    assert queue.drain() == 2
    assert calls == [{"n": 1}, {"n": 2}]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.result, b.result) == ("done", {"echo": 1}, {"echo": 2})


def test_it_retries_a_failing_job_then_marks_it_failed_with_the_error(calls: list[dict[str, Any]]) -> None:
    job = queue.enqueue("test.boom", max_attempts=2)
    queue.run_one(queue.claim() or job)
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 1 and "prs_Gender" in job.error
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    queue.run_one(queue.claim() or job)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2 and job.finished is not None


def test_it_never_hands_one_job_to_two_workers(calls: list[dict[str, Any]]) -> None:
    queue.enqueue("test.echo", {"n": 1})
    first = queue.claim("w1")
    second = queue.claim("w2")
    assert first is not None and first.locked_by == "w1"
    assert second is None


def test_it_takes_over_a_job_whose_worker_died(calls: list[dict[str, Any]]) -> None:
    queue.enqueue("test.echo", {"n": 7})
    dead = queue.claim("killed-worker")
    assert dead is not None
    assert queue.claim("w2") is None  # the lease still holds
    Job.objects.filter(pk=dead.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    again = queue.claim("w2")
    assert again is not None and again.pk == dead.pk and again.attempts == 2
    queue.run_one(again)
    assert calls == [{"n": 7}]


def test_it_fails_a_job_that_killed_its_worker_on_every_attempt(calls: list[dict[str, Any]]) -> None:
    poison = queue.enqueue("test.echo", {"n": 1}, max_attempts=2)
    queue.enqueue("test.echo", {"n": 2})
    for worker in ("w1", "w2"):
        job = queue.claim(worker)
        assert job is not None and job.pk == poison.pk
        Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # killed -9
    nxt = queue.claim("w3")
    assert nxt is not None and nxt.payload == {"n": 2}  # the poison job is not handed out a third time
    poison.refresh_from_db()
    assert poison.status == "failed" and poison.attempts == 2 and "lease expired" in poison.error


def test_it_waits_for_a_delayed_job(calls: list[dict[str, Any]]) -> None:
    queue.enqueue("test.echo", {"n": 1}, delay=timedelta(hours=1))
    assert queue.drain() == 0


def test_it_fails_a_job_of_unknown_kind_with_a_clear_error() -> None:
    job = queue.enqueue("nobody.handles.this", max_attempts=1)
    queue.drain()
    job.refresh_from_db()
    assert job.status == "failed" and "no handler for job kind" in job.error


def test_it_keeps_the_worker_alive_through_a_locked_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """`phare worker` survives a transient "database is locked" (an import holding SQLite's write lock) and
    retries; without the retry the worker process dies on the first one."""
    from django.core.management import call_command
    from django.db import OperationalError

    from phare.jobs.management.commands import worker

    answers: list[Any] = [OperationalError("database is locked"), OperationalError("database is locked"), 1, 0]

    def drain(name: str, limit: int | None = None) -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return int(answer)

    monkeypatch.setattr(worker.queue, "drain", drain)
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    call_command("worker", "--once", "--poll", "0", stdout=io.StringIO())
    assert answers == []  # it went on after both failures, ran the job, and stopped when idle
    # Negative control: the same locked database, caught by nothing, ends the worker.
    answers[:] = [OperationalError("database is locked"), 0]
    monkeypatch.setattr(worker, "OperationalError", LookupError)
    with pytest.raises(OperationalError):
        call_command("worker", "--once", "--poll", "0", stdout=io.StringIO())
