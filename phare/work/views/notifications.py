"""The notifications page, and marking them read."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from phare.work.access import my_notifications
from phare.work.actions.notifications import mark_read
from phare.work.models import Kind, Notification

PER_PAGE = 30
APPROVAL_KINDS = {Kind.APPROVAL_REQUESTED, Kind.APPROVAL_APPROVED, Kind.APPROVAL_RETURNED}
HANDOVER_KINDS = {Kind.HANDOVER_OFFERED, Kind.HANDOVER_ACCEPTED, Kind.HANDOVER_DECLINED, Kind.HANDED_AWAY}


@dataclass
class Line:
    note: Notification
    text: str
    link: str


def link_of(n: Notification) -> str:
    if n.kind in APPROVAL_KINDS and n.subject_uid:
        return reverse("work:approval", args=[n.subject_uid])
    if n.kind in HANDOVER_KINDS and n.subject_uid:
        return reverse("work:handover", args=[n.subject_uid])
    if n.kind in (Kind.TASK_ASSIGNED, Kind.TASK_OVERDUE):
        return reverse("work:tasks") + (f"#t-{n.subject_uid}" if n.subject_uid else "")
    if n.case is not None:
        return reverse("cases:case", args=[n.case.number]) + ("#consents" if n.kind == Kind.CONSENT_EXPIRING else "")
    return reverse("home")


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    qs = my_notifications(request.user).select_related("case", "actor").order_by("-created", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    lines = [Line(n, str(Kind(n.kind).label) if n.kind in Kind.values else n.kind, link_of(n)) for n in page]
    unread = qs.filter(read_at__isnull=True).count()
    return render(request, "work/notifications.html", {"lines": lines, "page": page, "unread": unread})


@require_POST
@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    mine = my_notifications(request.user)
    uid = request.POST.get("uid")
    if uid:
        mine = mine.filter(uid=uid) if _is_uuid(uid) else mine.none()
    mark_read(request.user, mine, request=request)
    go = request.POST.get("go", "")
    if go.startswith("/") and not go.startswith("//"):
        return HttpResponseRedirect(go)
    return HttpResponseRedirect(reverse("work:notifications"))


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
