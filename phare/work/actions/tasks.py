"""The verbs of tasks: create, change (reassign, new due date), complete, reopen. Each checks that the actor
may open the case and that the assignee may work it, and writes its audit event in its transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from phare.audit import log as audit
from phare.cases.actions import Invalid
from phare.cases.models import Case
from phare.work.access import may_work
from phare.work.actions import require_case_work
from phare.work.actions.notifications import notify
from phare.work.models import Kind, Task

TITLE_MAX = 200


def _check(case: Case, title: str, assignee: Any, due: Any) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not (title or "").strip():
        problems["title"] = [_("Say what is to be done.")]
    elif len(title.strip()) > TITLE_MAX:
        problems["title"] = [_("Keep the task under %(n)s characters; put the rest in the notes.") % {"n": TITLE_MAX}]
    if not isinstance(due, date):
        problems["due"] = [_("Give the date it is due (YYYY-MM-DD).")]
    if not may_work(assignee, case):
        problems["assignee"] = [_("Choose a colleague who may work on this case.")]
    if case.is_closed:
        problems["case"] = [_("The case is closed: reopen it to add work to it.")]
    return problems


def _audit(action: str, actor: Any, task: Task, request: HttpRequest | None, **detail: Any) -> None:
    audit.record(action, actor=actor, organisation=task.case.organisation, target=task, request=request,
                 detail={"case": task.case.number, **detail})  # fmt: skip


def create_task(actor: Any, case: Case, *, title: str, assignee: Any, due: Any, notes: str = "",
                request: HttpRequest | None = None) -> Task:  # fmt: skip
    require_case_work(actor, case)
    problems = _check(case, title, assignee, due)
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        task = Task.objects.create(organisation_id=case.organisation_id, case=case, title=title.strip(),
                                   notes=(notes or "").strip(), assignee=assignee, due=due,
                                   created_by=actor if getattr(actor, "pk", None) else None)  # fmt: skip
        notify(assignee, Kind.TASK_ASSIGNED, case=case, subject=task, actor=actor)
        _audit("task.create", actor, task, request, assignee=assignee.pk, due=due.isoformat())
    return task


def update_task(actor: Any, task: Task, *, title: str, assignee: Any, due: Any, notes: str = "",
                request: HttpRequest | None = None) -> list[str]:  # fmt: skip
    require_case_work(actor, task.case)
    problems = _check(task.case, title, assignee, due)
    if problems:
        raise Invalid(problems)
    values = {"title": title.strip(), "assignee": assignee, "due": due, "notes": (notes or "").strip()}
    with transaction.atomic():
        changed = [k for k, v in values.items() if (getattr(task, k) or "") != (v or "")]
        if not changed:
            return []
        reassigned = "assignee" in changed
        for k, v in values.items():
            setattr(task, k, v)
        if "due" in changed:
            task.overdue_notified = None
        task.save()
        if reassigned:
            notify(assignee, Kind.TASK_ASSIGNED, case=task.case, subject=task, actor=actor)
        _audit("task.update", actor, task, request, fields=changed, assignee=assignee.pk)
    return changed


def complete_task(actor: Any, task: Task, request: HttpRequest | None = None) -> None:
    require_case_work(actor, task.case)
    if task.is_done:
        raise Invalid({"task": [_("This task is already done.")]})
    with transaction.atomic():
        task.done_at = timezone.now()
        task.done_by = actor
        task.save(update_fields=["done_at", "done_by"])
        _audit("task.complete", actor, task, request)


def reopen_task(actor: Any, task: Task, request: HttpRequest | None = None) -> None:
    require_case_work(actor, task.case)
    if not task.is_done:
        raise Invalid({"task": [_("This task is not done.")]})
    with transaction.atomic():
        task.done_at = None
        task.done_by = None
        task.save(update_fields=["done_at", "done_by"])
        _audit("task.reopen", actor, task, request)
