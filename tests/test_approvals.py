"""Approvals: an organisation puts actions behind a supervisor; until approved, the action has not happened
(pages, API and verbs alike); approving carries it out as the requester; both sides are told."""

from __future__ import annotations

import re

import pytest

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.cases.actions import Invalid
from phare.cases.models import CaseStatus, SupportPlan
from phare.work import gates
from phare.work.actions import approvals
from phare.work.models import ApprovalRequest, Gated, Kind, Notification, WorkSettings
from tests.work_helpers import case_of, client, team

pytestmark = pytest.mark.django_db


def _gate(t: dict, **flags: bool) -> None:  # type: ignore[type-arg]
    WorkSettings.objects.update_or_create(organisation=t["org"], defaults=flags)


def test_it_refuses_a_gated_close_until_a_supervisor_approves() -> None:
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    _gate(t, approve_close=True)
    with pytest.raises(gates.NeedsApproval):
        case_actions.close_case(worker, case, reason="Back home")
    # the page refuses too, with the reason on the form, and nothing happens
    r = client(worker).post(f"/cases/{case.number}/close/", {"cas_Status": "Closed", "cas_ReasonForCaseClosure": "x"})
    assert r.status_code == 200 and "approve this first" in r.content.decode()
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    r = client(worker).post(f"/work/cases/{case.number}/ask/close/", {"status": "Closed", "reason": "Back home safe",
                                                                     "n-note": "Family reunited"})  # fmt: skip
    assert r.status_code == 302
    req = ApprovalRequest.objects.get(case=case)
    assert Notification.objects.filter(recipient=boss, kind=Kind.APPROVAL_REQUESTED).exists()
    assert case_of(t).cas_Status == CaseStatus.ACTIVE  # asked, not done
    page = client(worker).get(f"/cases/{case.number}/").content.decode()
    assert "Waiting for approval" in page
    queue = client(boss).get("/work/approvals/").content.decode()
    assert case.number in queue
    r = client(boss).post(f"/work/approvals/{req.uid}/", {"do": "approve"})
    assert r.status_code == 302
    case = case_of(t)
    assert case.cas_Status == CaseStatus.CLOSED and case.cas_ReasonForCaseClosure == "Back home safe"
    assert Notification.objects.filter(recipient=worker, kind=Kind.APPROVAL_APPROVED).exists()
    closed = AuditEvent.objects.get(action="case.close", target_id=str(case.uid))
    assert closed.actor_id == worker.pk  # done in the requester's name
    assert AuditEvent.objects.filter(action="approval.approve", actor=boss).exists()


def test_it_sends_back_with_a_reason_and_nothing_happens() -> None:
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    _gate(t, approve_support_plan=True)
    with pytest.raises(gates.NeedsApproval):
        case_actions.add_support_plan(worker, case, {"spl_Type": "Health"})
    req = approvals.request_approval(worker, case, Gated.SUPPORT_PLAN, {"spl_Type": "Health", "spl_Objectives": "Care"})
    r = client(boss).post(f"/work/approvals/{req.uid}/", {"do": "return", "reason": ""})
    req.refresh_from_db()
    assert req.state == ApprovalRequest.State.PENDING  # a reason is required
    client(boss).post(f"/work/approvals/{req.uid}/", {"do": "return", "reason": "Add the clinic"})
    req.refresh_from_db()
    assert req.state == ApprovalRequest.State.RETURNED and req.reason == "Add the clinic"
    assert not SupportPlan.objects.filter(case=case).exists()
    assert Notification.objects.filter(recipient=worker, kind=Kind.APPROVAL_RETURNED).exists()
    assert r.status_code == 302


def test_it_carries_out_an_approved_support_plan() -> None:
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    _gate(t, approve_support_plan=True)
    req = approvals.request_approval(worker, case, Gated.SUPPORT_PLAN, {"spl_Type": "Health", "spl_Objectives": "Care"})
    approvals.approve(boss, req)
    assert SupportPlan.objects.get(case=case).spl_Objectives == "Care"


def test_it_lets_no_one_approve_their_own_request_nor_a_case_worker_decide() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    _gate(t, approve_close=True)
    req = approvals.request_approval(worker, case, Gated.CLOSE, {"status": "Closed", "reason": "x"})
    r = client(worker).post(f"/work/approvals/{req.uid}/", {"do": "approve"})
    assert r.status_code == 404
    # a colleague who cannot open the case does not even see the request
    assert client(t["colleague"]).get(f"/work/approvals/{req.uid}/").status_code == 404
    assert case_of(t).cas_Status == CaseStatus.ACTIVE


def test_it_opens_the_gate_only_for_the_approved_case_and_action() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    _gate(t, approve_close=True, approve_support_plan=True)
    with gates.approved(case, Gated.SUPPORT_PLAN), pytest.raises(gates.NeedsApproval):
        case_actions.close_case(worker, case, reason="x")
    # supervisors decide alone
    case_actions.close_case(t[Role.SUPERVISOR], case, reason="Safe")


def test_it_lets_an_admin_choose_what_needs_approval() -> None:
    t = team()
    c = client(t[Role.ADMIN])
    r = c.post("/work/settings/", {"approve_close": "on", "handover_acceptance": "on"})
    assert r.status_code == 302
    ws = WorkSettings.objects.get(organisation=t["org"])
    assert ws.approve_close and ws.handover_acceptance and not ws.approve_referral
    assert AuditEvent.objects.filter(action="work.settings_changed").exists()
    assert client(t[Role.SUPERVISOR]).get("/work/settings/").status_code == 403


def test_it_carries_out_an_approval_once_whoever_presses_approve_at_the_same_time() -> None:
    """Two supervisors with the same request open (two stale copies): the second approval is refused and the
    referral or plan is not made twice."""
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    from tests.test_cases_helpers import make_user

    second = make_user(t["org"], Role.SUPERVISOR, username="alpha-second-boss")
    _gate(t, approve_support_plan=True)
    req = approvals.request_approval(worker, case, Gated.SUPPORT_PLAN, {"spl_Type": "Health", "spl_Objectives": "Care"})
    stale = ApprovalRequest.objects.get(pk=req.pk)
    approvals.approve(boss, req)
    for decide in (lambda: approvals.approve(second, stale), lambda: approvals.send_back(second, stale, "No")):
        with pytest.raises(Invalid):
            decide()
    assert SupportPlan.objects.filter(case=case).count() == 1
    assert ApprovalRequest.objects.get(pk=req.pk).decided_by_id == boss.pk
    assert AuditEvent.objects.filter(action="approval.approve").count() == 1


def test_it_lets_a_supervisor_not_approve_their_own_request() -> None:
    t = team()
    boss, case = t[Role.SUPERVISOR], t["case"]
    from tests.test_cases_helpers import make_user

    second = make_user(t["org"], Role.SUPERVISOR, username="alpha-second-boss")
    _gate(t, approve_close=True)
    req = approvals.request_approval(boss, case, Gated.CLOSE, {"status": "Closed", "reason": "Safe"})
    c = client(boss)
    assert "Someone else must approve" not in c.get(f"/work/approvals/{req.uid}/").content.decode()
    r = c.post(f"/work/approvals/{req.uid}/", {"do": "approve"}, follow=True)
    assert "Someone else must approve your own request." in r.content.decode()
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="approval.approve").exists()
    # negative control: another supervisor approves it
    client(second).post(f"/work/approvals/{req.uid}/", {"do": "approve"})
    assert case_of(t).cas_Status == CaseStatus.CLOSED


def test_it_sends_a_case_worker_who_closes_a_gated_case_to_the_request_form() -> None:
    """Where closing waits for a supervisor, "Close the case" opens the request, not a form refused on saving."""
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    _gate(t, approve_close=True)
    r = client(worker).get(f"/cases/{case.number}/close/", follow=True)
    assert r.redirect_chain[-1][0] == f"/work/cases/{case.number}/ask/close/"
    assert "Ask for approval" in r.content.decode()
    # a supervisor decides alone: the close form itself
    assert client(boss).get(f"/cases/{case.number}/close/").status_code == 200


def test_it_refuses_to_carry_out_a_request_whose_requester_lost_access_to_the_case() -> None:
    """Approving runs the action in the requester's name, so their access is checked again when it is approved:
    a requester who can no longer open the case, no longer works cases, or (for a hand-over) no longer owns it
    gets nothing done in their name; the supervisor is told why and the request stays waiting."""
    from phare.work.actions import handovers as ho

    t = team()
    worker, colleague, boss, case = t[Role.CASE_WORKER], t["colleague"], t[Role.SUPERVISOR], t["case"]
    _gate(t, approve_close=True, approve_support_plan=True, approve_reassign=True)
    close = approvals.request_approval(worker, case, Gated.CLOSE, {"status": "Closed", "reason": "Back home"})
    plan = approvals.request_approval(worker, case, Gated.SUPPORT_PLAN, {"spl_Type": "Health", "spl_Objectives": "Care"})
    move = approvals.request_approval(worker, case, Gated.REASSIGN, {"to": t[Role.HELPLINE].pk, "reason": "Leave"})
    # the case goes to a colleague; the worker stays on it beside them for now
    ho.hand_over(boss, case, colleague, "Worker moves team")
    ho.add_worker(boss, case_of(t), worker)
    with pytest.raises(Invalid) as exc:
        approvals.approve(boss, ApprovalRequest.objects.get(pk=move.pk))  # no longer theirs to hand over
    assert "no longer" in str(exc.value.problems)
    assert case_of(t).cas_CaseOwner_id == colleague.pk
    # then the worker leaves the case altogether
    from phare.cases.models import CaseAssignment

    CaseAssignment.objects.filter(case=case, user=worker).delete()
    r = client(boss).post(f"/work/approvals/{close.uid}/", {"do": "approve"}, follow=True)
    assert r.status_code == 200
    assert "can no longer work on this case" in r.content.decode()
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    with pytest.raises(Invalid):
        approvals.approve(boss, ApprovalRequest.objects.get(pk=plan.pk))
    assert not SupportPlan.objects.filter(case=case).exists()
    assert set(ApprovalRequest.objects.values_list("state", flat=True)) == {ApprovalRequest.State.PENDING}
    assert not AuditEvent.objects.filter(action__in=("approval.approve", "case.close", "case.support_plan.add")).exists()
    # an emergency grant lets them read the case again, not have it changed in their name
    from datetime import timedelta

    from django.utils import timezone

    from phare.accounts.models import BreakGlassGrant

    grant = BreakGlassGrant.objects.create(organisation=t["org"], user=worker, target_type="cases.case", target_uid=case.uid,
                                           reason="Caller in danger tonight", expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    assert client(worker).get(f"/cases/{case.number}/").status_code == 200
    with pytest.raises(Invalid):
        approvals.approve(boss, ApprovalRequest.objects.get(pk=close.pk))
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    grant.delete()
    # nor a requester whose role no longer works cases, even back on the case
    ho.add_worker(boss, case_of(t), worker)
    type(worker).objects.filter(pk=worker.pk).update(role=Role.ANALYST)
    with pytest.raises(Invalid):
        approvals.approve(boss, ApprovalRequest.objects.get(pk=close.pk))
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    # negative control: with their role back, the same request is carried out
    type(worker).objects.filter(pk=worker.pk).update(role=Role.CASE_WORKER)
    approvals.approve(boss, ApprovalRequest.objects.get(pk=close.pk))
    assert case_of(t).cas_Status == CaseStatus.CLOSED


def test_it_says_a_refused_close_once() -> None:
    """A close the verb refuses (here: it waits for approval, the form was opened before the setting changed)
    says why once, in the summary above the form, not again inside it."""
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    _gate(t, approve_close=True)
    r = client(worker).post(f"/cases/{case.number}/close/", {"cas_Status": "Closed", "cas_ReasonForCaseClosure": "x"})
    page = r.content.decode()
    assert r.status_code == 200 and 'id="error-summary"' in page
    assert page.count("approve this first") == 1
    assert case_of(t).cas_Status == CaseStatus.ACTIVE


def test_it_carries_out_an_approved_referral_and_reassignment_and_refuses_them_through_the_api_until_then() -> None:
    """The two gated actions no test carried out: an outgoing referral and a reassignment, each done in the
    requester's name once approved; until then the API refuses them as the pages do."""
    from django.test import Client

    from phare.cases.models import Referral
    from tests.test_api import V1, bearer, token_for

    t = team()
    worker, boss, helpline, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t[Role.HELPLINE], t["case"]
    _gate(t, approve_close=True, approve_referral=True, approve_support_plan=True, approve_reassign=True)
    shelter = case_actions.add_external_organisation(boss, {"org_Name": "Harbour Shelter"})
    api, auth = Client(), bearer(token_for(worker))
    refused = [api.post(f"{V1}/cases/{case.uid}/close", {"cas_ReasonForCaseClosure": "Safe"},
                        content_type="application/json", **auth),
               api.post(f"{V1}/cases/{case.uid}/referrals", {"direction": "Outgoing",
                                                             "cas_ReferredOrganisation": str(shelter.pk)},
                        content_type="application/json", **auth),
               api.post(f"{V1}/cases/{case.uid}/support-plans", {"spl_Type": "Health"},
                        content_type="application/json", **auth)]  # fmt: skip
    for r in refused:
        assert r.status_code == 422 and "approve this first" in r.content.decode(), r.content
    assert not Referral.objects.exists() and not SupportPlan.objects.exists()
    assert case_of(t).cas_Status == CaseStatus.ACTIVE
    refer = approvals.request_approval(worker, case, Gated.REFERRAL, {"cas_ReferredOrganisation": shelter})
    move = approvals.request_approval(worker, case, Gated.REASSIGN, {"to": helpline.pk, "reason": "Speaks Tigrinya"})
    assert not Referral.objects.exists() and case_of(t).cas_CaseOwner_id == worker.pk
    approvals.approve(boss, refer)
    sent = Referral.objects.get(case=case)
    assert sent.direction == "Outgoing" and sent.cas_ReferredOrganisation_id == shelter.pk
    assert AuditEvent.objects.get(action="case.referral.send").actor_id == worker.pk
    approvals.approve(boss, move)
    assert case_of(t).cas_CaseOwner_id == helpline.pk
    assert AuditEvent.objects.get(action="case.reassign").actor_id == worker.pk
    assert Notification.objects.filter(recipient=helpline, kind=Kind.CASE_ASSIGNED, case=case).exists()


def test_the_case_page_offers_a_request_for_each_gated_action_read_at_once(django_assert_num_queries: object) -> None:
    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    assert gates.required_of(t["org"].pk) == frozenset()
    _gate(t, approve_close=True, approve_referral=True)
    with django_assert_num_queries(1):  # type: ignore[operator]
        assert gates.required_of(t["org"].pk) == {Gated.CLOSE, Gated.REFERRAL}
    assert gates.required(t["org"].pk, Gated.CLOSE) and not gates.required(t["org"].pk, Gated.SUPPORT_PLAN)
    page = client(worker).get(f"/cases/{case.number}/").content.decode()
    asks = set(re.findall(rf'href="/work/cases/{case.number}/ask/(\w+)/"', page))
    assert asks == {Gated.CLOSE.value, Gated.REFERRAL.value}
    assert "/ask/" not in client(boss).get(f"/cases/{case.number}/").content.decode()  # a supervisor decides alone
