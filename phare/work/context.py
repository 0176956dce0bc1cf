from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def bell(request: HttpRequest) -> dict[str, Any]:
    """The unread count beside the bell, counted only when a page shows the bell (a lazy value)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from phare.work.access import unread_count

        return unread_count(user)

    return {"bell_unread": SimpleLazyObject(count)}
