"""De-identified releases: CTDC-compatible k-anonymised microdata, DP synthetic microdata, and the
privacy-risk report that comes before either. One function per verb, each audited in its transaction.

Nothing leaves without a report: the filters applied (consent for research, victim status), the risk of the
table as released, the information lost, and for DP releases the privacy budget spent.

Differential privacy end to end (docs/privacy.md): one row per person (their first qualifying registration),
public domains for every column, noise from OpenDP's samplers and no seed, one budget ledger per organisation
checked before each release, and an outgoing report of DP or public quantities only: what was measured on the
raw data (filter counts, utility) goes to the release's internal report, which never leaves.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from htcds import cells
from htcds.deid import ctdc, domains
from htcds.deid.aggregates import dp_count_table
from htcds.deid.budget import PrivacyBudgetLedger, Spend, release_rho
from htcds.deid.ctdc_kanon import anonymise_ctdc, family_table, qi_set, trade_offs
from htcds.deid.risk import risk_report
from htcds.deid.synth import synthesise, utility_report
from phare.accounts.models import Role
from phare.accounts.permissions import READ_AGGREGATES, can
from phare.audit.log import record
from phare.sharing import words
from phare.sharing.models import PrivacyBudget, PrivacySpend, Release
from phare.sharing.records import PERSON_FIELD, victim_records

# Quasi-identifiers of the CTDC release: every codebook column (htcds.deid.ctdc_kanon), since an attacker may
# know anything about a victim from outside; flags by codebook family.
UNIT_OF_PRIVACY = ("one person: each person released is one row (their first registration as a possible or "
                   "actual victim with consent to research), so adding or removing a person changes one row")  # fmt: skip


class ReleaseRefusedError(Exception):
    """The release would break the organisation's rules; the message says which and what to do."""


@dataclass
class Outcome:
    release: Release
    rows: list[dict[str, Any]]
    report: dict[str, Any]
    internal: dict[str, Any] = field(default_factory=dict)


def _check_actor(actor: Any, organisation: Any) -> None:
    if actor is not None and (getattr(actor, "organisation_id", None) != organisation.pk or not can(actor, READ_AGGREGATES)):
        raise ReleaseRefusedError(_("Your role may not release de-identified data for this organisation."))


def _first_registration(record: dict[str, Any]) -> tuple[date, int]:
    return record["cas_OpenedDate"] or date.max, record["case_id"]


def ctdc_table(organisation: Any, synthetic_columns: bool = False) -> ctdc.CTDCExport:
    """The organisation's CTDC rows, one per person: their first qualifying case by opening date."""
    records = sorted(victim_records(organisation.pk), key=_first_registration)
    return ctdc.to_ctdc_rows(records, synthetic_columns_only=synthetic_columns, consent_field="con_Purpose",
                             person_field=PERSON_FIELD)  # fmt: skip


def preview_risk(organisation: Any, k: int | None = None) -> dict[str, Any]:
    """The risk of the CTDC table before anonymisation, over every quasi-identifier it holds, and the choices that
    would lower it: what the analyst sees before choosing k."""
    export = ctdc_table(organisation)
    k = k or organisation.k_threshold
    report = None
    options: list[dict[str, Any]] = []
    if export.rows:
        families = qi_set(list(export.rows[0]))
        report = risk_report(family_table(export.rows, families), list(families), k=k).to_json()
        options = trade_offs(export.rows, k)[:6] if report["records_at_risk"] else []
    own = {c: dict(Counter(str(r.get(c)) for r in export.rows)) for c in ("gender", "ageBroad", "isSexualExploit",
                                                                        "isForcedLabour")}  # fmt: skip
    return {"filters": export.counts(), "risk": report, "k": k, "trade_offs": options, "own_marginals": own}


def release_ctdc(actor: Any, organisation: Any, k: int, out: Path, report_path: Path | None = None,
                 override_reason: str = "", suppression_budget: float = 0.05, drop: tuple[str, ...] = (),
                 accept_withheld: bool = False) -> Outcome:  # fmt: skip
    """The CTDC microdata, k-anonymous over every codebook quasi-identifier present (less the ``drop``ped
    families, which leave the file). When that withholds a family whole, the release is refused unless
    ``accept_withheld``, and the refusal names the trade-offs."""
    _check_actor(actor, organisation)
    if k < organisation.k_threshold:
        if not override_reason.strip():
            raise ReleaseRefusedError(
                _("k = %(k)s is below this organisation's threshold of %(min)s: choose k of %(min)s or more, or an "
                  "organisation admin must give a written reason to override.") % {"k": k, "min": organisation.k_threshold}
            )  # fmt: skip
        if actor is not None and actor.role != Role.ADMIN:
            raise ReleaseRefusedError(_("Only an organisation admin may override the k threshold."))
    export = ctdc_table(organisation)
    if not export.rows:
        raise ReleaseRefusedError(f"no record may be released: {export.counts()}")
    try:
        plan = anonymise_ctdc(export.rows, k, suppression_budget, drop)
    except ValueError as exc:
        raise ReleaseRefusedError(str(exc)) from exc
    if plan.withheld and not accept_withheld:
        choices = "; ".join(_("%(change)s: %(family)s, %(records_at_risk)s records under k") % o
                            for o in words.trade_offs(trade_offs(export.rows, k, drop)[:5]))  # fmt: skip
        raise ReleaseRefusedError(
            _("k = %(k)s over every quasi-identifier withholds %(families)s for every record. Drop a family from the "
              "file instead, or coarsen one (%(choices)s), or release with them withheld.")
            % {"k": k, "families": words.words_list([words.family(f) for f in plan.withheld]), "choices": choices}
        )  # fmt: skip
    rows = plan.rows
    qi_columns = [c for members in plan.families.values() for c in members]
    after = risk_report(rows, qi_columns, k=k) if rows else None
    report = {
        "kind": "ctdc",
        "organisation": organisation.slug,
        "unit": "one row per person (their first registration as a possible or actual victim with research consent)",
        "filters": export.counts(),
        "filters_applied": ["consent purposes include Research", "trafficking status is possible or actual victim"],
        "anonymisation": plan.to_json(),
        "risk_after": after.to_json() if after else None,
        "override_reason": override_reason or None,
        "crosswalk": ctdc.crosswalk_table(),
    }
    with transaction.atomic():
        release = Release.objects.create(organisation=organisation, kind="ctdc", actor=actor, records=len(rows),
                                         k=k, override_reason=override_reason, report=_summary(report))  # fmt: skip
        record("export.ctdc", actor=actor, organisation=organisation, target=release,
               detail={"k": k, "records": len(rows), "override_reason": override_reason or None,
                       "dropped": list(drop), "withheld": plan.withheld})  # fmt: skip
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


def _write_json(path: Path, report: dict[str, Any]) -> None:
    import json

    path.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def _write(out: Path, rows: list[dict[str, Any]], report_path: Path | None, report: dict[str, Any]) -> None:
    write_rows(out, rows)
    if report_path is not None:
        _write_json(report_path, report)


def _ledger(budget: PrivacyBudget) -> PrivacyBudgetLedger:
    ledger = PrivacyBudgetLedger(f"organisation {budget.organisation_id}", budget.total_epsilon, budget.total_delta)
    ledger.spends = [Spend(s.epsilon, s.delta, s.rho, s.purpose, s.at.isoformat())
                     for s in budget.spends.order_by("id")]  # fmt: skip
    return ledger


def ledger_for(organisation: Any) -> PrivacyBudgetLedger:
    """The organisation's one privacy-budget ledger, rebuilt from its spends."""
    return _ledger(budget_for(organisation))


def _charge(organisation: Any, epsilon: float, delta: float, rho: float, n: int, purpose: str) -> PrivacyBudget:
    """Check a DP release against the organisation's ledger, or refuse; call inside the release's transaction,
    then record the spend with the release (``_record_spend``)."""
    # Lock the budget row: two releases at once must not both fit in what is left.
    budget = PrivacyBudget.objects.select_for_update().get(pk=budget_for(organisation).pk)
    reason = _ledger(budget).refusal(epsilon, delta, rho=rho, n=n)
    if reason is not None:
        raise ReleaseRefusedError(reason)
    return budget


def _record_spend(budget: PrivacyBudget, release: Release, rho: float, purpose: str, actor: Any) -> dict[str, Any]:
    PrivacySpend.objects.create(organisation_id=budget.organisation_id, budget=budget, release=release,
                                epsilon=release.epsilon or 0.0, delta=release.delta or 0.0, rho=rho, purpose=purpose,
                                actor=actor)  # fmt: skip
    after = _ledger(budget)
    return {"total_epsilon": after.total_epsilon, "total_delta": after.total_delta,
            "spent_epsilon": after.spent_epsilon, "remaining_epsilon": after.remaining_epsilon}  # fmt: skip


AGGREGATE_COLUMNS = ("gender", "ageBroad", "citizenship", "CountryOfExploitation", "yearOfRegistration",
                     "isForcedLabour", "isSexualExploit", "isOtherExploit")  # fmt: skip


def _public_rows(export: ctdc.CTDCExport, columns: list[str], first_year: int) -> tuple[list[dict[str, object]], dict[str, tuple[str, ...]], dict[str, int]]:  # fmt: skip
    """The rows fitted to the columns' public domains (years: the declared range up to this year)."""
    public = domains.ctdc_domains(columns, first_year=first_year)
    rows, moved = domains.coerce(export.rows, public)
    return rows, public, moved


def _declared(public: dict[str, tuple[str, ...]], first_year: int) -> dict[str, str]:
    """How each column's domain was fixed, for the outgoing report (all public)."""
    return {c: (f"years {first_year}-{timezone.localdate().year}" if c == "yearOfRegistration"
                else "ISO 3166-1 alpha-2 (UN M49 table)" if c in domains.COUNTRY_COLUMNS
                else "CTDC codebook: " + ", ".join(v)) for c, v in public.items()}  # fmt: skip


def release_aggregate(actor: Any, organisation: Any, attributes: list[str], epsilon: float,
                      first_year: int = domains.FIRST_YEAR) -> Outcome:  # fmt: skip
    """Counts by two or three attributes with DP noise and small cells (under k) suppressed, so that a table
    can go into a report that leaves the organisation."""
    _check_actor(actor, organisation)
    if not 2 <= len(attributes) <= 3 or any(a not in AGGREGATE_COLUMNS for a in attributes):
        raise ReleaseRefusedError(f"choose two or three of: {', '.join(AGGREGATE_COLUMNS)}")
    if epsilon <= 0:
        raise ReleaseRefusedError("epsilon must be positive")
    if sum(a in domains.COUNTRY_COLUMNS for a in attributes) > 1 and len(attributes) > 2:
        raise ReleaseRefusedError("a three-way table may hold at most one country attribute")
    export = ctdc_table(organisation)
    rows, public, moved = _public_rows(export, list(attributes), first_year)
    purpose = "aggregate " + "x".join(attributes)
    rho = release_rho(epsilon, 0.0)
    with transaction.atomic():
        budget = _charge(organisation, epsilon, 0.0, rho, len(rows), purpose)
        if not rows:
            raise ReleaseRefusedError("no record may be released: no victim has consented to research use")
        table = dp_count_table(rows, attributes, epsilon, categories=public, threshold=organisation.k_threshold)
        cells_out = table.cells()
        report: dict[str, Any] = {"kind": "aggregate", "organisation": organisation.slug,
                                  "unit_of_privacy": UNIT_OF_PRIVACY, "delta": 0.0, "rho": rho,
                                  "domains": _declared(public, first_year), **table.to_json()}  # fmt: skip
        report.pop("categories")
        internal = {"filters": export.counts(), "values_outside_domain": moved}
        release = Release.objects.create(organisation=organisation, kind="aggregate", actor=actor, records=len(cells_out),
                                         epsilon=epsilon, delta=0.0, k=organisation.k_threshold, report=report,
                                         internal_report=internal)  # fmt: skip
        report["budget"] = _record_spend(budget, release, rho, purpose, actor)
        Release.objects.filter(pk=release.pk).update(report=report)
        record("export.aggregate", actor=actor, organisation=organisation, target=release,
               detail={"attributes": attributes, "epsilon": epsilon, "rho": rho})  # fmt: skip
    return Outcome(release, cells_out, report, internal)


def budget_for(organisation: Any) -> PrivacyBudget:
    budget, _ = PrivacyBudget.objects.get_or_create(organisation=organisation)
    return budget


def release_synthetic(actor: Any, organisation: Any, epsilon: float, out: Path, report_path: Path | None = None,
                      delta: float = 1e-6, internal_report_path: Path | None = None,
                      first_year: int = domains.FIRST_YEAR) -> Outcome:  # fmt: skip
    """DP synthetic microdata in the columns of CTDC's synthetic release. ``report_path`` receives the report
    that may go out with the file; ``internal_report_path`` what was measured on the raw data."""
    _check_actor(actor, organisation)
    if epsilon <= 0:
        raise ReleaseRefusedError("epsilon must be positive")
    export = ctdc_table(organisation, synthetic_columns=True)
    rows_in, public, moved = _public_rows(export, list(ctdc.SYNTHETIC_COLUMNS), first_year)
    if delta <= 0:
        raise ReleaseRefusedError("synthetic data needs a delta above 0 (Gaussian noise)")
    rho = release_rho(epsilon, delta)
    with transaction.atomic():
        budget = _charge(organisation, epsilon, delta, rho, len(rows_in), "synthetic microdata")
        if not rows_in:
            raise ReleaseRefusedError("no record may be released: no victim has consented to research use")
        result = synthesise(rows_in, epsilon=epsilon, delta=delta, domains=public)
        rows = result.rows()
        report: dict[str, Any] = {"kind": "synthetic", "organisation": organisation.slug,
                                  "unit_of_privacy": UNIT_OF_PRIVACY, "epsilon": epsilon, "delta": delta, "rho": rho,
                                  "domains": _declared(public, first_year), "synthesis": result.to_json()}  # fmt: skip
        internal = {"filters": export.counts(), "values_outside_domain": moved, "seconds": result.seconds,
                    "utility": utility_report(rows_in, rows).to_json()}  # fmt: skip
        release = Release.objects.create(organisation=organisation, kind="synthetic", actor=actor, records=len(rows),
                                         epsilon=epsilon, delta=delta, report=report, internal_report=internal)  # fmt: skip
        report["budget"] = _record_spend(budget, release, rho, "synthetic microdata", actor)
        Release.objects.filter(pk=release.pk).update(report=report)
        record("export.synthetic", actor=actor, organisation=organisation, target=release,
               detail={"epsilon": epsilon, "delta": delta, "rho": rho, "records": len(rows)})  # fmt: skip
    _write(out, rows, report_path, report)
    if internal_report_path is not None:
        _write_json(internal_report_path, internal)
    return Outcome(release, rows, report, internal)
