"""Row-level security covers the work tables (tasks, notifications, approvals, hand-overs, service requests,
settings): with the ORM's tenant filter switched off, another organisation's rows still do not come back on
PostgreSQL; with row-level security off as well, they do (the negative control)."""

from __future__ import annotations

import pytest
from django.db import connection

from phare import access, rls
from phare.accounts.models import Role
from phare.work.actions import tasks as task_actions
from phare.work.models import ApprovalRequest, Handover, Notification, ServiceRequest, Task, WorkSettings
from tests.work_helpers import team, today

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"),
]

ROLE = "phare_app"
WORK = [Task, Notification, ApprovalRequest, Handover, ServiceRequest, WorkSettings]


def test_it_protects_every_work_table() -> None:
    rls.install(ROLE)
    tables = {t for t, _ in rls.tenant_tables()}
    assert {m._meta.db_table for m in WORK} <= tables
    status = {t: (on, forced, n) for t, on, forced, n in rls.status()}
    for m in WORK:
        on, forced, n = status[m._meta.db_table]
        assert on and forced and n >= 1, m


def test_it_keeps_another_organisations_tasks_below_the_orm(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = team("rls-wa"), team("rls-wb")
    task_actions.create_task(b[Role.SUPERVISOR], b["case"], title="RLSVICTIM task", assignee=b[Role.CASE_WORKER],
                             due=today())  # fmt: skip
    rls.install(ROLE)
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    reader = a[Role.SUPERVISOR]
    with rls.acting_for(a["org"].pk, role=ROLE):
        assert not Task.objects.filter(organisation=b["org"]).exists()
        assert not Notification.objects.filter(organisation=b["org"]).exists()
        assert not access.scoped(reader, Task).exists()
    rls.set_enabled(False)
    with rls.acting_for(a["org"].pk, role=ROLE):
        assert Task.objects.filter(organisation=b["org"]).exists()  # negative control: without RLS it leaks
