from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import (
    Case,
    CaseComment,
    CaseEvent,
    CaseParticipant,
    Consent,
    Person,
    PersonIndex,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _boom(*a: object, **k: object) -> None:
    raise RuntimeError("audit store is down")


def test_it_opens_a_case_with_a_victim_and_audits_it() -> None:
    org = make_org()
    worker = make_user(org)
    case = make_case(worker)
    assert case.number.endswith("-000001")
    assert case.cas_Status == "Active"
    assert case.cas_CaseOwner == worker
    assert case.exploitation_types == ["ForcedLabour"]
    assert case.trafficking_status == "PossibleVictimOfTrafficking"
    assert AuditEvent.objects.filter(action="case.open", target_id__in=[str(case.pk), str(case.uid)]).exists()
    assert CaseEvent.objects.filter(case=case, kind="opened").count() == 1
    second = make_case(worker, first="Bola")
    assert second.number.endswith("-000002")


def test_it_rolls_the_action_back_when_the_audit_write_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    org = make_org()
    worker = make_user(org)
    case = make_case(worker)
    monkeypatch.setattr("phare.audit.log.record", _boom)
    with pytest.raises(RuntimeError):
        make_case(worker, first="Chidi")
    with pytest.raises(RuntimeError):
        actions.add_comment(worker, case, "Met at the shelter.")
    with pytest.raises(RuntimeError):
        actions.close_case(worker, case, reason="Returned home safely.")
    case.refresh_from_db()  # the failed close changed the object in memory, not the row
    with pytest.raises(RuntimeError):
        actions.add_event(worker, case, {"hte_Type": "Exploitation", "hte_Country": "NG"})
    with pytest.raises(RuntimeError):
        actions.add_support_plan(worker, case, {"spl_Type": "Health"})
    with pytest.raises(RuntimeError):
        actions.reassign_case(worker, case, make_user(org, Role.SUPERVISOR))
    assert Case.objects.count() == 1
    assert Person.objects.count() == 1
    assert CaseComment.objects.count() == 0
    assert TraffickingEvent.objects.count() == 0
    assert SupportPlan.objects.count() == 0
    case.refresh_from_db()
    assert case.cas_Status == "Active"
    assert case.cas_CaseOwner == worker


def test_it_needs_a_reason_to_close() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    with pytest.raises(actions.Invalid) as exc:
        actions.close_case(worker, case, reason="  ")
    assert "cas_ReasonForCaseClosure" in exc.value.problems
    case.refresh_from_db()
    assert case.cas_Status == "Active"


def test_it_walks_the_lifecycle_and_records_each_step() -> None:
    org = make_org()
    worker = make_user(org)
    sup = make_user(org, Role.SUPERVISOR)
    case = make_case(worker)
    actions.set_follow_up(worker, case, timezone.localdate() + timedelta(days=3))
    assert case.cas_Status == "FollowUp"
    actions.close_case(worker, case, reason="Referred to a shelter abroad.", status="ClosedReferred")
    assert case.cas_Status == "ClosedReferred" and case.cas_ClosedDate == timezone.localdate()
    with pytest.raises(actions.Invalid):
        actions.set_follow_up(worker, case, None)
    actions.reopen_case(worker, case, reason="She came back.")
    assert case.cas_Status == "Active" and case.cas_ClosedDate is None
    actions.reassign_case(worker, case, sup)
    assert case.cas_CaseOwner == sup
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    assert kinds == ["opened", "status", "closed", "reopened", "reassigned"]
    audited = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"case.open", "case.follow_up", "case.close", "case.reopen", "case.reassign"} <= audited


def test_it_refuses_to_reassign_to_another_organisation() -> None:
    worker = make_user(make_org())
    stranger = make_user(make_org("beta"))
    case = make_case(worker)
    with pytest.raises(actions.Invalid):
        actions.reassign_case(worker, case, stranger)


def test_it_validates_against_htcds() -> None:
    worker = make_user(make_org())
    with pytest.raises(actions.Invalid) as exc:
        make_case(worker, context={"vic_TypeOfExploitation": ["Slavery"]})
    assert "vic_TypeOfExploitation" in exc.value.problems
    with pytest.raises(actions.Invalid) as exc:
        make_case(worker, person={"prs_Gender": "F"})
    assert "prs_Gender" in exc.value.problems
    assert Case.objects.count() == 0


def test_it_adds_people_records_and_keeps_the_summary() -> None:
    org = make_org()
    worker = make_user(org)
    case = make_case(worker)
    actions.add_participant(worker, case, role="Victim", person_data={"prs_FirstName": "Ngozi"},
                            context={"vic_TypeOfExploitation": ["SexualExploitation"],
                                     "vic_TraffickingStatus": "ActualVictimOfTrafficking"})  # fmt: skip
    actions.add_participant(worker, case, role="Perpetrator", person_data={"prs_FirstName": "Zed"},
                            context={"per_RoleInProcess": ["RecruiterOrIntermediary"]})  # fmt: skip
    case.refresh_from_db()
    assert set(case.exploitation_types) == {"ForcedLabour", "SexualExploitation"}
    assert case.trafficking_status == "ActualVictimOfTrafficking"
    with pytest.raises(actions.Invalid):
        actions.add_participant(worker, case, role="Perpetrator", person_data={"prs_FirstName": "Y"},
                                context={"vic_TypeOfExploitation": ["ForcedLabour"]})  # fmt: skip
    assert CaseParticipant.objects.filter(case=case).count() == 3
    actions.add_comment(worker, case, "First interview done.")
    actions.add_event(worker, case, {"hte_Type": "Recruitment", "hte_Country": "NG", "hte_Date": date(2023, 1, 5)})
    plan = actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_StartDate": date(2024, 1, 1),
                                                   "spl_PlannedEndDate": date(2024, 6, 1)})  # fmt: skip
    with pytest.raises(actions.Invalid):
        actions.update_support_plan(worker, plan, {"spl_StartDate": date(2024, 1, 1), "spl_ActualEndDate": date(2023, 1, 1)})
    consent = actions.record_consent(worker, case, {"con_Consent": True, "con_Purpose": ["CaseManagement"],
                                                    "con_Date": date(2024, 1, 1)})  # fmt: skip
    actions.withdraw_consent(worker, consent, on=date(2024, 2, 1), reason="Changed her mind")
    assert Consent.objects.get().con_WithdrawnDate == date(2024, 2, 1)
    a = actions.record_assessment(worker, case, {"asm_Level": "Individual", "asm_Date": date(2024, 1, 2)},
                                  [{"question": "ind_age", "answer": "Yes", "notes": "Minor at recruitment"}])  # fmt: skip
    assert a.answers == [{"question": "ind_age", "answer": "Yes"}] and "Minor" in a.answer_notes
    partner = actions.add_external_organisation(worker, {"org_Name": "Safe House", "org_Type": "NGO"})
    actions.send_referral(worker, case, {"cas_ReferredOrganisation": partner, "cas_ReasonForOutgoingReferral": "Other"})
    actions.receive_referral(worker, case, {"cas_ReferringOrganisation": partner, "cas_IncomingReferralDate": date(2024, 1, 1)})
    assert Referral.objects.filter(case=case).count() == 2




def test_it_indexes_names_and_finds_likely_matches_without_decrypting() -> None:
    org = make_org()
    worker = make_user(org)
    make_case(worker, first="Ámaka", second="Obi-Eze", person={"prs_MobilePhone": "+2348012345678"})
    assert PersonIndex.objects.filter(kind="name").count() == 3
    found = actions.find_matches(org.id, {"prs_FirstName": "amaka", "prs_SecondName": "OBI"})
    assert [str(p) for p, _ in found] == ["Ámaka Obi-Eze"]
    by_phone = actions.find_matches(org.id, {"prs_MobilePhone": "+234 801 234 5678"})
    assert len(by_phone) == 1
    other = make_org("beta")
    assert actions.find_matches(other.id, {"prs_FirstName": "Amaka", "prs_SecondName": "Obi"}) == []


def test_it_keeps_the_age_band_at_registration_with_the_birth_date() -> None:
    from phare.ops.actions import erase_person

    org = make_org()
    worker = make_user(org, Role.CASE_WORKER)
    case = make_case(worker, opened=date(2024, 1, 10), person={"prs_FirstName": "Ada", "prs_Birthdate": date(2010, 1, 11)})
    part = CaseParticipant.objects.get(case=case)
    assert part.age_band_at_registration == "9-17"  # 13, one day before turning 14
    other = actions.add_participant(worker, case, role="Perpetrator", person_data={"prs_FirstName": "Zed"})
    assert other.age_band_at_registration == ""
    actions.update_person(worker, part.person, {"prs_Birthdate": date(1980, 6, 1)})
    part.refresh_from_db()
    assert part.age_band_at_registration == "39-47"
    admin = make_user(org, Role.ADMIN, username="admin")
    erase_person(admin, part.person, reason="request 42")
    part.refresh_from_db()
    assert part.age_band_at_registration == ""


def test_a_case_write_names_its_organisation_in_the_audit_without_reading_the_organisation() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = make_org("audited")
    worker = make_user(org)
    case = Case.objects.get(pk=make_case(worker).pk)  # as a page reads it: the organisation not loaded
    worker = type(worker).objects.get(pk=worker.pk)
    with CaptureQueriesContext(connection) as ctx:
        comment = actions.add_comment(worker, case, "Called the shelter.")
    assert not [q for q in ctx.captured_queries if 'FROM "accounts_organisation"' in q["sql"]]
    event = AuditEvent.objects.get(action="case.comment.add", target_id=str(comment.uid))
    assert event.organisation_id == org.pk and event.detail["case"] == case.number
