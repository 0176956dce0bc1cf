"""Roles and permissions, user administration, sessions, headers, break-glass, production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from typing import Any

import pytest
from django.test import Client

from phare import access
from phare.accounts.middleware import SESSION_SEEN, SESSION_STARTED
from phare.accounts.models import PERSONAL_DATA_ROLES, OrganisationNote, Role, User
from phare.accounts.permissions import MATRIX, can, require_role
from phare.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_keeps_a_matrix_where_personal_data_means_mfa(make_user: Any, org: Any) -> None:
    for role in Role.values:
        user = make_user(role, org)
        assert can(user, "read_personal") == (role in PERSONAL_DATA_ROLES)
        assert can(user, "manage_users") == (role == Role.ADMIN)
        assert can(user, "read_audit") == (role in {Role.ADMIN, Role.AUDITOR})
    assert MATRIX[Role.ANALYST] == {"read_aggregates"}
    nobody = make_user(Role.ADMIN, None)
    assert not can(nobody, "manage_users")  # no organisation, no rights
    with pytest.raises(ValueError):
        can(nobody, "fly")


def test_it_guards_views_with_require_role(make_user: Any, org: Any, rf: Any) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse

    view = require_role(Role.ADMIN)(lambda request: HttpResponse("ok"))
    request = rf.get("/")
    request.user = make_user(Role.ADMIN, org)
    assert view(request).status_code == 200
    request.user = make_user(Role.SUPERVISOR, org)
    with pytest.raises(PermissionDenied):
        view(request)


def _edit(client: Client, target: User, **data: Any) -> Any:
    payload = {"username": target.username, "role": target.role, "is_active": "on", **data}
    return client.post(f"/accounts/users/{target.pk}/", payload)


def test_it_never_lets_a_user_raise_their_own_role_or_change_organisation(
    make_user: Any, org: Any, other_org: Any, client_for: Any
) -> None:
    admin = make_user(Role.ADMIN, org)
    supervisor = make_user(Role.SUPERVISOR, org)
    # a supervisor cannot reach user administration at all, not even for themself
    c = client_for(supervisor)
    assert c.get("/accounts/users/").status_code == 403
    assert _edit(c, supervisor, role=Role.ADMIN).status_code == 403
    # an admin cannot change their own role (down and back up again is the same door)
    c = client_for(admin)
    r = _edit(c, admin, role=Role.CASE_WORKER)
    assert r.status_code == 200 and "own role" in r.content.decode()
    # an organisation field in the form is ignored: users stay in the admin's organisation
    r = _edit(c, supervisor, role=Role.CASE_WORKER, organisation=other_org.pk, organisation_id=other_org.pk)
    assert r.status_code == 302
    supervisor.refresh_from_db()
    admin.refresh_from_db()
    assert supervisor.organisation_id == org.pk and supervisor.role == Role.CASE_WORKER
    assert admin.role == Role.ADMIN and admin.organisation_id == org.pk
    # another organisation's users do not exist for this admin
    stranger = make_user(Role.CASE_WORKER, other_org)
    assert c.get(f"/accounts/users/{stranger.pk}/").status_code == 404
    assert _edit(c, stranger, role=Role.ADMIN).status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == Role.CASE_WORKER
    # a role that is not offered is refused
    worker = make_user(Role.CASE_WORKER, org)
    assert _edit(c, worker, role="superuser").status_code == 200
    worker.refresh_from_db()
    assert worker.role == Role.CASE_WORKER


@pytest.mark.real_password_hashing
def test_it_creates_users_with_strong_passwords_only(make_user: Any, org: Any, client_for: Any) -> None:
    c = client_for(make_user(Role.ADMIN, org))
    base = {"username": "newbie", "role": Role.HELPLINE, "is_active": "on"}
    assert c.post("/accounts/users/new/", {**base, "password": "short"}).status_code == 200
    assert c.post("/accounts/users/new/", {**base, "password": "password1234"}).status_code == 200
    assert not User.objects.filter(username="newbie").exists()
    r = c.post("/accounts/users/new/", {**base, "password": "plum-orbit-92-lantern"})
    assert r.status_code == 200 and "enrolment-code" in r.content.decode()  # the one-time code, shown once
    u = User.objects.get(username="newbie")
    assert u.organisation_id == org.pk and u.password.startswith("argon2")
    assert AuditEvent.objects.filter(action="user.created", target_id=str(u.pk)).exists()


def test_it_ends_sessions_at_once_when_a_user_is_disabled_or_their_role_changes(
    make_user: Any, org: Any, other_org: Any, client_for: Any
) -> None:
    for change in ({"role": Role.ANALYST}, {"is_active": False}, {"organisation": other_org}, {"session_epoch": 7}):
        user = make_user(Role.CASE_WORKER, org)
        c = client_for(user)
        assert c.get("/").status_code == 200
        User.objects.filter(pk=user.pk).update(**change)
        r = c.get("/")
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), change


def test_it_ends_idle_sessions_after_15_minutes_and_all_after_12_hours(
    make_user: Any, org: Any, client_for: Any
) -> None:
    user = make_user(Role.CASE_WORKER, org)
    c = client_for(user)
    s = c.session
    s[SESSION_SEEN] = time.time() - 16 * 60
    s.save()
    assert c.get("/")["Location"].startswith("/accounts/login/")
    c = client_for(user)
    s = c.session
    s[SESSION_STARTED] = time.time() - 12 * 3600 - 1
    s.save()
    assert c.get("/")["Location"].startswith("/accounts/login/")
    c = client_for(user)
    s = c.session
    s[SESSION_SEEN] = time.time() - 14 * 60
    s.save()
    assert c.get("/").status_code == 200


def test_it_sends_a_strict_content_security_policy_and_security_headers(
    make_user: Any, org: Any, client_for: Any
) -> None:
    r = Client().get("/accounts/login/")
    csp = r["Content-Security-Policy"]
    for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                 "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"):  # fmt: skip
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert "style=" not in r.content.decode() and "<script>" not in r.content.decode()
    r = client_for(make_user(Role.CASE_WORKER, org)).get("/")
    assert "no-store" in r["Cache-Control"]


def test_it_passes_the_deploy_check_with_production_settings() -> None:
    env = {**os.environ, "SECURE": "true", "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64),
           "ALLOWED_HOSTS": "phare.example.org"}  # fmt: skip
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' runner, never in production
    out = subprocess.run(
        [sys.executable, "-m", "phare.cli", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
    # and production refuses to start with the developer secret
    env["SECRET_KEY"] = ""
    env.pop("SECRET_KEY")
    bad = subprocess.run([sys.executable, "-m", "phare.cli", "check"], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "SECRET_KEY" in bad.stderr


def test_it_shares_a_record_by_referral_read_only(make_user: Any, org: Any, other_org: Any) -> None:
    note = OrganisationNote.objects.create(organisation=org, body="shared by referral")
    reader = make_user(Role.CASE_WORKER, other_org)
    assert not access.readable(reader, OrganisationNote).filter(pk=note.pk).exists()
    access.share(note, other_org)
    assert access.readable(reader, OrganisationNote).get(pk=note.pk).body == "shared by referral"
    assert not access.scoped(reader, OrganisationNote).filter(pk=note.pk).exists()  # not writable
    assert list(OrganisationNote.objects.filter(uid__in=access.shared_uids(reader, OrganisationNote))) == [note]
    access.unshare(note, other_org)
    assert not access.readable(reader, OrganisationNote).filter(pk=note.pk).exists()
