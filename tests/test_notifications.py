"""Notifications: written by the verbs that cause them, shown with a count by the bell, marked read by an
audited verb, never about a case the reader can no longer open; e-mails hold a link and the case number only."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.work import access as work_access
from phare.work.actions import tasks as task_actions
from phare.work.models import Kind, Notification, WorkSettings
from tests.work_helpers import client, team, today

pytestmark = pytest.mark.django_db


def test_it_rings_the_bell_lists_and_marks_read() -> None:
    t = team()
    worker, boss = t[Role.CASE_WORKER], t[Role.SUPERVISOR]
    task_actions.create_task(boss, t["case"], title="Visit", assignee=worker, due=today())
    c = client(worker)
    home = c.get("/").content.decode()
    assert "Notifications" in home and "(1)" in home
    page = c.get("/work/notifications/").content.decode()
    assert "A task was assigned to you" in page and t["case"].number in page
    r = c.post("/work/notifications/read/")
    assert r.status_code == 302
    assert not Notification.objects.filter(recipient=worker, read_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="notification.read", actor=worker).exists()
    assert "(1)" not in c.get("/").content.decode()


def test_it_does_not_notify_anyone_of_their_own_act() -> None:
    t = team()
    worker = t[Role.CASE_WORKER]
    task_actions.create_task(worker, t["case"], title="Mine", assignee=worker, due=today())
    assert not Notification.objects.exists()


def test_it_hides_a_notification_about_a_case_the_reader_can_no_longer_open(monkeypatch: pytest.MonkeyPatch) -> None:
    t = team()
    boss, worker, colleague, case = t[Role.SUPERVISOR], t[Role.CASE_WORKER], t["colleague"], t["case"]
    case_actions.assign_worker(boss, case, colleague)
    task_actions.create_task(boss, case, title="Help", assignee=colleague, due=today())
    assert work_access.unread_count(colleague) == 1
    # the colleague is taken off the case: the notification about it goes with it
    from phare.cases.models import CaseAssignment

    CaseAssignment.objects.filter(case=case, user=colleague).delete()
    assert work_access.unread_count(colleague) == 0
    html = client(colleague).get("/work/notifications/").content.decode()
    assert case.number not in html
    # Negative control: without the access rule, the same page names the case.
    monkeypatch.setattr(work_access, "visible_cases", lambda user: type(case).objects.all())
    assert work_access.unread_count(colleague) == 1
    assert case.number in client(colleague).get("/work/notifications/").content.decode()
    assert worker  # the owner still sees the case


def test_the_bell_counts_with_one_plain_query_when_nothing_is_unread(django_assert_num_queries: object) -> None:
    t = team()
    worker, boss, other = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["colleague"]
    with django_assert_num_queries(1):  # type: ignore[operator]
        assert work_access.unread_count(worker) == 0
    task_actions.create_task(boss, t["case"], title="Visit", assignee=worker, due=today())
    assert work_access.unread_count(worker) == 1
    assert work_access.unread_count(other) == 0  # someone else's unread notification is not theirs
    Notification.objects.filter(recipient=worker).update(read_at=timezone.now())
    with django_assert_num_queries(1):  # type: ignore[operator]
        assert work_access.unread_count(worker) == 0


def test_it_mails_only_a_link_and_the_case_number(settings: object) -> None:
    t = team()
    worker, boss = t[Role.CASE_WORKER], t[Role.SUPERVISOR]
    worker.email = "worker@example.org"
    worker.save()
    WorkSettings.objects.create(organisation=t["org"], email_notifications=True)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        task_actions.create_task(boss, t["case"], title="Ama Owusu court date", assignee=worker, due=today())
    assert len(mail.outbox) == 1
    m = mail.outbox[0]
    text = m.subject + m.body
    assert t["case"].number in text and "/work/notifications/" in text
    for personal in ("Ama", "Owusu", "court"):
        assert personal not in text
    assert Notification.objects.get(kind=Kind.TASK_ASSIGNED).emailed_at is not None


def test_it_tells_the_owner_of_a_referral_and_the_supervisors_of_emergency_access() -> None:
    from phare.accounts import breakglass

    t = team()
    worker, boss, case = t[Role.CASE_WORKER], t[Role.SUPERVISOR], t["case"]
    directory = case_actions.add_external_organisation(boss, {"org_Name": "Harbour Police"})
    case_actions.receive_referral(boss, case, {"cas_ReferringOrganisation": directory})
    assert Notification.objects.filter(recipient=worker, kind=Kind.REFERRAL_RECEIVED, case=case).exists()
    case_actions.update_case(boss, case, {"restricted": True})
    breakglass.grant(t["colleague"], case, "A call from the hospital at night", 1)
    assert Notification.objects.filter(recipient=boss, kind=Kind.BREAK_GLASS, case=case).exists()
    home = client(worker).get("/").content.decode()
    assert "A referral was received" in client(worker).get("/work/notifications/").content.decode()
    assert "Referral received" in home


def test_it_mails_nothing_about_a_case_its_recipient_can_no_longer_open() -> None:
    """A task stays with its assignee when they lose the case some way other than a hand-over (which moves it):
    here a supervisor, who saw every case, becomes a case worker. The daily run's overdue notice about it is
    hidden from the bell (the case is no longer theirs) and must not leave by e-mail either, not even as a case
    number: a notification reveals no record its reader may not see, in any channel."""
    from datetime import timedelta

    from django.test import TestCase

    from phare.accounts.models import User
    from phare.work import jobs
    from tests.test_cases_helpers import make_case

    t = team()
    boss, case = t[Role.SUPERVISOR], t["case"]
    boss.email = "boss@example.org"
    boss.save()
    still_mine = make_case(boss, first="Kofi", second="Mensah")
    late = today() - timedelta(days=1)
    task_actions.create_task(boss, case, title="Ring the lawyer", assignee=boss, due=late)
    task_actions.create_task(boss, still_mine, title="Ring the school", assignee=boss, due=late)
    User.objects.filter(pk=boss.pk).update(role=Role.CASE_WORKER)  # as the admin's user page saves it
    boss.refresh_from_db()
    WorkSettings.objects.create(organisation=t["org"], email_notifications=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert jobs.overdue_notices(t["org"], today()) == 2
    sent = " ".join(m.subject + m.body for m in mail.outbox if "boss@example.org" in m.to)
    assert still_mine.number in sent  # negative control: the case still theirs is mailed
    assert case.number not in sent
    assert case.number not in client(boss).get("/work/notifications/").content.decode()
