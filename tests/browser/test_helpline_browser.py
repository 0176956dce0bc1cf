"""A helpline call end to end in Chromium on a phone-sized screen (contact recorded with the indicators ticked,
the caller looked up, a case opened from the contact), and the public report form submitted with JavaScript off
and found in triage. Screenshots go to artifacts/screenshots/helpline-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases.models import CaseParticipant
from phare.helplines.models import Contact, Outcome, ReportForm
from tests.browser.conftest import go, sign_in
from tests.test_cases_helpers import PASSWORD, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_it_takes_a_call_on_a_phone_and_opens_a_case(browser: Any, live_server: Any, shots: Path) -> None:
    org = make_org("hl-browser")
    operator = make_user(org, Role.HELPLINE, username="hl-operator")
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/helpline/new/")
    assert page.is_visible(".call-timer")  # the progressive enhancement runs
    page.select_option("select[name=caller_type]", "possible_victim")
    page.fill("input[name=caller_name]", "Adwoa Asante")
    page.fill("input[name=caller_phone]", "+233201112233")
    page.fill("textarea[name=summary]", "Her employer keeps her passport.")
    page.check("input[name=indicators][value=WithholdsDocuments]")
    page.select_option("select[name=risk]", "high")
    page.fill("textarea[name=callback_note]", "Text first; never call on Sundays.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.screenshot(path=str(shots / "helpline-call-phone.png"), full_page=True)
    go(page, "button[name=end]")
    contact = Contact.objects.get()
    assert f"/helpline/{contact.reference}/" in page.url and contact.indicators == ["WithholdsDocuments"]
    page.goto(f"{live_server.url}/helpline/lookup/")
    page.fill("input[name=q]", "+233 20 111 2233")
    go(page, "main form button[type=submit]")
    assert contact.reference in page.content()
    page.goto(f"{live_server.url}/helpline/{contact.reference}/")
    go(page, "text=Open a case from this contact")
    contact.refresh_from_db()
    assert contact.outcome == Outcome.CASE_OPENED and f"/cases/{contact.case.number}/" in page.url
    p = CaseParticipant.objects.select_related("person").get(case=contact.case)
    assert p.person.prs_FirstName == "Adwoa Asante" and p.vic_MethodsOfControl == ["WithholdsDocuments"]
    page.screenshot(path=str(shots / "helpline-case-opened-phone.png"), full_page=True)
    # The contacts and the services directory are tables of six columns: on a phone each row stacks its cells.
    for url in ("/helpline/", "/helpline/services/"):
        page.goto(f"{live_server.url}{url}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, url


def test_it_takes_a_public_report_without_javascript(browser: Any, live_server: Any, shots: Path) -> None:
    org = make_org("hl-public")
    ReportForm.objects.create(organisation=org, enabled=True)
    page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/report/{org.slug}/")
    # The honeypot stays out of a person's way: clipped out of sight, out of the tab order.
    assert page.eval_on_selector("input[name=website]", "e => e.closest('.hp').getBoundingClientRect().width <= 1"
                                 " && e.tabIndex < 0")  # fmt: skip
    # ...and out of the way in Arabic too: pushed 10000px to the left, it made the right-to-left page that wide.
    arabic = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="ar")
    arabic.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    rtl = arabic.new_page()
    rtl.goto(f"{live_server.url}/report/{org.slug}/")
    assert rtl.get_attribute("html", "dir") == "rtl"
    assert rtl.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    rtl.screenshot(path=str(shots / "helpline-report-ar-phone.png"), full_page=True)
    page.fill("textarea[name=what]", "Children selling on the bridge at night, an adult takes the money.")
    page.fill("input[name=region]", "Accra")
    go(page, "main button[type=submit]")
    contact = Contact.objects.get()
    assert contact.reference in page.content() and contact.outcome == Outcome.TRIAGE
    page.screenshot(path=str(shots / "helpline-report-sent-phone.png"), full_page=True)


def test_it_lets_the_admin_switch_the_form_on_with_a_question_of_their_own(browser: Any, live_server: Any,
                                                                          shots: Path) -> None:  # fmt: skip
    org = make_org("hl-settings")
    admin = make_user(org, Role.ADMIN, username="hl-admin")
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/helpline/settings/")
    page.check("input[name=enabled]")
    page.uncheck("input[name=ask_contact]")
    page.fill("textarea[name=questions]", "How many people did you see?")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    go(page, "main form button[type=submit]")
    assert ReportForm.objects.get(organisation=org).questions == ["How many people did you see?"]
    public = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    public.goto(f"{live_server.url}/report/{org.slug}/")
    assert public.locator("textarea[name=contact]").count() == 0 and public.locator("input[name=contact]").count() == 0
    public.fill("textarea[name=what]", "Men locked in a fishing boat at the harbour.")
    public.fill("textarea[name=q0]", "About eight")
    public.screenshot(path=str(shots / "helpline-report-own-question-phone.png"), full_page=True)
    go(public, "main button[type=submit]")
    contact = Contact.objects.get()
    assert contact.answers == "How many people did you see?\nAbout eight" and contact.anonymous
