"""Property: whatever parts a referral carries, no field outside them ever reaches the receiver. Every free-text
field of the case (every part's, and things no part carries: the perpetrator, comments, closure reason) holds a
marker naming its field; after sending and accepting, every marker found anywhere in the receiver's tenant (read
back through its own keys) names a field of a chosen part. The negative control widens one part and sees the
check fail."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phare.accounts.models import Role
from phare.cases import actions as case_actions
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto.fields import EncryptedDateField, EncryptedTextField
from phare.referrals import actions, parts
from tests.referral_helpers import org, user

pytestmark = pytest.mark.django_db

_n = itertools.count()
_RECORDS = {Person: "person", CaseParticipant: "participant", TraffickingEvent: "events", SupportPlan: "support_plans",
            Assessment: "assessments"}  # fmt: skip
RECEIVER_MODELS = (Person, Case, CaseParticipant, Referral, CaseComment, TraffickingEvent, SupportPlan, Consent, Assessment)


# Fields whose values cannot hold a marker: each gets a value of its own, recognised by equality.
SPECIAL = {"prs_Email": "mkperson.prs_email@example.org", "prs_MobilePhone": "+2348031111111",
           "prs_HomePhone": "+2348032222222"}  # fmt: skip
BY_VALUE = {"mkperson.prs_email@example.org": ("person", "prs_Email"), "+2348031111111": ("person", "prs_MobilePhone"),
            "+2348032222222": ("person", "prs_HomePhone"), "1987-06-05": ("person", "prs_Birthdate")}  # fmt: skip


def _texts(model: type[Any]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
            and not isinstance(f, EncryptedDateField) and not f.name.endswith(("Latitude", "Longitude"))
            and f.name != "answer_notes"]  # fmt: skip


def _marker(kind: str, name: str) -> str:
    return f"MK{kind}.{name}KM"


def _marked_case(actor: Any) -> Case:
    """A case whose every free-text field holds the marker of its field."""
    person = {n: SPECIAL.get(n) or _marker("person", n) for n in _texts(Person)}
    person["prs_Birthdate"] = date(1987, 6, 5)
    ctx = {n: _marker("participant", n) for n in _texts(CaseParticipant) if n.startswith("vic_")}
    case = case_actions.open_case(actor, person_data={**person, "prs_Gender": "Feminine"}, context={
        **ctx, "vic_Vulnerabilities": ["Poverty"], "vic_TypeOfExploitation": ["ForcedLabour"]})  # fmt: skip
    case_actions.add_participant(actor, case, role="Perpetrator",
                                 person_data={"prs_FirstName": _marker("perpetrator", "prs_FirstName")},
                                 context={"per_RoleDetails": _marker("perpetrator", "per_RoleDetails")})  # fmt: skip
    case_actions.add_comment(actor, case, _marker("comment", "cco_CaseComment"))
    who = case.primary_person
    case_actions.add_event(actor, case, {"hte_Type": "Exploitation", "person": who,
                                         **{n: _marker("events", n) for n in _texts(TraffickingEvent)}})  # fmt: skip
    case_actions.add_support_plan(actor, case, {"spl_Type": "Legal", "person": who,
                                                **{n: _marker("support_plans", n) for n in _texts(SupportPlan)}})  # fmt: skip
    case_actions.record_assessment(actor, case, {"asm_Level": "Individual", "person": who,
                                                 "asm_Notes": _marker("assessments", "asm_Notes")}, [])  # fmt: skip
    return case


def _markers_in(organisation_id: int) -> set[tuple[str, str]]:
    """(record kind, field) of every marker stored anywhere in the organisation's case rows."""
    found: set[tuple[str, str]] = set()
    for model in RECEIVER_MODELS:
        for obj in model._default_manager.filter(organisation_id=organisation_id):
            for f in model._meta.concrete_fields:
                raw = getattr(obj, f.attname, "")
                value = raw.isoformat() if isinstance(raw, date) else str(raw or "")
                if value in BY_VALUE:
                    found.add(BY_VALUE[value])
                for hit in value.split("MK")[1:]:
                    if "KM" in hit:
                        kind, _, name = hit.split("KM")[0].partition(".")
                        found.add((kind, name))
    return found


def _leaks(chosen: list[str]) -> set[tuple[str, str]]:
    i = next(_n)
    a, b = org(f"pp-a{i}"), org(f"pp-b{i}")
    ua, ub = user(a, Role.CASE_WORKER, f"pp-ua{i}"), user(b, Role.CASE_WORKER, f"pp-ub{i}")
    case = _marked_case(ua)
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"], chosen=chosen)
    assert parts.outside(actions.shared_content(ub, t), chosen) == {}
    actions.accept(ub, t)
    allowed = parts.allowed_fields(chosen)
    return {(kind, name) for kind, name in _markers_in(b.pk) if name not in allowed.get(kind, set())}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sets(st.sampled_from([p.name for p in parts.PARTS])))
def test_no_field_outside_the_chosen_parts_reaches_the_receiver(chosen: set[str]) -> None:
    assert _leaks(sorted(chosen)) == set()


def test_every_part_delivers_its_own_fields() -> None:
    """The markers of the chosen parts do arrive (the property above is not passing on an empty copy)."""
    i = next(_n)
    a, b = org(f"pe-a{i}"), org(f"pe-b{i}")
    ua, ub = user(a, Role.CASE_WORKER, f"pe-ua{i}"), user(b, Role.CASE_WORKER, f"pe-ub{i}")
    case = _marked_case(ua)
    actions.record_consent(ua, case, b)
    everything = [p.name for p in parts.PARTS]
    actions.accept(ub, actions.send(ua, case, b, services=["Legal"], chosen=everything))
    arrived = _markers_in(b.pk)
    assert ("person", "prs_FirstName") in arrived and ("events", "hte_Description") in arrived
    assert ("support_plans", "spl_ActionPlan") in arrived and ("assessments", "asm_Notes") in arrived
    assert not {k for k, _ in arrived} & {"perpetrator", "comment"}  # no part ever carries these


def test_negative_control_a_part_that_carries_more_than_it_says_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parts.bundle_of

    def wider(case: Case, chosen: Any, **kw: Any) -> dict[str, Any]:
        bundle = real(case, chosen, **kw)
        if bundle.get("persons"):
            bundle["persons"][0]["prs_IdentityNumber"] = case.primary_person.prs_IdentityNumber  # type: ignore[union-attr]
        return bundle

    monkeypatch.setattr(parts, "bundle_of", wider)
    with pytest.raises(AssertionError):
        _leaks(["contact"])
