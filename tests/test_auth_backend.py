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


def test_the_prepared_read_makes_the_user_the_orm_makes() -> None:
    from phare.accounts.backends import ORG_FIELDS, USER_FIELDS, Backend, user_with_organisation
    from phare.accounts.models import User

    org = make_org("alpha")
    org.require_mfa = True
    org.save()
    members = [make_user(org, Role.ANALYST), make_user(org, Role.SUPERVISOR)]
    operator = User.objects.create_user(username="operator", password=None, organisation=None, role=Role.ADMIN)
    for user in (*members, operator):
        user.language = "fr"
        user.save()
        got = user_with_organisation(user.pk)
        orm = User.objects.select_related("organisation").get(pk=user.pk)
        assert got is not None and type(got) is User and not got._state.adding
        assert [getattr(got, f) for f in USER_FIELDS] == [getattr(orm, f) for f in USER_FIELDS]
        assert got.get_session_auth_hash() == orm.get_session_auth_hash()
        with CaptureQueriesContext(connection) as ctx:
            if orm.organisation is None:
                assert got.organisation is None
            else:
                assert [getattr(got.organisation, f) for f in ORG_FIELDS] == [getattr(orm.organisation, f) for f in ORG_FIELDS]
        assert len(ctx) == 0  # the organisation came with the user
        assert Backend().get_user(user.pk) == orm and Backend().get_user(str(user.pk)) == orm
    assert user_with_organisation(operator.pk + 1000) is None and Backend().get_user(operator.pk + 1000) is None


def test_a_session_is_read_through_the_prepared_query_and_ends_when_it_expires() -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    assert settings.SESSION_ENGINE == "phare.accounts.sessions"
    user = make_user(make_org("alpha"), Role.ANALYST)
    c = Client()
    c.force_login(user)
    assert c.get("/accounts/password/").status_code == 200
    key = c.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    r = c.get("/accounts/password/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    c.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session-key"
    r = c.get("/accounts/password/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
