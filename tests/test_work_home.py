"""Home, per role: each sees their day's lists with counts and links; overdue is said in words; nothing about
a case its reader may not open."""

from __future__ import annotations

from datetime import timedelta

import pytest

from phare.accounts.models import Role
from phare.cases import actions as case_actions
from phare.work.actions import tasks as task_actions
from tests.page_helpers import shown
from tests.test_cases_helpers import make_case
from tests.work_helpers import client, team, today, yesterday

pytestmark = pytest.mark.django_db


def test_it_shows_a_case_worker_their_cases_and_what_is_due_with_counts(django_assert_max_num_queries: object) -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    task_actions.create_task(worker, case, title="Call the lawyer", assignee=worker, due=yesterday())
    case_actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_StartDate": today() - timedelta(days=30),
                                                 "spl_PlannedEndDate": today() + timedelta(days=3)})  # fmt: skip
    follow = case_actions.open_case(worker, person_data={"prs_FirstName": "Later"}, role="Victim", context={})
    case_actions.set_follow_up(worker, follow, today())
    # signing the test client in (16), the page's lists and their counts (17), the open cases' people and their
    # keys (2), the bell, the audit event of the read (on PostgreSQL its lock, and the tenant set and reset), a
    # fresh process's keys: bounded, not per case (tests/test_page_queries.py holds that)
    with django_assert_max_num_queries(54):  # type: ignore[operator]
        html = client(worker).get("/").content.decode()
    assert "Call the lawyer" in html and "Overdue" in html and "1 overdue" in html
    assert "Support plan ends" in html and "Follow-up" in html
    assert case.number in html and "Ama Owusu" in html and follow.number in html
    assert 'href="/cases/?owner=me&amp;status=open"' in html and 'href="/work/tasks/"' in html
    # a colleague's case is not on this home page
    assert t["other_case"].number not in html and "Secretive" not in html


def test_it_shows_a_supervisor_the_teams_overdue_work_approvals_and_grants() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    task_actions.create_task(worker, case, title="Late thing", assignee=worker, due=yesterday())
    html = client(t[Role.SUPERVISOR]).get("/").content.decode()
    for section in ('id="team"', 'id="approvals"', 'id="handovers"', 'id="grants"'):
        assert section in html, section
    assert worker.username in html
    assert "/work/approvals/" in html and "/accounts/break-glass/review/" in html


def test_it_counts_each_workers_overdue_work_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.core import lists

    t = team()
    worker, case, supervisor = t[Role.CASE_WORKER], t["case"], t[Role.SUPERVISOR]
    for n in range(3):
        task_actions.create_task(worker, case, title=f"Late {n}", assignee=worker, due=yesterday() - timedelta(days=n))
    task_actions.create_task(worker, case, title="Not late", assignee=worker, due=today())
    case_actions.set_follow_up(worker, case, yesterday())
    done = task_actions.create_task(supervisor, case, title="Done", assignee=supervisor, due=yesterday())
    task_actions.complete_task(supervisor, done)
    html = client(supervisor).get("/").content.decode()
    row = f'<tr><td>{worker.username}</td><td class="num">3</td><td class="num">1</td></tr>'
    assert row in html and f"<td>{supervisor.username}</td>" not in html  # (their only task is done)
    monkeypatch.setattr(lists, "COUNT_CAP", 2)
    html = client(supervisor).get("/").content.decode()
    assert f'<tr><td>{worker.username}</td><td class="num">2+</td><td class="num">1</td></tr>' in html
    # The count itself stops one past the cap: the worker's four tasks are not all read.
    from django.contrib.auth import get_user_model
    from django.db.models import OuterRef

    from phare.work.models import Task

    counted = get_user_model().objects.filter(pk=worker.pk).annotate(
        n=lists.CappedCount(Task.objects.filter(assignee=OuterRef("pk")))).values_list("n", flat=True)  # fmt: skip
    assert list(counted) == [3]


def test_it_shows_analysts_auditors_and_admins_their_own_starting_points() -> None:
    t = team()
    task_actions.create_task(t[Role.CASE_WORKER], t["case"], title="MARKER", assignee=t[Role.CASE_WORKER], due=today())
    analyst = client(t[Role.ANALYST]).get("/").content.decode()
    assert "/dashboards/" in analyst and "/sharing/" in analyst and 'id="due"' not in analyst
    auditor = client(t[Role.AUDITOR]).get("/").content.decode()
    assert 'id="sensitive"' in auditor and "/accounts/audit/" in auditor
    admin = client(t[Role.ADMIN]).get("/").content.decode()
    assert 'id="users"' in admin and "/accounts/security/" in admin and "/work/settings/" in admin
    for html in (analyst, auditor):
        assert "MARKER" not in shown(html) and "Ama" not in shown(html)


def test_it_tells_an_auditor_the_sensitive_events_in_words() -> None:
    from django.db import transaction

    from phare.audit.log import record

    t = team()
    admin, worker = t[Role.ADMIN], t[Role.CASE_WORKER]
    admin.first_name, admin.last_name = "Amina", "Diallo"
    admin.save(update_fields=["first_name", "last_name"])
    with transaction.atomic():
        record("user.permissions_changed", actor=admin, target=worker,
               detail={"before": {"role": "helpline"}, "after": {"role": "case_worker"}})  # fmt: skip
    html = client(t[Role.AUDITOR]).get("/").content.decode()
    section = html.split('id="sensitive"', 1)[1].split("</section>", 1)[0]
    assert "<bdi>Amina Diallo</bdi> changed the account of" in section and worker.username in section
    assert "user.permissions_changed" not in section and "<code>" not in section


def test_it_folds_a_supervisors_long_menu_into_figures_and_administration() -> None:
    import re

    t = team("menu")
    nav = re.search(r"<nav>(.*?)</nav>", client(t[Role.SUPERVISOR]).get("/").content.decode(), re.S)
    assert nav is not None
    groups = dict(re.findall(r'<details class="nav-group"><summary>(\w+)</summary><div>(.*?)</div></details>',
                             nav.group(1), re.S))  # fmt: skip
    assert set(groups) == {"Figures", "Administration"}
    assert (
        'href="/sharing/"' in groups["Figures"] and 'href="/accounts/break-glass/review/"' in groups["Administration"]
    )
    # case work stays in sight, outside the groups
    outside = re.sub(r"<details.*?</details>", "", nav.group(1), flags=re.S)
    assert 'href="/cases/"' in outside and 'href="/helpline/"' in outside
    # an analyst's few links are their work: not folded away
    analyst = client(t[Role.ANALYST]).get("/").content.decode()
    assert "nav-group" not in analyst and 'href="/sharing/"' in analyst


def test_it_lists_everything_due_beyond_the_home_pages_first_lines() -> None:
    """The home page shows the first lines of "Due this week"; its link leads to all of them (plans ending and
    consents too, which the tasks page does not list), audited, and never a colleague's case."""
    from phare.audit.models import AuditEvent
    from phare.work.views.home import SHOWN

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    for i in range(SHOWN + 2):
        case_actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_StartDate": today() - timedelta(days=60),
                                                     "spl_PlannedEndDate": today() - timedelta(days=i + 1)})  # fmt: skip
    colleague = t["colleague"]
    task_actions.create_task(colleague, t["other_case"], title="Secret errand", assignee=colleague, due=yesterday())
    c = client(worker)
    home = c.get("/").content.decode()
    assert 'href="/work/due/"' in home and home.count("Support plan ends") == SHOWN
    page = c.get("/work/due/").content.decode()
    assert page.count("Support plan ends") == SHOWN + 2 and f"{SHOWN + 2} overdue" in page
    assert "Secret errand" not in page and t["other_case"].number not in page
    assert AuditEvent.objects.filter(action="due.viewed", actor=worker).exists()
    assert client(t[Role.ANALYST]).get("/work/due/").status_code == 403


def test_it_lists_as_owned_exactly_the_owned_cases_the_user_may_see_for_every_role() -> None:
    """The home page's "my cases" leave out the visibility test for an owner (`owned_cases`): for every role,
    active or disabled, they are the owned cases `visible_cases` gives, never a restricted case an analyst may
    not see, nor another organisation's case that names the user as owner."""
    from phare.accounts.models import User
    from phare.cases.access import owned_cases, visible_cases
    from phare.cases.models import Case

    t = team()
    elsewhere = team("beta")
    for role in Role.values:
        user: User = t[role]
        plain, restricted, foreign = make_case(user), make_case(user), make_case(elsewhere[Role.CASE_WORKER])
        Case.objects.filter(pk=restricted.pk).update(restricted=True)
        # a row no page could write: another tenant's case naming this user as owner
        Case.objects.filter(pk__in=[plain.pk, restricted.pk, foreign.pk]).update(cas_CaseOwner=user)
        for active in (True, False):
            User.objects.filter(pk=user.pk).update(is_active=active)
            user.refresh_from_db()
            owned = set(owned_cases(user).values_list("pk", flat=True))
            seen = set(visible_cases(user).filter(cas_CaseOwner=user).values_list("pk", flat=True))
            assert owned == seen, (role, active)
            assert foreign.pk not in owned
            if active:
                assert plain.pk in owned, role
                assert (restricted.pk in owned) == (role not in (Role.ANALYST, Role.AUDITOR)), role


def test_it_counts_the_open_plans_of_open_cases_only_however_many_end_the_same_day() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    day = today() - timedelta(days=2)
    second = case_actions.open_case(worker, person_data={"prs_FirstName": "Second"}, role="Victim", context={})
    closed = case_actions.open_case(worker, person_data={"prs_FirstName": "Closed"}, role="Victim", context={})
    for c in (case, second, second, closed):
        case_actions.add_support_plan(worker, c, {"spl_Type": "Health", "spl_PlannedEndDate": day})
    case_actions.add_support_plan(worker, case, {"spl_Type": "Health", "spl_PlannedEndDate": day,
                                                 "spl_ActualEndDate": day})  # fmt: skip
    case_actions.close_case(worker, closed, reason="Returned home")
    page = client(worker).get("/work/due/").content.decode()
    # The three open plans of the two open cases: not the ended one, nor the closed case's.
    assert page.count("Support plan ends") == 3 and "3 overdue" in page
