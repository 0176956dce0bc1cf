from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from phare.accounts.permissions import perms_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the signed-in user may reach, so the one navigation bar shows only those links."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_perms": frozenset()}
    return {"nav_perms": perms_of(user)}
