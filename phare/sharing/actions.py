"""Verbs of the sharing app that are not releases (those are in releases.py): one function each, audited in its
transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from phare.accounts.models import Role
from phare.audit.log import record
from phare.sharing.models import PrivacyBudget


class BudgetChangeRefusedError(Exception):
    pass


def set_privacy_budget(actor: Any, organisation: Any, total_epsilon: float, total_delta: float) -> PrivacyBudget:
    """An organisation admin sets the total (epsilon, delta) that every DP release of its people draws on.

    The total may not fall below what has already been spent (lowering it would not take anything back), and
    delta stays at most 1e-3: each release is held to delta below 1/n too.
    """
    if actor is None or actor.organisation_id != organisation.pk or actor.role != Role.ADMIN:
        raise BudgetChangeRefusedError("only an organisation admin may set the privacy budget")
    if not total_epsilon > 0:
        raise BudgetChangeRefusedError("the total epsilon must be above 0")
    if not 0 < total_delta <= 1e-3:
        raise BudgetChangeRefusedError("the total delta must be above 0 and at most 0.001")
    from phare.sharing.releases import _ledger, budget_for

    with transaction.atomic():
        budget = PrivacyBudget.objects.select_for_update().get(pk=budget_for(organisation).pk)
        before = {"total_epsilon": budget.total_epsilon, "total_delta": budget.total_delta}
        budget.total_epsilon, budget.total_delta = total_epsilon, total_delta
        spent = _ledger(budget).spent_epsilon
        if spent > total_epsilon:
            raise BudgetChangeRefusedError(f"epsilon {spent:.3g} is already spent: the total cannot be lower")
        budget.save(update_fields=["total_epsilon", "total_delta"])
        record("sharing.budget", actor=actor, organisation=organisation, target=budget,
               detail={"before": before, "after": {"total_epsilon": total_epsilon, "total_delta": total_delta}})  # fmt: skip
    return budget
