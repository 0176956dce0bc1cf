"""Handing a case over (reason, a receiver whose role works cases, the receiver's acceptance where the
organisation asks for it), adding a colleague to a case, and asking a colleague for a service."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from phare.audit import log as audit
from phare.cases import actions as case_actions
from phare.cases.access import can_manage, can_write, opened_by_break_glass, visible_cases
from phare.cases.actions import Invalid
from phare.cases.models import Case
from phare.work import gates
from phare.work.access import WORKING_ROLES, may_work
from phare.work.actions.notifications import notify
from phare.work.models import Gated, Handover, Kind, Service, ServiceRequest, Task, WorkSettings


def _require_case(actor: Any, case: Case) -> None:
    if not can_write(actor) or not visible_cases(actor).filter(pk=case.pk).exists():
        raise Http404("Not found")


def may_hand_over(actor: Any, case: Case) -> bool:
    return can_manage(actor) or case.cas_CaseOwner_id == getattr(actor, "pk", None)


def _receiver_problems(case: Case, receiver: Any) -> list[str]:
    if (receiver is None or receiver.organisation_id != case.organisation_id or not receiver.is_active
            or receiver.role not in WORKING_ROLES):  # fmt: skip
        return [_("Choose a colleague whose role works on cases.")]
    if receiver.pk == case.cas_CaseOwner_id:
        return [_("This colleague already owns the case.")]
    return []


def _widening_problems(actor: Any, case: Case, user: Any) -> list[str]:
    """Adding a colleague or asking one for a service lets them open the case. That is for those who work
    the case by right: never through an emergency (break-glass) grant, which is read-only and expires, and
    never to oneself. On a restricted case, only a supervisor brings in someone who may not open it yet."""
    if opened_by_break_glass(actor, case) is not None:
        return [_("Emergency access lets you read this case, not bring colleagues onto it.")]
    if user is not None and user.pk == getattr(actor, "pk", None):
        return [_("Choose a colleague other than yourself.")]
    if case.restricted and not can_manage(actor) and user is not None and not may_work(user, case):
        return [_("This case is restricted: a supervisor decides who else may open it.")]
    return []


def _audit(action: str, actor: Any, h: Handover, request: HttpRequest | None, **detail: Any) -> None:
    audit.record(action, actor=actor, organisation=h.case.organisation, target=h, request=request,
                 detail={"case": h.case.number, "to": h.to_user_id, **detail})  # fmt: skip


def _transfer(actor: Any, h: Handover, request: HttpRequest | None) -> int:
    """Give the case to the receiver; returns how many of the previous owner's open tasks on it followed."""
    previous = h.case.cas_CaseOwner
    with gates.approved(h.case, Gated.REASSIGN):
        case_actions.reassign_case(actor, h.case, h.to_user, request=request, note=h.reason)
    notify(h.to_user, Kind.CASE_ASSIGNED, case=h.case, subject=h, actor=actor)
    moved = 0
    if previous is not None and previous.pk != h.to_user_id:
        # No case on this one: the previous owner may no longer open it; the hand-over's page says where it went.
        notify(previous, Kind.HANDED_AWAY, subject=h, actor=actor)
        if not may_work(previous, h.case):
            # The work follows the case: a task left with someone who can no longer open the case would go undone,
            # yet count on the supervisor's team card as theirs.
            moved = Task.objects.filter(case=h.case, assignee=previous, done_at__isnull=True).update(assignee=h.to_user)
    return moved


def hand_over(actor: Any, case: Case, receiver: Any, reason: str, request: HttpRequest | None = None) -> Handover:
    """Hand the case to `receiver`, now or (where the organisation asks for it) once they accept."""
    _require_case(actor, case)
    if not may_hand_over(actor, case):
        raise Http404("Not found")
    problems: dict[str, list[str]] = {}
    if not (reason or "").strip():
        problems["reason"] = [_("Say why the case changes hands: the receiver reads it.")]
    if wrong := _receiver_problems(case, receiver):
        problems["to_user"] = wrong
    if case.is_closed:
        problems["__all__"] = [_("The case is closed: reopen it first.")]
    if problems:
        raise Invalid(problems)
    gates.check(actor, case, Gated.REASSIGN)
    if Handover.objects.filter(case=case, state=Handover.State.PENDING).exists():
        raise Invalid({"__all__": [_("A hand-over of this case is already waiting for its receiver.")]})
    ask = WorkSettings.objects.filter(organisation_id=case.organisation_id, handover_acceptance=True).exists()
    waits = ask and receiver.pk != getattr(actor, "pk", None)
    with transaction.atomic():
        h = Handover.objects.create(organisation_id=case.organisation_id, case=case, from_user=case.cas_CaseOwner,
                                    to_user=receiver, by=actor, reason=reason.strip(),
                                    state=Handover.State.PENDING if waits else Handover.State.ACCEPTED,
                                    decided_at=None if waits else timezone.now())  # fmt: skip
        if waits:
            # No case on this one: the receiver cannot open the case until they accept.
            notify(receiver, Kind.HANDOVER_OFFERED, subject=h, actor=actor)
            _audit("handover.offer", actor, h, request)
        else:
            moved = _transfer(actor, h, request)
            _audit("handover.done", actor, h, request, tasks_moved=moved)
    return h


def _pending_for(actor: Any, h: Handover) -> None:
    if h.to_user_id != getattr(actor, "pk", None) or h.organisation_id != actor.organisation_id:
        raise Http404("Not found")
    if h.state != Handover.State.PENDING:
        raise Invalid({"__all__": [_("This hand-over was already decided.")]})


def _lock(h: Handover) -> None:
    """Inside the decision's transaction: read the hand-over again, locked, so that it is decided once (an
    accept racing a cancel, or a stale page, is told it was already decided)."""
    if Handover.objects.select_for_update().get(pk=h.pk).state != Handover.State.PENDING:
        raise Invalid({"__all__": [_("This hand-over was already decided.")]})


def accept_handover(actor: Any, h: Handover, request: HttpRequest | None = None) -> None:
    _pending_for(actor, h)
    with transaction.atomic():
        _lock(h)
        h.state = Handover.State.ACCEPTED
        h.decided_at = timezone.now()
        h.save(update_fields=["state", "decided_at"])
        moved = _transfer(actor, h, request)
        if h.by_id and h.by_id != h.from_user_id:
            notify(h.by, Kind.HANDOVER_ACCEPTED, case=h.case, subject=h, actor=actor)
        _audit("handover.accept", actor, h, request, tasks_moved=moved)


def decline_handover(actor: Any, h: Handover, reason: str, request: HttpRequest | None = None) -> None:
    _pending_for(actor, h)
    if not (reason or "").strip():
        raise Invalid({"decline_reason": [_("Say why, so that the sender can find someone else.")]})
    with transaction.atomic():
        _lock(h)
        h.state = Handover.State.DECLINED
        h.decided_at = timezone.now()
        h.decline_reason = reason.strip()
        h.save(update_fields=["state", "decided_at", "decline_reason"])
        for u in {h.by, h.from_user} - {None}:
            notify(u, Kind.HANDOVER_DECLINED, case=h.case, subject=h, actor=actor)
        _audit("handover.decline", actor, h, request)


def cancel_handover(actor: Any, h: Handover, request: HttpRequest | None = None) -> None:
    if h.by_id != getattr(actor, "pk", None) and not can_manage(actor):
        raise Http404("Not found")
    if h.state != Handover.State.PENDING:
        raise Invalid({"__all__": [_("This hand-over was already decided.")]})
    with transaction.atomic():
        _lock(h)
        h.state = Handover.State.CANCELLED
        h.decided_at = timezone.now()
        h.save(update_fields=["state", "decided_at"])
        _audit("handover.cancel", actor, h, request)


def add_worker(actor: Any, case: Case, user: Any, request: HttpRequest | None = None) -> None:
    """A colleague works on the case beside its owner (they can open it from now on)."""
    _require_case(actor, case)
    if not may_hand_over(actor, case):
        raise Http404("Not found")
    if wrong := _receiver_problems(case, user) or _widening_problems(actor, case, user):
        raise Invalid({"user": wrong})
    with transaction.atomic():
        case_actions.assign_worker(actor, case, user, request=request)
        notify(user, Kind.CASE_ASSIGNED, case=case, actor=actor)


def request_service(actor: Any, case: Case, user: Any, service: str, note: str = "",
                    request: HttpRequest | None = None) -> ServiceRequest:  # fmt: skip
    """An internal referral: `user` is asked for a service on the case and may open it, the owner stays."""
    _require_case(actor, case)
    problems: dict[str, list[str]] = {}
    if service not in Service.values:
        problems["service"] = [_("Choose a service.")]
    if wrong := _receiver_problems(case, user) or _widening_problems(actor, case, user):
        problems["to_user"] = wrong
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        case_actions.assign_worker(actor, case, user, request=request)
        sr = ServiceRequest.objects.create(organisation_id=case.organisation_id, case=case, service=service,
                                           to_user=user, by=actor, note=(note or "").strip())  # fmt: skip
        notify(user, Kind.SERVICE_REQUESTED, case=case, subject=sr, actor=actor)
        audit.record("service.request", actor=actor, organisation=case.organisation, target=sr, request=request,
                     detail={"case": case.number, "to": user.pk, "service": service})  # fmt: skip
    return sr
