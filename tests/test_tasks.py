"""Tasks: created, changed, completed and reopened by audited verbs; assigned only to colleagues who may work
the case; never shown, counted or listed to a colleague who may not open their case."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.cases.actions import Invalid
from phare.work import access as work_access
from phare.work.actions import tasks as task_actions
from phare.work.models import Kind, Notification, Task
from tests.work_helpers import client, team, today, yesterday

pytestmark = pytest.mark.django_db


def test_it_creates_changes_completes_and_reopens_a_task_each_audited() -> None:
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    task = task_actions.create_task(boss, case, title="Book the interpreter", assignee=worker, due=today())
    assert Notification.objects.filter(recipient=worker, kind=Kind.TASK_ASSIGNED, case=case).count() == 1
    task_actions.update_task(worker, task, title="Book the interpreter", assignee=worker, due=yesterday(), notes="Twi")
    task_actions.complete_task(worker, task)
    task_actions.reopen_task(worker, task)
    actions = list(AuditEvent.objects.filter(target_id=str(task.uid)).values_list("action", flat=True))
    assert actions == ["task.create", "task.update", "task.complete", "task.reopen"]
    task.refresh_from_db()
    assert task.notes == "Twi" and task.done_at is None


def test_it_refuses_an_assignee_who_may_not_work_the_case() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    for who in (t["colleague"], t[Role.ANALYST], t[Role.AUDITOR]):  # cannot open it / never works cases
        with pytest.raises(Invalid) as exc:
            task_actions.create_task(worker, case, title="Call", assignee=who, due=today())
        assert "assignee" in exc.value.problems
    # once the colleague works the case beside its owner, they may be given its tasks
    case_actions.assign_worker(t[Role.SUPERVISOR], case, t["colleague"])
    task_actions.create_task(worker, case, title="Call", assignee=t["colleague"], due=today())


def test_it_answers_not_found_to_a_colleague_who_may_not_open_the_case() -> None:
    t = team()
    from django.http import Http404

    with pytest.raises(Http404):
        task_actions.create_task(t["colleague"], t["case"], title="x", assignee=t["colleague"], due=today())
    r = client(t["colleague"]).get(f"/work/cases/{t['case'].number}/tasks/new/")
    assert r.status_code == 404


def test_it_never_shows_a_task_on_a_case_its_reader_may_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    t = team()
    boss, colleague, case = t[Role.SUPERVISOR], t["colleague"], t["case"]
    task = task_actions.create_task(boss, case, title="MARKER-visit the shelter", assignee=t[Role.CASE_WORKER],
                                    due=yesterday())  # fmt: skip
    # a colleague in the same organisation and role, who does not work this case
    c = client(colleague)
    pages = [c.get("/work/tasks/?who=me").content, c.get("/").content, c.get(f"/work/tasks/{task.uid}/").content]
    assert not any(b"MARKER" in p for p in pages)
    assert c.get(f"/work/tasks/{task.uid}/").status_code == 404
    assert c.post(f"/work/tasks/{task.uid}/done/").status_code == 404
    assert not work_access.visible_tasks(colleague).exists()
    # the owner and the supervisor do see it
    assert b"MARKER" in client(t[Role.CASE_WORKER]).get("/work/tasks/").content
    assert b"MARKER" in client(boss).get("/work/tasks/?who=team").content
    # Negative control: with the access rule switched off the same reads leak the task.
    monkeypatch.setattr(work_access, "visible_cases", lambda user: type(case).objects.all())
    assert work_access.visible_tasks(colleague).filter(pk=task.pk).exists()
    assert c.get(f"/work/tasks/{task.uid}/").status_code == 200


def test_it_gives_read_only_roles_no_task_at_all() -> None:
    t = team()
    task_actions.create_task(t[Role.SUPERVISOR], t["case"], title="x", assignee=t[Role.CASE_WORKER], due=today())
    for role in (Role.ANALYST, Role.AUDITOR):
        assert not work_access.visible_tasks(t[role]).exists()
        assert client(t[role]).get("/work/tasks/").status_code == 403


def test_it_creates_and_completes_a_task_through_the_pages() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    c = client(worker)
    r = c.post(f"/work/cases/{case.number}/tasks/new/", {"title": "Court date letter", "assignee": worker.pk,
                                                            "due": yesterday().isoformat()})  # fmt: skip
    assert r.status_code == 302
    task = Task.objects.get(case=case)
    html = c.get("/work/tasks/").content.decode()
    assert "Court date letter" in html and "Overdue" in html
    assert "Court date letter" in c.get(f"/cases/{case.number}/").content.decode()
    r = c.post(f"/work/tasks/{task.uid}/done/", {"next": "/work/tasks/"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    assert "Court date letter" not in c.get("/work/tasks/").content.decode()
    assert "Court date letter" in c.get("/work/tasks/?when=done").content.decode()


def test_it_says_a_bad_filter_was_not_applied() -> None:
    t = team()
    html = client(t[Role.CASE_WORKER]).get("/work/tasks/?when=someday&who=team").content.decode()
    assert "was not applied" in html


def test_it_refuses_an_empty_title_and_a_missing_date_on_the_form() -> None:
    t = team()
    r = client(t[Role.CASE_WORKER]).post(f"/work/cases/{t['case'].number}/tasks/new/", {"title": " ", "due": "soon"})
    assert r.status_code == 200 and not Task.objects.exists()




def test_it_counts_a_long_task_list_up_to_the_cap_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.core import lists
    from phare.work.views import tasks as task_views

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    # A small cap stands for the real one (1,000): the count stops one past it and the page says "+".
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    monkeypatch.setattr(task_views, "SHOWN", 2)
    Task.objects.bulk_create([Task(organisation=case.organisation, case=case, assignee=worker, title=f"Call {i}",
                                   due=today()) for i in range(5)])  # fmt: skip
    html = client(worker).get("/work/tasks/").content.decode()
    assert '<span class="count">3+</span>' in html and "Showing the first 2 of 3+." in html
    Task.objects.filter(pk__in=Task.objects.filter(case=case).order_by("-id").values("id")[:2]).delete()  # at the cap
    html = client(worker).get("/work/tasks/").content.decode()
    assert '<span class="count">3</span>' in html and "Showing the first 2 of 3." in html


def test_it_links_each_task_as_reverse_does() -> None:
    # The list writes each row's addresses from one reverse per page; a case number that is not plain (an import
    # may keep its source's) still gets the quoted address reverse gives it.
    from django.urls import reverse
    from django.utils.html import escape

    from phare.cases.models import Case

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    other = case_actions.open_case(worker, person_data={"prs_FirstName": "Kofi"}, role="Victim", context={})
    Case.objects.filter(pk=other.pk).update(number="2024 #7 é&")
    other.refresh_from_db()
    tasks = [task_actions.create_task(worker, c, title=f"Call {n}", assignee=worker, due=today())
             for n, c in enumerate((case, other))]  # fmt: skip
    html = client(worker).get("/work/tasks/?when=open").content.decode()
    for task in tasks:
        assert f'<a href="{escape(reverse("cases:case", args=[task.case.number]))}"><bdi>' in html
        assert f'<form method="post" action="{reverse("work:task_done", args=[task.uid])}" class="inline">' in html
        assert f'<a href="{reverse("work:task_edit", args=[task.uid])}">' in html
    assert '<input type="hidden" name="next" value="/work/tasks/?when=open">' in html
    assert "/cases/2024%20%237%20%C3%A9&amp;/" in html
