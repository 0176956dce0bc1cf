from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def bell(request: HttpRequest) -> dict[str, Any]:
    """The unread count beside the bell, counted only when a page shows the bell (a lazy value)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    counted: list[int] = []

    def count() -> int:
        # A callable, which templates call, rather than a lazy object: plural rules such as Russian's compute n % 10,
        # which a lazy object does not support.
        from phare.work.access import unread_count

        if not counted:
            counted.append(unread_count(user))
        return counted[0]

    return {"bell_unread": count}
