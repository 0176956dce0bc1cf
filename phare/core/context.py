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
        return {"nav_perms": frozenset(), "nav_pending_mfa": False, "nav_key": "|"}
    if second_factor_pending(request):
        return {"nav_perms": frozenset(), "nav_pending_mfa": True, "nav_key": "|"}
    perms = perms_of(user)
    # What the menu's links depend on besides the language: the key its drawing is kept under (nav.html).
    key = f"{getattr(user, 'role', '')}|{','.join(sorted(perms))}"
    return {"nav_perms": perms, "nav_pending_mfa": False, "nav_key": key}
