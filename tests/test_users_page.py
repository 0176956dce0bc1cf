"""User management for the organisation admin: the lowest role by default, last sign-in, deactivating and
reactivating (asked first, audited, sessions end), translated form labels; nobody else may do it."""

from __future__ import annotations

from typing import Any

import pytest

from phare.accounts.models import Role, User
from phare.accounts.permissions import lowest_role
from phare.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_offers_the_role_with_the_least_access_to_a_new_user(make_user: Any, org: Any, client_for: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    assert lowest_role(admin) == Role.ANALYST
    body = client_for(admin).get("/accounts/users/new/").content.decode()
    assert f'<option value="{Role.ANALYST}" selected>' in body


def test_it_shows_the_last_sign_in_and_whether_each_user_is_active(make_user: Any, org: Any, client_for: Any) -> None:
    from django.utils import timezone

    admin = make_user(Role.ADMIN, org)
    never = make_user(Role.CASE_WORKER, org)
    User.objects.filter(pk=admin.pk).update(last_login=timezone.now())
    r = client_for(admin).get("/accounts/users/")
    body = r.content.decode()
    assert "Last sign-in" in body and "Never" in body and never.username in body
    assert '<span class="badge on">Active</span>' in body  # in words, not by colour alone


def test_it_deactivates_after_asking_and_ends_the_users_sessions(make_user: Any, org: Any, client_for: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    worker = make_user(Role.CASE_WORKER, org)
    theirs = client_for(worker)
    assert theirs.get("/cases/").status_code == 200
    client = client_for(admin)
    ask = client.get(f"/accounts/users/{worker.pk}/active/")
    assert ask.status_code == 200 and b"<form method=\"post\">" in ask.content
    worker.refresh_from_db()
    assert worker.is_active  # asking changes nothing
    r = client.post(f"/accounts/users/{worker.pk}/active/")
    assert r.status_code == 302
    worker.refresh_from_db()
    assert not worker.is_active
    assert theirs.get("/cases/").status_code == 302  # their session ended: back to sign-in
    assert AuditEvent.objects.filter(action="user.deactivated", actor=admin, target_id=str(worker.pk)).exists()
    client.post(f"/accounts/users/{worker.pk}/active/")
    worker.refresh_from_db()
    assert worker.is_active and AuditEvent.objects.filter(action="user.reactivated").exists()


def test_it_refuses_deactivation_to_others_and_of_oneself(make_user: Any, org: Any, other_org: Any,
                                                          client_for: Any) -> None:  # fmt: skip
    admin = make_user(Role.ADMIN, org)
    worker = make_user(Role.CASE_WORKER, org)
    stranger = make_user(Role.CASE_WORKER, other_org)
    assert client_for(make_user(Role.SUPERVISOR, org)).post(f"/accounts/users/{worker.pk}/active/").status_code == 403
    client = client_for(admin)
    assert client.post(f"/accounts/users/{stranger.pk}/active/").status_code == 404
    assert client.post(f"/accounts/users/{admin.pk}/active/").status_code == 403
    assert User.objects.filter(pk__in=[worker.pk, stranger.pk, admin.pk], is_active=True).count() == 3


def test_it_labels_the_user_form_in_the_readers_language(make_user: Any, org: Any, client_for: Any) -> None:
    admin = make_user(Role.ADMIN, org, language="fr")
    body = client_for(admin).get("/accounts/users/new/").content.decode()
    assert "Nom d\u2019utilisateur" in body and "Prénom" in body and "First name" not in body


def test_it_sums_up_the_problems_of_a_refused_form_and_puts_the_focus_there(make_user: Any, org: Any,
                                                                           client_for: Any) -> None:  # fmt: skip
    admin = make_user(Role.ADMIN, org)
    r = client_for(admin).post("/accounts/users/new/", {"username": "", "role": Role.ANALYST})
    body = r.content.decode()
    assert r.status_code == 200 and 'class="error-summary" role="alert" tabindex="-1" autofocus' in body
    assert 'href="#id_username"' in body and 'href="#id_password"' in body
    assert "<title>Error:" in body
