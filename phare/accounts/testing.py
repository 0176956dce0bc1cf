"""Test helpers: a client signed in as if the user had passed both factors."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from phare.accounts.middleware import SESSION_MFA, SESSION_SEEN, SESSION_STARTED


def mark_verified(client: Client) -> None:
    """Mark the client's current session as having passed the second factor just now."""
    session = client.session
    now = time.time()
    session[SESSION_MFA] = True
    session[SESSION_STARTED] = now
    session[SESSION_SEEN] = now
    session.save()


def login_with_mfa(client: Client, user: Any) -> Client:
    """`client.force_login(user)` plus a verified second factor (the real flow is tested in tests/test_mfa.py)."""
    _original_force_login(client, user)
    mark_verified(client)
    return client


_original_force_login = Client.force_login


def install_force_login_shim() -> None:
    """Make `Client.force_login` sign in with both factors (tests/conftest.py installs this for the suite)."""

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        _original_force_login(self, user, backend)
        mark_verified(self)

    Client.force_login = force_login  # type: ignore[method-assign]
