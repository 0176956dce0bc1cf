"""Fixtures shared by the whole suite: two organisations, users of any role, and signed-in clients.

`Client.force_login` signs in with both factors here (phare.accounts.testing); tests/test_mfa.py exercises the
real password + TOTP flow through the views.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from phare.accounts.testing import install_force_login_shim, login_with_mfa

install_force_login_shim()

PASSWORD = "correct horse battery staple"
_n = itertools.count()


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: Any, settings: Any) -> None:
    """Argon2 is meant to be slow (about 0.1 s and 100 MB a hash), and the suite creates and signs in thousands of
    users: new passwords are hashed with MD5 here, and hashes made before still verify. A test about hashing itself
    is marked `real_password_hashing` and keeps the production setting (tests/test_accounts.py)."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def org(db: Any) -> Any:
    from phare.accounts.models import Organisation

    return Organisation.objects.create(slug=f"org-{next(_n)}", org_Name="First Shelter")


@pytest.fixture
def other_org(db: Any) -> Any:
    from phare.accounts.models import Organisation

    return Organisation.objects.create(slug=f"other-{next(_n)}", org_Name="Other Shelter")


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from phare.accounts.models import Role, User

    def make(role: str = Role.CASE_WORKER, org: Any = None, **kw: Any) -> Any:
        username = kw.pop("username", None) or f"{role}-{next(_n)}"
        return User.objects.create_user(username=username, password=PASSWORD, organisation=org, role=role, **kw)

    return make


@pytest.fixture
def client_for() -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        return login_with_mfa(Client(), user)

    return make
