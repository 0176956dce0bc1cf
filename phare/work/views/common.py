from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from phare.cases.actions import Invalid
from phare.cases.models import Case
from phare.work.actions.approvals import EMERGENCY_READS

# A decision on a request's page: it runs the verb and returns what to say, and where to go next (None: back).
Decision = Callable[[], tuple[str, str | None]]


def apply_problems(form: forms.Form, exc: Invalid) -> None:
    """An action's refusal shown on the form, next to its field (or above the form)."""
    for field, msgs in exc.problems.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


def emergency_reader(request: HttpRequest, case: Case) -> HttpResponse | None:
    """Back to the case, saying why, for a reader who opened it with emergency (break-glass) access: that grant
    reads the case; it does not hand it over, bring colleagues onto it or ask for approvals (the verbs refuse
    too, this spares the reader a form they cannot send)."""
    from django.urls import reverse

    from phare.cases.access import opened_by_break_glass

    if opened_by_break_glass(request.user, case) is None:
        return None
    messages.error(request, EMERGENCY_READS)
    return HttpResponseRedirect(reverse("cases:case", args=[case.number]))


def decide(request: HttpRequest, decisions: dict[str, Decision], back: str) -> HttpResponse:
    """The POST of an approval's or a hand-over's page: the button pressed (`do`) runs its verb; its message,
    or the verb's refusal, is shown on the page it leads to. An unknown button is "not found"."""
    run = decisions.get(request.POST.get("do", ""))
    if run is None:
        raise Http404("Not found")
    try:
        said, where = run()
    except Invalid as exc:
        messages.error(request, " ".join(str(m) for ms in exc.problems.values() for m in ms))
        return HttpResponseRedirect(back)
    messages.success(request, said)
    return HttpResponseRedirect(where or back)
