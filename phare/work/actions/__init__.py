"""The work verbs (tasks, flags, hand-overs, approvals, notifications): one module each."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from phare.cases.access import EMERGENCY_READ_ONLY, can_write, opened_by_break_glass, visible_cases
from phare.cases.actions import Invalid
from phare.cases.models import Case


def require_case_work(actor: Any, case: Case) -> None:
    """What a task or a flag on `case` asks of its actor: not found, alike for a missing case and one the actor may
    not open; read-only roles may not write; an emergency (break-glass) grant reads the case, it does not work it."""
    if not can_write(actor) or not visible_cases(actor).filter(pk=case.pk).exists():
        raise Http404("Not found")
    if opened_by_break_glass(actor, case) is not None:
        raise Invalid({"__all__": [str(EMERGENCY_READ_ONLY)]})
