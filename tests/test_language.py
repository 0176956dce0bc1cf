from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from phare.audit.models import AuditEvent


def test_it_remembers_the_chosen_language_in_the_profile(org: Any, make_user: Callable[..., Any],
                                                         client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    user = make_user("supervisor", org)
    client = client_for(user)
    response = client.post("/language/", {"language": "ar", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "ar"
    assert AuditEvent.objects.filter(action="user.language_set").count() == 1
    page = client.get("/").content.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page


def test_it_falls_back_to_the_organisations_language(org: Any, make_user: Callable[..., Any],
                                                     client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    org.language = "fr"
    org.save()
    page = client_for(make_user("supervisor", org)).get("/").content.decode()
    assert 'lang="fr"' in page


def test_it_shows_only_the_links_a_role_may_use(org: Any, make_user: Callable[..., Any],
                                                client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    analyst = client_for(make_user("analyst", org)).get("/").content.decode()
    assert "/dashboards/" in analyst and "/cases/new/" not in analyst and "/accounts/users/" not in analyst
    admin = client_for(make_user("admin", org)).get("/").content.decode()
    assert "/accounts/users/" in admin and "/sharing/" in admin
