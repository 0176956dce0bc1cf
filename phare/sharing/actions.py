"""Verbs of the sharing app that are not releases (those are in releases.py): one function each, audited in its
transaction."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

from django.db import transaction

from htcds.deid.ctdc_file import read_ctdc
from phare.accounts.models import Role
from phare.accounts.permissions import READ_AGGREGATES, can
from phare.audit.log import record
from phare.sharing.models import PrivacyBudget, ResearchDataset

# Columns whose two-way tables a research dataset keeps, the ones hubs compare most.
PAIR_COLUMNS = ("yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "isForcedLabour",
                "isSexualExploit")  # fmt: skip


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


class LoadRefusedError(Exception):
    pass


def load_ctdc_dataset(actor: Any, organisation: Any, path: Path, name: str = "") -> ResearchDataset:
    """Counts from a CTDC file in its published layout, kept as an aggregate-only research dataset (never cases, no
    rows): every column's counts, and the two-way tables of the columns hubs compare."""
    if actor is None or actor.organisation_id != organisation.pk or not can(actor, READ_AGGREGATES):
        raise LoadRefusedError("your role may not load research datasets for this organisation")
    file = read_ctdc(path)
    if not file.ctdc_columns:
        raise LoadRefusedError(f"{path.name}: no CTDC column; the columns are {', '.join(file.columns[:12])}")
    if not file.rows:
        raise LoadRefusedError(f"{path.name}: the file has no rows")
    columns = file.ctdc_columns
    marginals = {c: dict(Counter(r[c] for r in file.rows).most_common()) for c in columns}
    pairs: dict[str, list[list[object]]] = {}
    for a, b in combinations([c for c in PAIR_COLUMNS if c in columns], 2):
        counted = Counter((r[a], r[b]) for r in file.rows)
        pairs[f"{a} x {b}"] = [[va, vb, n] for (va, vb), n in counted.most_common()]
    with transaction.atomic():
        dataset = ResearchDataset.objects.create(organisation=organisation, name=name or path.stem, source=path.name,
                                                 loaded_by=actor, records=len(file.rows), marginals=marginals,
                                                 pairs=pairs, reading=file.summary())  # fmt: skip
        record("sharing.research_dataset", actor=actor, organisation=organisation, target=dataset,
               detail={"source": path.name, "records": len(file.rows), "problems": len(file.problems)})  # fmt: skip
    return dataset
