"""Every write of the work around cases is a verb that writes its audit event in its own transaction: the event
names the verb and its record, and a verb whose audit write fails leaves nothing behind (no task, flag, request,
hand-over, notification or setting half-written). One case per verb, so that losing one audit call fails the
case that names it; the same promise for the case verbs is `tests/test_audited_verbs.py`."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import models

from phare.accounts.models import Role
from phare.audit import log as audit_log
from phare.audit.models import AuditEvent
from phare.cases.models import Case, CaseAssignment, CaseEvent, SupportPlan
from phare.work import jobs
from phare.work.actions import approvals, flags, handovers, notifications, tasks
from phare.work.models import (
    ApprovalRequest,
    CaseFlag,
    Gated,
    Handover,
    Notification,
    SavedSearch,
    ServiceRequest,
    Task,
    WorkSettings,
)
from tests.work_helpers import team, today, yesterday

pytestmark = pytest.mark.django_db

TABLES: tuple[type[models.Model], ...] = (Task, CaseFlag, SavedSearch, ApprovalRequest, Handover, ServiceRequest,
                                          Notification, WorkSettings, CaseAssignment, CaseEvent, SupportPlan, Case)  # fmt: skip

# A verb's call, made ready with the audit log working; it returns the record its event must name (None: the
# event names a kind of record, not one).
Ready = Callable[[], Any]


def _task(w: dict[str, Any]) -> Task:
    return tasks.create_task(w["boss"], w["case"], title="Ring the clinic", assignee=w["worker"], due=today())


def _gated(w: dict[str, Any], **flags_: bool) -> None:
    WorkSettings.objects.update_or_create(organisation=w["org"], defaults=flags_)


def _asked(w: dict[str, Any]) -> ApprovalRequest:
    _gated(w, approve_support_plan=True)
    return approvals.request_approval(w["worker"], w["case"], Gated.SUPPORT_PLAN, {"spl_Type": "Health"})


def _offered(w: dict[str, Any]) -> Handover:
    _gated(w, handover_acceptance=True)
    return handovers.hand_over(w["worker"], w["case"], w["colleague"], "Moving to the legal team")


def _done(verb: Callable[..., Any], record: Any, *args: Any) -> Ready:
    def call() -> Any:
        verb(*args)
        return record

    return call


def _prepare_task(w: dict[str, Any]) -> Ready:
    return lambda: _task(w)


def _prepare_task_update(w: dict[str, Any]) -> Ready:
    t = _task(w)
    return lambda: (tasks.update_task(w["boss"], t, title="Ring the clinic again", assignee=w["worker"], due=today()), t)[1]


def _prepare_task_done(w: dict[str, Any]) -> Ready:
    t = _task(w)
    return _done(tasks.complete_task, t, w["boss"], t)


def _prepare_task_reopen(w: dict[str, Any]) -> Ready:
    t = _task(w)
    tasks.complete_task(w["boss"], t)
    return _done(tasks.reopen_task, t, w["boss"], t)


def _prepare_flag(w: dict[str, Any]) -> Ready:
    return lambda: flags.flag_case(w["worker"], w["case"], "safety", "Recruiter seen near the shelter")


def _prepare_flag_clear(w: dict[str, Any]) -> Ready:
    f = flags.flag_case(w["worker"], w["case"], "safety", "Recruiter seen near the shelter")
    return _done(flags.clear_flag, f, w["worker"], f)


def _prepare_search(w: dict[str, Any]) -> Ready:
    return lambda: flags.save_search(w["worker"], "My overdue", "attention=overdue")


def _prepare_search_delete(w: dict[str, Any]) -> Ready:
    s = flags.save_search(w["worker"], "My overdue", "attention=overdue")
    return _done(flags.delete_search, SimpleNamespace(pk=s.pk), w["worker"], s)  # named by its id, now gone


def _prepare_ask(w: dict[str, Any]) -> Ready:
    _gated(w, approve_close=True)
    return lambda: approvals.request_approval(w["worker"], w["case"], Gated.CLOSE, {"status": "Closed", "reason": "Safe"})


def _prepare_approve(w: dict[str, Any]) -> Ready:
    req = _asked(w)
    return _done(approvals.approve, req, w["boss"], req)


def _prepare_send_back(w: dict[str, Any]) -> Ready:
    req = _asked(w)
    return _done(approvals.send_back, req, w["boss"], req, "Add the clinic")


def _prepare_withdraw(w: dict[str, Any]) -> Ready:
    req = _asked(w)
    return _done(approvals.withdraw, req, w["worker"], req)


def _prepare_hand_over(w: dict[str, Any]) -> Ready:
    return lambda: handovers.hand_over(w["boss"], w["case"], w["colleague"], "Worker on leave")


def _prepare_offer(w: dict[str, Any]) -> Ready:
    _gated(w, handover_acceptance=True)
    return lambda: handovers.hand_over(w["worker"], w["case"], w["colleague"], "Moving to the legal team")


def _prepare_accept(w: dict[str, Any]) -> Ready:
    h = _offered(w)
    return _done(handovers.accept_handover, h, w["colleague"], h)


def _prepare_decline(w: dict[str, Any]) -> Ready:
    h = _offered(w)
    return _done(handovers.decline_handover, h, w["colleague"], h, "Full caseload")


def _prepare_cancel(w: dict[str, Any]) -> Ready:
    h = _offered(w)
    return _done(handovers.cancel_handover, h, w["worker"], h)


def _prepare_add_worker(w: dict[str, Any]) -> Ready:
    return _done(handovers.add_worker, w["case"], w["worker"], w["case"], w["colleague"])


def _prepare_service(w: dict[str, Any]) -> Ready:
    return lambda: handovers.request_service(w["worker"], w["case"], w["colleague"], "legal", "Residence permit")


def _prepare_read(w: dict[str, Any]) -> Ready:
    _task(w)  # notifies the worker
    from phare.work.access import my_notifications

    return lambda: (notifications.mark_read(w["worker"], my_notifications(w["worker"])), None)[1]


def _prepare_settings(w: dict[str, Any]) -> Ready:
    return lambda: approvals.change_settings(w["admin"], {"approve_close": True, "handover_acceptance": True})


def _prepare_overdue(w: dict[str, Any]) -> Ready:
    tasks.create_task(w["boss"], w["case"], title="Ring the clinic", assignee=w["worker"], due=yesterday())
    return lambda: (jobs.overdue_notices(w["org"], today()), None)[1]


# verb -> (its audit action, what makes it ready)
VERBS: dict[str, tuple[str, Callable[[dict[str, Any]], Ready]]] = {
    "create_task": ("task.create", _prepare_task),
    "update_task": ("task.update", _prepare_task_update),
    "complete_task": ("task.complete", _prepare_task_done),
    "reopen_task": ("task.reopen", _prepare_task_reopen),
    "flag_case": ("case.flag", _prepare_flag),
    "clear_flag": ("case.flag_clear", _prepare_flag_clear),
    "save_search": ("search.save", _prepare_search),
    "delete_search": ("search.delete", _prepare_search_delete),
    "request_approval": ("approval.request", _prepare_ask),
    "approve": ("approval.approve", _prepare_approve),
    "send_back": ("approval.return", _prepare_send_back),
    "withdraw": ("approval.withdraw", _prepare_withdraw),
    "hand_over": ("handover.done", _prepare_hand_over),
    "hand_over_offered": ("handover.offer", _prepare_offer),
    "accept_handover": ("handover.accept", _prepare_accept),
    "decline_handover": ("handover.decline", _prepare_decline),
    "cancel_handover": ("handover.cancel", _prepare_cancel),
    "add_worker": ("case.assign", _prepare_add_worker),
    "request_service": ("service.request", _prepare_service),
    "mark_read": ("notification.read", _prepare_read),
    "change_settings": ("work.settings_changed", _prepare_settings),
    "overdue_notices": ("notify.overdue", _prepare_overdue),
}


@pytest.fixture
def w() -> dict[str, Any]:
    t = team()
    return {"org": t["org"], "boss": t[Role.SUPERVISOR], "worker": t[Role.CASE_WORKER], "admin": t[Role.ADMIN],
            "colleague": t["colleague"], "case": t["case"]}  # fmt: skip


def _snapshot() -> list[Any]:
    return [list(m.objects.order_by("pk").values()) for m in TABLES]  # type: ignore[attr-defined]


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_it_audits_each_work_verb(w: dict[str, Any], verb: str) -> None:
    action, prepare = VERBS[verb]
    call = prepare(w)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    record = call()
    events = AuditEvent.objects.filter(pk__gt=last, action=action)
    if record is None:
        assert events.exists(), f"{verb} wrote no {action} event"
    else:
        assert events.filter(target_id=str(getattr(record, "uid", None) or record.pk)).exists(), \
            f"{verb} wrote no {action} event naming its record"  # fmt: skip


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_it_leaves_nothing_when_a_work_verbs_audit_write_fails(w: dict[str, Any], verb: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    call = VERBS[verb][1](w)
    before = _snapshot()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit_log, "record", broken)
    with pytest.raises(RuntimeError, match="audit store down"):
        call()  # no transaction of the test's own around it: the verb's must undo its writes
    assert _snapshot() == before


def test_it_fails_when_a_work_verb_writes_outside_its_audited_transaction(w: dict[str, Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Negative control for the test above: a verb that wrote its record before (outside) its audited transaction
    leaves the record behind when the audit write fails, and the snapshot tells."""
    before = _snapshot()

    def careless() -> None:
        Task.objects.create(organisation=w["org"], case=w["case"], title="x", assignee=w["worker"], due=today())
        audit_log.record("task.create", actor=w["boss"])

    monkeypatch.setattr(audit_log, "record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("audit store down")))
    with pytest.raises(RuntimeError):
        careless()
    assert _snapshot() != before
