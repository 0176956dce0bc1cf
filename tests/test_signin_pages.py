"""The sign-in pages: the language selector before anyone signs in, and no menu before the second factor."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from phare.accounts import mfa
from phare.accounts.models import MFADevice, Role
from phare.core import context
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# Links the menu shows a signed-in admin; none may show before the second factor is passed.
MENU = ('href="/cases/"', 'href="/cases/new/"', 'href="/accounts/users/"', 'href="/accounts/audit/"',
        'href="/dashboards/"', 'href="/sharing/"', 'href="/api/', 'href="/accounts/password/"')  # fmt: skip


def test_it_offers_the_language_selector_on_the_sign_in_page() -> None:
    c = Client()
    page = c.get("/accounts/login/").content.decode()
    assert 'action="/language/"' in page and 'name="language"' in page
    for code in ("en", "fr", "es", "ar", "pt", "ru"):
        assert f'<option value="{code}"' in page
    r = c.post("/language/", {"language": "fr", "next": "/accounts/login/"})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    page = c.get("/accounts/login/").content.decode()
    assert 'lang="fr"' in page and "Se connecter" in page
    c.post("/language/", {"language": "ar", "next": "/accounts/login/"})
    page = c.get("/accounts/login/").content.decode()
    assert 'lang="ar"' in page and 'dir="rtl"' in page


def test_it_shows_no_menu_before_the_second_factor(make_user: Any, org: Any, monkeypatch: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    mfa.enrol_demo_device(admin)
    c = Client()
    c.post("/accounts/login/", {"username": admin.username, "password": PASSWORD})
    page = c.get("/accounts/mfa/").content.decode()
    assert not [link for link in MENU if link in page]
    assert 'action="/language/"' in page and 'action="/accounts/logout/"' in page  # language and sign out stay
    # the language can be changed from the second step's page
    r = c.post("/language/", {"language": "es", "next": "/accounts/mfa/"})
    assert r["Location"] == "/accounts/mfa/"
    admin.refresh_from_db()
    assert admin.language == "es"
    # Negative control: the menu's own gate switched off, the second step's page lists every page behind it.
    monkeypatch.setattr(context, "second_factor_pending", lambda request: False)
    leaked = c.get("/accounts/mfa/").content.decode()
    assert all(link in leaked for link in MENU)
    monkeypatch.undo()
    # passed: the menu appears
    c.post("/accounts/mfa/", {"code": mfa.current_token(MFADevice.objects.get(user=admin))})
    home = c.get("/").content.decode()
    assert all(link in home for link in MENU)


def test_it_shows_no_menu_on_the_enrolment_pages_either(make_user: Any, org: Any) -> None:
    worker = make_user(Role.CASE_WORKER, org)
    c = Client()
    c.post("/accounts/login/", {"username": worker.username, "password": PASSWORD})
    page = c.get("/accounts/mfa/").content.decode()
    assert "enrolment_code" in page and not [link for link in MENU if link in page]
