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
from phare.core.prepared import among_ids
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
    for task in Task.objects.filter(among_ids("case_id", list(case_ids))).select_related("assignee").order_by("id"):
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

    def assignee_for(self, case: Any, named: str, current: Any = None) -> Any:
        """The user a task entry names, as `rows` chooses them; a task already assigned keeps its assignee when
        the name is theirs or nobody who may work the case has it."""
        owner = case.cas_CaseOwner
        if current is not None and named == current.username:
            return current
        if owner is not None and named == owner.username:
            return owner
        return self.managers().get(named) or current or owner

    def changes(self, case: Any, entries: Iterable[dict[str, Any]]) -> list[tuple[Any, Any, dict[str, Any]]]:
        """What a re-imported bundle's task entries change on a case that exists, as (verb, target, values) for
        the import's writer: a task is found by its id (the uid Phare's exports write), else by its title among
        the case's tasks not found yet; a changed title, notes, due date, assignee or done day is stored through
        the task verbs, an entry matching no task is a new task. Tasks the bundle leaves out stay: a file does not
        delete work."""
        tasks = list(Task.objects.filter(case=case).select_related("assignee").order_by("id"))
        entries = list(entries)
        by_uid = {str(t.uid): t for t in tasks}
        found: dict[int, Task] = {}  # entry position -> its task: ids first, then titles among the rest
        for i, e in enumerate(entries):
            if (t := by_uid.get(str(e.get("id") or ""))) is not None:
                found[i] = t
        rest = [t for t in tasks if t not in found.values()]
        for i, e in enumerate(entries):
            title = str(e.get("title") or "").strip()[:TASK_TITLE_MAX]
            same = [t for t in rest if (t.title or "").strip().casefold() == title.casefold()]
            if i not in found and same:
                found[i] = same[0]
                rest.remove(same[0])
        out: list[tuple[Any, Any, dict[str, Any]]] = []
        for i, e in enumerate(entries):
            title = str(e.get("title") or "").strip()[:TASK_TITLE_MAX]
            task = found.get(i)
            done = e.get("done") or None
            data = {"title": title, "notes": (e.get("notes") or "").strip(), "due": date.fromisoformat(e["due"]),
                    "done": date.fromisoformat(done) if done else None}  # fmt: skip
            if task is None:
                data["assignee"] = self.assignee_for(case, e.get("assignee") or "")
                if data["assignee"] is not None:
                    out.append((add_task, case, data))
                continue
            data["assignee"] = self.assignee_for(case, e.get("assignee") or "", task.assignee)
            stored_done = timezone.localdate(task.done_at) if task.done_at is not None else None
            changed = any(getattr(task, k) != data[k] for k in ("title", "notes", "due", "assignee"))
            if changed or stored_done != data["done"]:
                out.append((change_task, task, data))
        return out


def _done_on(actor: Any, task: Task, day: date | None) -> None:
    """Complete or reopen a task through its verbs, done on the day the file gives."""
    from phare.work.actions import tasks as verbs

    stored = timezone.localdate(task.done_at) if task.done_at is not None else None
    if stored == day:
        return
    if day is None:
        verbs.reopen_task(actor, task)
        return
    if stored is None:
        verbs.complete_task(actor, task)
    Task.objects.filter(pk=task.pk).update(done_at=timezone.make_aware(datetime.combine(day, datetime.min.time())))


def add_task(actor: Any, case: Any, data: dict[str, Any]) -> None:
    from phare.work.actions import tasks as verbs

    task = verbs.create_task(actor, case, title=data["title"], assignee=data["assignee"], due=data["due"],
                             notes=data["notes"])  # fmt: skip
    _done_on(actor, task, data["done"])


def change_task(actor: Any, task: Task, data: dict[str, Any]) -> None:
    from phare.work.actions import tasks as verbs

    verbs.update_task(actor, task, title=data["title"], assignee=data["assignee"], due=data["due"], notes=data["notes"])
    _done_on(actor, task, data["done"])
