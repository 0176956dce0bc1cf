"""The daily run in the job worker: each overdue task notified once; one e-mail digest per worker with overdue
work, holding counts, case numbers and a link only; the run queues its next one."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command

from phare.accounts.models import Role
from phare.jobs import queue
from phare.jobs.models import Job
from phare.work import jobs
from phare.work.actions import tasks as task_actions
from phare.work.models import Kind, Notification, WorkSettings
from tests.work_helpers import team, today, yesterday

pytestmark = pytest.mark.django_db


def test_it_notifies_each_overdue_task_once_and_queues_the_next_run() -> None:
    t = team()
    worker = t[Role.CASE_WORKER]
    task_actions.create_task(t[Role.SUPERVISOR], t["case"], title="Late", assignee=worker, due=yesterday())
    task_actions.create_task(t[Role.SUPERVISOR], t["case"], title="Not yet", assignee=worker, due=today())
    call_command("notify", "digest")
    claimed = queue.claim(kinds=[jobs.JOB])  # as the worker does
    assert claimed is not None and claimed.organisation_id == t["org"].pk
    job = queue.run_one(claimed)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result["overdue_notices"] == 1
    assert Notification.objects.filter(recipient=worker, kind=Kind.TASK_OVERDUE).count() == 1
    jobs.run(t["org"], today())  # a second run the same day notifies nothing again
    assert Notification.objects.filter(recipient=worker, kind=Kind.TASK_OVERDUE).count() == 1
    nxt = Job.objects.get(kind=jobs.JOB, organisation=t["org"], status=Job.Status.QUEUED)
    assert nxt.run_after > job.run_after


def test_it_mails_a_digest_without_personal_data() -> None:
    t = team()
    worker = t[Role.CASE_WORKER]
    worker.email = "w@example.org"
    worker.save()
    WorkSettings.objects.create(organisation=t["org"], email_notifications=True)
    task_actions.create_task(worker, t["case"], title="Visit Ama Owusu at the clinic", assignee=worker, due=yesterday())
    mail.outbox.clear()
    result = jobs.run(t["org"], today())
    assert result["digests"] == 1
    body = mail.outbox[-1].subject + mail.outbox[-1].body
    assert t["case"].number in body and "1 overdue task" in body
    for personal in ("Ama", "Owusu", "clinic", "Visit"):
        assert personal not in body
    # a colleague who cannot open the case gets no digest about it
    assert jobs.digest_lines(t["colleague"], today()) == (0, 0, [])
