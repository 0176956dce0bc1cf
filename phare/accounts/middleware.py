"""Request-level security: headers and CSP, session lifetime, the second-factor gate, the tenant for RLS."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

SESSION_STARTED = "phare_started"
SESSION_SEEN = "phare_seen"
SESSION_MFA = "phare_mfa"

Handler = Callable[[HttpRequest], HttpResponseBase]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline script or style anywhere), and no powerful features."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", getattr(settings, "PHARE_CSP", CSP))
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            # Personal data must not linger in shared caches or the browser's back-forward cache.
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response


# Paths a signed-in user may reach before the second factor (the language picker is on the second step's page).
MFA_EXEMPT = ("/accounts/mfa/", "/accounts/logout/", "/accounts/login/", "/static/", "/healthz", "/language/")


def second_factor_pending(request: HttpRequest) -> bool:
    """Signed in with a password, and the second factor this user needs not passed yet in this session."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.session.get(SESSION_MFA):
        return False
    return bool(getattr(user, "needs_mfa", True))


class SessionPolicyMiddleware:
    """Idle timeout (PHARE_IDLE_TIMEOUT, 15 min), absolute lifetime (PHARE_SESSION_MAX_AGE, 12 h), and the
    second factor for every role that reads personal data, every role of an organisation that requires it
    (Organisation.require_mfa), and anyone who enrolled one (User.needs_mfa).

    Role, organisation, activity and epoch changes end sessions through `User.get_session_auth_hash`, which
    Django's AuthenticationMiddleware checks on every request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED, now)
            seen = request.session.get(SESSION_SEEN, now)
            idle = getattr(settings, "PHARE_IDLE_TIMEOUT", 15 * 60)
            absolute = getattr(settings, "PHARE_SESSION_MAX_AGE", 12 * 3600)
            if now - seen > idle or now - started > absolute:
                logout(request)
                return redirect(f"{settings.LOGIN_URL}?expired=1")
            if SESSION_STARTED not in request.session:
                request.session[SESSION_STARTED] = started
            # Refresh "last seen" at most once a minute: no session write on every request.
            if now - seen > 60 or SESSION_SEEN not in request.session:
                request.session[SESSION_SEEN] = now
            if not request.path.startswith(MFA_EXEMPT) and second_factor_pending(request):
                return redirect("/accounts/mfa/?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


class RowLevelSecurityMiddleware:
    """On PostgreSQL, tell the database which tenant this request acts for (`phare.org_id`), and when
    PHARE_DB_ROLE is set switch to that non-owner role for the request, so that row-level security applies
    (see `phare.rls`). Both are reset when the request ends, on the same connection.

    The tenant is set even without PHARE_DB_ROLE: a deployment that connects as the application role itself
    (docs/deploy.md) is subject to row-level security from the first query, and would see no row at all."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from phare import rls
        from phare.crypto import keys

        keys.forget_shredded()  # an erasure made by another worker process takes effect here too
        role = rls.app_role()
        user = getattr(request, "user", None)
        org_id = getattr(user, "organisation_id", None) if user is not None and user.is_authenticated else None
        with rls.acting_for(org_id, user_id=getattr(user, "pk", None), role=role):
            return self.get_response(request)
