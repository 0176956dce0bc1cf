"""Factories shared by the case tests (plain functions, no tests here)."""

from __future__ import annotations

from datetime import date
from typing import Any

from phare.accounts.models import Organisation, Role, User
from phare.cases import actions
from phare.cases.models import Case

PASSWORD = "correct horse battery staple"


def make_org(slug: str = "alpha") -> Organisation:
    return Organisation.objects.create(slug=slug, org_Name=slug.title() + " Shelter")


def make_user(org: Organisation, role: str = Role.CASE_WORKER, username: str | None = None) -> User:
    username = username or f"{org.slug}-{role}"
    return User.objects.create_user(username=username, password=PASSWORD, organisation=org, role=role)


def make_case(actor: User, first: str = "Amaka", second: str = "Obi", **kw: Any) -> Case:
    person = {"prs_FirstName": first, "prs_SecondName": second, "prs_Gender": "Feminine",
              "prs_Birthdate": date(1999, 4, 2), **kw.pop("person", {})}  # fmt: skip
    context = {"vic_TypeOfExploitation": ["ForcedLabour"], "vic_TraffickingStatus": "PossibleVictimOfTrafficking",
               **kw.pop("context", {})}  # fmt: skip
    return actions.open_case(actor, person_data=person, context=context, **kw)
