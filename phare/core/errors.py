"""Error pages in the site's look: the navigation kept, the reader's language, never a stack trace or the
exception's text (which may quote a value from a record)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


def _page(request: HttpRequest, status: int, title: str, text: str, **extra: Any) -> HttpResponse:
    context = {"status": status, "title": title, "text": text, **extra}
    body: str
    try:
        body = loader.render_to_string("error.html", context, request=request)
    except Exception:  # the page itself failed (a broken database, a missing template): plain words still
        log.exception("error page %s could not be rendered", status)
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{title}</p>"
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    return _page(request, 400, _("This request could not be understood"),
                 _("Something in the address or the form sent was not valid. Go back and try again."))  # fmt: skip


def too_large(request: HttpRequest) -> HttpResponse:
    """A form whose text is over DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses it before any view reads it, so the
    form cannot be shown again with what was typed; the page says what happened and how not to lose the text."""
    from phare.cases.forms import LONG_TEXT_MAX

    mb = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024):.1f}"
    if request.path.startswith("/api/"):  # a program reads the answer: JSON, like every other API error
        return JsonResponse({"detail": f"The request body is over {mb} MB; nothing was saved."}, status=413)
    return _page(request, 413, _("This form is larger than Phare accepts"),
                 _("The text sent is over %(mb)s MB, so nothing of it was saved. Go back with your browser's back "
                   "button: what you typed is usually still in the form. Copy the longest text somewhere safe, then "
                   "shorten it (a comment or a description holds at most %(chars)s characters; split a longer one "
                   "into several comments, or attach it as a document) and send again.")
                 % {"mb": mb, "chars": LONG_TEXT_MAX})  # fmt: skip


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, _("You cannot open this page"),
                 _("Your role does not give access to this page. If your work needs it, ask your organisation's "
                   "administrator."))  # fmt: skip


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, _("Not found"),
                 _("There is nothing at this address, or it is not yours to see. Check the address, or start again "
                   "from the menu."), case_number=_case_number(request.path))  # fmt: skip


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, 500, _("Something went wrong on our side"),
                 _("The error has been logged. Nothing was half-saved: what you were doing was either saved "
                   "whole or not at all. Try again in a moment; if it keeps happening, tell your administrator "
                   "the time it happened."))  # fmt: skip


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(request, 403, _("This form has expired"),
                 _("For your safety, a form only works for a while and only in the browser that opened it. Go back, "
                   "reload the page and send it again (what you typed may need typing again)."))  # fmt: skip


def _case_number(path: str) -> str:
    """For /cases/<number>/...: the number, so that the page can offer to ask for access."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "cases" and parts[1][:1].isdigit():
        return parts[1][:32]
    return ""
