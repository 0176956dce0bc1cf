"""The public report form's settings page: the organisation admin switches the form on (it is off by default)
and chooses what it asks, its own questions included; every change is audited; weaker roles are refused, and
with the guard switched off (the negative control) a supervisor could have changed it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.helplines import actions
from phare.helplines.models import Contact, ReportForm
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db
URL = "/helpline/settings/"
ON = {"enabled": "on", "intro": "We answer within a day.", "ask_region": "on", "ask_contact": "",
      "ask_language": "", "questions": "How many people are there?\n\nIs anyone under 18?\n"}  # fmt: skip


@pytest.fixture
def a() -> dict[str, Any]:
    return team("set-a")


def test_it_keeps_the_form_off_until_the_admin_switches_it_on(a: dict[str, Any]) -> None:
    public = f"/report/{a['org'].slug}/"
    assert Client().get(public).status_code == 404  # off by default: no settings row at all
    admin = client(a[Role.ADMIN])
    page = admin.get(URL)
    assert page.status_code == 200 and public.encode() in page.content
    assert b'name="enabled" id="id_enabled" checked' not in page.content
    r = admin.post(URL, ON)
    assert r.status_code == 302, r.content
    setting = ReportForm.objects.get(organisation=a["org"])
    assert setting.enabled and setting.questions == ["How many people are there?", "Is anyone under 18?"]
    assert (setting.ask_region, setting.ask_language, setting.ask_contact) == (True, False, False)
    event = AuditEvent.objects.get(action="contact.report_form_changed")
    assert event.actor_id == a[Role.ADMIN].pk and event.detail["enabled"] is True
    assert "questions" in event.detail["fields"] and "18" not in str(event.detail)
    form = Client().get(public)
    assert (
        form.status_code == 200
        and b"Is anyone under 18?" in form.content
        and b"We answer within a day." in form.content
    )
    assert b'id="id_contact"' not in form.content and b'id="id_language"' not in form.content
    assert b'id="id_region"' in form.content


def test_it_lands_the_answers_with_the_report_and_only_what_was_asked(a: dict[str, Any]) -> None:
    client(a[Role.ADMIN]).post(URL, ON)
    r = Client().post(f"/report/{a['org'].slug}/", {"what": "A van comes at night.", "region": "Tema",
                                                     "q0": "About twelve", "q1": "", "contact": "+233201234567",
                                                     "language": "fra"})  # fmt: skip
    assert r.status_code == 200
    contact = Contact.objects.get()
    assert contact.answers == "How many people are there?\nAbout twelve"
    assert contact.region == "Tema" and contact.language == ""
    assert contact.anonymous and not contact.callback_note  # the form did not ask how to reach them
    operator = client(a[Role.HELPLINE]).get(f"/helpline/{contact.reference}/")
    assert b"About twelve" in operator.content


def test_it_switches_the_form_off_again(a: dict[str, Any]) -> None:
    admin = client(a[Role.ADMIN])
    admin.post(URL, ON)
    admin.post(URL, {**ON, "enabled": ""})
    assert Client().get(f"/report/{a['org'].slug}/").status_code == 404
    assert AuditEvent.objects.filter(action="contact.report_form_changed", detail__enabled=False).exists()


def test_it_names_what_is_wrong_with_the_questions(a: dict[str, Any]) -> None:
    admin = client(a[Role.ADMIN])
    r = admin.post(URL, {**ON, "questions": "\n".join(f"Question {i}?" for i in range(7))})
    assert r.status_code == 200 and b"At most 5 questions." in r.content
    r = admin.post(URL, {**ON, "questions": "x" * 201})
    assert r.status_code == 200 and b"at most 200 characters" in r.content
    assert not ReportForm.objects.exists()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.HELPLINE, Role.CASE_WORKER, Role.ANALYST, Role.AUDITOR])
def test_it_refuses_every_role_but_the_admin(a: dict[str, Any], role: str) -> None:
    c = client(a[role])
    assert c.get(URL).status_code == 403
    assert c.post(URL, ON).status_code == 403
    with pytest.raises(PermissionDenied):
        actions.configure_report_form(a[role], {"enabled": True})
    assert (
        not ReportForm.objects.exists() and not AuditEvent.objects.filter(action="contact.report_form_changed").exists()
    )


def test_it_would_let_a_supervisor_switch_it_on_without_the_guard(a: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Negative control: the refusal above comes from the admin-only guard of the verb."""
    monkeypatch.setattr(actions, "can", lambda user, perm: True)
    actions.configure_report_form(a[Role.SUPERVISOR], {"enabled": True})
    assert ReportForm.objects.get(organisation=a["org"]).enabled
