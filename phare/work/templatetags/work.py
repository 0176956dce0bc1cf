"""`{% case_work case %}`: the case page's tasks and approvals (hand-overs show on its timeline), read through the work
access layer for the signed-in user (one include on the case page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from phare.cases.access import can_write, opened_by_break_glass
from phare.work import gates
from phare.work.access import case_work as case_work_of
from phare.work.models import ApprovalRequest, FlagKind, Gated

register = template.Library()


@register.inclusion_tag("work/_case_work.html", takes_context=True)
def case_work(context: Any, case: Any) -> dict[str, Any]:
    user = context["request"].user
    tasks, approvals, flags = case_work_of(user, case.pk)
    # An emergency (break-glass) reader is offered neither the hand-over page nor a request for approval.
    # The case page has already asked (`case_context`'s grant): for a case worker that is two queries saved.
    grant = context["grant"] if "grant" in context else opened_by_break_glass(user, case)
    works = can_write(user) and grant is None
    asks = []
    if works and not case.is_closed and not gates.decides_alone(user):
        gated = gates.required_of(case.organisation_id)
        asks = [(g.value, g.label) for g in Gated if g.value in gated]
    return {"case": case, "tasks": tasks, "approvals": approvals, "asks": asks, "flags": flags, "flag_kinds": FlagKind.choices,
            "pending": [a for a in approvals if a.state == ApprovalRequest.State.PENDING],
            "can_write": works, "works": works, "today": timezone.localdate(), "request": context["request"]}  # fmt: skip
