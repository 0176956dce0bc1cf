"""Reads of case and person pages are audited, in the request's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from phare.audit.models import AuditEvent
from phare.cases import actions


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
    assert b"Ama" not in response.content


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_it_records_reads_by_roles_without_names_too(role: str, org: Any, make_user: Callable[..., Any],
                                                     client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    owner = make_user("supervisor", org)
    case = actions.open_case(owner, person_data={"prs_FirstName": "Ama"})
    response = client_for(make_user(role, org)).get(f"/cases/{case.number}/")
    if response.status_code == 200:
        event = AuditEvent.objects.get(action="case.viewed")
        assert event.detail["names_shown"] is False and event.detail["persons"] == []
    else:
        assert response.status_code in (403, 404)
