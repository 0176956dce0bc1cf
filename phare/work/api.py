"""Tasks over the API: `GET/POST /api/v1/tasks` and `/api/v1/cases/{id}/tasks`, `POST /api/v1/tasks/{id}/complete`.
Scopes `tasks:read` / `tasks:write`; reads through `phare.work.access`, writes through the task verbs, reads
audited like every read of case records."""


from datetime import date
from typing import Any, Literal
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from phare.api.v1 import ERRORS, Cursor, Limit, _case, _page, _read, need, need_personal, need_write, page_by_id
from phare.work.access import get_task, visible_tasks
from phare.work.actions import tasks as task_actions
from phare.work.models import Task

router = Router(tags=["tasks"])


class TaskIn(Schema):
    title: str
    assignee: int  # a user id of the organisation (GET /tasks shows them)
    due: date
    notes: str = ""


class CaseTaskIn(TaskIn):
    case_id: UUID


class TaskOut(Schema):
    id: UUID
    case_id: UUID
    case_number: str
    title: str
    notes: str
    assignee: int
    assignee_username: str
    due: date
    done_at: Any = None
    overdue: bool


def task_json(t: Task) -> dict[str, Any]:
    return {"id": t.uid, "case_id": t.case.uid, "case_number": t.case.number, "title": t.title or "", "notes": t.notes or "",
            "assignee": t.assignee_id, "assignee_username": t.assignee.username, "due": t.due,
            "done_at": t.done_at, "overdue": t.done_at is None and t.due < timezone.localdate()}  # fmt: skip


def _reader(request: HttpRequest) -> Any:
    user = need(request, "tasks:read")
    need_personal(user)  # titles and notes are free text about a person
    return user


def _writer(request: HttpRequest) -> Any:
    user = need(request, "tasks:write")
    need_write(user)
    return user


def _assignee(user: Any, pk: int) -> Any:
    return get_user_model().objects.filter(organisation_id=user.organisation_id, pk=pk).first()


def _list(request: HttpRequest, user: Any, qs: Any, cursor: str | None, limit: int) -> dict[str, Any]:
    rows, nxt = page_by_id(qs.select_related("case", "assignee"), cursor, limit)
    _read(request, user, "api.task.list", target_type="work.task", count=len(rows),
          cases=sorted({t.case.number for t in rows}))  # fmt: skip
    return {"items": [task_json(t) for t in rows], "next_cursor": nxt}


State = Literal["open", "overdue", "done", "all"]


def _filtered(qs: Any, state: str) -> Any:
    if state == "open":
        return qs.filter(done_at__isnull=True)
    if state == "overdue":
        return qs.filter(done_at__isnull=True, due__lt=timezone.localdate())
    if state == "done":
        return qs.filter(done_at__isnull=False)
    return qs


@router.get("/tasks", response={200: _page("TaskPage", TaskOut), **ERRORS}, exclude_none=True)
def list_tasks(request: HttpRequest, mine: bool = True, state: State = "open", cursor: Cursor = None,
               limit: Limit = 50) -> dict[str, Any]:  # fmt: skip
    """The tasks the token's user may see: by default their own open ones; `mine=false` for every task on the
    cases they may open (a supervisor's team)."""
    user = _reader(request)
    qs = visible_tasks(user)
    if mine:
        qs = qs.filter(assignee=user)
    return _list(request, user, _filtered(qs, state), cursor, limit)


@router.post("/tasks", response={201: TaskOut, **ERRORS}, exclude_none=True)
@transaction.atomic
def create_task(request: HttpRequest, payload: CaseTaskIn) -> Status[dict[str, Any]]:
    user = _writer(request)
    case = _case(user, payload.case_id)
    return _create(request, user, case, payload)


def _create(request: HttpRequest, user: Any, case: Any, payload: TaskIn) -> Status[dict[str, Any]]:
    task = task_actions.create_task(user, case, title=payload.title, assignee=_assignee(user, payload.assignee),
                                    due=payload.due, notes=payload.notes, request=request)  # fmt: skip
    return Status(201, task_json(task))


@router.get("/cases/{case_id}/tasks", response={200: _page("CaseTaskPage", TaskOut), **ERRORS}, exclude_none=True)
def list_case_tasks(request: HttpRequest, case_id: UUID, state: State = "all", cursor: Cursor = None,
                    limit: Limit = 50) -> dict[str, Any]:  # fmt: skip
    user = _reader(request)
    case = _case(user, case_id)
    return _list(request, user, _filtered(visible_tasks(user).filter(case=case), state), cursor, limit)


@router.post("/cases/{case_id}/tasks", response={201: TaskOut, **ERRORS}, exclude_none=True)
@transaction.atomic
def create_case_task(request: HttpRequest, case_id: UUID, payload: TaskIn) -> Status[dict[str, Any]]:
    user = _writer(request)
    return _create(request, user, _case(user, case_id), payload)


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, **ERRORS}, exclude_none=True)
@transaction.atomic
def complete_task(request: HttpRequest, task_id: UUID) -> dict[str, Any]:
    user = _writer(request)
    task = get_task(user, task_id)
    task_actions.complete_task(user, task, request=request)
    return task_json(task)


