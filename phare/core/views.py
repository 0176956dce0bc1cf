from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from phare import access
from phare.audit.log import record
from phare.cases.access import sees_names, visible_cases
from phare.cases.forms import person_display
from phare.cases.models import CaseStatus, SupportPlan
from phare.core.locale import supported

HOME_LIMIT = 20


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The case worker's day: their open cases, follow-ups due, support plans ending within 14 days."""
    user: Any = request.user
    today = timezone.localdate()
    mine = visible_cases(user).filter(cas_CaseOwner=user).select_related("primary_person")
    open_cases = list(mine.filter(cas_Status=CaseStatus.ACTIVE).order_by("-cas_OpenedDate", "-id")[:HOME_LIMIT])
    follow_ups = list(
        mine.filter(cas_Status=CaseStatus.FOLLOW_UP, follow_up_date__lte=today + timedelta(days=7)).order_by(
            "follow_up_date", "id"
        )[:HOME_LIMIT]
    )
    plans = list(
        access.scoped(user, SupportPlan)
        .filter(spl_PlannedEndDate__gte=today, spl_PlannedEndDate__lte=today + timedelta(days=14),
                spl_ActualEndDate__isnull=True, case__in=mine.values("id"))
        .select_related("case")
        .order_by("spl_PlannedEndDate", "id")[:HOME_LIMIT]
    )  # fmt: skip
    names = sees_names(user)
    if names and (open_cases or follow_ups):
        record("home.viewed", actor=user, request=request, target_type="cases.case",
               detail={"cases": [c.number for c in (*open_cases, *follow_ups)]})  # fmt: skip
    return render(request, "core/home.html", {
        "open_cases": [(c, person_display(c.primary_person, names)) for c in open_cases],
        "follow_ups": [(c, person_display(c.primary_person, names)) for c in follow_ups],
        "plans": plans, "today": today,
    })  # fmt: skip


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language picker: remembered in the user's profile when signed in, in a cookie otherwise."""
    code = supported(request.POST.get("language"))
    user = request.user
    if code and user.is_authenticated and getattr(user, "language", None) != code:
        with transaction.atomic():
            user.language = code
            user.save(update_fields=["language"])
            record("user.language_set", actor=user, target=user, request=request, detail={"language": code})
    response: HttpResponse = django_set_language(request)
    return response
