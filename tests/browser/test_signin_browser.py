"""A newcomer's first sign-in in the browser: the language selector on the sign-in page, the administrator's
one-time enrolment code, the authenticator (its key read off the page), recovery codes, then the menu."""

from __future__ import annotations

import base64
import hmac
import re
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import MFADevice, Role
from tests.browser.conftest import go, sign_in
from tests.test_cases_helpers import PASSWORD, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "plum-orbit-92-lantern"


def _totp(secret_b32: str) -> str:
    """What the newcomer's authenticator app would show for the key on the page (RFC 6238, written out here)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def test_it_shows_the_sign_in_page_in_each_language(live_server: Any, browser: Any, shots: Path) -> None:
    for viewport, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        for code, heading in (("fr", "Se connecter"), ("ar", "تسجيل الدخول"), ("en", "Sign in")):
            page.select_option("#lang-select", code)
            go(page, "header form.lang button[type=submit]")
            assert page.locator("html").get_attribute("lang") == code
            assert page.locator("main h1").inner_text() == heading
            page.screenshot(path=str(shots / f"sign-in-{code}-{tag}.png"), full_page=True)
        ctx.close()


def test_it_takes_a_newcomer_from_the_enrolment_code_to_the_menu(live_server: Any, browser: Any, shots: Path) -> None:
    org = make_org("beacon")
    make_user(org, Role.ADMIN, "boss")
    base = live_server.url
    admin_page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(admin_page, base, "boss", PASSWORD)
    admin_page.goto(f"{base}/accounts/users/new/")
    admin_page.fill("input[name=username]", "newcomer")
    admin_page.select_option("select[name=role]", Role.HELPLINE)
    admin_page.fill("input[name=password]", NEW_PASSWORD)
    go(admin_page, "main button[type=submit]")
    code = admin_page.locator(".enrolment-code code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    admin_page.screenshot(path=str(shots / "enrolment-code-desktop.png"), full_page=True)

    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "Newcomer")  # as a phone capitalises it
    page.fill("input[name=password]", NEW_PASSWORD)
    go(page, "main button[type=submit]")
    assert "/accounts/mfa/" in page.url
    assert page.locator("header nav a").count() == 0  # no menu before the second factor
    page.screenshot(path=str(shots / "enrolment-ask-code-phone.png"), full_page=True)
    page.fill("input[name=enrolment_code]", code.lower().replace("-", " "))
    go(page, "main button[type=submit]")
    secret = page.locator("code.secret").inner_text()
    assert page.locator("figure.qr svg").count() == 1
    page.screenshot(path=str(shots / "enrolment-qr-phone.png"), full_page=True)
    page.fill("input[name=code]", _totp(secret))
    go(page, "main button[type=submit]")
    assert page.locator("ul.codes li").count() == 10
    page.screenshot(path=str(shots / "enrolment-recovery-codes-phone.png"), full_page=True)
    go(page, "main a")
    assert page.locator("header nav a[href='/cases/']").count() == 1
    assert MFADevice.objects.get(user__username="newcomer").confirmed
