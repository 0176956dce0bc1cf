"""The verbs of approvals: ask, approve (which carries the action out, as the requester, in the same
transaction), send back with a reason, withdraw."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from phare.accounts.models import Role
from phare.audit import log as audit
from phare.cases import actions as case_actions
from phare.cases.access import can_manage, can_write, opened_by_break_glass, visible_cases
from phare.cases.actions import Invalid
from phare.cases.models import Case, Referral, SupportPlan
from phare.work import gates
from phare.work.actions.notifications import notify, notify_all
from phare.work.models import ApprovalRequest, Gated, Kind, WorkSettings

# Break-glass reads a case for an emergency; what changes who works on it, or asks for a change, is for those
# who work it by right.
EMERGENCY_READS = gettext_lazy("Emergency access lets you read this case, not change who works on it or ask for "
                               "approvals on it.")  # fmt: skip

RECORD_MODELS: dict[str, type[models.Model]] = {Gated.SUPPORT_PLAN: SupportPlan, Gated.REFERRAL: Referral}


def dump(gated: str, data: dict[str, Any]) -> str:
    """An action's arguments as JSON text: dates as ISO text, rows as their primary key."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, models.Model):
            v = v.pk
        elif isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return json.dumps(out, sort_keys=True)


def load(req: ApprovalRequest) -> dict[str, Any]:
    """The arguments back, rows looked up within the case's organisation."""
    data: dict[str, Any] = json.loads(req.payload or "{}")
    model = RECORD_MODELS.get(req.action)
    if model is None:
        return data
    out: dict[str, Any] = {}
    for k, v in data.items():
        field = model._meta.get_field(k)
        if v is not None and field.is_relation:
            target = field.related_model
            v = target._default_manager.filter(organisation_id=req.organisation_id, pk=v).first()  # type: ignore[union-attr]
        elif v and isinstance(field, models.DateField):
            v = date.fromisoformat(v)
        out[k] = v
    return out


def supervisors(organisation_id: int) -> list[Any]:
    users = get_user_model().objects.filter(organisation_id=organisation_id, is_active=True)
    found = list(users.filter(role=Role.SUPERVISOR))
    return found or list(users.filter(role=Role.ADMIN))


def _require_case(actor: Any, case: Case) -> None:
    if not can_write(actor) or not visible_cases(actor).filter(pk=case.pk).exists():
        raise Http404("Not found")


def _audit(action: str, actor: Any, req: ApprovalRequest, request: HttpRequest | None, **detail: Any) -> None:
    audit.record(action, actor=actor, organisation=req.case.organisation, target=req, request=request,
                 detail={"case": req.case.number, "action": req.action, **detail})  # fmt: skip


def request_approval(actor: Any, case: Case, gated: str, data: dict[str, Any], note: str = "",
                     request: HttpRequest | None = None) -> ApprovalRequest:  # fmt: skip
    _require_case(actor, case)
    if opened_by_break_glass(actor, case) is not None:
        raise Invalid({"__all__": [str(EMERGENCY_READS)]})
    if gated not in Gated.values:
        raise Invalid({"action": [_("Unknown action.")]})
    if case.is_closed:
        raise Invalid({"__all__": [_("The case is closed.")]})
    pending = ApprovalRequest.objects.filter(case=case, action=gated, state=ApprovalRequest.State.PENDING)
    if gated in (Gated.CLOSE, Gated.REASSIGN) and pending.exists():
        raise Invalid({"__all__": [_("A request for this is already waiting for approval.")]})
    with transaction.atomic():
        req = ApprovalRequest.objects.create(organisation_id=case.organisation_id, case=case, action=gated,
                                             payload=dump(gated, data), note=(note or "").strip(),
                                             requested_by=actor)  # fmt: skip
        notify_all(supervisors(case.organisation_id), Kind.APPROVAL_REQUESTED, case=case, subject=req, actor=actor)
        _audit("approval.request", actor, req, request)
    return req


def _decidable(actor: Any, req: ApprovalRequest) -> None:
    if not can_manage(actor) or req.organisation_id != actor.organisation_id:
        raise Http404("Not found")
    if req.state != ApprovalRequest.State.PENDING:
        raise Invalid({"__all__": [_("This request was already decided.")]})
    if req.requested_by_id == actor.pk:
        raise Invalid({"__all__": [_("Someone else must approve your own request.")]})


def _lock(req: ApprovalRequest) -> None:
    """Inside the decision's transaction: read the request again, locked, so that two supervisors pressing
    "approve" at once (or a stale page) carry the action out once; the second is told it was decided."""
    fresh = ApprovalRequest.objects.select_for_update().get(pk=req.pk)
    if fresh.state != ApprovalRequest.State.PENDING:
        raise Invalid({"__all__": [_("This request was already decided.")]})


def _requester(req: ApprovalRequest) -> Any:
    """The requester, read again inside the decision's transaction, if they may still do what they asked: the
    action runs in their name, so the access they had when asking must still hold when it is approved (an
    active user in a role that writes cases and reads people, who opens the case by right, not through an
    emergency grant; for a hand-over, still its owner)."""
    from phare.accounts.permissions import READ_PERSONAL, WRITE_CASES, can
    from phare.work.actions.handovers import may_hand_over

    who = get_user_model().objects.filter(pk=req.requested_by_id).first()
    case = req.case
    works = (who is not None and can(who, WRITE_CASES) and can(who, READ_PERSONAL)
             and visible_cases(who).filter(pk=case.pk).exists() and opened_by_break_glass(who, case) is None)  # fmt: skip
    if not works:
        raise Invalid({"__all__": [_("%(who)s can no longer work on this case, so it cannot be done in their name: "
                                     "send the request back.") % {"who": getattr(who, "username", "?")}]})  # fmt: skip
    if req.action == Gated.REASSIGN and not may_hand_over(who, case):
        raise Invalid({"__all__": [_("%(who)s no longer owns this case, so they cannot hand it over: send the "
                                     "request back.") % {"who": getattr(who, "username", "?")}]})  # fmt: skip
    return who


def _carry_out(req: ApprovalRequest, request: HttpRequest | None) -> Any:
    """Run the approved action as its requester, through the gate for this case and action only."""
    from phare.work.actions.handovers import hand_over

    data = load(req)
    who = _requester(req)
    case = req.case
    with gates.approved(case, req.action):
        if req.action == Gated.CLOSE:
            return case_actions.close_case(who, case, reason=data.get("reason", ""),
                                           status=data.get("status") or "Closed", request=request)  # fmt: skip
        if req.action == Gated.SUPPORT_PLAN:
            return case_actions.add_support_plan(who, case, data, request=request)
        if req.action == Gated.REFERRAL:
            return case_actions.send_referral(who, case, data, request=request)
        if req.action == Gated.REASSIGN:
            receiver = get_user_model().objects.filter(organisation_id=case.organisation_id, pk=int(data.get("to") or 0)).first()
            return hand_over(who, case, receiver, data.get("reason", ""), request=request)
    raise Invalid({"action": [_("Unknown action.")]})


def approve(actor: Any, req: ApprovalRequest, request: HttpRequest | None = None) -> None:
    _decidable(actor, req)
    with transaction.atomic():
        _lock(req)
        _carry_out(req, request)
        req.state = ApprovalRequest.State.APPROVED
        req.decided_by = actor
        req.decided_at = timezone.now()
        req.save(update_fields=["state", "decided_by", "decided_at"])
        notify(req.requested_by, Kind.APPROVAL_APPROVED, case=req.case, subject=req, actor=actor)
        _audit("approval.approve", actor, req, request)


def send_back(actor: Any, req: ApprovalRequest, reason: str, request: HttpRequest | None = None) -> None:
    _decidable(actor, req)
    if not (reason or "").strip():
        raise Invalid({"reason": [_("Say why, so that the request can be put right.")]})
    with transaction.atomic():
        _lock(req)
        req.state = ApprovalRequest.State.RETURNED
        req.decided_by = actor
        req.decided_at = timezone.now()
        req.reason = reason.strip()
        req.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        notify(req.requested_by, Kind.APPROVAL_RETURNED, case=req.case, subject=req, actor=actor)
        _audit("approval.return", actor, req, request)


def withdraw(actor: Any, req: ApprovalRequest, request: HttpRequest | None = None) -> None:
    if req.requested_by_id != actor.pk:
        raise Http404("Not found")
    if req.state != ApprovalRequest.State.PENDING:
        raise Invalid({"__all__": [_("This request was already decided.")]})
    with transaction.atomic():
        _lock(req)
        req.state = ApprovalRequest.State.WITHDRAWN
        req.decided_at = timezone.now()
        req.save(update_fields=["state", "decided_at"])
        _audit("approval.withdraw", actor, req, request)


def change_settings(actor: Any, values: dict[str, bool], request: HttpRequest | None = None) -> WorkSettings:
    """An admin's choice of what waits for approval, whether hand-overs wait for their receiver, and e-mails;
    the organisation's row is made on its first change, in the same transaction as its audit event."""
    from phare.accounts.permissions import MANAGE_USERS, can

    if not can(actor, MANAGE_USERS):
        raise Http404("Not found")
    with transaction.atomic():
        current, _created = WorkSettings.objects.select_for_update().get_or_create(organisation_id=actor.organisation_id)
        changed = {k: bool(v) for k, v in values.items() if getattr(current, k) != bool(v)}
        for k, v in changed.items():
            setattr(current, k, v)
        current.save()
        audit.record("work.settings_changed", actor=actor, request=request, target=current, detail=changed)
    return current
