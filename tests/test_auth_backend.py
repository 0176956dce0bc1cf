"""The sign-in backend reads a session's user with their organisation, and a session of another backend ends."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from phare.accounts.models import Role
from tests.test_cases_helpers import make_org, make_user

pytestmark = pytest.mark.django_db


def test_a_request_reads_the_user_and_their_organisation_in_one_query() -> None:
    org = make_org("alpha")
    user = make_user(org, Role.ANALYST)
    c = Client()
    c.force_login(user)
    assert c.session[BACKEND_SESSION_KEY] == "phare.accounts.backends.Backend"
    with CaptureQueriesContext(connection) as ctx:
        r = c.get("/accounts/password/")
    assert r.status_code == 200
    read = [q["sql"] for q in ctx.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(read) == 1 and '"accounts_organisation"' in read[0], read
    assert not [q for q in ctx.captured_queries if q["sql"].lstrip().startswith('SELECT "accounts_organisation"')]
    assert r.wsgi_request.user.organisation == org


def test_an_inactive_user_or_a_session_of_the_former_backend_is_signed_out() -> None:
    org = make_org("alpha")
    user = make_user(org, Role.ANALYST)
    c = Client()
    c.force_login(user)
    session = c.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    r = c.get("/accounts/password/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    c.force_login(user)
    user.is_active = False
    user.save()
    r = c.get("/accounts/password/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
