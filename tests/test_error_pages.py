"""Error pages in the site's look: navigation kept, the reader's language, never a stack trace."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import path

from phare.accounts.models import Role

pytestmark = pytest.mark.django_db


def _boom(request: Any) -> Any:
    raise RuntimeError("secret value from a record")


urlpatterns = [path("boom/", _boom)]
handler500 = "phare.core.errors.server_error"


def test_it_shows_not_found_in_the_sites_look_with_the_menu(make_user: Any, org: Any, client_for: Any) -> None:
    r = client_for(make_user(Role.CASE_WORKER, org)).get("/no/such/page/")
    body = r.content.decode()
    assert r.status_code == 404 and 'class="top"' in body and 'href="/cases/"' in body and "Not found" in body


def test_it_offers_to_ask_for_access_alike_for_a_missing_and_a_hidden_case(make_user: Any, org: Any,
                                                                           client_for: Any) -> None:  # fmt: skip
    r = client_for(make_user(Role.CASE_WORKER, org)).get("/cases/2020-999999/")
    assert r.status_code == 404 and "ask a supervisor to give you access" in r.content.decode()


def test_it_translates_the_error_pages(make_user: Any, org: Any, client_for: Any) -> None:
    r = client_for(make_user(Role.CASE_WORKER, org, language="ar")).get("/no/such/page/")
    body = r.content.decode()
    assert 'dir="rtl"' in body and "Not found" not in body


def test_it_refuses_a_role_without_access_with_a_page_that_says_why(make_user: Any, org: Any, client_for: Any) -> None:
    r = client_for(make_user(Role.ANALYST, org)).get("/accounts/audit/")
    assert r.status_code == 403 and "You cannot open this page" in r.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_it_hides_the_error_behind_a_500_page() -> None:
    r = Client(raise_request_exception=False).get("/boom/")
    body = r.content.decode()
    assert r.status_code == 500 and "Something went wrong on our side" in body
    assert "secret value" not in body and "Traceback" not in body


def test_it_explains_a_refused_form(make_user: Any, org: Any) -> None:
    r = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x", "password": "y"})
    assert r.status_code == 403 and "This form has expired" in r.content.decode()
