from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import call_command

from phare.accounts.models import Organisation, User
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Case, CaseComment, Person, PersonIndex
from phare.ops import actions as ops
from phare.ops.models import PurgeRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> User:
    org = Organisation.objects.create(slug="refuge", org_Name="Refuge")
    return User.objects.create_user("admin", password="x" * 16, organisation=org, role="admin")


def closed_case(actor: User, name: str, closed: date) -> Case:
    case = actions.open_case(actor, person_data={"prs_FirstName": name, "prs_MobilePhone": "+2348031234567",
                                                 "prs_Gender": "Feminine"}, opened=date(2009, 1, 5))  # fmt: skip
    actions.add_comment(actor, case, f"Met {name} at the bus station")
    actions.close_case(actor, case, reason=f"{name} moved abroad", closed=closed)
    case.refresh_from_db()
    return case


def person_of(case: Case) -> Person:
    return Person.objects.get(participations__case=case)


def test_it_anonymises_closed_cases_past_the_policy_and_keeps_statistics(admin: User) -> None:
    old = closed_case(admin, "Oldname", date(2018, 6, 1))
    recent = closed_case(admin, "Newname", date(2024, 6, 1))
    ops.set_retention_policy(admin, admin.organisation, "anonymise", 5)
    summary = ops.run_retention(admin.organisation, admin, today=date(2026, 11, 29))
    assert (summary["due"], summary["done"]) == (1, 1)
    assert person_of(old).prs_FirstName is None  # key destroyed: unreadable
    assert not PersonIndex.objects.filter(person=person_of(old)).exists()
    assert not CaseComment.objects.filter(case=old).exists()
    old.refresh_from_db()
    assert not old.cas_ReasonForCaseClosure and old.cas_Status == "Closed"
    assert person_of(old).prs_Gender == "Feminine"  # what statistics need survives
    assert person_of(recent).prs_FirstName == "Newname"
    assert AuditEvent.objects.filter(action="case.anonymised", target_id=str(old.uid)).count() == 1
    assert ops.run_retention(admin.organisation, admin, today=date(2026, 11, 29))["due"] == 0  # idempotent


def test_it_never_purges_a_case_under_legal_hold(admin: User) -> None:
    case = closed_case(admin, "Heldname", date(2010, 1, 1))
    hold = ops.place_legal_hold(admin, case, "Prosecution pending")
    ops.set_retention_policy(admin, admin.organisation, "erase", 1)
    summary = ops.run_retention(admin.organisation, admin)
    assert (summary["due"], summary["held"], summary["done"]) == (0, 1, 0)
    with pytest.raises(ops.OnLegalHoldError):
        ops.erase_case(admin, case)
    assert person_of(case).prs_FirstName == "Heldname"
    ops.release_legal_hold(admin, hold)
    assert ops.run_retention(admin.organisation, admin)["done"] == 1
    assert not Case.objects.filter(pk=case.pk).exists()
    assert PurgeRecord.objects.get(case_id_at_purge=case.pk).action == "erase"


def test_it_keeps_a_person_who_is_also_in_a_case_still_kept(admin: User) -> None:
    old = closed_case(admin, "Shared", date(2012, 1, 1))
    person = person_of(old)
    actions.open_case(admin, person=person)
    ops.set_retention_policy(admin, admin.organisation, "anonymise", 5)
    ops.run_retention(admin.organisation, admin)
    person.refresh_from_db()
    assert person.prs_FirstName == "Shared"


def test_it_purges_from_the_command_line_with_a_dry_run_first(admin: User, capsys: Any) -> None:
    closed_case(admin, "Cmdname", date(2012, 1, 1))
    call_command("retention", "policy", "--org", "refuge", "--action", "anonymise", "--years", "3")
    call_command("retention", "run", "--org", "refuge", "--dry-run")
    assert '"due": 1' in capsys.readouterr().out
    assert not PurgeRecord.objects.exists()
    call_command("retention", "run", "--org", "refuge")
    assert PurgeRecord.objects.count() == 1
