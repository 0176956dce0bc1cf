"""The directory of services: supervisors and admins keep it (each change audited), every member of the
organisation searches it during a call by words, kind and language; another organisation's service answers
like a missing one. Each refusal has its negative control."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from django.core.exceptions import PermissionDenied

from phare import access
from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.helplines import actions
from phare.helplines.models import Service
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db
SHELTER = {"name": "Safe House North", "provider": "Hope Foundation", "kind": "shelter", "region": "Kumasi",
           "languages": "English, twi", "hours": "24/7", "eligibility": "Women and children",
           "contact": "+233 30 000 0000", "active": "on"}  # fmt: skip


@pytest.fixture
def a() -> dict[str, Any]:
    return team("svc-a")


def test_it_lets_a_supervisor_add_a_service_and_an_operator_find_it(a: dict[str, Any]) -> None:
    r = client(a[Role.SUPERVISOR]).post("/helpline/services/new/", SHELTER)
    assert r.status_code == 302, r.content
    service = Service.objects.get()
    assert service.languages == ["eng", "twi"] and service.organisation == a["org"]
    event = AuditEvent.objects.get(action="helpline_service.add")
    assert event.target_id == str(service.uid) and event.actor_id == a[Role.SUPERVISOR].pk
    actions.add_service(a[Role.ADMIN], {"name": "Legal Aid Desk", "kind": "legal", "languages": ["fra"]})
    operator = client(a[Role.HELPLINE])
    for query, found, missing in (("?q=hope", b"Safe House North", b"Legal Aid Desk"),
                                  ("?kind=legal", b"Legal Aid Desk", b"Safe House North"),
                                  ("?language=Twi", b"Safe House North", b"Legal Aid Desk"),
                                  ("?language=fra", b"Legal Aid Desk", b"Safe House North")):  # fmt: skip
        page = operator.get("/helpline/services/" + query)
        assert page.status_code == 200 and found in page.content and missing not in page.content, query
    assert b"Twi" in operator.get("/helpline/services/").content  # languages by name


def test_it_updates_a_service_and_audits_what_changed(a: dict[str, Any]) -> None:
    service = actions.add_service(a[Role.SUPERVISOR], {"name": "Clinic", "kind": "medical"})
    c = client(a[Role.SUPERVISOR])
    assert c.get(f"/helpline/services/{service.uid}/").status_code == 200
    r = c.post(f"/helpline/services/{service.uid}/", {"name": "Clinic", "kind": "medical", "hours": "Mon-Fri 8-16"})
    assert r.status_code == 302
    service.refresh_from_db()
    assert service.hours == "Mon-Fri 8-16" and not service.active
    event = AuditEvent.objects.get(action="helpline_service.update")
    assert event.detail["fields"] == ["active", "hours"]
    assert b"Clinic" not in client(a[Role.HELPLINE]).get("/helpline/services/").content  # not in use: hidden
    assert b"Clinic" in client(a[Role.HELPLINE]).get("/helpline/services/?q=clinic").content  # unless searched


def test_it_names_each_wrong_field_and_stores_nothing(a: dict[str, Any]) -> None:
    with pytest.raises(actions.Invalid) as err:
        actions.add_service(a[Role.SUPERVISOR], {"kind": "spa", "languages": ["xqz"], "hours": "x" * 300})
    assert set(err.value.problems) == {"name", "kind", "languages", "hours"}
    page = client(a[Role.SUPERVISOR]).post("/helpline/services/new/", {**SHELTER, "languages": "Klingonese"})
    assert page.status_code == 200 and b"Not a language: Klingonese." in page.content
    assert not Service.objects.exists()


@pytest.mark.parametrize("role", [Role.HELPLINE, Role.CASE_WORKER, Role.ANALYST])
def test_it_lets_only_supervisors_and_admins_keep_the_directory(a: dict[str, Any], role: str) -> None:
    service = actions.add_service(a[Role.SUPERVISOR], {"name": "Clinic", "kind": "medical"})
    c = client(a[role])
    assert c.get("/helpline/services/new/").status_code == 403
    assert c.post("/helpline/services/new/", SHELTER).status_code == 403
    assert c.post(f"/helpline/services/{service.uid}/", {**SHELTER, "name": "Renamed"}).status_code == 403
    with pytest.raises(PermissionDenied):
        actions.update_service(a[role], service, {"name": "Renamed"})
    assert c.get(f"/helpline/services/{service.uid}/").status_code == 200  # they read it
    assert list(Service.objects.values_list("name", flat=True)) == ["Clinic"]


def test_it_would_let_an_operator_change_the_directory_without_the_guard(a: dict[str, Any],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Negative control: the refusals above come from the verbs' guard."""
    monkeypatch.setattr(actions, "may_manage_services", lambda user: True)
    actions.add_service(a[Role.HELPLINE], {"name": "Clinic", "kind": "medical"})
    assert Service.objects.count() == 1


def test_it_answers_alike_for_another_organisations_service_and_a_missing_one(a: dict[str, Any],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    b = team("svc-b")
    theirs = actions.add_service(b[Role.SUPERVISOR], {"name": "QZXBRAVO Shelter", "kind": "shelter"})
    c = client(a[Role.SUPERVISOR])
    for uid in (theirs.uid, uuid4()):
        assert c.get(f"/helpline/services/{uid}/").status_code == 404
        assert c.post(f"/helpline/services/{uid}/", {**SHELTER, "name": "Mine now"}).status_code == 404
    assert b"QZXBRAVO" not in c.get("/helpline/services/?q=shelter").content
    with pytest.raises(Exception) as err:
        actions.update_service(a[Role.SUPERVISOR], theirs, {"name": "Mine now"})
    assert err.type.__name__ == "Http404"
    assert Service.objects.get(pk=theirs.pk).name == "QZXBRAVO Shelter"
    # Negative control: without the tenant filter the other organisation's service comes back.
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    assert c.get(f"/helpline/services/{theirs.uid}/").status_code == 200
