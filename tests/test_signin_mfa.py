"""The second factor for every role (per organisation), one-time enrolment codes, and changing one's own password.
Each security test carries its negative control."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from phare.accounts import enrolment, mfa, throttle
from phare.accounts.models import EnrolmentCode, MFADevice, Organisation, Role, SignInAttempt, User
from phare.audit.log import verify
from phare.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Many password checks: a fast hasher keeps them quick (Argon2 itself is tested in test_accounts)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

NEW_PASSWORD = "plum-orbit-92-lantern"
CODE_RE = re.compile(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>")


def _sign_in(client: Client, user: Any, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": user.username, "password": password})


def _enrol(client: Client, user: Any, code: str) -> Any:
    """Enter the enrolment code, then confirm an authenticator: the response to the last step."""
    client.post("/accounts/mfa/", {"enrolment_code": code})
    client.get("/accounts/mfa/")
    device = MFADevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        return None
    return client.post("/accounts/mfa/", {"code": mfa.current_token(device), "next": "/"})


# -- a second factor for every role -------------------------------------------------------------------------


def test_it_requires_a_second_factor_of_every_role_where_the_organisation_asks(
    make_user: Any, org: Any, monkeypatch: Any
) -> None:
    assert Organisation.objects.create(slug="brand-new", org_Name="New").require_mfa  # on for new organisations
    analyst, auditor = make_user(Role.ANALYST, org), make_user(Role.AUDITOR, org)
    for user in (analyst, auditor):
        c = Client()
        r = _sign_in(c, user)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/mfa/")
        assert c.get("/dashboards/").status_code == 302  # nothing before the second factor
    # Negative control: with only the personal-data rule (the rule before the setting), the analyst walks in.
    old_rule = property(lambda u: u.role in {Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE})
    monkeypatch.setattr(User, "needs_mfa", old_rule)
    c = Client()
    assert _sign_in(c, analyst)["Location"] == "/"
    assert c.get("/dashboards/").status_code == 200
    monkeypatch.undo()
    # Switched off by the admin, analysts sign in with the password alone; personal-data roles never do.
    Organisation.objects.filter(pk=org.pk).update(require_mfa=False)
    assert _sign_in(Client(), analyst)["Location"] == "/"
    assert _sign_in(Client(), make_user(Role.HELPLINE, org))["Location"].startswith("/accounts/mfa/")


@pytest.mark.django_db(transaction=True)
def test_it_keeps_existing_organisations_as_they_were_and_turns_it_on_for_new_ones() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("accounts", "0003_personkey_destroyed_at")]
    after = [("accounts", "0004_enrolment_code_require_mfa")]
    try:
        executor.migrate(before)
        old_apps = executor.loader.project_state(before).apps
        old_apps.get_model("accounts", "Organisation").objects.create(slug="existing", org_Name="Existing")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new_apps = executor.loader.project_state(after).apps
        Org = new_apps.get_model("accounts", "Organisation")
        assert Org.objects.get(slug="existing").require_mfa is False  # as before: the admin turns it on
        assert Org.objects.create(slug="created-later", org_Name="Later").require_mfa is True
    finally:
        call_command("migrate", verbosity=0)


def test_it_lets_the_organisation_admin_change_the_setting_and_nobody_else(
    make_user: Any, org: Any, other_org: Any, client_for: Any
) -> None:
    admin = make_user(Role.ADMIN, org)
    for role in (Role.SUPERVISOR, Role.CASE_WORKER, Role.AUDITOR, Role.ANALYST):
        c = client_for(make_user(role, org))
        assert c.get("/accounts/security/").status_code == 403
        assert c.post("/accounts/security/", {}).status_code == 403
    org.refresh_from_db()
    assert org.require_mfa
    c = client_for(admin)
    page = c.get("/accounts/security/").content.decode()
    assert 'name="require_mfa"' in page and "checked" in page
    assert c.post("/accounts/security/", {}).status_code == 302  # unchecked: off
    org.refresh_from_db()
    other_org.refresh_from_db()
    assert not org.require_mfa and other_org.require_mfa  # only the admin's own organisation
    event = AuditEvent.objects.get(action="organisation.security_changed")
    assert event.organisation_id == org.pk and event.detail == {"require_mfa": {"before": True, "after": False}}
    c.post("/accounts/security/", {"require_mfa": "on"})
    org.refresh_from_db()
    assert org.require_mfa and AuditEvent.objects.filter(action="organisation.security_changed").count() == 2


# -- enrolment codes ----------------------------------------------------------------------------------------


def test_it_needs_the_enrolment_code_not_the_password_alone_to_enrol(
    make_user: Any, org: Any, monkeypatch: Any
) -> None:
    victim = make_user(Role.CASE_WORKER, org)  # created, password known to an attacker, never enrolled
    enrolment.issue_code(victim)  # the code the administrator handed to the victim, unknown to the attacker

    def attacker_with_the_password_only() -> int:
        c = Client()
        _sign_in(c, victim)
        page = c.get("/accounts/mfa/").content.decode()
        assert "<svg" not in page and "secret" not in page  # no authenticator secret before the code
        c.post("/accounts/mfa/", {"enrolment_code": "0000-0000-0000-0000"})
        c.get("/accounts/mfa/")
        device = MFADevice.objects.filter(user=victim, confirmed=False).first()
        if device is not None:
            c.post("/accounts/mfa/", {"code": mfa.current_token(device)})
        return int(c.get("/").status_code)

    # Negative control: with the code's comparison switched off, the password alone enrols the attacker's
    # authenticator.
    monkeypatch.setattr(enrolment, "check", lambda user, code: enrolment.pending(user))
    assert attacker_with_the_password_only() == 200
    MFADevice.objects.all().delete()
    SignInAttempt.objects.all().delete()
    monkeypatch.undo()
    enrolment.issue_code(victim)
    assert attacker_with_the_password_only() == 302
    assert not MFADevice.objects.filter(user=victim, confirmed=True).exists()
    assert AuditEvent.objects.filter(action="mfa.failed", actor=victim, detail__step="enrolment_code").exists()


def test_it_uses_an_enrolment_code_once_for_its_own_user_before_it_expires(make_user: Any, org: Any) -> None:
    alice, bob = make_user(Role.CASE_WORKER, org), make_user(Role.CASE_WORKER, org)
    code = enrolment.issue_code(alice)
    # another user's code does nothing
    c = Client()
    _sign_in(c, bob)
    assert _enrol(c, bob, code) is None
    # an expired code does nothing
    EnrolmentCode.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    c = Client()
    _sign_in(c, alice)
    assert _enrol(c, alice, code) is None
    # a new code voids the earlier one; typed in lower case with spaces, it works once
    EnrolmentCode.objects.filter(user=alice).update(expires_at=timezone.now() + timedelta(hours=1))
    old, code = code, enrolment.issue_code(alice)
    assert enrolment.check(alice, old) is None
    r = _enrol(c, alice, code.lower().replace("-", " "))
    assert r is not None and r.status_code == 200 and "Recovery codes" in r.content.decode()
    assert c.get("/").status_code == 200
    # used: after a reset the old code cannot enrol again
    MFADevice.objects.filter(user=alice).delete()
    c = Client()
    _sign_in(c, alice)
    assert _enrol(c, alice, code) is None
    # stored hashed only; the audit log never holds it
    row = EnrolmentCode.objects.get(user=alice)
    assert row.used_at is not None and code not in row.code_hash and code.replace("-", "") not in row.code_hash
    events = AuditEvent.objects.filter(action="user.enrolment_code_issued", target_id=str(alice.pk))
    assert events.count() == 2 and not any(code in str(e.detail) for e in events)


def test_it_redeems_a_code_once_even_for_two_sessions_that_both_proved_it(make_user: Any, org: Any) -> None:
    user = make_user(Role.CASE_WORKER, org)
    code = enrolment.issue_code(user)
    first, second = enrolment.check(user, code), enrolment.check(user, code)
    assert first is not None and second is not None and first.pk == second.pk
    assert enrolment.redeem(first) and not enrolment.redeem(second)
    assert enrolment.check(user, code) is None


def test_it_counts_wrong_enrolment_codes_like_wrong_passwords(make_user: Any, org: Any, monkeypatch: Any) -> None:
    user = make_user(Role.HELPLINE, org)
    code = enrolment.issue_code(user)

    def guess_ten_times_then_use_the_right_code() -> bool:
        c = Client()
        _sign_in(c, user)
        for i in range(throttle.MAX_FAILURES):
            c.post("/accounts/mfa/", {"enrolment_code": f"0000-0000-0000-{i:04d}"})
        r = c.post("/accounts/mfa/", {"enrolment_code": code})
        return r.status_code == 302 and r["Location"].startswith("/accounts/mfa/")

    # Negative control: wrong enrolment codes not counted (the enrolment step's throttle.note switched off).
    real_note = throttle.note
    monkeypatch.setattr(throttle, "note", lambda key, ok, ip, kind="password": (
        None if kind == "enrolment" else real_note(key, ok, ip, kind)))  # fmt: skip
    assert guess_ten_times_then_use_the_right_code()
    monkeypatch.undo()
    SignInAttempt.objects.all().delete()
    assert not guess_ten_times_then_use_the_right_code()  # locked: the session ends, back to the sign-in page
    assert SignInAttempt.objects.filter(kind="enrolment", ok=False).count() == throttle.MAX_FAILURES


def test_it_shows_the_code_once_to_the_admin_who_creates_a_user_or_resets_their_second_factor(
    make_user: Any, org: Any, client_for: Any
) -> None:
    admin = make_user(Role.ADMIN, org)
    c = client_for(admin)
    r = c.post("/accounts/users/new/", {"username": "newbie", "role": Role.HELPLINE, "is_active": "on",
                                        "password": NEW_PASSWORD})  # fmt: skip
    shown = CODE_RE.findall(r.content.decode())
    assert r.status_code == 200 and len(shown) == 1
    newbie = User.objects.get(username="newbie")
    assert newbie.role == Role.HELPLINE
    assert not CODE_RE.findall(c.get("/accounts/users/").content.decode())  # never shown again
    # the newcomer signs in with the password and that code
    n = Client()
    _sign_in(n, newbie, NEW_PASSWORD)
    assert _enrol(n, newbie, shown[0]).status_code == 200
    assert n.get("/").status_code == 200
    # reset: a confirmation first (GET changes nothing), then the device goes, sessions end, a new code
    page = c.get(f"/accounts/users/{newbie.pk}/reset-mfa/").content.decode()
    assert "<form" in page and MFADevice.objects.filter(user=newbie, confirmed=True).exists()
    r = c.post(f"/accounts/users/{newbie.pk}/reset-mfa/")
    again = CODE_RE.findall(r.content.decode())
    assert r.status_code == 200 and len(again) == 1 and again != shown
    assert not MFADevice.objects.filter(user=newbie).exists()
    assert n.get("/").status_code == 302  # their session ended
    n = Client()
    _sign_in(n, newbie, NEW_PASSWORD)
    assert _enrol(n, newbie, shown[0]) is None  # the first code is spent
    n = Client()
    _sign_in(n, newbie, NEW_PASSWORD)
    assert _enrol(n, newbie, again[0]).status_code == 200
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(newbie.pk)).order_by("id")][:2] == [
        "user.created", "user.enrolment_code_issued"]  # fmt: skip
    assert AuditEvent.objects.filter(action="user.mfa_reset", actor=admin).count() == 1
    # a colleague cannot reset anyone, nor an admin themself or another organisation's user
    assert client_for(make_user(Role.SUPERVISOR, org)).post(f"/accounts/users/{newbie.pk}/reset-mfa/").status_code == 403
    assert c.post(f"/accounts/users/{admin.pk}/reset-mfa/").status_code == 403


def test_it_gives_an_enrolment_code_from_the_command_line(make_user: Any, org: Any, capsys: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    call_command("enrolment_code", admin.username)
    code = capsys.readouterr().out.strip()
    assert enrolment.check(admin, code) is not None
    mfa.enrol_demo_device(admin)
    with pytest.raises(CommandError, match="already has an authenticator"):
        call_command("enrolment_code", admin.username)
    call_command("enrolment_code", admin.username, reset=True)
    assert not MFADevice.objects.filter(user=admin).exists()
    assert enrolment.check(admin, capsys.readouterr().out.strip()) is not None
    assert verify().ok


# -- changing one's own password ----------------------------------------------------------------------------


def _change(client: Client, old: str, new: str) -> Any:
    return client.post("/accounts/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def test_it_lets_users_change_their_own_password_and_ends_their_other_sessions(
    make_user: Any, org: Any, client_for: Any, monkeypatch: Any
) -> None:
    user = make_user(Role.CASE_WORKER, org)
    here, elsewhere = client_for(user), client_for(user)
    assert here.get("/accounts/password/").status_code == 200
    assert _change(here, "not my password", NEW_PASSWORD).status_code == 200  # the current password first
    assert _change(here, PASSWORD, "short").status_code == 200  # Django's validators
    assert _change(here, PASSWORD, "password1234").status_code == 200
    assert _change(here, PASSWORD, PASSWORD).status_code == 200  # not the same one again
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.password_change_failed", actor=user).count() == 1
    assert _change(here, PASSWORD, NEW_PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert here.get("/").status_code == 200  # this session goes on
    assert elsewhere.get("/").status_code == 302  # the other one ended
    assert AuditEvent.objects.filter(action="user.password_changed", actor=user, target_id=str(user.pk)).exists()
    assert Client().get("/accounts/password/").status_code == 302  # signed-in users only
    # Negative control: were the password not part of the session hash, the other session would live on.
    material = lambda u: f"{u.role}|{u.organisation_id}|{u.is_active}|{u.session_epoch}"  # noqa: E731
    monkeypatch.setattr(User, "get_session_auth_hash", lambda u: material(u))
    here, elsewhere = client_for(user), client_for(user)
    assert _change(here, NEW_PASSWORD, "harbour-violet-73-kettle").status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_it_counts_wrong_current_passwords_as_sign_in_failures(
    make_user: Any, org: Any, client_for: Any, monkeypatch: Any
) -> None:
    user = make_user(Role.CASE_WORKER, org)

    def guess_then_change() -> bool:
        c = client_for(user)
        for _ in range(throttle.MAX_FAILURES):
            _change(c, "a guess at the password", NEW_PASSWORD)
        r = _change(c, PASSWORD, NEW_PASSWORD)
        user.refresh_from_db()
        changed = user.check_password(NEW_PASSWORD)
        assert changed or (r["Location"].startswith("/accounts/login/") and c.get("/").status_code == 302)
        return changed

    # Negative control: without counting them, a stolen session could guess the password for ever.
    real_note = throttle.note
    monkeypatch.setattr(throttle, "note", lambda key, ok, ip, kind="password": None)
    assert guess_then_change()
    monkeypatch.setattr(throttle, "note", real_note)
    user.set_password(PASSWORD)
    user.save()
    assert not guess_then_change()  # the eleventh try is refused and the session ends
    assert SignInAttempt.objects.filter(ok=False).count() == throttle.MAX_FAILURES
    assert AuditEvent.objects.filter(action="signin.locked", actor=user, detail__step="password_change").exists()
