from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from phare.accounts.middleware import second_factor_pending
from phare.accounts.permissions import perms_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the signed-in user may reach, so the one navigation bar shows only those links. Before the second
    factor is passed, nothing but the language picker and signing out (`nav_pending_mfa`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_perms": frozenset(), "nav_pending_mfa": False}
    if second_factor_pending(request):
        return {"nav_perms": frozenset(), "nav_pending_mfa": True}
    return {"nav_perms": perms_of(user), "nav_pending_mfa": False}
