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
