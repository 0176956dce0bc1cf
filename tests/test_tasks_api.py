"""The task endpoints: scoped tokens, the same access rules as the pages, audited reads and writes."""

from __future__ import annotations

import pytest
from django.test import Client

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.work.actions import tasks as task_actions
from phare.work.models import Task
from tests.test_api import V1, bearer, token_for
from tests.work_helpers import team, today, yesterday

pytestmark = pytest.mark.django_db


def test_it_creates_lists_and_completes_tasks() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    auth = bearer(token_for(worker, ["tasks:read", "tasks:write", "cases:read"]))
    api = Client()
    r = api.post(f"{V1}/cases/{case.uid}/tasks", {"title": "Call the embassy", "assignee": worker.pk,
                                                   "due": yesterday().isoformat()}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["case_number"] == case.number and body["overdue"] is True
    r = api.post(f"{V1}/tasks", {"case_id": str(case.uid), "title": "Second", "assignee": worker.pk,
                                 "due": today().isoformat()}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 201
    mine = api.get(f"{V1}/tasks", **auth).json()["items"]
    assert {i["title"] for i in mine} == {"Call the embassy", "Second"}
    assert len(api.get(f"{V1}/cases/{case.uid}/tasks?state=overdue", **auth).json()["items"]) == 1
    r = api.post(f"{V1}/tasks/{body['id']}/complete", **auth)
    assert r.status_code == 200 and r.json()["done_at"]
    assert AuditEvent.objects.filter(action="api.task.list").exists()
    assert AuditEvent.objects.filter(action="task.complete").exists()


def test_it_answers_not_found_for_a_case_or_task_its_user_may_not_open() -> None:
    t = team()
    task = task_actions.create_task(t[Role.SUPERVISOR], t["case"], title="MARKER", assignee=t[Role.CASE_WORKER],
                                    due=today())  # fmt: skip
    auth = bearer(token_for(t["colleague"], ["tasks:read", "tasks:write"]))
    api = Client()
    assert api.get(f"{V1}/cases/{t['case'].uid}/tasks", **auth).status_code == 404
    assert b"MARKER" not in api.get(f"{V1}/tasks?mine=false", **auth).content
    assert api.post(f"{V1}/tasks/{task.uid}/complete", **auth).status_code == 404
    r = api.post(f"{V1}/cases/{t['case'].uid}/tasks", {"title": "x", "assignee": t["colleague"].pk,
                                                         "due": today().isoformat()}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 404 and Task.objects.count() == 1


def test_it_needs_the_task_scopes_and_a_role_that_reads_people() -> None:
    t = team()
    api = Client()
    assert api.get(f"{V1}/tasks", **bearer(token_for(t[Role.CASE_WORKER], ["cases:read"]))).status_code == 403
    assert api.get(f"{V1}/tasks", **bearer(token_for(t[Role.ANALYST], ["tasks:read"]))).status_code == 403


def test_it_refuses_an_assignee_who_may_not_work_the_case_with_a_clear_error() -> None:
    t = team()
    auth = bearer(token_for(t[Role.CASE_WORKER], ["tasks:write"]))
    r = Client().post(f"{V1}/cases/{t['case'].uid}/tasks", {"title": "x", "assignee": t[Role.ANALYST].pk,
                                                             "due": today().isoformat()}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "assignee"
