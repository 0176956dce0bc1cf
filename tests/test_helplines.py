"""Contacts: recorded, updated, opened into a case or linked to one by their verbs (each audited in its own
transaction), the caller's identity encrypted at rest, and seen only by the helpline and, through their cases,
by case workers. Each access test has its negative control: with the guard switched off, the same test leaks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404

from phare import access
from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.cases.models import CaseComment, CaseParticipant
from phare.helplines import access as contact_access
from phare.helplines import actions
from phare.helplines.access import get_contact, visible_contacts
from phare.helplines.models import Contact, ContactIndex, Outcome
from tests.helpline_helpers import PHONE, call
from tests.work_helpers import team

pytestmark = pytest.mark.django_db


@pytest.fixture
def a() -> dict[str, Any]:
    return team("hl-a")


@pytest.fixture
def b() -> dict[str, Any]:
    return team("hl-b")


def test_it_records_a_contact_encrypted_indexed_and_audited(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE])
    with connection.cursor() as cur:
        cur.execute("SELECT caller_name, caller_phone, summary FROM helplines_contact WHERE id = %s", [contact.pk])
        raw = " ".join(str(v) for v in cur.fetchone())
    assert "Efua" not in raw and "7700" not in raw and "passport" not in raw
    assert Contact.objects.get(pk=contact.pk).caller_name == "Efua Mensah"
    assert ContactIndex.objects.filter(contact=contact, kind="phone").count() == 1
    event = AuditEvent.objects.filter(action="contact.record").last()
    assert event is not None and event.target_id == str(contact.uid) and event.organisation_id == a["org"].pk
    assert len(contact.reference) == 8 and contact.outcome == Outcome.TRIAGE


def test_it_keeps_an_anonymous_callers_identity_out(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE], anonymous=True, caller_type="anonymous")
    assert (contact.caller_name, contact.caller_phone) == ("", "")
    assert not ContactIndex.objects.filter(contact=contact).exists()


def test_it_leaves_nothing_when_the_audit_write_fails(a: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit down")

    monkeypatch.setattr("phare.audit.log.record", broken)
    with pytest.raises(RuntimeError):
        call(a[Role.HELPLINE])
    assert not Contact.objects.exists() and not ContactIndex.objects.exists()


def test_it_names_each_wrong_field_and_stores_nothing(a: dict[str, Any]) -> None:
    with pytest.raises(actions.Invalid) as err:
        call(a[Role.HELPLINE], channel="pigeon", indicators=["NotAnIndicator"], summary="x" * 6000,
             outcome="case_opened")  # fmt: skip
    assert set(err.value.problems) == {"channel", "indicators", "summary", "outcome"}
    assert not Contact.objects.exists()


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.ANALYST, Role.AUDITOR])
def test_it_lets_only_the_line_record_contacts(a: dict[str, Any], role: str) -> None:
    with pytest.raises(PermissionDenied):
        call(a[role])


def test_it_shows_a_case_worker_only_contacts_of_cases_they_may_open(a: dict[str, Any],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    contact = call(a[Role.HELPLINE])
    for role in (Role.HELPLINE, Role.SUPERVISOR, Role.ADMIN):
        assert visible_contacts(a[role]).filter(pk=contact.pk).exists()
    for role in (Role.CASE_WORKER, Role.ANALYST, Role.AUDITOR):
        assert not visible_contacts(a[role]).exists()
    with pytest.raises(Http404):  # the operator may not open that case, so may not link to it
        actions.link_contact_to_case(a[Role.HELPLINE], contact, a["case"])
    actions.link_contact_to_case(a[Role.SUPERVISOR], contact, a["case"])
    assert get_contact(a[Role.CASE_WORKER], contact.reference) == contact  # the owner of the linked case
    with pytest.raises(Http404):
        get_contact(a["colleague"], contact.reference)  # the weaker-placed colleague: not their case
    # Negative control: without the role rule, the colleague would see it.
    monkeypatch.setattr(contact_access, "works_the_line", lambda user: True)
    assert get_contact(a["colleague"], contact.reference) == contact


def test_it_hides_a_contact_linked_to_a_restricted_case_from_the_operator(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE])
    actions.link_contact_to_case(a[Role.SUPERVISOR], contact, a["case"])
    assert visible_contacts(a[Role.HELPLINE]).filter(pk=contact.pk).exists()
    a["case"].restricted = True
    a["case"].save()
    assert not visible_contacts(a[Role.HELPLINE]).filter(pk=contact.pk).exists()
    assert visible_contacts(a[Role.SUPERVISOR]).filter(pk=contact.pk).exists()


def test_it_answers_alike_for_another_organisations_contact_and_a_missing_one(
    a: dict[str, Any], b: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = call(b[Role.HELPLINE])
    for reference in (theirs.reference, "NOSUCHRF"):
        with pytest.raises(Http404):
            get_contact(a[Role.SUPERVISOR], reference)
    with pytest.raises(Http404):
        actions.update_contact(a[Role.SUPERVISOR], theirs, {"risk": "low"})
    with pytest.raises(Http404):
        actions.link_contact_to_case(b[Role.SUPERVISOR], theirs, a["case"])  # a case of another organisation
    assert Contact.objects.get(pk=theirs.pk).risk == "high"
    # Negative control: without the tenant filter, the other organisation's contact comes back.
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    assert get_contact(a[Role.SUPERVISOR], theirs.reference) == theirs


def test_it_updates_a_contact_and_reindexes_the_caller(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE])
    changed = actions.update_contact(a[Role.HELPLINE], contact, {"caller_phone": "", "caller_email": "E@x.org",
                                                                 "outcome": "information", "risk": "high"})  # fmt: skip
    assert sorted(changed) == ["caller_email", "caller_phone", "outcome"]
    assert list(ContactIndex.objects.filter(contact=contact).values_list("kind", flat=True)) == ["email"]
    event = AuditEvent.objects.filter(action="contact.update").last()
    assert event is not None and event.detail["fields"] == ["caller_email", "caller_phone", "outcome"]
    assert "E@x.org" not in str(event.detail)


def test_it_opens_a_case_carrying_what_was_recorded(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE], exploitation=["ForcedLabour"], language="fra")
    case = actions.open_case_from_contact(a[Role.HELPLINE], contact)
    contact.refresh_from_db()
    assert contact.case == case and contact.outcome == Outcome.CASE_OPENED
    participant = CaseParticipant.objects.select_related("person").get(case=case)
    assert participant.role == "PotentialVictim"
    assert participant.vic_MethodsOfControl == ["WithholdsDocuments"]
    assert participant.vic_TypeOfExploitation == ["ForcedLabour"]
    assert (participant.person.prs_FirstName, participant.person.prs_MobilePhone) == ("Efua Mensah", "+447700900123")
    assert "passport taken" in CaseComment.objects.get(case=case).cco_CaseComment
    assert AuditEvent.objects.filter(action="contact.case_opened", detail__case=case.number).exists()
    with pytest.raises(actions.Invalid):
        actions.open_case_from_contact(a[Role.HELPLINE], contact)  # once only


def test_it_keeps_a_witness_identity_out_of_the_new_case(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE], caller_type="witness")
    case = actions.open_case_from_contact(a[Role.HELPLINE], contact)
    person = case.primary_person
    assert person is not None and not person.prs_FirstName and not person.prs_MobilePhone
    assert contact.reference in person.alias


def test_it_finds_a_repeat_caller_among_what_the_operator_may_see(a: dict[str, Any], b: dict[str, Any]) -> None:
    first = call(a[Role.HELPLINE])
    second = call(a[Role.HELPLINE], caller_phone="+447700900123")
    call(b[Role.HELPLINE])  # the same number at another organisation
    case_actions.update_person(a[Role.CASE_WORKER], a["case"].primary_person, {"prs_MobilePhone": "+447700900123"})
    found = actions.lookup(a[Role.SUPERVISOR], "+447700900123")
    assert {c.pk for c in found.contacts} == {first.pk, second.pk}
    assert [c.pk for c in found.cases] == [a["case"].pk]
    # The operator does not own that case: the lookup does not show it to them.
    assert actions.lookup(a[Role.HELPLINE], PHONE).cases == []
    event = AuditEvent.objects.filter(action="contact.lookup").last()
    assert event is not None and event.detail["kind"] == "phone" and "7700" not in str(event.detail)
    assert actions.lookup(a[Role.HELPLINE], "nobody@example.org").contacts == []
