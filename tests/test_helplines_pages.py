"""The call screen, without JavaScript: a contact saved in one click, a case opened from it carrying what was
recorded, a caller looked up by POST (the number never in a URL); only the line may use them."""

from __future__ import annotations

from typing import Any

import pytest

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases.models import CaseParticipant
from phare.helplines.models import Contact, Outcome
from tests.helpline_helpers import call
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db


@pytest.fixture
def a() -> dict[str, Any]:
    return team("hlp-a")


def test_it_takes_a_call_in_one_click_and_opens_a_case_from_it(a: dict[str, Any]) -> None:
    c = client(a[Role.HELPLINE])
    page = c.get("/helpline/new/")
    assert page.status_code == 200 and b"Save and end" in page.content and b'type="checkbox"' in page.content
    r = c.post("/helpline/new/", {"channel": "call", "direction": "inbound", "caller_type": "possible_victim",
                                  "caller_name": "Kofi Boateng", "caller_phone": "+233201234567", "reason": "help",
                                  "summary": "Locked in at night.", "indicators": ["PhysicalThreats", "DebtBondage"],
                                  "risk": "high", "outcome": "triage", "follow_up": "on",
                                  "callback_note": "After 8pm only", "end": "1"})  # fmt: skip
    contact = Contact.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/helpline/{contact.reference}/"
    assert contact.ended_at is not None and contact.follow_up and contact.callback_note == "After 8pm only"
    r = c.post(f"/helpline/{contact.reference}/open-case/")
    contact.refresh_from_db()
    assert contact.outcome == Outcome.CASE_OPENED and r["Location"] == f"/cases/{contact.case.number}/"
    p = CaseParticipant.objects.select_related("person").get(case=contact.case)
    assert p.person.prs_FirstName == "Kofi Boateng" and p.vic_MethodsOfControl == ["PhysicalThreats", "DebtBondage"]
    assert c.get(f"/cases/{contact.case.number}/").status_code == 200  # the operator owns the case they opened


def test_it_updates_a_contact_from_its_screen(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE])
    c = client(a[Role.HELPLINE])
    assert c.get(f"/helpline/{contact.reference}/").status_code == 200
    r = c.post(f"/helpline/{contact.reference}/", {"channel": "call", "direction": "inbound",
                                                   "caller_type": "possible_victim", "caller_name": "Efua Mensah",
                                                   "caller_phone": contact.caller_phone, "reason": "report",
                                                   "summary": contact.summary, "indicators": ["WithholdsDocuments"],
                                                   "risk": "medium", "outcome": "information"})  # fmt: skip
    assert r.status_code == 302
    contact.refresh_from_db()
    assert (contact.risk, contact.outcome) == ("medium", "information")
    assert AuditEvent.objects.filter(action="contact.update", detail__fields=["outcome", "risk"]).exists()


def test_it_looks_a_caller_up_by_post_only(a: dict[str, Any]) -> None:
    contact = call(a[Role.HELPLINE])
    c = client(a[Role.HELPLINE])
    page = c.post("/helpline/lookup/", {"q": "+447700900123"})
    assert contact.reference.encode() in page.content
    assert c.get("/helpline/lookup/?q=%2B447700900123").content.count(contact.reference.encode()) == 0


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.ANALYST, Role.AUDITOR])
def test_it_keeps_other_roles_off_the_line(a: dict[str, Any], role: str) -> None:
    contact = call(a[Role.HELPLINE])
    c = client(a[role])
    for url in ("/helpline/", "/helpline/new/", "/helpline/lookup/"):
        assert c.get(url).status_code == 403, url
    assert c.get(f"/helpline/{contact.reference}/").status_code == 404
    assert c.post(f"/helpline/{contact.reference}/open-case/").status_code in (403, 404)


def test_it_shows_when_a_contact_started_as_a_reader_reads_a_day(a: dict[str, Any]) -> None:
    from datetime import datetime

    from django.utils import timezone

    op = a[Role.HELPLINE]
    contact = call(op, started_at=datetime(2026, 3, 4, 9, 5, tzinfo=timezone.get_current_timezone()))
    pages = [client(op).get(url).content.decode() for url in ("/helpline/", f"/helpline/{contact.reference}/")]
    for html in pages:
        # The month in words, never "03/04/2026" (the 3rd of April to half the readers); ISO kept for machines.
        assert "March 4, 2026" in html and 'datetime="2026-03-04T09:05' in html and "03/04/2026" not in html
    op.language = "fr"
    op.save(update_fields=["language"])
    assert "4 mars 2026" in client(op).get("/helpline/").content.decode()
