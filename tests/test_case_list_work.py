"""The case list for the case worker's day: their open cases first, quick filters, sorting, the next due date,
the number of pages, and a filter that could not be applied said so."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.work.actions import approvals
from phare.work.actions import tasks as task_actions
from phare.work.models import Gated, WorkSettings
from tests.page_helpers import shown
from tests.work_helpers import client, team, yesterday

pytestmark = pytest.mark.django_db


def test_it_starts_a_case_worker_on_their_open_cases_with_next_due_dates() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    task_actions.create_task(worker, case, title="x", assignee=worker, due=yesterday())
    html = client(worker).get("/cases/").content.decode()
    assert case.number in html and f'<time datetime="{yesterday().isoformat()}">' in html and "Overdue" in html
    assert 'aria-current="page">My open' in html and "Page 1 of 1" in html


def test_it_filters_overdue_and_waiting_for_approval_among_visible_cases_only() -> None:
    t = team()
    worker, boss, case, other = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"], t["other_case"]
    task_actions.create_task(boss, other, title="x", assignee=t["colleague"], due=yesterday())
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


def test_it_says_a_search_matches_a_case_the_user_cannot_open_and_offers_to_ask_never_who() -> None:
    from phare.cases.models import AccessRequest, Case

    t = team()
    worker, boss, other = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["other_case"]
    Case.objects.filter(pk=other.pk).update(restricted=True)
    cl = client(worker)
    html = cl.get("/cases/?q=Secretive&status=").content.decode()
    assert "A possible match exists among records you cannot open." in html
    assert other.number not in html and "Person</" not in html and "Owusu" not in shown(html)
    link = html.split('href="/cases/access/match/', 1)[1].split('"', 1)[0]
    # Nothing withheld for a search that only finds what the worker may open, nor for the supervisor.
    assert "records you cannot open" not in cl.get("/cases/?q=Owusu&status=").content.decode()
    assert "records you cannot open" not in client(boss).get("/cases/?q=Secretive&status=").content.decode()
    page = cl.get(f"/cases/access/match/{link}".replace("&amp;", "&"))
    assert page.status_code == 200 and "Secretive" not in page.content.decode()
    r = cl.post(f"/cases/access/match/{link}".replace("&amp;", "&"), {"do": "ask", "note": "same caller"})
    assert r.status_code == 302 and r["Location"] == "/cases/"
    assert AccessRequest.objects.get().person.prs_FirstName == "Secretive"


def test_it_tells_an_analyst_a_number_matches_a_restricted_case_without_a_link() -> None:
    from phare.cases.models import Case

    t = team()
    Case.objects.filter(pk=t["case"].pk).update(restricted=True)
    html = client(t[Role.ANALYST]).get(f"/cases/?q={t['case'].number}").content.decode()
    assert "A possible match exists among records you cannot open." in html and "/cases/access/match/" not in html


def test_it_shows_the_same_next_due_date_on_the_case_as_in_the_list() -> None:
    """The case page's "Next due" is the list's: the earliest of an open task's due date and the follow-up date
    (it showed the follow-up date only, "—" for a case whose next step was a task), overdue said in words."""
    from datetime import timedelta

    from tests.work_helpers import today

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    soon = today() + timedelta(days=3)
    task_actions.create_task(worker, case, title="Ring the clinic", assignee=worker, due=soon)
    c = client(worker)
    page = c.get(f"/cases/{case.number}/").content.decode()
    listed = c.get("/cases/").content.decode()
    shown = f'<time datetime="{soon.isoformat()}">'
    head = page.split('class="facts"')[1].split("</dl>")[0]
    assert shown in head.split("Next due")[1].split("</div>")[0]
    assert shown in listed
    task_actions.create_task(worker, case, title="Send the form", assignee=worker, due=yesterday())
    head = c.get(f"/cases/{case.number}/").content.decode().split('class="facts"')[1].split("</dl>")[0]
    assert "Overdue" in head.split("Next due")[1].split("</div>")[0]


def test_it_gives_an_active_case_a_follow_up_date_without_moving_it() -> None:
    """Issue 18: any open case can have a follow-up date, not only by moving it to Follow Up. The date alone is
    set (audited, on the timeline); the case stays Active and the date is due on its owner's home."""
    from datetime import timedelta

    from phare.audit.models import AuditEvent
    from phare.cases.models import CaseEvent, CaseStatus
    from tests.work_helpers import case_of, today

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    c = client(worker)
    soon = today() + timedelta(days=2)
    r = c.post(f"/cases/{case.number}/follow-up/", {"follow_up_date": soon.isoformat(), "keep_status": "on"})
    assert r.status_code == 302
    case = case_of(t)
    assert case.cas_Status == CaseStatus.ACTIVE and case.follow_up_date == soon
    assert AuditEvent.objects.filter(action="case.follow_up", target_id=str(case.uid)).exists()
    assert CaseEvent.objects.filter(case=case, kind="changed", detail__fields=["follow_up_date"]).exists()
    assert f'<time datetime="{soon.isoformat()}">' in c.get("/").content.decode()
    # without the box, the case moves to Follow Up as before
    c.post(f"/cases/{case.number}/follow-up/", {"follow_up_date": soon.isoformat()})
    assert case_of(t).cas_Status == CaseStatus.FOLLOW_UP
