"""Actions an organisation puts behind a supervisor's approval (WorkSettings). The case verbs call `check`
first: for a user who may not decide alone, a gated verb raises `NeedsApproval` (an `Invalid`, so every page
and the API show it as a refusal) and nothing happens. `phare.work.actions.approvals.approve` runs the verb
inside `approved(...)`, the only way past the gate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils.translation import gettext as _

from phare.cases.actions import Invalid

# The approval being carried out in this context (the gate opens for its own case and action only).
_APPROVED: ContextVar[tuple[int, str] | None] = ContextVar("phare_work_approved", default=None)


class NeedsApproval(Invalid):
    def __init__(self, gated: str) -> None:
        super().__init__({"__all__": [_("Your organisation asks a supervisor to approve this first: use “Ask for "
                                        "approval” on the case page.")]})  # fmt: skip
        self.gated = gated


def required(organisation_id: int, gated: str) -> bool:
    return gated in required_of(organisation_id)


def required_of(organisation_id: int) -> frozenset[str]:
    """Every gated action of the organisation, in one read (the case page offers a request for each)."""
    from phare.work.models import Gated, WorkSettings

    ws = WorkSettings.objects.filter(organisation_id=organisation_id).first()
    return frozenset(g.value for g in Gated if ws is not None and ws.needs_approval(g.value))


def decides_alone(actor: Any) -> bool:
    """Supervisors and admins act without asking; system actors (imports, retention) are not case workers."""
    from phare.cases.access import can_manage

    return can_manage(actor) or getattr(actor, "pk", None) is None


def check(actor: Any, case: Any, gated: str) -> None:
    if _APPROVED.get() == (case.pk, gated) or decides_alone(actor):
        return
    if required(case.organisation_id, gated):
        raise NeedsApproval(gated)


@contextmanager
def approved(case: Any, gated: str) -> Iterator[None]:
    token = _APPROVED.set((case.pk, gated))
    try:
        yield
    finally:
        _APPROVED.reset(token)
