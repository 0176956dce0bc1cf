"""The reader's language: the user's own choice (`User.language`), else their organisation's default
(`Organisation.language`), else what LocaleMiddleware negotiated from the browser.

To wire: add ``"phare.core.locale.UserLanguageMiddleware"`` to MIDDLEWARE right after
``django.contrib.auth.middleware.AuthenticationMiddleware`` (it needs `request.user`). Views can also call
`preferred_language(user)` with `translation.override` (the dashboards do, so they work before the wiring).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import translation
from django.utils.formats import date_format


def supported(code: str | None) -> str | None:
    if not code:
        return None
    codes = {c for c, _n in settings.LANGUAGES}
    if code in codes:
        return code
    base = code.split("-")[0].lower()
    return base if base in codes else None


def preferred_language(user: Any, fallback: str | None = None, chosen: str | None = None) -> str:
    """user.language || a language chosen with the picker (cookie) || organisation.language || fallback ||
    LANGUAGE_CODE (only languages in LANGUAGES)."""
    if user is not None and getattr(user, "is_authenticated", False):
        own = supported(getattr(user, "language", ""))
        if own:
            return own
        if supported(chosen):
            return str(supported(chosen))
        org = getattr(user, "organisation", None)
        org_lang = supported(getattr(org, "language", "")) if org is not None else None
        if org_lang:
            return org_lang
    return supported(fallback) or settings.LANGUAGE_CODE


class UserLanguageMiddleware:
    """Activates the signed-in user's language for the request (after LocaleMiddleware and authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        lang = translation.get_language() or settings.LANGUAGE_CODE
        if user is not None and user.is_authenticated:
            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            lang = preferred_language(user, getattr(request, "LANGUAGE_CODE", None), chosen)
            request.LANGUAGE_CODE = lang
        # override, not activate: the thread goes back to its language afterwards, so that one user's language
        # never leaks into work done outside a request on the same thread.
        with translation.override(lang):
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", lang)
        return response


def shown_day(value: date) -> str:
    """A day as the reader reads it, in the active language's DATE_FORMAT ("March 4, 2026", "4 mars 2026",
    "4 مارس، 2026"): pages (the `day` filter), PDF and XLSX. The month is in words, never in digits, since
    03/04 is two different days to two English readers. Data files keep ISO."""
    return date_format(value, "DATE_FORMAT")


_DOUBLE_STOP = re.compile(r"(?<=[^.]\.)\.(?!\.)")


def one_stop(text: str) -> str:
    """A sentence whose last value ends in an abbreviation's full stop ("as of 9:05 a.m.") takes no second one:
    "a.m.." becomes "a.m.". An ellipsis ("...") is left alone."""
    return _DOUBLE_STOP.sub("", text)
