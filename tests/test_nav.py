"""The menu's links are drawn once per role, permissions and language and kept (nav.html): each reader still gets
exactly the menu drawn for them, in their language, and the counts beside the links are always current."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache

from phare.accounts.models import Role

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE, Role.ANALYST, Role.AUDITOR]
LANGS = ["en", "fr", "ar"]


def _nav(html: str) -> str:
    found = re.search(r"<nav>(.*?)</nav>", html, re.S)
    assert found is not None
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", found.group(1))  # masked anew each time


def test_each_reader_gets_the_menu_drawn_for_their_role_and_language(org: Any, make_user: Any, client_for: Any,
                                                                        settings: Any) -> None:  # fmt: skip
    clients = {}
    for role in ROLES:
        for lang in LANGS:
            clients[role, lang] = client_for(make_user(role, org, language=lang))
    # Drawn afresh every time (a cache that keeps nothing): what each reader must see.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    fresh = {k: _nav(c.get("/").content.decode()) for k, c in clients.items()}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    for _ in range(2):  # the first round fills the cache, in an order that mixes roles and languages
        kept = {k: _nav(c.get("/").content.decode()) for k, c in reversed(clients.items())}
        assert kept == fresh
    assert len({fresh[r, "en"] for r in ROLES}) >= 4 and len({fresh[Role.SUPERVISOR, lang] for lang in LANGS}) == 3


def test_the_counts_beside_the_kept_links_are_current(org: Any, make_user: Any, client_for: Any) -> None:
    from phare.work.models import Kind, Notification

    worker = make_user(Role.CASE_WORKER, org)
    c = client_for(worker)
    cache.clear()
    assert "<strong>(1)</strong>" not in _nav(c.get("/").content.decode())
    Notification.objects.create(organisation=org, recipient=worker, kind=Kind.TASK_ASSIGNED)
    assert "<strong>(1)</strong>" in _nav(c.get("/").content.decode())
