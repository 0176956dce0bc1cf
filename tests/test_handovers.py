"""Safe hand-over: a reason, only receivers whose role works cases, the receiver's acceptance where the
organisation asks for it, both sides told, the timeline shows it; colleagues added beside the owner; internal
referrals for a service."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.cases.actions import Invalid
from phare.cases.models import CaseAssignment, CaseEvent
from phare.work.actions import handovers as ho
from phare.work.models import Handover, Kind, Notification, ServiceRequest, WorkSettings
from tests.page_helpers import shown
from tests.work_helpers import case_of, client, team

pytestmark = pytest.mark.django_db


def test_it_hands_over_at_once_with_a_reason_and_tells_both_sides() -> None:
    t = team()
    worker, colleague, boss, case = t[Role.CASE_WORKER], t["colleague"], t[Role.SUPERVISOR], t["case"]
    r = client(boss).post(f"/work/cases/{case.number}/hand-over/", {"do": "handover", "h-to_user": colleague.pk,
                                                                   "h-reason": "Worker on leave"})  # fmt: skip
    assert r.status_code == 302
    assert case_of(t).cas_CaseOwner_id == colleague.pk
    assert Notification.objects.filter(recipient=colleague, kind=Kind.CASE_ASSIGNED).exists()
    assert Notification.objects.filter(recipient=worker, kind=Kind.HANDED_AWAY).exists()
    ev = CaseEvent.objects.get(case=case, kind="reassigned")
    assert ev.note == "Worker on leave"
    assert "Worker on leave" in client(colleague).get(f"/cases/{case.number}/").content.decode()


def test_it_asks_for_a_reason_and_offers_only_working_roles() -> None:
    t = team()
    boss, case = t[Role.SUPERVISOR], t["case"]
    with pytest.raises(Invalid) as exc:
        ho.hand_over(boss, case, t["colleague"], " ")
    assert "reason" in exc.value.problems
    for wrong in (t[Role.ANALYST], t[Role.AUDITOR]):
        with pytest.raises(Invalid):
            ho.hand_over(boss, case, wrong, "Because")
    # nor offered, where the receiver would accept first
    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    with pytest.raises(Invalid):
        ho.hand_over(boss, case, t[Role.ANALYST], "Because")
    assert not Handover.objects.exists()
    page = client(boss).get(f"/work/cases/{case.number}/hand-over/").content.decode()
    assert t["colleague"].username in page and t[Role.ANALYST].username not in page


def test_it_waits_for_the_receiver_when_the_organisation_asks() -> None:
    t = team()
    worker, colleague, case = t[Role.CASE_WORKER], t["colleague"], t["case"]
    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    h = ho.hand_over(worker, case, colleague, "Moving to the legal team")
    assert h.state == Handover.State.PENDING and case_of(t).cas_CaseOwner_id == worker.pk
    note = Notification.objects.get(recipient=colleague, kind=Kind.HANDOVER_OFFERED)
    assert note.case_id is None  # the receiver cannot open the case yet: the notification does not point at it
    c = client(colleague)
    home = c.get("/").content.decode()
    assert case.number in home and "Ama" not in shown(home)  # the number to decide on, never the person
    assert c.get(f"/cases/{case.number}/").status_code == 404
    assert "Moving to the legal team" in c.get(f"/work/hand-overs/{h.uid}/").content.decode()
    c.post(f"/work/hand-overs/{h.uid}/", {"do": "accept"})
    assert case_of(t).cas_CaseOwner_id == colleague.pk
    assert c.get(f"/cases/{case.number}/").status_code == 200


def test_it_lets_the_receiver_decline_with_a_reason() -> None:
    t = team()
    worker, colleague, case = t[Role.CASE_WORKER], t["colleague"], t["case"]
    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    h = ho.hand_over(worker, case, colleague, "Please take it")
    # nobody but the receiver decides
    assert client(t[Role.HELPLINE]).post(f"/work/hand-overs/{h.uid}/", {"do": "accept"}).status_code == 404
    client(colleague).post(f"/work/hand-overs/{h.uid}/", {"do": "decline", "reason": "Full caseload"})
    h.refresh_from_db()
    assert h.state == Handover.State.DECLINED and case_of(t).cas_CaseOwner_id == worker.pk
    assert Notification.objects.filter(recipient=worker, kind=Kind.HANDOVER_DECLINED).exists()


def test_it_refuses_a_hand_over_by_someone_who_neither_owns_nor_manages() -> None:
    t = team()
    from django.http import Http404

    with pytest.raises(Http404):
        ho.hand_over(t["colleague"], t["case"], t["colleague"], "mine now")
    assert client(t["colleague"]).get(f"/work/cases/{t['case'].number}/hand-over/").status_code == 404


def test_it_adds_a_colleague_and_asks_one_for_a_service_without_handing_over() -> None:
    t = team()
    worker, colleague, helpline, case = t[Role.CASE_WORKER], t["colleague"], t[Role.HELPLINE], t["case"]
    c = client(worker)
    c.post(f"/work/cases/{case.number}/hand-over/", {"do": "add", "a-user": helpline.pk})
    assert CaseAssignment.objects.filter(case=case, user=helpline).exists()
    c.post(f"/work/cases/{case.number}/hand-over/", {"do": "service", "s-service": "legal", "s-to_user": colleague.pk,
                                                    "s-note": "Residence permit"})  # fmt: skip
    sr = ServiceRequest.objects.get(case=case)
    assert sr.to_user_id == colleague.pk and case_of(t).cas_CaseOwner_id == worker.pk
    assert Notification.objects.filter(recipient=colleague, kind=Kind.SERVICE_REQUESTED, case=case).exists()
    assert client(colleague).get(f"/cases/{case.number}/").status_code == 200


def test_it_sends_the_old_reassign_page_to_the_hand_over() -> None:
    t = team()
    r = client(t[Role.SUPERVISOR]).get(f"/cases/{t['case'].number}/reassign/")
    assert r.status_code == 302 and r["Location"].endswith("/hand-over/")


def _grant(user: object, case: object) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from phare.accounts.models import BreakGlassGrant

    BreakGlassGrant.objects.create(organisation=case.organisation, user=user, target_type="cases.case",  # type: ignore[attr-defined]
                                   target_uid=case.uid, reason="Caller in danger tonight",  # type: ignore[attr-defined]
                                   expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip


def test_it_never_turns_an_emergency_grant_into_lasting_access() -> None:
    """A helpline operator with a three-hour break-glass grant may read the case, but cannot ask themselves
    or anyone else for a service on it (which would assign them and outlive the grant)."""
    t = team()
    helpline, colleague, case = t[Role.HELPLINE], t["colleague"], t["case"]
    _grant(helpline, case)
    c = client(helpline)
    assert c.get(f"/cases/{case.number}/").status_code == 200  # the grant opens the case to read
    for who in (helpline, colleague):
        with pytest.raises(Invalid) as exc:
            ho.request_service(helpline, case, who, "legal", "x")
        assert "Emergency access lets you read this case" in str(exc.value.problems)
        r = c.post(f"/work/cases/{case.number}/hand-over/", {"do": "service", "s-service": "legal",
                                                            "s-to_user": who.pk, "s-note": "x"})  # fmt: skip
        assert r.status_code == 302 and r["Location"] == f"/cases/{case.number}/"  # back to reading the case
    assert not CaseAssignment.objects.filter(case=case).exists() and not ServiceRequest.objects.exists()
    # the grant expires: nothing is left
    from phare.accounts.models import BreakGlassGrant

    BreakGlassGrant.objects.all().delete()
    assert c.get(f"/cases/{case.number}/").status_code == 404
    assert client(colleague).get(f"/cases/{case.number}/").status_code == 404
    # negative control: the case's owner may ask the same colleague, who then opens it
    client(t[Role.CASE_WORKER]).post(f"/work/cases/{case.number}/hand-over/", {
        "do": "service", "s-service": "legal", "s-to_user": colleague.pk})  # fmt: skip
    assert client(colleague).get(f"/cases/{case.number}/").status_code == 200


def test_it_lets_no_one_add_themselves_or_widen_a_restricted_case() -> None:
    t = team()
    worker, colleague, helpline, boss, case = (t[Role.CASE_WORKER], t["colleague"], t[Role.HELPLINE],
                                               t[Role.SUPERVISOR], t["case"])  # fmt: skip
    ho.add_worker(worker, case, helpline)  # an assigned worker, not the owner
    with pytest.raises(Invalid):
        ho.request_service(helpline, case, helpline, "legal")
    type(case).objects.filter(pk=case.pk).update(restricted=True)
    case = case_of(t)
    # the assigned worker of a restricted case cannot bring in a colleague who may not open it
    with pytest.raises(Invalid) as exc:
        ho.request_service(helpline, case, colleague, "legal")
    assert "restricted" in str(exc.value.problems)
    with pytest.raises(Invalid):
        ho.add_worker(worker, case, colleague)
    assert client(colleague).get(f"/cases/{case.number}/").status_code == 404
    # but may ask a colleague who can open it already (here a supervisor); and a supervisor decides who else may
    ho.request_service(helpline, case, boss, "shelter")
    ho.add_worker(boss, case, colleague)
    assert client(colleague).get(f"/cases/{case.number}/").status_code == 200


def test_it_decides_a_hand_over_once_when_an_accept_races_a_cancel() -> None:
    t = team()
    worker, colleague, case = t[Role.CASE_WORKER], t["colleague"], t["case"]
    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    h = ho.hand_over(worker, case, colleague, "Please take it")
    stale = Handover.objects.get(pk=h.pk)
    ho.cancel_handover(worker, h)
    with pytest.raises(Invalid):
        ho.accept_handover(colleague, stale)
    assert case_of(t).cas_CaseOwner_id == worker.pk
    assert Handover.objects.get(pk=h.pk).state == Handover.State.CANCELLED


def test_it_tells_the_previous_owner_where_their_case_went() -> None:
    t = team()
    worker, colleague, boss, case = t[Role.CASE_WORKER], t["colleague"], t[Role.SUPERVISOR], t["case"]
    ho.hand_over(boss, case, colleague, "Worker on leave")
    c = client(worker)
    page = c.get("/work/notifications/").content.decode()
    assert str(Kind.HANDED_AWAY.label) in page  # it was written with the case, which hid it from them
    h = Handover.objects.get(case=case)
    assert f'"/work/hand-overs/{h.uid}/"' in page  # its link leads to the hand-over
    assert c.get(f"/cases/{case.number}/").status_code == 404
    told = c.get(f"/work/hand-overs/{h.uid}/").content.decode()
    assert case.number in told and "Worker on leave" in told and colleague.username in told
    assert "Ama" not in shown(told) and f'href="/cases/{case.number}/"' not in told
    # a colleague who neither owned, received nor may open the case sees nothing of it
    assert client(t[Role.HELPLINE]).get(f"/work/hand-overs/{h.uid}/").status_code == 404


def test_it_closes_a_declined_or_cancelled_hand_over_to_its_receiver() -> None:
    """The receiver reads an offered hand-over (the case number and the sender's reason) to decide on it; once
    they decline it, or the sender cancels it, it is no business of theirs: its page, the list and the bell's
    link are gone, while the sender and the owner still see it."""
    t = team()
    worker, colleague, case = t[Role.CASE_WORKER], t["colleague"], t["case"]
    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    c = client(colleague)
    h = ho.hand_over(worker, case, colleague, "Moving to the legal team")
    assert "Moving to the legal team" in c.get(f"/work/hand-overs/{h.uid}/").content.decode()
    r = c.post(f"/work/hand-overs/{h.uid}/", {"do": "decline", "reason": "Full caseload"}, follow=True)
    assert Handover.objects.get(pk=h.pk).state == Handover.State.DECLINED
    assert r.status_code == 200 and "Hand-over declined." in r.content.decode()  # not led to a page now closed
    assert c.get(f"/work/hand-overs/{h.uid}/").status_code == 404
    assert case.number not in c.get("/work/hand-overs/").content.decode()
    assert f"/work/hand-overs/{h.uid}/" not in c.get("/work/notifications/").content.decode()
    # the sender (here the owner) still reads it, with the receiver's reason
    assert "Full caseload" in client(worker).get(f"/work/hand-overs/{h.uid}/").content.decode()
    # a cancelled offer alike
    h2 = ho.hand_over(worker, case, colleague, "Second try")
    assert c.get(f"/work/hand-overs/{h2.uid}/").status_code == 200
    ho.cancel_handover(worker, h2)
    assert c.get(f"/work/hand-overs/{h2.uid}/").status_code == 404
    assert case.number not in c.get("/work/hand-overs/").content.decode()


def test_it_offers_an_emergency_reader_no_hand_over_share_or_approval_forms() -> None:
    """Break-glass reads a case for an emergency: the case page offers its holder neither the hand-over and
    service page nor a request for approval, that page sends them back to the case, and the verbs refuse."""
    from phare.work.actions import approvals

    t = team()
    reader, helpline, case = t["colleague"], t[Role.HELPLINE], t["case"]
    WorkSettings.objects.create(organisation=t["org"], approve_close=True)
    _grant(reader, case)
    c = client(reader)
    page = c.get(f"/cases/{case.number}/").content.decode()
    assert "emergency access" in page
    assert f"/work/cases/{case.number}/hand-over/" not in page and f"/work/cases/{case.number}/ask/" not in page
    for url in (f"/work/cases/{case.number}/hand-over/", f"/work/cases/{case.number}/ask/close/"):
        r = c.get(url, follow=True)
        assert r.redirect_chain[-1][0] == f"/cases/{case.number}/"
        assert "Emergency access lets you read this case" in r.content.decode()
    r = c.post(f"/work/cases/{case.number}/hand-over/", {"do": "service", "s-service": "legal", "s-to_user": helpline.pk})
    assert r.status_code == 302 and not ServiceRequest.objects.exists()
    c.post(f"/work/cases/{case.number}/ask/close/", {"status": "Closed", "reason": "Safe", "n-note": ""})
    with pytest.raises(Invalid) as exc:
        approvals.request_approval(reader, case, "close", {"status": "Closed", "reason": "Safe"})
    assert "Emergency access" in str(exc.value.problems)
    from phare.work.models import ApprovalRequest

    assert not ApprovalRequest.objects.exists()
    # negative control: the owner is offered both, and may ask
    page = client(t[Role.CASE_WORKER]).get(f"/cases/{case.number}/").content.decode()
    assert f"/work/cases/{case.number}/hand-over/" in page and f"/work/cases/{case.number}/ask/close/" in page
    assert client(t[Role.CASE_WORKER]).get(f"/work/cases/{case.number}/hand-over/").status_code == 200
    approvals.request_approval(t[Role.CASE_WORKER], case, "close", {"status": "Closed", "reason": "Safe"})


def test_it_hands_over_through_the_api_as_the_pages_do() -> None:
    """The API's reassign is the safe hand-over: it asks for a reason, refuses a receiver whose role does not work
    cases, tells both sides, and where the organisation asks for it leaves the owner in place until the receiver
    accepts (202)."""
    from django.test import Client

    from phare.audit.models import AuditEvent
    from tests.test_api import V1, bearer, token_for

    t = team()
    worker, colleague, boss, case = t[Role.CASE_WORKER], t["colleague"], t[Role.SUPERVISOR], t["case"]
    api, auth, url = Client(), bearer(token_for(boss)), f"{V1}/cases/{case.uid}/reassign"

    def post(body: dict[str, str]) -> object:
        return api.post(url, body, content_type="application/json", **auth)

    no_reason = post({"cas_CaseOwner": str(colleague.pk)})
    blank = post({"cas_CaseOwner": str(colleague.pk), "reason": "  "})
    analyst = post({"cas_CaseOwner": str(t[Role.ANALYST].pk), "reason": "Because"})
    for r in (no_reason, blank, analyst):
        assert r.status_code == 422, r.content  # type: ignore[attr-defined]
    assert "Choose a colleague whose role works on cases" in analyst.content.decode()  # type: ignore[attr-defined]
    assert case_of(t).cas_CaseOwner_id == worker.pk and not Handover.objects.exists()

    WorkSettings.objects.create(organisation=t["org"], handover_acceptance=True)
    r = post({"cas_CaseOwner": str(colleague.pk), "reason": "Speaks Tigrinya"})
    assert r.status_code == 202 and r.json()["cas_CaseOwner"] == str(worker.pk)  # type: ignore[attr-defined]
    h = Handover.objects.get(case=case)
    assert h.state == Handover.State.PENDING and h.reason == "Speaks Tigrinya" and h.by_id == boss.pk
    assert Notification.objects.filter(recipient=colleague, kind=Kind.HANDOVER_OFFERED).exists()
    assert not AuditEvent.objects.filter(action="case.reassign").exists()
    ho.accept_handover(colleague, h)
    assert case_of(t).cas_CaseOwner_id == colleague.pk
    assert Notification.objects.filter(recipient=worker, kind=Kind.HANDED_AWAY).exists()
    assert CaseEvent.objects.get(case=case, kind="reassigned").note == "Speaks Tigrinya"


def test_it_moves_the_former_owners_open_tasks_with_the_case_unless_they_still_work_it() -> None:
    """A task left with a former owner who can no longer open the case would go undone and count on the team
    card as theirs: the open ones follow the case; done tasks keep who did them; a former owner who stays on the
    case as an assigned worker keeps theirs."""
    from phare.audit.models import AuditEvent
    from phare.work.actions import tasks as task_actions
    from phare.work.models import Task
    from tests.work_helpers import today, yesterday

    t = team()
    worker, colleague, boss, case = t[Role.CASE_WORKER], t["colleague"], t[Role.SUPERVISOR], t["case"]
    late = task_actions.create_task(worker, case, title="Call the lawyer", assignee=worker, due=yesterday())
    done = task_actions.create_task(worker, case, title="Book a room", assignee=worker, due=today())
    task_actions.complete_task(worker, done)
    ho.hand_over(boss, case, colleague, "Worker on leave")
    late.refresh_from_db()
    done.refresh_from_db()
    assert late.assignee_id == colleague.pk and done.assignee_id == worker.pk
    assert AuditEvent.objects.get(action="handover.done").detail["tasks_moved"] == 1
    team_card = client(boss).get("/").content.decode().split('id="team"')[1].split("</section>")[0]
    assert f"<td>{colleague.username}</td><td class=\"num\">1</td>" in team_card
    assert f"<td>{worker.username}</td>" not in team_card

    # A former owner who stays on the case as an assigned worker keeps their task.
    other = t["other_case"]
    ho.add_worker(boss, other, worker)
    ho.hand_over(boss, other, worker, "Covering")
    mine = task_actions.create_task(worker, other, title="Write the report", assignee=worker, due=today())
    ho.hand_over(boss, case_of(t, "other_case"), t[Role.HELPLINE], "Speaks Tigrinya")
    mine.refresh_from_db()
    assert mine.assignee_id == worker.pk
    assert Task.objects.get(pk=late.pk).assignee_id == colleague.pk
