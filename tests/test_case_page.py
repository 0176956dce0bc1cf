from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from phare.accounts.models import Role, User
from phare.cases import actions
from phare.cases.models import Case, CaseComment, CaseParticipant, SupportPlan, TraffickingEvent
from phare.crypto import keys
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    c = Client()
    c.force_login(user)  # type: ignore[arg-type]
    return c


def _full_case(worker: User) -> Case:
    case = make_case(worker)
    actions.add_participant(worker, case, role="Perpetrator", person_data={"prs_FirstName": "Zed"})
    actions.add_comment(worker, case, "Interview at the shelter.")
    actions.add_event(worker, case, {"hte_Type": "Exploitation", "hte_Country": "NG", "hte_City": "Lagos"})
    actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_Objectives": "Medical care"})
    actions.record_consent(worker, case, {"con_Consent": True, "con_Purpose": ["CaseManagement"]})
    actions.record_assessment(worker, case, {"asm_Level": "Individual"}, [{"question": "ind_age", "answer": "No"}])
    return case


def test_it_shows_the_whole_case_in_bounded_queries(django_assert_max_num_queries: object) -> None:
    worker = make_user(make_org())
    case = _full_case(worker)
    cl = _client(worker)
    keys.reset_caches()  # as in a fresh process, with no key unwrapped yet
    # 20 for the page, the audit record of the read (chain head, last hash, insert; on PostgreSQL its advisory lock
    # too), a fresh process's organisation and instance keys, and every request's own: the check for keys
    # shredded elsewhere, and on PostgreSQL the tenant set and reset; the work panel (tasks, approvals, flags, the
    # organisation's approval settings), the bell's unread count, the referral panel and the menu's count of
    # referrals waiting: 41 on PostgreSQL. Constant, not per person or row.
    with django_assert_max_num_queries(41):  # type: ignore[operator]
        r = cl.get(f"/cases/{case.number}/")
    html = r.content.decode()
    assert r.status_code == 200
    for text in ("Amaka Obi", "Zed", "Forced labour", "Interview at the shelter.", "Lagos", "Medical care",
                 "Case management", "Perpetrator"):  # fmt: skip
        assert text in html, text


def test_it_answers_404_for_another_organisations_case_and_for_a_missing_one() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    stranger = make_user(make_org("beta"), Role.SUPERVISOR)
    cl = _client(stranger)
    assert cl.get(f"/cases/{case.number}/").status_code == 404
    assert cl.get("/cases/2020-999999/").status_code == 404
    assert cl.post(f"/cases/{case.number}/close/", {"cas_Status": "Closed", "cas_ReasonForCaseClosure": "x"}).status_code == 404
    assert cl.post(f"/cases/{case.number}/comments/add/", {"cco_CaseComment": "x"}).status_code == 404
    case.refresh_from_db()
    assert case.cas_Status == "Active"


def test_it_hides_a_colleagues_case_from_a_case_worker() -> None:
    org = make_org()
    case = make_case(make_user(org, Role.CASE_WORKER, "owner"))
    other = make_user(org, Role.CASE_WORKER, "other")
    assert _client(other).get(f"/cases/{case.number}/").status_code == 404


def test_it_closes_only_with_a_reason_and_reopens() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    cl = _client(worker)
    r = cl.post(f"/cases/{case.number}/close/", {"cas_Status": "Closed", "cas_ReasonForCaseClosure": ""})
    assert r.status_code == 200 and b"error" in r.content
    case.refresh_from_db()
    assert case.cas_Status == "Active"
    r = cl.post(f"/cases/{case.number}/close/", {"cas_Status": "Closed", "cas_ReasonForCaseClosure": "Back with family"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.cas_Status == "Closed" and case.cas_ReasonForCaseClosure == "Back with family"
    assert cl.post(f"/cases/{case.number}/reopen/", {"reason": "New threat"}).status_code == 302
    case.refresh_from_db()
    assert case.cas_Status == "Active"
    assert b"Case reopened" in cl.get(f"/cases/{case.number}/").content


def test_it_opens_a_case_from_the_form_and_shows_htcds_messages_next_to_fields() -> None:
    worker = make_user(make_org())
    cl = _client(worker)
    r = cl.post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Esi", "p-prs_MobilePhone": "0801 234",
                                "v-vic_TypeOfExploitation": ["ForcedLabour"]})  # fmt: skip
    assert r.status_code == 200
    assert b'id="id_p-prs_MobilePhone_error"' in r.content and b"country code" in r.content  # next to the field
    assert b"E.164" not in r.content  # in words a worker uses
    r = cl.post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Esi", "p-prs_SecondName": "Mensah",
                                "p-prs_Gender": "Feminine", "p-prs_Citizenship": ["GH"],
                                "v-vic_TypeOfExploitation": ["ForcedLabour", "ForcedBegging"],
                                "v-vic_MethodsOfControl": ["DebtBondage", "WithholdsDocuments"]})  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:3000]
    case = Case.objects.get()
    p = CaseParticipant.objects.get(case=case)
    assert p.vic_MethodsOfControl == ["DebtBondage", "WithholdsDocuments"]
    assert p.person.prs_Citizenship == ["GH"]


def test_it_shows_likely_matches_before_creating_a_person() -> None:
    worker = make_user(make_org())
    make_case(worker, first="Esi", second="Mensah", person={"prs_MobilePhone": "+233201234567"})
    cl = _client(worker)
    r = cl.get("/cases/new/", {"prs_FirstName": "esi", "prs_SecondName": "MENSAH"})
    assert b"Esi Mensah" in r.content and b"Open a case for this person" in r.content
    r = cl.get("/cases/new/", {"prs_MobilePhone": "+233 20 123 4567"})
    assert b"Esi Mensah" in r.content


def test_it_adds_records_through_the_forms() -> None:
    worker = make_user(make_org())
    case = make_case(worker)
    cl = _client(worker)
    n = case.number
    assert cl.post(f"/cases/{n}/comments/add/", {"cco_CaseComment": "Called her", "cco_CreatedDate": "2024-01-02"}).status_code == 302
    assert cl.post(f"/cases/{n}/events/add/", {"hte_Type": "Recruitment", "hte_Country": "GH", "hte_Date": "2023-05-01"}).status_code == 302
    assert cl.post(f"/cases/{n}/plans/add/", {"spl_Type": "Legal", "spl_StartDate": "2024-01-01", "spl_PlannedEndDate": "2024-02-01"}).status_code == 302
    r = cl.post(f"/cases/{n}/plans/add/", {"spl_Type": "Legal", "spl_StartDate": "2024-03-01", "spl_PlannedEndDate": "2024-02-01"})
    assert r.status_code == 200
    r = cl.post(f"/cases/{n}/people/add/?role=Perpetrator", {"role": "Perpetrator", "p-prs_FirstName": "Kofi", "v-per_RoleInProcess": ["Recruiter"]})
    assert r.status_code == 200 and b"Recruiter" in r.content  # not a value of the list: refused, what was typed kept
    assert not CaseParticipant.objects.filter(case=case, role="Perpetrator").exists()
    r = cl.post(f"/cases/{n}/people/add/?role=Perpetrator", {"role": "Perpetrator", "p-prs_FirstName": "Kofi", "v-per_RoleInProcess": ["RecruiterOrIntermediary"]})
    assert r.status_code == 302
    assert CaseParticipant.objects.get(case=case, role="Perpetrator").per_RoleInProcess == ["RecruiterOrIntermediary"]
    assert CaseComment.objects.count() == 1 and TraffickingEvent.objects.count() == 1 and SupportPlan.objects.count() == 1
    page = cl.get(f"/cases/{n}/").content.decode()
    assert "Called her" in page and "Legal" in page
    ev = TraffickingEvent.objects.get()
    assert cl.post(f"/cases/{n}/events/{ev.uid}/edit/", {"hte_Type": "Transit", "hte_Country": "TG"}).status_code == 302
    ev.refresh_from_db()
    assert ev.hte_Type == "Transit"
    assert cl.get(f"/cases/{n}/assessments/add/?level=Household").status_code == 200
    assert cl.post(f"/cases/{n}/assessments/add/", {"asm_Level": "Household", "q_hh_source_of_income": "Yes"}).status_code == 302


def test_it_shows_no_names_to_an_analyst() -> None:
    org = make_org()
    worker = make_user(org)
    make_case(worker, first="Secretname")
    analyst = make_user(org, Role.ANALYST)
    r = _client(analyst).get("/cases/")
    assert b"Secretname" not in r.content


def test_it_switches_to_french() -> None:
    worker = make_user(make_org())
    cl = _client(worker)
    cl.post("/cases/lang/", {"language": "fr", "next": "/cases/"})
    r = cl.get("/cases/")
    assert r.status_code == 200 and b'lang="fr"' in r.content


def test_it_shows_htcds_messages_next_to_fields_in_the_users_language() -> None:
    from django.utils import translation

    from htcds.validation import CODES

    worker = make_user(make_org())
    worker.language = "es"
    worker.save()
    r = _client(worker).post("/cases/new/", {"role": "Victim", "p-prs_FirstName": "Esi", "p-prs_Birthdate": "2999-01-01"})
    assert r.status_code == 200
    with translation.override("es"):
        sentence = translation.gettext(CODES["future-date"])
    assert sentence != CODES["future-date"] and sentence in r.content.decode()
    assert "is in the future" not in r.content.decode()


def test_a_case_without_an_owner_says_so(client_for: Any) -> None:
    # The owner's name is looked up in the view: an ownerless case (SET_NULL) shows a dash, where the template's
    # `default:case.cas_CaseOwner.username` broke the page.
    org = make_org("ownerless")
    sup = make_user(org, Role.SUPERVISOR)
    case = make_case(sup)
    Case.objects.filter(pk=case.pk).update(cas_CaseOwner=None)
    r = client_for(sup).get(f"/cases/{case.number}/")
    assert r.status_code == 200
    assert re.search(r"<dt>Case Owner</dt><dd>—</dd>", r.content.decode())
    sup.first_name, sup.last_name = "Ada", "<Obi>"
    sup.save()
    Case.objects.filter(pk=case.pk).update(cas_CaseOwner=sup)
    assert "<dt>Case Owner</dt><dd>Ada &lt;Obi&gt;</dd>" in client_for(sup).get(f"/cases/{case.number}/").content.decode()
