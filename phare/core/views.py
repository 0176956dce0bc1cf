from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from phare.audit.log import record
from phare.core.locale import supported


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
