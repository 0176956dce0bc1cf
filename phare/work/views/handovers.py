"""Handing a case over, a hand-over's page (accept, decline, cancel), the list, and adding colleagues to a case."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from phare.cases.access import get_case, require_write
from phare.cases.actions import Invalid
from phare.work import gates
from phare.work.access import get_handover, receivers_for, visible_handovers
from phare.work.actions import handovers as ho
from phare.work.forms import AddWorkerForm, HandoverForm, ReasonForm, ServiceForm
from phare.work.models import Gated, Handover
from phare.work.views.common import apply_problems, decide, emergency_reader


@login_required
def handover_new(request: HttpRequest, number: str) -> HttpResponse:
    """Hand the case over, add a colleague to it, or ask a colleague for a service on it."""
    user: Any = request.user
    require_write(user)
    case = get_case(user, number)
    if (back := emergency_reader(request, case)) is not None:
        return back
    owner_side = ho.may_hand_over(user, case)
    receivers = receivers_for(case)
    do = request.POST.get("do", "")
    hand = HandoverForm(request.POST if do == "handover" else None, users=receivers, prefix="h")
    others = receivers.exclude(pk=user.pk)  # one never adds oneself nor asks oneself for a service
    add = AddWorkerForm(request.POST if do == "add" else None, users=others, prefix="a")
    service = ServiceForm(request.POST if do == "service" else None, users=others, prefix="s")
    if request.method == "POST":
        try:
            if do == "handover" and owner_side and hand.is_valid():
                h = ho.hand_over(user, case, hand.cleaned_data["to_user"], hand.cleaned_data["reason"], request=request)
                messages.success(request, _("Hand-over sent: it waits for the receiver.") if h.state == "pending"
                                 else _("Case handed over."))  # fmt: skip
                return HttpResponseRedirect(reverse("work:handover", args=[h.uid]))
            if do == "add" and owner_side and add.is_valid():
                ho.add_worker(user, case, add.cleaned_data["user"], request=request)
                messages.success(request, _("Colleague added to the case."))
                return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
            if do == "service" and service.is_valid():
                d = service.cleaned_data
                ho.request_service(user, case, d["to_user"], d["service"], d["note"], request=request)
                messages.success(request, _("Request sent."))
                return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
            if do not in ("handover", "add", "service") or (do in ("handover", "add") and not owner_side):
                raise Http404("Not found")
        except Invalid as exc:
            apply_problems({"handover": hand, "add": add, "service": service}[do], exc)
    gated = not gates.decides_alone(user) and gates.required(case.organisation_id, Gated.REASSIGN)
    return render(request, "work/handover_new.html", {"case": case, "hand": hand, "add": add, "service": service,
                                                      "owner_side": owner_side, "gated": gated})  # fmt: skip


@login_required
def handover_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    qs = visible_handovers(user).select_related("case", "by", "to_user", "from_user").order_by("-created")
    return render(request, "work/handovers.html", {"waiting": list(qs.filter(state=Handover.State.PENDING)[:100]),
                                                   "recent": list(qs.exclude(state=Handover.State.PENDING)[:50])})  # fmt: skip


@login_required
def handover_page(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    require_write(user)
    h = get_handover(user, uid)
    decline = ReasonForm(request.POST if request.POST.get("do") == "decline" else None)
    if request.method == "POST":

        def accept() -> tuple[str, str]:
            ho.accept_handover(user, h, request=request)
            return _("You now own the case."), reverse("cases:case", args=[h.case.number])

        def decline_it() -> tuple[str, str]:
            if not decline.is_valid():
                raise Invalid({"reason": [_("Say why, so that the sender can find someone else.")]})
            ho.decline_handover(user, h, decline.cleaned_data["reason"], request=request)
            return _("Hand-over declined."), reverse("work:handovers")  # its page is no longer the receiver's

        def cancel() -> tuple[str, None]:
            ho.cancel_handover(user, h, request=request)
            return _("Hand-over cancelled."), None

        return decide(request, {"accept": accept, "decline": decline_it, "cancel": cancel},
                      reverse("work:handover", args=[h.uid]))  # fmt: skip
    from phare.cases.access import visible_cases

    opens = visible_cases(user).filter(pk=h.case_id).exists()
    return render(request, "work/handover.html", {"h": h, "decline": decline, "mine": h.to_user_id == user.pk, "opens": opens,
                                                  "sender": h.by_id == user.pk})  # fmt: skip
