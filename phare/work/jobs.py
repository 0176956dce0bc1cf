"""The daily run of the work app, in the job worker: each overdue task's assignee is notified once, each open
case's owner hears once of a consent that expires within CONSENT_NOTICE_DAYS, and, where
the organisation sends e-mail, each worker with overdue work gets one digest (counts, case numbers and a link:
never a name or a task's text). The job queues its own next run, so one `phare notify digest` starts the cycle."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from phare.accounts.models import Organisation
from phare.audit import log as audit
from phare.cases.access import owned_cases
from phare.cases.consents import expiring
from phare.cases.models import CLOSED_STATUSES, Consent
from phare.jobs import queue
from phare.jobs.models import Job
from phare.work.access import WORKING_ROLES, visible_tasks
from phare.work.actions.notifications import emails_on, notify, site_link
from phare.work.models import Kind, Notification, Task

JOB = "work.daily"
CONSENT_NOTICE_DAYS = 14  # how long before a time-limited consent ends its case's owner hears of it
RUN_AT = time(6, 0)  # local time of the next run


def overdue_notices(org: Organisation, today: Any) -> int:
    """Notify each overdue task's assignee once (a task whose due date changes may be notified again)."""
    late = (Task.objects.filter(organisation=org, done_at__isnull=True, due__lt=today, overdue_notified__isnull=True)
            .exclude(case__cas_Status__in=CLOSED_STATUSES).select_related("assignee", "case"))  # fmt: skip
    n = 0
    with transaction.atomic():
        for task in late[:5000]:
            notify(task.assignee, Kind.TASK_OVERDUE, case=task.case, subject=task)
            Task.objects.filter(pk=task.pk).update(overdue_notified=today)
            n += 1
        if n:
            audit.record("notify.overdue", organisation=org, target_type="work.task", detail={"tasks": n})
    return n


def consent_notices(org: Organisation, today: Any) -> int:
    """Notify each open case's owner once of a consent on it that ends within CONSENT_NOTICE_DAYS (or has ended
    unrenewed), so that it is given again or recorded as lapsed before a referral or a release relies on it."""
    soon = expiring(Consent.objects.filter(organisation=org, case__cas_CaseOwner__isnull=False),
                    today + timedelta(days=CONSENT_NOTICE_DAYS)).exclude(case__cas_Status__in=CLOSED_STATUSES)  # fmt: skip
    told = Notification.objects.filter(organisation=org, kind=Kind.CONSENT_EXPIRING).values("subject_uid")
    n = 0
    with transaction.atomic():
        for consent in soon.exclude(uid__in=told).select_related("case__cas_CaseOwner")[:5000]:
            if notify(consent.case.cas_CaseOwner, Kind.CONSENT_EXPIRING, case=consent.case, subject=consent) is not None:
                n += 1
        if n:
            audit.record("notify.consent_expiring", organisation=org, target_type="cases.consent", detail={"records": n})
    return n


def digest_lines(user: Any, today: Any) -> tuple[int, int, list[str]]:
    """A user's overdue tasks and follow-ups, through the access layer, and the case numbers they concern."""
    tasks = visible_tasks(user).filter(assignee=user, done_at__isnull=True, due__lt=today)
    follow = owned_cases(user).filter(follow_up_date__lt=today).exclude(cas_Status__in=CLOSED_STATUSES)
    numbers = sorted(set(tasks.values_list("case__number", flat=True)[:50]) | set(follow.values_list("number", flat=True)[:50]))
    return tasks.count(), follow.count(), numbers


def digest_email(tasks: int, follow_ups: int, numbers: list[str]) -> tuple[str, str]:
    subject = _("Phare: your overdue work")
    lines = [ngettext("%(n)s overdue task.", "%(n)s overdue tasks.", tasks) % {"n": tasks},
             ngettext("%(n)s overdue follow-up.", "%(n)s overdue follow-ups.", follow_ups) % {"n": follow_ups},
             _("Cases: %(numbers)s") % {"numbers": ", ".join(numbers[:30])},
             _("Open Phare to see it: %(link)s") % {"link": site_link(reverse("work:tasks") + "?when=overdue")}]  # fmt: skip
    return subject, "\n\n".join(lines)


def send_digests(org: Organisation, today: Any) -> int:
    if not emails_on(org.pk):
        return 0
    sent = 0
    users = get_user_model().objects.filter(organisation=org, is_active=True, role__in=WORKING_ROLES).exclude(email="")
    for user in users:
        tasks, follow_ups, numbers = digest_lines(user, today)
        if not (tasks or follow_ups):
            continue
        with translation.override(user.language or org.language or None):
            subject, body = digest_email(tasks, follow_ups, numbers)
        send_mail(subject, body, None, [user.email], fail_silently=True)
        sent += 1
    if sent:
        with transaction.atomic():
            audit.record("notify.digest", organisation=org, target_type="accounts.user", detail={"sent": sent})
    return sent


def schedule_next(org_id: int, *, now: bool = False) -> Job | None:
    """Queue the organisation's next daily run (tomorrow at RUN_AT, or `now`), unless one is already queued."""
    if Job.objects.filter(kind=JOB, organisation_id=org_id, status=Job.Status.QUEUED).exists():
        return None
    delay = timedelta()
    if not now:
        local = timezone.localtime()
        at = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), RUN_AT))
        delay = at - timezone.now()
    return queue.enqueue(JOB, {}, organisation=org_id, delay=delay, max_attempts=2)


def run(org: Organisation, today: Any = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    return {"overdue_notices": overdue_notices(org, today), "consent_notices": consent_notices(org, today),
            "digests": send_digests(org, today)}


@queue.handler(JOB)
def daily(job: Job) -> dict[str, Any]:
    org = Organisation.objects.get(pk=job.organisation_id or 0)
    result = run(org)
    schedule_next(org.pk)
    return result
