"""The public report form: off unless switched on (and then alike with an unknown organisation), no account and
no JavaScript, a reference for the reporter and nothing confirmed about anyone; a honeypot, size limits, and
rate limits per address and per form; every report lands as a contact awaiting triage."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from phare.accounts.models import Role
from phare.helplines import public
from phare.helplines.models import Contact, Outcome, ReportAttempt, ReportForm
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db
REPORT = {"what": "Workers sleep in the factory and cannot leave.", "region": "Lagos", "language": "", "contact": ""}


@pytest.fixture
def a() -> dict[str, Any]:
    people = team("rep-a")
    ReportForm.objects.create(organisation=people["org"], enabled=True)
    return people


def _url(people: dict[str, Any]) -> str:
    return f"/report/{people['org'].slug}/"


def test_it_takes_a_report_without_an_account_and_lands_it_in_triage(a: dict[str, Any]) -> None:
    c = Client(enforce_csrf_checks=True)
    page = c.get(_url(a))
    assert page.status_code == 200 and b"<script" not in page.content
    token = page.cookies["csrftoken"].value
    r = c.post(_url(a), {**REPORT, "csrfmiddlewaretoken": token}, REMOTE_ADDR="203.0.113.9")
    contact = Contact.objects.get()
    assert r.status_code == 200 and contact.reference.encode() in r.content
    assert (contact.channel, contact.outcome, contact.anonymous) == ("web", Outcome.TRIAGE, True)
    assert "203.0.113.9" not in str(list(ReportAttempt.objects.values())) + str(contact.__dict__)
    listing = client(a[Role.HELPLINE]).get("/helpline/")
    assert contact.reference.encode() in listing.content


def test_it_answers_alike_for_a_form_that_is_off_and_an_unknown_organisation(a: dict[str, Any]) -> None:
    other = team("rep-b")  # no ReportForm row: off by default
    ReportForm.objects.filter(organisation=a["org"]).update(enabled=False)
    for url in (_url(a), _url(other), "/report/no-such-org/"):
        assert Client().get(url).status_code == 404
        assert Client().post(url, REPORT).status_code == 404
    assert not Contact.objects.exists()


def test_it_stores_nothing_from_the_honeypot_yet_looks_the_same(a: dict[str, Any]) -> None:
    r = Client().post(_url(a), {**REPORT, "website": "http://spam.example"})
    assert r.status_code == 200 and b"Your reference" in r.content
    assert not Contact.objects.exists()


def test_it_refuses_an_oversized_report(a: dict[str, Any]) -> None:
    r = Client().post(_url(a), {**REPORT, "what": "x" * 5000})
    assert r.status_code == 400 and not Contact.objects.exists()


def test_it_limits_reports_per_address_and_per_form(a: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    c = Client()
    for _i in range(public.PER_ADDRESS):
        assert c.post(_url(a), REPORT, REMOTE_ADDR="198.51.100.1").status_code == 200
    assert c.post(_url(a), REPORT, REMOTE_ADDR="198.51.100.1").status_code == 429
    assert c.post(_url(a), REPORT, REMOTE_ADDR="198.51.100.2").status_code == 200  # another address is not held
    assert Contact.objects.count() == public.PER_ADDRESS + 1
    monkeypatch.setattr(public, "PER_FORM", public.PER_ADDRESS + 1)
    assert c.post(_url(a), REPORT, REMOTE_ADDR="198.51.100.3").status_code == 429  # the form's own budget
    assert Contact.objects.count() == public.PER_ADDRESS + 1
