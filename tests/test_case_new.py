"""The new-case page's "is this person already known?" check, and re-using a person, as a colleague with a
weaker view than the organisation's: it names only people the user may see; for the others it says a match
exists and offers to ask for access, never a name, birth date or identifier; every lookup is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from phare import access
from phare.accounts.models import BreakGlassGrant, Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases import views as case_views
from phare.cases.models import AccessRequest, Case, CaseAssignment, Person
from tests.test_api import V1, bearer, token_for

pytestmark = pytest.mark.django_db

SECRET = {"prs_FirstName": "Amaka", "prs_SecondName": "Obi", "prs_Birthdate": date(1990, 5, 17),
          "prs_IdentityNumber": "A1234567", "prs_MobilePhone": "+2348031112233"}  # fmt: skip
PROBE = {"prs_FirstName": "amaka", "prs_SecondName": "OBI"}


@pytest.fixture
def team(org: Any, make_user: Any) -> dict[str, Any]:
    """An owner's case of Amaka Obi (restricted), a colleague who does not work on it, and a supervisor."""
    owner = make_user(Role.CASE_WORKER, org, username="owner")
    case = actions.open_case(owner, person_data=SECRET, role="Victim", context={}, restricted=True)
    return {"owner": owner, "case": case, "person": case.participants.get().person,
            "colleague": make_user(Role.CASE_WORKER, org, username="colleague"),
            "helpline": make_user(Role.HELPLINE, org, username="operator"),
            "supervisor": make_user(Role.SUPERVISOR, org, username="boss")}  # fmt: skip


def _leaks(html: str) -> list[str]:
    # the birth date as data (ISO) and as shown to an English reader
    return [t for t in ("Amaka", "Obi", "1990-05-17", "May 17, 1990", "A1234567", "8031112233") if t in html]


@pytest.mark.parametrize("who", ["colleague", "helpline"])
def test_it_never_names_a_match_the_user_may_not_see(team: dict[str, Any], client_for: Any, who: str) -> None:
    page = client_for(team[who]).get("/cases/new/", PROBE).content.decode()
    assert _leaks(page) == []
    assert "A possible match exists among records you cannot open." in page
    assert str(team["person"].uid) not in page  # not even the person's id
    event = AuditEvent.objects.get(action="person.lookup", actor=team[who])
    assert event.detail == {"shown": [], "withheld": 1}
    assert "amaka" not in str(event.detail).lower()  # what was typed is never logged


def test_it_names_a_match_the_user_may_see(team: dict[str, Any], client_for: Any) -> None:
    for who in ("owner", "supervisor"):
        page = client_for(team[who]).get("/cases/new/", PROBE).content.decode()
        assert "Amaka Obi" in page and "cannot open" not in page
        assert AuditEvent.objects.get(action="person.lookup", actor=team[who]).detail == {
            "shown": [str(team["person"].uid)], "withheld": 0}  # fmt: skip


def test_it_names_the_match_once_the_colleague_is_assigned(team: dict[str, Any], client_for: Any) -> None:
    CaseAssignment.objects.create(organisation=team["case"].organisation, case=team["case"], user=team["colleague"])
    assert "Amaka Obi" in client_for(team["colleague"]).get("/cases/new/", PROBE).content.decode()


def test_it_fails_with_the_visibility_check_switched_off(team: dict[str, Any], client_for: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Negative control: with the page asking the tenant filter alone (every person of the organisation), the
    colleague reads the name: the tests above would catch that."""
    monkeypatch.setattr(case_views, "visible_persons", lambda user: access.scoped(user, Person))
    page = client_for(team["colleague"]).get("/cases/new/", PROBE).content.decode()
    assert "Amaka" in _leaks(page)


def test_it_refuses_to_reuse_a_person_the_user_may_not_see(team: dict[str, Any], client_for: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    person, colleague = team["person"], team["colleague"]
    form = {"person": str(person.uid), "role": "Victim"}
    assert client_for(colleague).post("/cases/new/", form).status_code == 404
    assert Case.objects.count() == 1
    # The API answers as for a missing id (422 unknown-reference, alike for another organisation's id).
    api = Client()
    auth = bearer(token_for(colleague))
    for person_id in (str(person.uid), "00000000-0000-4000-8000-000000000000"):
        r = api.post(f"{V1}/cases", {"person": person_id}, content_type="application/json", **auth)
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "unknown-reference", r.content
    own = actions.open_case(colleague, person_data={"prs_FirstName": "Kemi"}, role="Victim", context={})
    r = api.post(f"{V1}/cases/{own.uid}/participants", {"role": "Other", "person": str(person.uid)},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422
    # The verb itself refuses too (second line, for any caller).
    with pytest.raises(Exception, match="Not found"):
        actions.open_case(colleague, person=person, role="Victim", context={})
    assert Case.objects.count() == 2
    # Negative control: with the page's check switched off, the verb's own check still refuses; with both
    # off, the colleague opens a case around a stranger's record.
    monkeypatch.setattr(case_views, "visible_persons", lambda user: access.scoped(user, Person))
    assert client_for(colleague).post("/cases/new/", form).status_code == 404
    monkeypatch.setattr(actions, "_require_visible", lambda actor, person: None)
    assert client_for(colleague).post("/cases/new/", form).status_code == 302
    assert Case.objects.count() == 3


def test_it_lets_the_colleague_ask_a_supervisor_for_access(team: dict[str, Any], client_for: Any) -> None:
    colleague, supervisor = team["colleague"], team["supervisor"]
    c = client_for(colleague)
    token = c.get("/cases/new/", PROBE).context["withheld"][0]
    page = c.get(f"/cases/access/match/{token}/").content.decode()
    assert _leaks(page) == [] and "Ask for access" in page
    # The reference is the colleague's own: another user's session cannot use it.
    assert client_for(team["owner"]).get(f"/cases/access/match/{token}/").status_code == 404
    assert c.get(f"/cases/access/match/{token[:-2]}xx/").status_code == 404
    assert c.post(f"/cases/access/match/{token}/", {"do": "ask", "note": "She called the helpline"}).status_code == 302
    req = AccessRequest.objects.get()
    assert req.requester == colleague and req.person == team["person"] and req.note == "She called the helpline"
    assert AuditEvent.objects.filter(action="access.requested", actor=colleague).exists()
    # Only supervisors and admins see the queue; it names the person and the cases for them.
    assert c.get("/cases/access/requests/").status_code == 403
    boss = client_for(supervisor)
    queue = boss.get("/cases/access/requests/").content.decode()
    assert "Amaka Obi" in queue and team["case"].number in queue and "She called the helpline" in queue
    assert c.get(f"/cases/{team['case'].number}/").status_code == 404
    assert boss.post("/cases/access/requests/", {"request": str(req.uid), "decision": "grant"}).status_code == 302
    req.refresh_from_db()
    assert req.outcome == "granted" and req.decided_by == supervisor
    assert c.get(f"/cases/{team['case'].number}/").status_code == 200
    assert AuditEvent.objects.filter(action="access.granted", detail__cases=[team["case"].number]).exists()


def test_it_declines_an_access_request(team: dict[str, Any], client_for: Any) -> None:
    req = actions.request_access(team["colleague"], team["person"], "")
    boss = client_for(team["supervisor"])
    assert boss.post("/cases/access/requests/", {"request": str(req.uid), "decision": "decline"}).status_code == 302
    req.refresh_from_db()
    assert req.outcome == "declined"
    assert client_for(team["colleague"]).get(f"/cases/{team['case'].number}/").status_code == 404
    assert not CaseAssignment.objects.exists()


def test_it_opens_a_withheld_match_with_emergency_access(team: dict[str, Any], client_for: Any) -> None:
    c = client_for(team["colleague"])
    token = c.get("/cases/new/", PROBE).context["withheld"][0]
    r = c.post(f"/cases/access/match/{token}/", {"do": "glass", "reason": "Police called: she is at risk tonight",
                                                  "hours": 1})  # fmt: skip
    assert r.status_code == 302 and r["Location"] == f"/cases/{team['case'].number}/"
    assert BreakGlassGrant.objects.get().target_uid == team["case"].uid
    assert "Amaka Obi" in c.get(r["Location"]).content.decode()
    # A helpline operator may ask, but may not break glass.
    h = client_for(team["helpline"])
    token = h.get("/cases/new/", PROBE).context["withheld"][0]
    page = h.get(f"/cases/access/match/{token}/").content.decode()
    assert "Emergency access" not in page
    h.post(f"/cases/access/match/{token}/", {"do": "glass", "reason": "x" * 30, "hours": 1})
    assert BreakGlassGrant.objects.count() == 1


@pytest.mark.parametrize("role", [Role.ANALYST, Role.AUDITOR])
def test_it_lets_no_reading_role_open_a_case(org: Any, make_user: Any, client_for: Any, role: str) -> None:
    c = client_for(make_user(role, org))
    assert c.get("/cases/new/", PROBE).status_code == 403
    assert c.post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Kemi", "p-prs_Gender": "Feminine"}).status_code == 403
    assert not Case.objects.exists()
    assert not AuditEvent.objects.filter(action="person.lookup").exists()


def test_it_shows_a_person_not_yet_on_a_case_to_who_registered_them_and_to_supervisors(
    team: dict[str, Any],
) -> None:
    """An API client registers the person, then opens the case: in between, the person is visible to whoever
    registered them and to those who see every case, and to no other colleague."""
    from phare.cases.access import visible_persons

    new = actions.create_person(team["colleague"], {"prs_FirstName": "Kwame"})
    assert not new.participations.exists()
    assert list(visible_persons(team["colleague"]).filter(pk=new.pk)) == [new]
    assert list(visible_persons(team["supervisor"]).filter(pk=new.pk)) == [new]
    assert not visible_persons(team["owner"]).filter(pk=new.pk).exists()
    assert not visible_persons(team["helpline"]).filter(pk=new.pk).exists()
    # and a supervisor sees the restricted case's person, which the colleague does not
    assert visible_persons(team["supervisor"]).filter(pk=team["person"].pk).exists()
    assert not visible_persons(team["colleague"]).filter(pk=team["person"].pk).exists()
