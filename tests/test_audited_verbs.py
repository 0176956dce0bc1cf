"""Every verb writes its audit event in its own transaction: the event names the verb and its record, and a
verb whose audit write fails leaves nothing behind. One test per verb, so that losing one audit call fails the
test that names it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from phare.accounts import breakglass
from phare.accounts.models import Role
from phare.audit import log as audit_log
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import (
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from tests.test_api import V1, bearer, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Any, make_user: Any) -> dict[str, Any]:
    boss = make_user(Role.SUPERVISOR, org)
    worker = make_user(Role.CASE_WORKER, org)
    case = actions.open_case(boss, person_data={"prs_FirstName": "Ama"}, role="Victim", context={})
    directory = actions.add_external_organisation(boss, {"org_Name": "Harbour Police"})
    return {"boss": boss, "worker": worker, "case": case, "directory": directory,
            "victim": case.participants.get(), "person": case.participants.get().person}  # fmt: skip


# verb name -> (expected audit action, the call); each call returns the record its event must name
VERBS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "create_person": ("person.create", lambda w: actions.create_person(w["boss"], {"prs_FirstName": "Kofi"})),
    "update_person": ("person.update", lambda w: (actions.update_person(w["boss"], w["person"], {"prs_SecondName": "Obi"}),
                                                  w["person"])[1]),
    "open_case": ("case.open", lambda w: actions.open_case(w["boss"], person_data={"prs_FirstName": "Efe"})),
    "add_participant": ("case.participant.add", lambda w: actions.add_participant(
        w["boss"], w["case"], role="Other", person_data={"prs_FirstName": "Sis"})),
    "update_participant": ("case.participant.update", lambda w: (actions.update_participant(
        w["boss"], w["victim"], {"vic_TypeOfExploitation": ["ForcedLabour"]}), w["victim"])[1]),
    "update_case": ("case.update", lambda w: (actions.update_case(w["boss"], w["case"], {"restricted": True}), w["case"])[1]),
    "set_programme": ("case.programme_set", lambda w: (actions.set_programme(w["boss"], w["case"], "Shelter"), w["case"])[1]),
    "set_follow_up": ("case.follow_up", lambda w: (actions.set_follow_up(w["boss"], w["case"], date(2030, 1, 1)),
                                                   w["case"])[1]),
    "close_case": ("case.close", lambda w: (actions.close_case(w["boss"], w["case"], reason="Safe at home"), w["case"])[1]),
    "reassign_case": ("case.reassign", lambda w: (actions.reassign_case(w["boss"], w["case"], w["worker"]), w["case"])[1]),
    "assign_worker": ("case.assign", lambda w: (actions.assign_worker(w["boss"], w["case"], w["worker"]), w["case"])[1]),
    "add_comment": ("case.comment.add", lambda w: actions.add_comment(w["boss"], w["case"], "Called her")),
    "add_event": ("case.event.add", lambda w: actions.add_event(w["boss"], w["case"], {"hte_Type": "Recruitment"})),
    "update_event": ("case.event.update", lambda w: _updated(actions.update_event, w, actions.add_event(
        w["boss"], w["case"], {"hte_Type": "Recruitment"}), {"hte_Type": "Transit"})),
    "add_support_plan": ("case.support_plan.add", lambda w: actions.add_support_plan(w["boss"], w["case"],
                                                                                     {"spl_Type": "Health"})),
    "update_support_plan": ("case.support_plan.update", lambda w: _updated(actions.update_support_plan, w,
        actions.add_support_plan(w["boss"], w["case"], {"spl_Type": "Health"}), {"spl_Type": "Legal"})),
    "record_consent": ("case.consent.record", lambda w: actions.record_consent(
        w["boss"], w["case"], {"con_Consent": True, "con_Purpose": ["CaseManagement"]})),
    "withdraw_consent": ("case.consent.withdraw", lambda w: _withdrawn(w)),
    "record_assessment": ("case.assessment.record", lambda w: actions.record_assessment(
        w["boss"], w["case"], {"asm_Level": "Individual"}, [{"question": "ind_age", "answer": "No"}])),
    "send_referral": ("case.referral.send", lambda w: actions.send_referral(
        w["boss"], w["case"], {"cas_ReferredOrganisation": w["directory"]})),
    "receive_referral": ("case.referral.receive", lambda w: actions.receive_referral(
        w["boss"], w["case"], {"cas_ReferringOrganisation": w["directory"]})),
    "update_referral": ("case.referral.update", lambda w: _updated(actions.update_referral, w, actions.send_referral(
        w["boss"], w["case"], {"cas_ReferredOrganisation": w["directory"]}), {"cas_OutgoingReferralDetails": "Legal"})),
    "add_external_organisation": ("directory.add", lambda w: actions.add_external_organisation(
        w["boss"], {"org_Name": "Legal Aid"})),
    "request_access": ("access.requested", lambda w: actions.request_access(w["worker"], w["person"], "She called")),
    "decide_access_request": ("access.granted", lambda w: _decided(w)),
    "break_glass": ("breakglass.granted", lambda w: (breakglass.grant(
        w["worker"], w["case"], "Police called: she is at risk tonight", 1), w["case"])[1]),
}


def _updated(verb: Callable[..., Any], w: dict[str, Any], obj: Any, data: dict[str, Any]) -> Any:
    verb(w["boss"], obj, data)
    return obj


def _withdrawn(w: dict[str, Any]) -> Consent:
    consent = actions.record_consent(w["boss"], w["case"], {"con_Consent": True, "con_Purpose": ["CaseManagement"]})
    actions.withdraw_consent(w["boss"], consent, reason="Changed her mind")
    return consent


def _decided(w: dict[str, Any]) -> Any:
    req = actions.request_access(w["worker"], w["person"], "")
    actions.decide_access_request(w["boss"], req, True)
    return req


def _target_id(obj: Any) -> str:
    return str(getattr(obj, "uid", None) or obj.pk)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_it_audits_each_verb_in_its_transaction(world: dict[str, Any], verb: str) -> None:
    action, call = VERBS[verb]
    before = AuditEvent.objects.count()
    obj = call(world)
    events = AuditEvent.objects.filter(pk__gt=_last_before(before), action=action)
    assert events.filter(target_id=_target_id(obj)).exists(), f"{verb} wrote no {action} event naming its record"


def _last_before(count: int) -> int:
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True)[:count])
    return ids[-1] if ids else 0


TABLES = (Person, Case, CaseParticipant, Referral, SupportPlan, TraffickingEvent, Consent, CaseComment)


@pytest.mark.parametrize("verb", ["create_person", "open_case", "add_participant", "send_referral", "add_event",
                                  "record_consent", "withdraw_consent", "close_case", "add_comment"])  # fmt: skip
def test_it_leaves_nothing_when_the_audit_write_fails(world: dict[str, Any], verb: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit store down")

    def snapshot() -> list[Any]:
        return [sorted(m.objects.values_list("id", flat=True)) for m in TABLES] + [
            list(Case.objects.values_list("cas_Status", flat=True)),
            list(Consent.objects.values_list("con_WithdrawnDate", flat=True))]  # fmt: skip

    if verb == "withdraw_consent":
        consent = actions.record_consent(world["boss"], world["case"], {"con_Consent": True})
        call: Callable[[dict[str, Any]], Any] = lambda w: actions.withdraw_consent(w["boss"], consent)  # noqa: E731
    else:
        call = VERBS[verb][1]
    before = snapshot()
    monkeypatch.setattr(audit_log, "record", broken)
    with pytest.raises(RuntimeError, match="audit store down"):
        call(world)  # no transaction of the test's own around it: the verb's must undo its writes
    assert snapshot() == before


def test_it_fails_when_a_verb_skips_its_audit_call(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control for the tests above: a verb whose audit call is gone writes its record and no event."""
    monkeypatch.setattr(actions.audit, "record", lambda *a, **k: None)
    before = AuditEvent.objects.count()
    consent = VERBS["record_consent"][1](world)
    assert Consent.objects.filter(pk=consent.pk).exists()
    assert AuditEvent.objects.count() == before


def test_it_audits_the_api_person_list_naming_the_people(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    api, auth = Client(), bearer(token_for(world["boss"]))
    r = api.get(f"{V1}/persons", **auth)
    assert r.status_code == 200 and str(world["person"].uid) in {p["id"] for p in r.json()["items"]}
    event = AuditEvent.objects.filter(action="api.person.list").last()
    assert event is not None and str(world["person"].uid) in event.detail["persons"]
    from phare.api import v1

    monkeypatch.setattr(v1, "_read", lambda *a, **k: None)  # negative control: the list still answers, unaudited
    count = AuditEvent.objects.filter(action="api.person.list").count()
    assert api.get(f"{V1}/persons", **auth).status_code == 200
    assert AuditEvent.objects.filter(action="api.person.list").count() == count


def test_it_answers_alike_for_another_organisations_person_and_a_missing_one(world: dict[str, Any], other_org: Any,
                                                                              make_user: Any) -> None:  # fmt: skip
    stranger = make_user(Role.SUPERVISOR, other_org)
    api, auth = Client(), bearer(token_for(stranger))
    own = actions.open_case(stranger, person_data={"prs_FirstName": "Own"}, role="Victim", context={})
    answers = []
    for person_id in (str(world["person"].uid), "00000000-0000-4000-8000-000000000000"):
        got = [api.get(f"{V1}/persons/{person_id}", **auth),
               api.post(f"{V1}/cases", {"person": person_id}, content_type="application/json", **auth),
               api.post(f"{V1}/cases/{own.uid}/participants", {"role": "Other", "person": person_id},
                        content_type="application/json", **auth)]  # fmt: skip
        answers.append([(r.status_code, r.json().get("detail") if r.status_code == 404 else r.json()["detail"][0]["code"])
                        for r in got])  # fmt: skip
    assert answers[0] == answers[1] == [(404, "Not Found"), (422, "unknown-reference"), (422, "unknown-reference")]
