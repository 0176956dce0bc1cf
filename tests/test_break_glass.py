"""Break-glass: a grant (reason, at most three hours, audited, reviewed) opens exactly its case, on the pages and
the API, until it expires or is revoked; opening a restricted case any other way is impossible."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from phare import access
from phare.accounts.models import BreakGlassGrant, Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Case
from tests.test_api import V1, bearer, token_for

pytestmark = pytest.mark.django_db

REASON = "Police called: she is at risk tonight"


@pytest.fixture
def setting(org: Any, other_org: Any, make_user: Any) -> dict[str, Any]:
    owner = make_user(Role.CASE_WORKER, org)
    restricted = actions.open_case(owner, person_data={"prs_FirstName": "Hidden", "prs_SecondName": "Person"},
                                   role="Victim", context={}, restricted=True)  # fmt: skip
    other = actions.open_case(owner, person_data={"prs_FirstName": "Second"}, role="Victim", context={}, restricted=True)
    stranger = make_user(Role.CASE_WORKER, other_org)
    foreign = actions.open_case(stranger, person_data={"prs_FirstName": "Foreign"}, role="Victim", context={},
                                restricted=True)  # fmt: skip
    return {"owner": owner, "case": restricted, "other": other, "foreign": foreign,
            "worker": make_user(Role.CASE_WORKER, org), "supervisor": make_user(Role.SUPERVISOR, org),
            "analyst": make_user(Role.ANALYST, org), "auditor": make_user(Role.AUDITOR, org),
            "helpline": make_user(Role.HELPLINE, org)}  # fmt: skip


def _opens(client: Client, user: Any, case: Case) -> tuple[bool, bool]:
    """(the case page opens, the API's case opens) for `user`."""
    page = client.get(f"/cases/{case.number}/").status_code
    api = Client().get(f"{V1}/cases/{case.uid}", **bearer(token_for(user))).status_code
    assert page in (200, 404) and api in (200, 404)
    return page == 200, api == 200


def test_it_opens_exactly_the_granted_case_until_it_expires(setting: dict[str, Any], client_for: Any) -> None:
    worker, case = setting["worker"], setting["case"]
    c = client_for(worker)
    assert _opens(c, worker, case) == (False, False)
    url = f"/cases/{case.number}/emergency/"
    assert c.post(url, {"reason": "too short", "hours": 1}).status_code == 200  # a real reason is required
    assert c.post(url, {"reason": REASON, "hours": 4}).status_code == 200  # three hours at most
    assert not BreakGlassGrant.objects.exists()
    r = c.post(url, {"reason": REASON, "hours": 3})
    assert r.status_code == 302 and r["Location"] == f"/cases/{case.number}/"
    grant = BreakGlassGrant.objects.get(user=worker)
    assert timedelta(hours=2, minutes=59) < grant.expires_at - grant.granted_at <= timedelta(hours=3)
    event = AuditEvent.objects.get(action="breakglass.granted")
    assert event.target_id == str(case.uid) and event.detail["reason"] == REASON and event.detail["case"] == case.number
    assert _opens(c, worker, case) == (True, True)
    page = c.get(f"/cases/{case.number}/").content.decode()
    assert "Hidden Person" in page and "emergency access" in page
    viewed = AuditEvent.objects.filter(action="case.viewed", actor=worker).last()
    assert viewed is not None and viewed.detail["break_glass"] == grant.pk
    # exactly its case: the owner's other restricted case and another organisation's stay closed
    assert _opens(c, worker, setting["other"]) == (False, False)
    assert c.get(f"/cases/{setting['foreign'].number}/emergency/").status_code in (404, 302)
    assert not BreakGlassGrant.objects.filter(target_uid=setting["foreign"].uid).exists()
    # the case's people through the API too
    person = case.participants.get().person
    api = Client()
    assert api.get(f"{V1}/persons/{person.uid}", **bearer(token_for(worker))).status_code == 200
    # until it expires
    BreakGlassGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _opens(c, worker, case) == (False, False)
    assert api.get(f"{V1}/persons/{person.uid}", **bearer(token_for(worker))).status_code == 404


def test_it_fails_when_grants_are_not_consulted(setting: dict[str, Any], client_for: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Negative control: with the access layer ignoring grants (as before this fix), a valid grant opens nothing,
    which the test above would report."""
    worker, case = setting["worker"], setting["case"]
    c = client_for(worker)
    c.post(f"/cases/{case.number}/emergency/", {"reason": REASON, "hours": 1})
    assert BreakGlassGrant.objects.filter(user=worker).exists()
    monkeypatch.setattr(access, "restricted_open", lambda user, model: Q(pk__in=[]))
    assert _opens(c, worker, case) == (False, False)


def test_it_lets_no_other_role_or_way_open_a_restricted_case(setting: dict[str, Any], client_for: Any) -> None:
    case = setting["case"]
    for who in ("worker", "analyst", "auditor", "helpline"):
        user = setting[who]
        assert _opens(client_for(user), user, case) == (False, False), who
    # analysts, auditors and helpline operators cannot break glass at all
    for who in ("analyst", "auditor", "helpline"):
        c = client_for(setting[who])
        assert c.post(f"/cases/{case.number}/emergency/", {"reason": REASON, "hours": 1}).status_code == 403
        label = case._meta.label_lower
        assert c.post(f"/accounts/break-glass/{label}/{case.uid}/", {"reason": REASON, "hours": 1}).status_code == 403
    assert not BreakGlassGrant.objects.exists()
    # a grant for someone else opens nothing for the worker
    BreakGlassGrant.objects.create(organisation=case.organisation, user=setting["helpline"], target_type="cases.case",
                                   target_uid=case.uid, reason=REASON,
                                   expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    assert _opens(client_for(setting["worker"]), setting["worker"], case) == (False, False)
    # the owner and supervisors see it as before
    assert _opens(client_for(setting["owner"]), setting["owner"], case) == (True, True)
    assert _opens(client_for(setting["supervisor"]), setting["supervisor"], case) == (True, True)


def test_it_lists_grants_in_the_supervisors_review_queue(setting: dict[str, Any], client_for: Any) -> None:
    worker, case, supervisor = setting["worker"], setting["case"], setting["supervisor"]
    client_for(worker).post(f"/cases/{case.number}/emergency/", {"reason": REASON, "hours": 2})
    grant = BreakGlassGrant.objects.get()
    assert client_for(worker).get("/accounts/break-glass/review/").status_code == 403
    boss = client_for(supervisor)
    page = boss.get("/accounts/break-glass/review/").content.decode()
    assert REASON in page and case.number in page and "still open" in page
    r = boss.post("/accounts/break-glass/review/", {"grant": grant.pk, "note": "not justified", "revoke": "1"})
    assert r.status_code == 302
    grant.refresh_from_db()
    assert grant.reviewed_by == supervisor and not grant.is_active
    assert AuditEvent.objects.filter(action="breakglass.reviewed", detail__revoked=True).exists()
    assert _opens(client_for(worker), worker, case) == (False, False)  # revoked: closed again at once


def test_it_lets_nobody_review_their_own_grant(setting: dict[str, Any], client_for: Any) -> None:
    supervisor, case = setting["supervisor"], setting["case"]
    from phare.accounts import breakglass

    grant = breakglass.grant(supervisor, case, REASON, 1)
    r = client_for(supervisor).post("/accounts/break-glass/review/", {"grant": grant.pk, "note": "fine"})
    assert r.status_code == 403
    grant.refresh_from_db()
    assert grant.reviewed_at is None


def test_it_refuses_a_grant_without_a_reason_or_for_too_long_at_the_verb(setting: dict[str, Any]) -> None:
    """The verb's own checks (the form has the same limits; an API client or a command would not go through it)."""
    from phare.accounts import breakglass

    worker, case = setting["worker"], setting["case"]
    with pytest.raises(ValueError, match="reason"):
        breakglass.grant(worker, case, "too short", 1)
    with pytest.raises(ValueError, match="hours"):
        breakglass.grant(worker, case, REASON, 4)
    with pytest.raises(ValueError, match="hours"):
        breakglass.grant(worker, case, REASON, 0)
    with pytest.raises(PermissionDenied):
        breakglass.grant(setting["analyst"], case, REASON, 1)
    with pytest.raises(PermissionDenied):
        breakglass.grant(worker, setting["foreign"], REASON, 1)
    assert not BreakGlassGrant.objects.exists()


def test_it_names_only_the_readers_own_active_grant_on_the_page_and_in_the_audit(setting: dict[str, Any],
                                                                                 client_for: Any) -> None:  # fmt: skip
    """A worker named on the restricted case opens it as a member, not by break-glass, even while holding an
    expired grant for it and while a colleague holds an active grant: neither is theirs to be recorded under."""
    from phare.accounts.models import RestrictedAccess

    worker, case = setting["worker"], setting["case"]
    RestrictedAccess.objects.create(organisation=case.organisation, user=worker, target_type="cases.case",
                                    target_uid=case.uid)  # fmt: skip
    BreakGlassGrant.objects.create(organisation=case.organisation, user=worker, target_type="cases.case",
                                   target_uid=case.uid, reason=REASON,
                                   expires_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    BreakGlassGrant.objects.create(organisation=case.organisation, user=setting["helpline"], target_type="cases.case",
                                   target_uid=case.uid, reason=REASON,
                                   expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    r = client_for(worker).get(f"/cases/{case.number}/")
    assert r.status_code == 200 and "Hidden Person" in r.content.decode()
    assert "emergency access" not in r.content.decode()
    viewed = AuditEvent.objects.filter(action="case.viewed", actor=worker).last()
    assert viewed is not None and "break_glass" not in viewed.detail
    # A supervisor sees every case: a grant they hold is not how they read it.
    boss = setting["supervisor"]
    BreakGlassGrant.objects.create(organisation=case.organisation, user=boss, target_type="cases.case",
                                   target_uid=case.uid, reason=REASON,
                                   expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    r = client_for(boss).get(f"/cases/{case.number}/")
    assert r.status_code == 200 and "emergency access" not in r.content.decode()
    viewed = AuditEvent.objects.filter(action="case.viewed", actor=boss).last()
    assert viewed is not None and "break_glass" not in viewed.detail


def test_it_lets_an_emergency_reader_read_the_case_but_not_change_it(setting: dict[str, Any], client_for: Any) -> None:
    """A break-glass grant reads one case for a few hours; it is not a way to work on it. The page offers no
    change, and every way to change the case refuses: the pages, the API and the work verbs. The owner still
    changes it."""
    from django.core.exceptions import PermissionDenied
    from django.urls import reverse

    from phare.cases.actions import Invalid
    from phare.referrals import actions as referral_actions
    from phare.referrals import packages
    from phare.work.actions import flags as flag_actions
    from phare.work.actions import tasks as task_actions

    worker, owner, case = setting["worker"], setting["owner"], setting["case"]
    c = client_for(worker)
    c.post(f"/cases/{case.number}/emergency/", {"reason": REASON, "hours": 1})
    page = c.get(f"/cases/{case.number}/").content.decode()
    assert "Hidden Person" in page
    assert f"/cases/{case.number}/comments/add/" not in page and f"/work/cases/{case.number}/flags/" not in page
    before = case.comments.count()
    assert c.get(f"/cases/{case.number}/comments/add/").status_code == 403
    assert c.post(f"/cases/{case.number}/comments/add/", {"cco_CaseComment": "Seen at night"}).status_code == 403
    assert c.get(f"/cases/{case.number}/documents/add/").status_code == 403
    # nor sent to another organisation or system: that is not reading it
    refer, package = reverse("referrals:refer", args=[case.number]), reverse("referrals:package", args=[case.number])
    assert refer not in page and package not in page
    assert "to read it: to work on it, ask a supervisor for access" in page
    assert c.get(refer).status_code == 403 and c.get(package).status_code == 403
    with pytest.raises(PermissionDenied):
        referral_actions.send(worker, case, setting["foreign"].organisation, services=["Shelter"])
    with pytest.raises(PermissionDenied):
        packages.pack(worker, case, None, services=["Shelter"])  # type: ignore[arg-type]  # refused before the partner
    assert refer in client_for(owner).get(f"/cases/{case.number}/").content.decode()
    api = Client().post(f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "Seen at night"},
                        content_type="application/json", **bearer(token_for(worker)))  # fmt: skip
    assert api.status_code == 403
    with pytest.raises(Invalid):
        task_actions.create_task(worker, case, title="Call back", assignee=worker, due=timezone.localdate())
    with pytest.raises(Invalid):
        flag_actions.flag_case(worker, case, "safety", "Threatened")
    assert case.comments.count() == before and not case.tasks.exists() and not case.flags.exists()
    # the owner, who works the case by right, still does
    assert client_for(owner).post(f"/cases/{case.number}/comments/add/",
                                  {"cco_CaseComment": "Safe now", "cco_CreatedDate": timezone.localdate().isoformat()}
                                  ).status_code == 302  # fmt: skip
    assert case.comments.count() == before + 1


def test_an_emergency_reader_is_offered_no_hand_over_on_the_case_page(setting: dict[str, Any], client_for: Any) -> None:
    # The case page's work panel reuses the page's own answer about the grant (one ask, not two): the emergency
    # reader gets no hand-over link, the owner on the same page does.
    worker, owner, case = setting["worker"], setting["owner"], setting["case"]
    c = client_for(worker)
    assert c.post(f"/cases/{case.number}/emergency/", {"reason": REASON, "hours": 1}).status_code == 302
    hand_over = f"/work/cases/{case.number}/hand-over/"
    emergency_page = c.get(f"/cases/{case.number}/").content.decode()
    owner_page = client_for(owner).get(f"/cases/{case.number}/").content.decode()
    assert 'id="break-glass"' in emergency_page and hand_over not in emergency_page
    assert hand_over in owner_page
