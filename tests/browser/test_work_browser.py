"""Each role's day in Chromium, at desktop and phone width: the case worker's home and tasks, a close that waits
for the supervisor's approval, the supervisor's queue, the bell; the other roles' homes. Screenshots go to
artifacts/screenshots/work-*.png."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases import actions as case_actions
from phare.cases.models import Case
from phare.work.actions import tasks as task_actions
from phare.work.models import WorkSettings
from tests.browser.conftest import enrol_authenticator, go, sign_in
from tests.test_cases_helpers import PASSWORD, make_case, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


PAGES: dict[str, Any] = {}


def _page(browser: Any, base: str, username: str, viewport: dict[str, int]) -> Any:
    """One signed-in page per user for the whole day (a second sign-in within the same 30 seconds would replay
    the authenticator's code, which Phare refuses)."""
    if username not in PAGES:
        PAGES[username] = browser.new_context(viewport=DESKTOP).new_page()
        sign_in(PAGES[username], base, username, PASSWORD)
    page = PAGES[username]
    page.set_viewport_size(viewport)
    return page


def _home_shots(browser: Any, base: str, username: str, name: str, shots: Path) -> str:
    html = ""
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = _page(browser, base, username, viewport)
        page.goto(f"{base}/")
        page.screenshot(path=str(shots / f"work-home-{name}-{label}.png"), full_page=True)
        html = page.content()
        if label == "phone":  # nothing wider than the phone's screen
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    return html


def test_it_runs_each_roles_day(live_server: Any, browser: Any, shots: Path) -> None:
    PAGES.clear()
    org = make_org("harbour")
    users = {role: make_user(org, role, f"h-{role}") for role in Role.values}
    for u in users.values():
        enrol_authenticator(u)
    worker, boss = users[Role.CASE_WORKER], users[Role.SUPERVISOR]
    WorkSettings.objects.create(organisation=org, approve_close=True)
    case = make_case(worker, first="Ozari", second="Tembuli")
    other = make_case(worker, first="Lina", second="Moss")
    case_actions.set_follow_up(worker, other, date.today() - timedelta(days=2))
    task_actions.create_task(boss, other, title="Ring the shelter about a bed", assignee=worker,
                             due=date.today() - timedelta(days=1))  # fmt: skip
    base = live_server.url

    # The case worker's morning: home, then a task on a case, done from the task list.
    html = _home_shots(browser, base, worker.username, "case-worker", shots)
    assert "Ring the shelter about a bed" in html and "Overdue" in html and "Ozari Tembuli" in html
    page = _page(browser, base, worker.username, DESKTOP)
    page.goto(f"{base}/cases/{case.number}/")
    go(page, "text=+ Task")
    page.fill("#id_title", "Book the interpreter")
    page.fill("#id_due", date.today().isoformat())
    go(page, "main form button[type=submit]")
    assert "Book the interpreter" in page.content()
    page.goto(f"{base}/work/tasks/")
    page.screenshot(path=str(shots / "work-tasks-desktop.png"), full_page=True)
    go(page, page.locator("li", has_text="Book the interpreter").locator("button", has_text="Mark done"))
    assert "Book the interpreter" not in page.content()
    # Closing waits for the supervisor.
    page.goto(f"{base}/work/cases/{case.number}/ask/close/")
    page.fill("#id_reason", "Back with her family, safe")
    go(page, "main form button[type=submit]")
    assert "Nothing happens until it is approved" in page.content()
    assert Case.objects.get(pk=case.pk).cas_Status == "Active"

    # The supervisor: the team's overdue work and the queue; approves.
    html = _home_shots(browser, base, boss.username, "supervisor", shots)
    assert worker.username in html and "Closing a case" in html
    page = _page(browser, base, boss.username, PHONE)
    page.goto(f"{base}/work/approvals/")
    go(page, "text=Closing a case")
    page.screenshot(path=str(shots / "work-approval-phone.png"), full_page=True)
    go(page, "button:has-text('Approve')")
    assert Case.objects.get(pk=case.pk).cas_Status == "Closed"

    # Back to the case worker: the bell says so.
    page = _page(browser, base, worker.username, PHONE)
    assert "(1)" in page.locator("a.bell").inner_text() or "(2)" in page.locator("a.bell").inner_text()
    go(page, "a.bell")
    assert "Your request was approved" in page.content()
    page.screenshot(path=str(shots / "work-notifications-phone.png"), full_page=True)

    # The other roles' homes.
    assert "Hand-overs waiting for me" in _home_shots(browser, base, users[Role.HELPLINE].username, "helpline", shots)
    analyst = _home_shots(browser, base, users[Role.ANALYST].username, "analyst", shots)
    assert "Dashboards and releases" in analyst and "Ozari" not in analyst
    auditor = _home_shots(browser, base, users[Role.AUDITOR].username, "auditor", shots)
    assert "Recent sensitive events" in auditor and "Ozari" not in auditor
    assert "Approvals and hand-overs" in _home_shots(browser, base, users[Role.ADMIN].username, "admin", shots)


def _both_widths(page: Any, name: str, shots: Path) -> str:
    """The page as it stands, shot at desktop and phone width; nothing wider than the phone's screen."""
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(shots / f"work-{name}-{label}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, name
    html: str = page.content()
    page.set_viewport_size(DESKTOP)
    return html


def test_it_runs_the_hand_over_and_each_other_roles_day(live_server: Any, browser: Any, shots: Path) -> None:
    """Beyond their homes: the admin asks for hand-overs to wait for the receiver; the case worker flags a case,
    finds it with a quick filter and hands it over; the helpline operator accepts it from their home and works
    it; the supervisor reviews a break-glass grant from theirs; the analyst opens the dashboards and the auditor
    the audit log from theirs, neither ever seeing a name."""
    from phare.accounts import breakglass
    from phare.cases.models import CaseAssignment

    PAGES.clear()
    org = make_org("quay")
    users = {role: make_user(org, role, f"q-{role}") for role in Role.values}
    for u in users.values():
        enrol_authenticator(u)
    worker, helpline, boss = users[Role.CASE_WORKER], users[Role.HELPLINE], users[Role.SUPERVISOR]
    case = make_case(worker, first="Ozari", second="Tembuli")
    late = make_case(worker, first="Lina", second="Moss")
    case_actions.set_follow_up(worker, late, date.today() - timedelta(days=2))
    emergency = make_case(boss, first="Nadia", second="Rahimi")
    base = live_server.url

    # The admin: from home to the work settings; hand-overs now wait for their receiver.
    page = _page(browser, base, users[Role.ADMIN].username, DESKTOP)
    page.goto(f"{base}/")
    go(page, "text=Approvals and hand-overs")
    page.check("#id_handover_acceptance")
    go(page, "main form button[type=submit]")
    assert "Settings saved." in _both_widths(page, "admin-settings", shots)
    assert WorkSettings.objects.get(organisation=org).handover_acceptance
    page.goto(f"{base}/")
    go(page, "text=Manage users")
    assert helpline.username in _both_widths(page, "admin-users", shots)

    # The case worker: flags the case, finds the late one with a quick filter, hands the first over.
    page = _page(browser, base, worker.username, DESKTOP)
    page.goto(f"{base}/cases/{case.number}/")
    page.click("text=Flag the case")
    page.select_option("#flag-kind", label="Safety risk")
    page.fill("#flag-reason", "Recruiter seen near the shelter")
    go(page, "button:has-text('Set the flag')")
    assert "Recruiter seen near the shelter" in page.content()
    page.goto(f"{base}/cases/")
    go(page, "a:has-text('Overdue')")
    listed = _both_widths(page, "case-list-overdue", shots)
    assert late.number in listed and case.number not in listed
    page.goto(f"{base}/cases/")
    assert "Safety risk" in page.content()  # the flag shows in the list
    page.goto(f"{base}/cases/{case.number}/")
    go(page, "text=Hand over or share")
    page.select_option("#id_h-to_user", str(helpline.pk))
    page.fill("#id_h-reason", "She asked for a worker who speaks Tigrinya")
    go(page, "button:has-text('Hand over')")
    assert "it waits for the receiver" in _both_widths(page, "handover-sent", shots)

    # The helpline operator: the offer is on their home (the number, never the name); they accept and work it.
    page = _page(browser, base, helpline.username, DESKTOP)
    page.goto(f"{base}/")
    home = page.content()
    assert case.number in home and "Ozari" not in home
    go(page, f"#handovers-in a:has-text('{case.number}')")
    offer = _both_widths(page, "handover-offer", shots)
    assert "speaks Tigrinya" in offer and "Ozari" not in offer
    go(page, "button:has-text('Accept the case')")
    assert "Ozari Tembuli" in page.content() and Case.objects.get(pk=case.pk).cas_CaseOwner_id == helpline.pk
    go(page, "text=+ Task")
    page.fill("#id_title", "Call her back about the interpreter")
    page.fill("#id_due", date.today().isoformat())
    go(page, "main form button[type=submit]")
    assert "Call her back about the interpreter" in _both_widths(page, "helpline-case", shots)

    # An emergency opens the supervisor's case to the case worker; the supervisor reviews it from home.
    breakglass.grant(worker, emergency, "Police called: she is at risk tonight", 1)
    assert not CaseAssignment.objects.filter(case=emergency).exists()
    page = _page(browser, base, boss.username, DESKTOP)
    page.goto(f"{base}/")
    go(page, "#grants a:has-text('Review them')")
    review = _both_widths(page, "break-glass-review", shots)
    assert emergency.number in review and "at risk tonight" in review
    go(page, "button:has-text('Mark reviewed')")
    assert "Nothing to review." in page.content()

    # The analyst and the auditor: their homes lead to their work, never to a name.
    page = _page(browser, base, users[Role.ANALYST].username, DESKTOP)
    page.goto(f"{base}/")
    go(page, "#analysis a:has-text('Dashboards')")
    dash = _both_widths(page, "analyst-dashboards", shots)
    assert "Ozari" not in dash and "Nadia" not in dash
    page = _page(browser, base, users[Role.AUDITOR].username, DESKTOP)
    page.goto(f"{base}/")
    assert worker.username in page.locator("#sensitive").inner_text()  # the emergency access, on their home
    go(page, "#sensitive a:has-text('Audit log')")
    log = _both_widths(page, "auditor-log", shots)
    assert "Ozari" not in log and "Nadia" not in log
