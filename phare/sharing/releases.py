"""De-identified releases: CTDC-compatible k-anonymised microdata, DP synthetic microdata, and the
privacy-risk report that comes before either. One function per verb, each audited in its transaction.

Nothing leaves without a report: the filters applied (consent for research, victim status), the risk of the
table as released, the information lost, and for synthetic data the privacy budget spent.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from htcds import cells
from htcds.deid import ctdc
from htcds.deid.aggregates import dp_count_table
from htcds.deid.hierarchies import ctdc_hierarchies
from htcds.deid.kanon import k_anonymise
from htcds.deid.risk import risk_report
from htcds.deid.synth import synthesise, utility_report
from phare.accounts.models import Role
from phare.accounts.permissions import READ_AGGREGATES, can
from phare.audit.log import record
from phare.sharing.models import PrivacyBudget, PrivacySpend, Release
from phare.sharing.records import victim_records

# Quasi-identifiers of the CTDC release: what an attacker could know about a victim from outside.
CTDC_QI = ("gender", "ageBroad", "citizenship", "CountryOfExploitation", "yearOfRegistration")
CTDC_SENSITIVE = ("isSexualExploit", "isForcedLabour")
SYNTHETIC_COLUMNS = 12


class ReleaseRefusedError(Exception):
    """The release would break the organisation's rules; the message says which and what to do."""


@dataclass
class Outcome:
    release: Release
    rows: list[dict[str, Any]]
    report: dict[str, Any]


def _check_actor(actor: Any, organisation: Any) -> None:
    if actor is not None and (getattr(actor, "organisation_id", None) != organisation.pk or not can(actor, READ_AGGREGATES)):
        raise ReleaseRefusedError("your role may not release de-identified data for this organisation")


def ctdc_table(organisation: Any, synthetic_columns: bool = False) -> ctdc.CTDCExport:
    return ctdc.to_ctdc_rows(victim_records(organisation.pk), synthetic_columns_only=synthetic_columns,
                             consent_field="con_Purpose")  # fmt: skip


def preview_risk(organisation: Any, k: int | None = None) -> dict[str, Any]:
    """The risk of the CTDC table before anonymisation: what the analyst sees before choosing k."""
    export = ctdc_table(organisation)
    k = k or organisation.k_threshold
    report = risk_report(export.rows, list(CTDC_QI), k=k, sensitive=list(CTDC_SENSITIVE)) if export.rows else None
    return {"filters": export.counts(), "risk": report.to_json() if report else None, "k": k}


def release_ctdc(actor: Any, organisation: Any, k: int, out: Path, report_path: Path | None = None,
                 override_reason: str = "", suppression_budget: float = 0.05) -> Outcome:  # fmt: skip
    _check_actor(actor, organisation)
    if k < organisation.k_threshold:
        if not override_reason.strip():
            raise ReleaseRefusedError(
                f"k = {k} is below this organisation's threshold of {organisation.k_threshold}: choose k >= "
                f"{organisation.k_threshold}, or an organisation admin must give a written reason to override"
            )
        if actor is not None and actor.role != Role.ADMIN:
            raise ReleaseRefusedError("only an organisation admin may override the k threshold")
    export = ctdc_table(organisation)
    if not export.rows:
        raise ReleaseRefusedError(f"no record may be released: {export.counts()}")
    hierarchies = ctdc_hierarchies()
    result = k_anonymise(export.rows, {q: hierarchies[q] for q in CTDC_QI}, k=k,
                         suppression_budget=suppression_budget)  # fmt: skip
    rows = result.rows()
    after = risk_report(rows, list(CTDC_QI), k=k, sensitive=list(CTDC_SENSITIVE)) if rows else None
    report = {
        "kind": "ctdc",
        "organisation": organisation.slug,
        "filters": export.counts(),
        "filters_applied": ["consent purposes include Research", "trafficking status is possible or actual victim"],
        "anonymisation": result.to_json(),
        "risk_after": after.to_json() if after else None,
        "override_reason": override_reason or None,
        "crosswalk": ctdc.crosswalk_table(),
    }
    with transaction.atomic():
        release = Release.objects.create(organisation=organisation, kind="ctdc", actor=actor, records=len(rows),
                                         k=k, override_reason=override_reason, report=_summary(report))  # fmt: skip
        record("export.ctdc", actor=actor, organisation=organisation, target=release,
               detail={"k": k, "records": len(rows), "override_reason": override_reason or None})  # fmt: skip
    _write(out, rows, report_path, report)
    return Outcome(release, rows, report)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "crosswalk"}


def write_rows(out: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """A release as CSV (`columns`: those of the first row by default); no cell starts a formula (htcds.cells)."""
    columns = columns if columns is not None else list(rows[0]) if rows else []
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(cells.csv_row(columns))
        writer.writerows(cells.csv_row([r.get(c) for c in columns]) for r in rows)


def _write(out: Path, rows: list[dict[str, Any]], report_path: Path | None, report: dict[str, Any]) -> None:
    import json

    write_rows(out, rows)
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def _spend(organisation: Any, dataset: str, epsilon: float, delta: float, purpose: str, actor: Any) -> PrivacyBudget:
    """Record a spend against the dataset's budget, or refuse; call inside the release's transaction."""
    # Lock the budget row: two releases at once must not both fit in what is left.
    budget = PrivacyBudget.objects.select_for_update().get(pk=budget_for(organisation, dataset).pk)
    left = remaining_epsilon(budget)
    if epsilon > left + 1e-12:
        raise ReleaseRefusedError(
            f"epsilon {epsilon:g} exceeds what is left of this dataset's privacy budget ({left:g} of "
            f"{budget.total_epsilon:g}); an admin can raise the total, knowing every release adds up"
        )
    PrivacySpend.objects.create(organisation=organisation, budget=budget, epsilon=epsilon, delta=delta,
                                purpose=purpose, actor=actor)  # fmt: skip
    return budget


AGGREGATE_COLUMNS = ("gender", "ageBroad", "citizenship", "CountryOfExploitation", "yearOfRegistration",
                     "isForcedLabour", "isSexualExploit", "isOtherExploit")  # fmt: skip


def release_aggregate(actor: Any, organisation: Any, attributes: list[str], epsilon: float,
                      dataset: str = "ctdc-aggregates", seed: int | None = None) -> Outcome:  # fmt: skip
    """Counts by two or three attributes with DP noise and small cells (under k) suppressed, so that a table
    can go into a report that leaves the organisation."""
    _check_actor(actor, organisation)
    if not 2 <= len(attributes) <= 3 or any(a not in AGGREGATE_COLUMNS for a in attributes):
        raise ReleaseRefusedError(f"choose two or three of: {', '.join(AGGREGATE_COLUMNS)}")
    if epsilon <= 0:
        raise ReleaseRefusedError("epsilon must be positive")
    export = ctdc_table(organisation)
    with transaction.atomic():
        _spend(organisation, dataset, epsilon, 0.0, "aggregate " + "x".join(attributes), actor)
        table = dp_count_table(export.rows, attributes, epsilon, threshold=organisation.k_threshold, seed=seed)
        report = {"kind": "aggregate", "organisation": organisation.slug, "filters": export.counts(), **table.to_json()}
        rows = [c for c in table.cells()]
        release = Release.objects.create(organisation=organisation, kind="aggregate", actor=actor, records=len(rows),
                                         epsilon=epsilon, k=organisation.k_threshold, report=_summary(report))  # fmt: skip
        record("export.aggregate", actor=actor, organisation=organisation, target=release,
               detail={"attributes": attributes, "epsilon": epsilon})  # fmt: skip
    return Outcome(release, rows, report)


def budget_for(organisation: Any, dataset: str) -> PrivacyBudget:
    budget, _ = PrivacyBudget.objects.get_or_create(organisation=organisation, dataset=dataset)
    return budget


def remaining_epsilon(budget: PrivacyBudget) -> float:
    spent = sum(budget.spends.values_list("epsilon", flat=True))
    return budget.total_epsilon - spent


def release_synthetic(actor: Any, organisation: Any, epsilon: float, out: Path, report_path: Path | None = None,
                      delta: float = 1e-6, seed: int | None = None, dataset: str = "ctdc-synthetic") -> Outcome:  # fmt: skip
    _check_actor(actor, organisation)
    if epsilon <= 0:
        raise ReleaseRefusedError("epsilon must be positive")
    export = ctdc_table(organisation, synthetic_columns=True)
    if not export.rows:
        raise ReleaseRefusedError(f"no record may be released: {export.counts()}")
    with transaction.atomic():
        budget = _spend(organisation, dataset, epsilon, delta, "synthetic microdata", actor)
        left = remaining_epsilon(budget) + epsilon
        result = synthesise(export.rows, epsilon=epsilon, delta=delta, seed=seed)
        rows = result.rows()
        utility = utility_report(export.rows, rows)
        report = {
            "kind": "synthetic",
            "organisation": organisation.slug,
            "filters": export.counts(),
            "epsilon": epsilon,
            "delta": delta,
            "budget": {"dataset": dataset, "total_epsilon": budget.total_epsilon, "spent_before": budget.total_epsilon - left,
                       "remaining_after": left - epsilon},
            "synthesis": result.to_json(),
            "utility": utility.to_json(),
        }
        release = Release.objects.create(organisation=organisation, kind="synthetic", actor=actor, records=len(rows),
                                         epsilon=epsilon, report=report)  # fmt: skip
        record("export.synthetic", actor=actor, organisation=organisation, target=release,
               detail={"epsilon": epsilon, "records": len(rows)})  # fmt: skip
    _write(out, rows, report_path, report)
    return Outcome(release, rows, report)
