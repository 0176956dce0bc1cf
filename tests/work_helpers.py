"""Factories for the work tests (plain functions, no tests here)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from phare.accounts.models import Organisation, Role, User
from phare.cases.models import Case
from tests.test_cases_helpers import make_case, make_org, make_user


def today() -> date:
    """Read at each use, never at import: the suite may run past midnight."""
    return timezone.localdate()


def yesterday() -> date:
    return today() - timedelta(days=1)


def client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def team(slug: str = "alpha") -> dict[str, Any]:
    """An organisation with one user of each role, and two case workers' cases."""
    org: Organisation = make_org(slug)
    people: dict[str, Any] = {"org": org}
    for role in Role.values:
        people[role] = make_user(org, role)
    people["colleague"] = make_user(org, Role.CASE_WORKER, username=f"{slug}-colleague")
    people["case"] = make_case(people[Role.CASE_WORKER], first="Ama", second="Owusu")
    people["other_case"] = make_case(people["colleague"], first="Secretive", second="Person")
    return people


def case_of(people: dict[str, Any], key: str = "case") -> Case:
    c: Case = people[key]
    c.refresh_from_db()
    return c
