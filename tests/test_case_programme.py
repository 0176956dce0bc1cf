"""The case's programme: set on the case page, audited, offered back as a choice, counted by the dashboards."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    c = Client()
    c.force_login(user)  # type: ignore[arg-type]
    return c


def test_it_sets_the_programme_from_the_case_page_and_audits_it() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    cl = _client(worker)
    assert cl.post(f"/cases/{case.number}/programme/", {"programme": "  Night   shelter "}).status_code == 302
    case.refresh_from_db()
    assert case.programme == "Night shelter"
    event = AuditEvent.objects.get(action="case.programme_set")
    assert event.detail["after"] == "Night shelter" and event.detail["before"] == ""
    page = cl.get(f"/cases/{case.number}/").content.decode()
    assert "Night shelter" in page
    other = make_case(worker, first="Bola")
    form = cl.get(f"/cases/{other.number}/programme/").content.decode()
    assert '<option value="Night shelter">' in form  # names in use are offered


def test_it_refuses_a_name_too_long_and_another_organisations_case() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    with pytest.raises(actions.Invalid):
        actions.set_programme(worker, case, "x" * 101)
    stranger = make_user(make_org("beta"), Role.SUPERVISOR)
    assert _client(stranger).post(f"/cases/{case.number}/programme/", {"programme": "Mine"}).status_code == 404
    case.refresh_from_db()
    assert case.programme == ""


def test_it_filters_the_dashboards_by_programme() -> None:
    org = make_org()
    worker = make_user(org)
    analyst = make_user(org, Role.ANALYST, username="analyst")
    for i, programme in enumerate(["Shelter", "Shelter", "Helpline"]):
        case = make_case(worker, first=f"P{i}", opened=date(2024, 1, 10))
        actions.set_programme(worker, case, programme)
    cache.clear()
    cl = _client(analyst)
    page = cl.get("/dashboards/").content.decode()
    assert '<option value="Helpline">' in page and '<option value="Shelter">' in page
    for programme, n in (("Shelter", "2"), ("Helpline", "1"), ("", "3")):
        html = cl.get("/dashboards/", {"programme": programme}).content.decode()
        assert html.split("<dt>Cases</dt><dd>", 1)[1].split("</dd>", 1)[0] == n


@pytest.mark.parametrize("filter_on", [True, False])
def test_it_never_offers_another_organisations_programme_names(filter_on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from phare import access

    worker = make_user(make_org())
    case = make_case(worker)
    other = make_user(make_org("beta"), username="beta-worker")
    actions.set_programme(other, make_case(other, first="Bola"), "Beta safe house")
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", filter_on)  # off: shows this test catches a leak
    form = _client(worker).get(f"/cases/{case.number}/programme/").content.decode()
    assert ("Beta safe house" in form) is not filter_on
