"""The case list for the case worker's day: their open cases first, quick filters, sorting, the next due date,
the number of pages, and a filter that could not be applied said so."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.work.actions import approvals
from phare.work.actions import tasks as task_actions
from phare.work.models import Gated, WorkSettings
from tests.work_helpers import YESTERDAY, client, team

pytestmark = pytest.mark.django_db


def test_it_starts_a_case_worker_on_their_open_cases_with_next_due_dates() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    task_actions.create_task(worker, case, title="x", assignee=worker, due=YESTERDAY)
    html = client(worker).get("/cases/").content.decode()
    assert case.number in html and f'<time datetime="{YESTERDAY.isoformat()}">' in html and "Overdue" in html
    assert 'aria-current="page">My open' in html and "Page 1 of 1" in html


def test_it_filters_overdue_and_waiting_for_approval_among_visible_cases_only() -> None:
    t = team()
    worker, boss, case, other = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"], t["other_case"]
    task_actions.create_task(boss, other, title="x", assignee=t["colleague"], due=YESTERDAY)
    assert other.number in client(boss).get("/cases/?attention=overdue").content.decode()
    assert case.number not in client(boss).get("/cases/?attention=overdue").content.decode()
    # the worker cannot open the colleague's case: the overdue filter does not bring it in
    assert other.number not in client(worker).get("/cases/?attention=overdue").content.decode()
    WorkSettings.objects.create(organisation=t["org"], approve_close=True)
    approvals.request_approval(worker, case, Gated.CLOSE, {"status": "Closed", "reason": "x"})
    html = client(boss).get("/cases/?attention=approval").content.decode()
    assert case.number in html and other.number not in html


def test_it_sorts_and_says_when_a_filter_was_not_applied() -> None:
    t = team()
    boss = t[Role.SUPERVISOR]
    html = client(boss).get("/cases/?sort=number").content.decode()
    assert html.index(t["case"].number) < html.index(t["other_case"].number)
    html = client(boss).get("/cases/?sort=-number").content.decode()
    assert html.index(t["other_case"].number) < html.index(t["case"].number)
    html = client(boss).get("/cases/?opened_from=not-a-date").content.decode()
    assert "was not applied" in html
