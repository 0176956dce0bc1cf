"""Flagging a case and clearing a flag (from the case page); saving and deleting case-list searches."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from phare.cases.access import get_case, require_write
from phare.cases.actions import Invalid
from phare.work.access import get_flag, my_searches
from phare.work.actions import flags as flag_actions


def _refusal(request: HttpRequest, exc: Invalid) -> None:
    messages.error(request, " ".join(m for ms in exc.problems.values() for m in ms))


@require_POST
@login_required
def flag_add(request: HttpRequest, number: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    case = get_case(user, number)
    try:
        flag_actions.flag_case(user, case, request.POST.get("kind", ""), request.POST.get("reason", ""), request=request)
    except Invalid as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Flag set."))
    return HttpResponseRedirect(reverse("cases:case", args=[case.number]) + "#tasks")


@require_POST
@login_required
def flag_clear(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    flag = get_flag(user, uid)
    try:
        flag_actions.clear_flag(user, flag, request=request)
    except Invalid as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Flag cleared."))
    return HttpResponseRedirect(reverse("cases:case", args=[flag.case.number]) + "#tasks")


@require_POST
@login_required
def search_save(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    try:
        s = flag_actions.save_search(user, request.POST.get("name", ""), request.POST.get("query", ""), request=request)
    except Invalid as exc:
        _refusal(request, exc)
        return HttpResponseRedirect(reverse("cases:list"))
    messages.success(request, _("Search saved."))
    return HttpResponseRedirect(reverse("cases:list") + (f"?{s.query}" if s.query else "?status="))


@require_POST
@login_required
def search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    search = my_searches(user).filter(pk=pk).first()
    if search is None:
        raise Http404("Not found")
    flag_actions.delete_search(user, search, request=request)
    messages.success(request, _("Search deleted."))
    return HttpResponseRedirect(reverse("cases:list"))
