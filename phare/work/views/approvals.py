"""The approvals queue, one request's page (approve, send back, withdraw) and asking for an approval."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from phare.accounts.permissions import MANAGE_CASES, can, require_perm
from phare.cases import forms as cf
from phare.cases.access import get_case, require_write
from phare.cases.actions import Invalid
from phare.cases.models import Person
from phare.work.access import get_approval, receivers_for, visible_approvals
from phare.work.actions import approvals as approval_actions
from phare.work.actions.approvals import load
from phare.work.forms import CloseRequestForm, HandoverForm, NoteForm, ReasonForm
from phare.work.models import ApprovalRequest, Gated, WorkSettings
from phare.work.views.common import apply_problems, decide, emergency_reader


@login_required
def approval_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    state = request.GET.get("state", ApprovalRequest.State.PENDING)
    ignored = state not in ApprovalRequest.State.values
    if ignored:
        state = ApprovalRequest.State.PENDING
    qs = visible_approvals(user).filter(state=state).select_related("case", "requested_by", "decided_by")
    reqs = list(qs.order_by("created" if state == ApprovalRequest.State.PENDING else "-decided_at")[:200])
    return render(request, "work/approvals.html", {"reqs": reqs, "state": state, "states": ApprovalRequest.State.choices,
                                                   "ignored": ignored, "decides": can(user, MANAGE_CASES)})  # fmt: skip


def _summary(req: ApprovalRequest) -> list[tuple[str, str]]:
    """What the request would do, in words, for the decider."""
    data = load(req)
    if req.action == Gated.CLOSE:
        return [(_("Status"), str(data.get("status", ""))), (_("Reason for Case Closure"), str(data.get("reason", "")))]
    if req.action == Gated.REASSIGN:
        to = receivers_for(req.case).filter(pk=data.get("to")).first()
        return [(_("Hand the case to"), str(to or "?")), (_("Reason for the hand-over"), str(data.get("reason", "")))]
    out = []
    for k, v in data.items():
        if v in (None, "", []):
            continue
        out.append((k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)))
    return out


@login_required
def approval_page(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    req = get_approval(user, uid)
    back = ReasonForm(request.POST if request.POST.get("do") == "return" else None)
    if request.method == "POST":

        def approve() -> tuple[str, None]:
            approval_actions.approve(user, req, request=request)
            return _("Approved: it is done."), None

        def send_back() -> tuple[str, None]:
            if not back.is_valid():
                raise Invalid({"reason": [_("Say why, so that the request can be put right.")]})
            approval_actions.send_back(user, req, back.cleaned_data["reason"], request=request)
            return _("Sent back with your reason."), None

        def withdraw() -> tuple[str, None]:
            approval_actions.withdraw(user, req, request=request)
            return _("Request withdrawn."), None

        return decide(request, {"approve": approve, "return": send_back, "withdraw": withdraw},
                      reverse("work:approval", args=[req.uid]))  # fmt: skip
    decides = can(user, MANAGE_CASES) and req.requested_by_id != user.pk
    return render(request, "work/approval.html", {"req": req, "summary": _summary(req), "back": back,
                                                  "decides": decides, "pending": req.state == "pending"})  # fmt: skip


ASK_FORMS: dict[str, Any] = {Gated.SUPPORT_PLAN: cf.SupportPlanForm, Gated.REFERRAL: cf.OutgoingReferralForm}


class PersonForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=Person.objects.none(), required=False)


@login_required
def approval_ask(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Ask a supervisor to approve an action the organisation puts behind approval."""
    user: Any = request.user
    require_write(user)
    case = get_case(user, number)
    if action not in Gated.values:
        raise Http404("Not found")
    if (back := emergency_reader(request, case)) is not None:
        return back
    data = request.POST or None
    main: forms.Form
    person = None
    if action == Gated.CLOSE:
        main = CloseRequestForm(data)
    elif action == Gated.REASSIGN:
        main = HandoverForm(data, users=receivers_for(case))
    else:
        main = ASK_FORMS[action](data, organisation_id=case.organisation_id)
        if action == Gated.SUPPORT_PLAN:
            person = PersonForm(data, prefix="x")
            field: Any = person.fields["person"]
            field.queryset = Person.objects.filter(organisation_id=case.organisation_id, participations__case=case).distinct()
    note = NoteForm(data, prefix="n")
    all_forms = [f for f in (main, person, note) if f is not None]
    if request.method == "POST" and all(f.is_valid() for f in all_forms):
        if action == Gated.CLOSE:
            payload = {"status": main.cleaned_data["status"], "reason": main.cleaned_data["reason"]}
        elif action == Gated.REASSIGN:
            payload = {"to": main.cleaned_data["to_user"].pk, "reason": main.cleaned_data["reason"]}
        else:
            payload = main.model_data()  # type: ignore[attr-defined]
            if person is not None and person.cleaned_data.get("person"):
                payload["person"] = person.cleaned_data["person"]
        try:
            req = approval_actions.request_approval(user, case, action, payload, note.cleaned_data["note"], request=request)
        except Invalid as exc:
            apply_problems(main, exc)
        else:
            messages.success(request, _("Sent to a supervisor for approval. Nothing happens until it is approved."))
            return HttpResponseRedirect(reverse("work:approval", args=[req.uid]))
    return render(request, "work/form.html", {"case": case, "title": _("Ask for approval: %(what)s") % {
        "what": Gated(action).label}, "forms": all_forms, "submit": _("Ask for approval")})


@require_perm("manage_users")
def work_settings(request: HttpRequest) -> HttpResponse:
    from phare.work.forms import WorkSettingsForm

    user: Any = request.user
    # Read only: the organisation's row is made by its first change (`change_settings`), never by a visit.
    current = WorkSettings.objects.filter(organisation_id=user.organisation_id).first()
    form = WorkSettingsForm(request.POST or None, instance=current or WorkSettings(organisation_id=user.organisation_id))
    if request.method == "POST" and form.is_valid():
        approval_actions.change_settings(user, {k: form.cleaned_data[k] for k in WorkSettingsForm.Meta.fields},
                                         request=request)  # fmt: skip
        messages.success(request, _("Settings saved."))
        return HttpResponseRedirect(reverse("work:settings"))
    return render(request, "work/form.html", {"case": None, "title": _("Approvals and hand-overs"), "forms": [form],
                                              "intro": _("Choose which actions wait for a supervisor's approval, and "
                                                         "whether a hand-over waits for its receiver.")})  # fmt: skip
