"""Sign-in: password, then TOTP (enrolled at first sign-in with the administrator's one-time enrolment code and an
inline QR code), recovery codes, lockout. More in tests/test_signin_*.py."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.test import Client

from phare.accounts import enrolment, mfa
from phare.accounts.models import MFADevice, RecoveryCode, Role, SignInAttempt
from phare.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, user: Any, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": user.username, "password": password})


def test_it_enrols_at_first_sign_in_with_the_enrolment_code_an_inline_qr_code_and_ten_hashed_recovery_codes(
    make_user: Any, org: Any
) -> None:
    user = make_user(Role.CASE_WORKER, org)
    enrolment_code = enrolment.issue_code(user)
    c = Client()
    r = _sign_in(c, user)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/mfa/")
    assert c.get("/").status_code == 302  # nothing else before the second factor
    # first the one-time code the administrator handed over: no QR code, no secret before it
    page = c.get("/accounts/mfa/").content.decode()
    assert "enrolment_code" in page and "<svg" not in page
    assert not MFADevice.objects.filter(user=user).exists()
    assert c.post("/accounts/mfa/", {"enrolment_code": enrolment_code}).status_code == 302
    page = c.get("/accounts/mfa/")
    body = page.content.decode()
    assert "<svg" in body and "http" not in body.split("<svg", 1)[1].split("</svg>")[0].replace("http://www.w3.org", "")
    assert "script" not in body.lower()
    device = MFADevice.objects.get(user=user)
    assert not device.confirmed
    secret = re.search(r'class="secret">([A-Z2-7]+)<', body)
    assert secret and secret.group(1) not in device.secret  # stored encrypted
    r = c.post("/accounts/mfa/", {"code": "000000" if mfa.current_token(device) != "000000" else "111111"})
    assert "did not match" in r.content.decode()
    r = c.post("/accounts/mfa/", {"code": mfa.current_token(device), "next": "/"})
    assert r.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", r.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not any(code in h or code.replace("-", "") in h for code in codes for h in stored)
    assert c.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa.enrolled", actor=user).exists()
    assert enrolment.check(user, enrolment_code) is None  # used up


def test_it_asks_for_the_code_at_each_sign_in_and_refuses_a_replayed_code(make_user: Any, org: Any) -> None:
    user = make_user(Role.SUPERVISOR, org)
    mfa.enrol_demo_device(user)
    device = MFADevice.objects.get(user=user)
    c = Client()
    _sign_in(c, user)
    code = mfa.current_token(device)
    assert c.post("/accounts/mfa/", {"code": code}).status_code == 302
    assert c.get("/").status_code == 200
    c2 = Client()
    _sign_in(c2, user)
    r = c2.post("/accounts/mfa/", {"code": code})  # the same code again: refused
    assert r.status_code == 200 and "did not match" in r.content.decode()


def test_it_accepts_each_recovery_code_once(make_user: Any, org: Any) -> None:
    user = make_user(Role.HELPLINE, org)
    mfa.enrol_demo_device(user)
    codes = mfa.new_recovery_codes(user)
    c = Client()
    _sign_in(c, user)
    assert c.post("/accounts/mfa/", {"code": codes[3]}).status_code == 302
    c2 = Client()
    _sign_in(c2, user)
    assert c2.post("/accounts/mfa/", {"code": codes[3]}).status_code == 200
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used").count() == 1


def test_it_does_not_require_mfa_of_roles_without_personal_data_where_the_organisation_does_not(
    make_user: Any, org: Any
) -> None:
    org.require_mfa = False
    org.save(update_fields=["require_mfa"])
    analyst = make_user(Role.ANALYST, org)
    c = Client()
    r = _sign_in(c, analyst)
    assert r.status_code == 302 and not r["Location"].startswith("/accounts/mfa/")
    assert c.get("/").status_code == 200


def test_it_locks_an_account_after_ten_failed_guesses_in_15_minutes(make_user: Any, org: Any) -> None:
    user = make_user(Role.CASE_WORKER, org)
    c = Client()
    for _ in range(10):
        assert _sign_in(c, user, "not the password!").status_code == 200
    r = _sign_in(c, user)  # the right password, too late
    assert r.status_code == 429 and "_auth_user_id" not in c.session
    assert SignInAttempt.objects.filter(username=user.username, ok=False).count() == 10
    assert AuditEvent.objects.filter(action="signin.failed").count() == 10
    assert AuditEvent.objects.filter(action="signin.locked").exists()
    # the window slides: fifteen minutes later the account opens again
    from datetime import timedelta

    from django.utils import timezone

    SignInAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert _sign_in(c, user).status_code == 302


def test_it_counts_second_factor_guesses_towards_the_lockout(make_user: Any, org: Any) -> None:
    user = make_user(Role.CASE_WORKER, org)
    mfa.enrol_demo_device(user)
    device = MFADevice.objects.get(user=user)
    c = Client()
    _sign_in(c, user)
    wrong = "123456" if mfa.current_token(device) != "123456" else "654321"
    for _ in range(9):
        c.post("/accounts/mfa/", {"code": wrong})
    # 9 failed codes + this one = 10 guesses; then even the right code is refused and the session ends
    c.post("/accounts/mfa/", {"code": wrong})
    r = c.post("/accounts/mfa/", {"code": mfa.current_token(device)})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert c.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="mfa.failed").count() == 10


def test_it_gives_demo_users_a_working_otpauth_uri(make_user: Any, org: Any) -> None:
    user = make_user(Role.ADMIN, org)
    uri = mfa.enrol_demo_device(user)
    assert uri.startswith("otpauth://totp/Phare%3A") and "secret=" in uri
    import base64
    import hmac
    import struct
    from urllib.parse import parse_qs, urlparse

    secret = parse_qs(urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30
    digest = hmac.new(key, struct.pack(">Q", counter), "sha1").digest()
    offset = digest[-1] & 15
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6
    assert f"{code:06d}" == mfa.current_token(MFADevice.objects.get(user=user), at=time.time())
