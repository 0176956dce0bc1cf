"""A case's tasks in its HTCDS bundle, under the extension key `x_phare_tasks` (htcds.catalogue.TASKS_KEY): the
JSON exports and the API's bundle write them, imports read them back. One shape everywhere:
{"id", "title", "notes", "assignee" (a username), "due" (YYYY-MM-DD), "done" (the day it was done, if it was)}."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from htcds.catalogue import TASK_TITLE_MAX
from phare.accounts.models import Role
from phare.work.models import Task


def task_entry(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(task.uid), "title": task.title or "", "due": task.due.isoformat(),
                           "assignee": task.assignee.username}  # fmt: skip
    if task.notes:
        out["notes"] = task.notes
    if task.done_at is not None:
        out["done"] = timezone.localdate(task.done_at).isoformat()
    return out


def tasks_by_case(case_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The tasks of these cases as bundle entries, per case id, in the order they were set (one query)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for task in Task.objects.filter(case_id__in=list(case_ids)).select_related("assignee").order_by("id"):
        out.setdefault(task.case_id, []).append(task_entry(task))
    return out


class TaskReader:
    """Bundle entries -> Task rows for a case being imported. The assignee is the named user when they may work
    the new case (its owner, or a supervisor or admin of the organisation), else the case's owner: a username
    from another organisation or a colleague who cannot open the case never receives work on it."""

    def __init__(self, organisation_id: int) -> None:
        self.organisation_id = organisation_id
        self._managers: dict[str, Any] | None = None

    def managers(self) -> dict[str, Any]:
        if self._managers is None:
            users = get_user_model().objects.filter(organisation_id=self.organisation_id, is_active=True,
                                                    role__in=(Role.ADMIN, Role.SUPERVISOR))  # fmt: skip
            self._managers = {u.username: u for u in users}
        return self._managers

    def rows(self, case: Any, entries: Iterable[dict[str, Any]], build: Any = None) -> list[Task]:
        owner = case.cas_CaseOwner
        make = build or (lambda model, **kw: model(**kw))
        out: list[Task] = []
        for e in entries:
            named = e.get("assignee") or ""
            assignee = owner if owner is not None and named == owner.username else self.managers().get(named) or owner
            if assignee is None:  # no owner and nobody named who may work it: the task has no one to do it
                continue
            done = e.get("done")
            out.append(make(Task, organisation_id=self.organisation_id, case=case, title=str(e["title"]).strip()[:TASK_TITLE_MAX],
                            notes=(e.get("notes") or "").strip(), assignee=assignee, due=date.fromisoformat(e["due"]),
                            done_at=timezone.make_aware(datetime.fromisoformat(done)) if done else None,
                            done_by=assignee if done else None))  # fmt: skip
        return out
