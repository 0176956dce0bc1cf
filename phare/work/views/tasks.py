"""Tasks: the user's list (a supervisor's also the team's), a case's new task, changing and completing one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from phare.audit.log import record
from phare.cases.access import can_manage, get_case, require_write
from phare.cases.actions import Invalid
from phare.cases.rows import addresses
from phare.core.lists import capped_count
from phare.work.access import get_task, visible_tasks, workers_for
from phare.work.actions import tasks as task_actions
from phare.work.forms import TaskForm
from phare.work.views.common import apply_problems

SHOWN = 200
WHEN = ("open", "overdue", "done")


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    today = timezone.localdate()
    who = request.GET.get("who", "me")
    when = request.GET.get("when", "open")
    ignored = []
    if who not in ("me", "team") or (who == "team" and not can_manage(user)):
        ignored.append("who")
        who = "me"
    if when not in WHEN:
        ignored.append("when")
        when = "open"
    qs = visible_tasks(user)
    if who == "me":
        qs = qs.filter(assignee=user)
    if when == "done":
        qs = qs.filter(done_at__isnull=False).order_by("-done_at", "-id")
    else:
        qs = qs.filter(done_at__isnull=True).order_by("due", "id")
        if when == "overdue":
            qs = qs.filter(due__lt=today)
    # Counted up to the cap, as the case list: an exact count made PostgreSQL check every one of a worker's 8,000
    # open tasks against the cases they may see (100 of the page's 130 ms at 200,000 cases).
    total, capped = capped_count(qs)
    tasks = list(qs.select_related("case", "assignee")[:SHOWN])
    _link(tasks)
    if tasks:
        record("task.list_viewed", actor=user, request=request, target_type="work.task",
               detail={"cases": sorted({t.case.number for t in tasks})})  # fmt: skip
    return render(request, "work/tasks.html", {"tasks": tasks, "total": total, "capped": capped, "shown": len(tasks), "who": who,
                                               "when": when, "today": today, "ignored": ignored,
                                               "team": can_manage(user), "here": request.get_full_path()})  # fmt: skip


def _link(tasks: list[Any]) -> None:
    """Each task's addresses (its case, marking it done, changing it), as `reverse` gives them, each URL reversed
    once for the page (phare.cases.rows.addresses): three {% url %} a row were a third of rendering 200 rows."""
    case_url, done_url, edit_url = map(addresses, ("cases:case", "work:task_done", "work:task_edit"))
    for t in tasks:
        uid = str(t.uid)
        t.case_url, t.done_url, t.edit_url = case_url(t.case.number), done_url(uid), edit_url(uid)


@login_required
def task_new(request: HttpRequest, number: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    case = get_case(user, number)
    form = TaskForm(request.POST or None, users=workers_for(case), initial={"assignee": user.pk})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            task_actions.create_task(user, case, title=d["title"], assignee=d["assignee"], due=d["due"],
                                     notes=d["notes"], request=request)  # fmt: skip
        except Invalid as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Task added."))
            return HttpResponseRedirect(reverse("cases:case", args=[case.number]) + "#tasks")
    return render(request, "work/form.html", {"case": case, "title": _("New task"), "forms": [form]})


@login_required
def task_edit(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    task = get_task(user, uid)
    initial = {"title": task.title, "assignee": task.assignee_id, "due": task.due, "notes": task.notes or ""}
    form = TaskForm(request.POST or None, users=workers_for(task.case), initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            task_actions.update_task(user, task, title=d["title"], assignee=d["assignee"], due=d["due"],
                                     notes=d["notes"], request=request)  # fmt: skip
        except Invalid as exc:
            apply_problems(form, exc)
        else:
            messages.success(request, _("Task saved."))
            return HttpResponseRedirect(reverse("work:tasks"))
    return render(request, "work/form.html", {"case": task.case, "title": _("Change the task"), "forms": [form]})


@require_POST
@login_required
def task_done(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    task = get_task(user, uid)
    reopen = request.POST.get("reopen") == "1"
    try:
        (task_actions.reopen_task if reopen else task_actions.complete_task)(user, task, request=request)
    except Invalid as exc:
        messages.error(request, " ".join(m for ms in exc.problems.values() for m in ms))
    else:
        messages.success(request, _("Task reopened.") if reopen else _("Task done."))
    nxt = request.POST.get("next", "")
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = reverse("work:tasks")
    return HttpResponseRedirect(nxt)
