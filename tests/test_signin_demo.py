"""The demo without an authenticator app: known secrets for the demo organisation's users, and `phare demo code`,
refused for anyone else."""

from __future__ import annotations

import base64
import hmac
import struct
import time
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from phare.accounts import mfa
from phare.accounts.models import MFADevice, Role, User
from phare.cases.demo import DEMO_PASSWORD
from phare.cases.management.commands import demo as demo_command

pytestmark = pytest.mark.django_db


def _code(username: str) -> str:
    out = StringIO()
    call_command("demo", "code", username, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def _totp(secret_b32: str, at: float) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), "sha1").digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def test_it_enrols_the_demo_users_and_prints_their_codes() -> None:
    out = StringIO()
    call_command("run", no_serve=True, cases=5, stdout=out)
    text = out.getvalue()
    assert "phare demo code demo-" in text and "no app is needed" in text
    users = User.objects.filter(organisation__slug="demo")
    assert users.count() == len(Role) and all(mfa.confirmed_device(u) for u in users)
    admin = users.get(role=Role.ADMIN)
    code = _code(admin.username)
    assert len(code) == 6 and code.isdigit()
    # the printed code is the authenticator's: it signs the demo admin in, through both steps
    c = Client()
    r = c.post("/accounts/login/", {"username": admin.username, "password": DEMO_PASSWORD})
    assert r["Location"].startswith("/accounts/mfa/")
    assert c.post("/accounts/mfa/", {"code": code}).status_code == 302
    assert c.get("/").status_code == 200
    # --uri gives the same secret to an authenticator app
    out = StringIO()
    call_command("demo", "code", admin.username, uri=True, stdout=out, stderr=StringIO())
    secret = parse_qs(urlparse(out.getvalue().strip()).query)["secret"][0]
    now = time.time()
    assert _totp(secret, now) == mfa.current_token(MFADevice.objects.get(user=admin), at=now)


def test_it_derives_the_same_secret_at_every_run() -> None:
    call_command("run", no_serve=True, cases=5, stdout=StringIO())
    worker = User.objects.get(username="demo-caseworker")
    first = mfa.demo_secret(worker)
    at = time.time()
    before = mfa.current_token(MFADevice.objects.get(user=worker), at=at)
    MFADevice.objects.filter(user=worker).delete()
    call_command("run", no_serve=True, cases=5, stdout=StringIO())
    assert mfa.demo_secret(worker) == first
    assert mfa.current_token(MFADevice.objects.get(user=worker), at=at) == before


def test_it_refuses_codes_for_any_other_organisation(make_user: Any, org: Any, monkeypatch: Any) -> None:
    real = make_user(Role.CASE_WORKER, org)
    mfa.enrol_demo_device(real)  # a real user with an authenticator of their own
    with pytest.raises(CommandError, match="not a user of the demo organisation"):
        _code(real.username)
    with pytest.raises(CommandError, match="not a user of the demo organisation"):
        _code("nobody-at-all")
    with pytest.raises(mfa.NotDemoError):
        mfa.demo_secret(real)
    # `phare demo --org other`: an organisation made by the demo command is still not the demo; no known secrets
    call_command("demo", cases=3, org="elsewhere", stdout=StringIO())
    assert not MFADevice.objects.filter(user__organisation__slug="elsewhere").exists()
    with pytest.raises(CommandError):
        _code("elsewhere-admin")
    # Negative control: without the demo-only check the command prints a real user's working code.
    monkeypatch.setattr(mfa, "is_demo_user", lambda user: True)
    leaked = _code(real.username)
    assert mfa.verify_totp(MFADevice.objects.get(user=real), leaked)


def test_it_keeps_an_authenticator_a_demo_user_set_up_themself() -> None:
    call_command("run", no_serve=True, cases=5, stdout=StringIO())
    user = User.objects.get(username="demo-helpline")
    mfa.enrol_demo_device(user)  # their own app, a random secret
    own = MFADevice.objects.get(user=user).secret
    demo_command.enrol_demo_users({"helpline": user})
    assert MFADevice.objects.get(user=user).secret == own
