"""Reads of case and person pages are audited, in the request's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from phare.audit.models import AuditEvent
from phare.cases import actions
from tests.page_helpers import shown


def test_it_records_who_viewed_a_case_and_its_people(org: Any, make_user: Callable[..., Any],
                                                     client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    worker = make_user("supervisor", org)
    case = actions.open_case(worker, person_data={"prs_FirstName": "Ama"})
    person = case.participants.get().person
    assert client_for(worker).get(f"/cases/{case.number}/").status_code == 200
    event = AuditEvent.objects.get(action="case.viewed")
    assert event.actor_id == worker.pk and event.target_id == str(case.uid)
    assert event.detail["persons"] == [str(person.uid)]
    client_for(worker).get(f"/cases/{case.number}/people/{person.uid}/person/")
    assert AuditEvent.objects.filter(action="person.viewed", target_id=str(person.uid)).count() == 1


def test_it_shows_nothing_when_the_read_cannot_be_audited(org: Any, make_user: Callable[..., Any],
                                                          client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    worker = make_user("supervisor", org)
    case = actions.open_case(worker, person_data={"prs_FirstName": "Ama"})
    client = client_for(worker)
    client.raise_request_exception = False
    with mock.patch("phare.cases.views.record", side_effect=RuntimeError("audit store down")):
        response = client.get(f"/cases/{case.number}/")
    assert response.status_code == 500
    assert "Ama" not in shown(response.content)


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_it_records_reads_by_roles_without_names_too(role: str, org: Any, make_user: Callable[..., Any],
                                                     client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    owner = make_user("supervisor", org)
    case = actions.open_case(owner, person_data={"prs_FirstName": "Ama"})
    response = client_for(make_user(role, org)).get(f"/cases/{case.number}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert case.number in page and "Ama" not in shown(page)
    event = AuditEvent.objects.get(action="case.viewed")
    assert event.detail["names_shown"] is False and event.detail["persons"] == []


def _reads(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_it_records_each_list_page_and_name_search_naming_the_cases_shown(
    org: Any, make_user: Callable[..., Any], client_for: Callable[[Any], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = make_user("supervisor", org)
    ama = actions.open_case(worker, person_data={"prs_FirstName": "Ama", "prs_SecondName": "Owusu"})
    kofi = actions.open_case(worker, person_data={"prs_FirstName": "Kofi"})
    c = client_for(worker)
    page = c.get("/cases/").content.decode()
    assert "Ama Owusu" in page and "Kofi" in page
    (event,) = _reads("case.list_viewed")
    assert sorted(event.detail["cases"]) == sorted([ama.number, kofi.number]) and event.detail["search"] is False
    found = c.get("/cases/", {"q": "owusu"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Ama Owusu" in found and "Kofi" not in found
    search = _reads("case.list_viewed")[-1]
    assert search.detail["cases"] == [ama.number] and search.detail["search"] is True
    assert "owusu" not in str(search.detail).lower()  # what was typed is never logged
    # An analyst's list shows no name: nothing personal was read.
    client_for(make_user("analyst", org)).get("/cases/")
    assert len(_reads("case.list_viewed")) == 2
    # Negative control: without its audit call the list still renders, and no event says who saw the names.
    monkeypatch.setattr("phare.cases.views.record", lambda *a, **k: None)
    assert "Ama Owusu" in c.get("/cases/").content.decode()
    assert len(_reads("case.list_viewed")) == 2


def test_it_records_the_edit_pages_and_assessment_answers(org: Any, make_user: Callable[..., Any],
                                                          client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    worker = make_user("supervisor", org)
    case = actions.open_case(worker, person_data={"prs_FirstName": "Ama"})
    part = case.participants.get()
    event = actions.add_event(worker, case, {"hte_Type": "Exploitation", "hte_Description": "At the farm"})
    plan = actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_Objectives": "See a doctor"})
    referral = actions.send_referral(worker, case, {"cas_OutgoingReferralDetails": "Legal aid"})
    answers = actions.record_assessment(worker, case, {"asm_Level": "Individual"},
                                        [{"question": "ind_age", "answer": "Yes", "notes": "She is 16"}])  # fmt: skip
    c = client_for(worker)
    n = case.number
    pages = {
        f"/cases/{n}/people/{part.uid}/context/": ("case.participant.viewed", str(part.uid)),
        f"/cases/{n}/events/{event.uid}/edit/": ("case.traffickingevent.viewed", str(event.uid)),
        f"/cases/{n}/plans/{plan.uid}/edit/": ("case.supportplan.viewed", str(plan.uid)),
        f"/cases/{n}/referrals-out/{referral.uid}/edit/": ("case.referral.viewed", str(referral.uid)),
        f"/cases/{n}/assessments/{answers.uid}/": ("case.assessment.viewed", str(answers.uid)),
    }
    for url, (action, target) in pages.items():
        r = c.get(url)
        assert r.status_code == 200, url
        assert AuditEvent.objects.filter(action=action, target_id=target, actor=worker).count() == 1, url
    assert "She is 16" in c.get(f"/cases/{n}/assessments/{answers.uid}/").content.decode()
