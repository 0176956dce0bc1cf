"""k-anonymity of a CTDC-layout file over every quasi-identifier of the CTDC codebook present in it.

Anything an attacker may know about a victim from outside can single them out: not only gender, age,
citizenship, country and year, but whether they were sexually exploited, how they were controlled, who
recruited them. So by default every codebook column present is a quasi-identifier, and k-anonymity is
reached over all of them at once (a table k-anonymous over five columns can be 1-anonymous over seven).

Fifty-odd flags would make a generalisation lattice of 2^50 nodes, so the flags are taken in their codebook
families (type of exploitation, means of control, type of labour, type of sexual exploitation, recruiter
relation, majority at exploitation): each family is one quasi-identifier whose value is the whole tuple of its
flags, generalised in one step to "*" (the family withheld). That is exact for k-anonymity: two records are
in the same class over the family exactly when all its flags agree. ageBroad and majorityStatus form one
family too, since one is derived from the other: band -> Minor/Adult -> "*".

When reaching k over every quasi-identifier withholds a family whole, the release says so before anything
leaves (:attr:`CTDCAnonymisation.withheld`) and the caller offers the trade-offs computed here: what dropping
each family from the file would give instead (:func:`trade_offs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from htcds.deid._table import MISSING, SUPPRESSED, normalise
from htcds.deid.hierarchies import (
    AGE_BAND_LABELS,
    Hierarchy,
    age_band_hierarchy,
    country_hierarchy,
    flat_hierarchy,
    majority_status,
    year_hierarchy,
)
from htcds.deid.kanon import KAnonymityResult, k_anonymise

_SEP = "\x1f"

MEANS = ("DebtBondage", "TakesEarnings", "RestrictsFinancialAccess", "Threats", "PsychologicalAbuse", "PhysicalAbuse",
         "SexualAbuse", "FalsePromises", "PsychoactiveSubstances", "RestrictsMovement", "RestrictsMedicalCare",
         "ExcessiveWorkingHours", "UsesChildren", "ThreatOfLawEnforcement", "WithholdsNecessities",
         "WithholdsDocuments", "Other", "NotSpecified")  # fmt: skip
LABOUR = ("Agriculture", "Aquafarming", "Begging", "Construction", "DomesticWork", "Hospitality", "IllicitActivities",
          "Manufacturing", "MiningOrDrilling", "Peddling", "Transportation", "Other", "NotSpecified")  # fmt: skip
SEX = ("Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices")
RECRUITER = ("IntimatePartner", "Friend", "Family", "Other", "Unknown")

QI_FAMILIES: dict[str, tuple[str, ...]] = {
    "yearOfRegistration": ("yearOfRegistration",),
    "Datasource": ("Datasource",),
    "gender": ("gender",),
    "age": ("ageBroad", "majorityStatus"),
    "majorityAtExploitation": ("majorityStatusAtExploit", "majorityEntry"),
    "citizenship": ("citizenship",),
    "CountryOfExploitation": ("CountryOfExploitation",),
    "typeOfExploitation": ("isForcedLabour", "isSexualExploit", "isOtherExploit"),
    "meansOfControl": tuple(f"meansOfControl{m}" for m in MEANS),
    "typeOfLabour": tuple(f"typeOfLabour{t}" for t in LABOUR),
    "typeOfSex": tuple(f"typeOfSex{t}" for t in SEX),
    "isAbduction": ("isAbduction",),
    "recruiterRelation": tuple(f"recruiterRelation{r}" for r in RECRUITER),
}
"""The CTDC codebook's quasi-identifiers, by family (each family is one quasi-identifier)."""

CODEBOOK_COLUMNS = frozenset(c for columns in QI_FAMILIES.values() for c in columns)


def qi_set(columns: Sequence[str], drop: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """The families present in a file (any of their columns), with the columns present; ``drop`` names
    families left out of the file altogether."""
    present = set(columns)
    out: dict[str, tuple[str, ...]] = {}
    for family, members in QI_FAMILIES.items():
        found = tuple(c for c in members if c in present)
        if found and family not in drop:
            out[family] = found
    return out


def _age_family() -> Hierarchy:
    def gen(value: object, level: int) -> str:
        band, status = str(value).split(_SEP)
        return majority_status(band) if band in AGE_BAND_LABELS else status

    return Hierarchy("age", ("ageBroad+majorityStatus", "majorityStatus", SUPPRESSED), gen)


def _hierarchy(family: str, members: tuple[str, ...]) -> Hierarchy:
    if len(members) > 1:
        return _age_family() if family == "age" else flat_hierarchy(family)
    column = members[0]
    if column == "yearOfRegistration":
        return year_hierarchy()
    if column in ("citizenship", "CountryOfExploitation"):
        return country_hierarchy()
    if column == "ageBroad":
        return age_band_hierarchy()
    return flat_hierarchy(column)


@dataclass(frozen=True)
class CTDCAnonymisation:
    """A k-anonymised CTDC file and what it took."""

    rows: list[dict[str, object]]
    result: KAnonymityResult
    families: dict[str, tuple[str, ...]]
    dropped: tuple[str, ...]

    @property
    def withheld(self) -> list[str]:
        """Families generalised to "*" for every record: present in the file but saying nothing."""
        return [f for f in self.families if self.result.level_names.get(f) == SUPPRESSED]

    def to_json(self) -> dict[str, object]:
        return {
            **self.result.to_json(),
            "quasi_identifiers": {f: list(c) for f, c in self.families.items()},
            "quasi_identifier_rule": "every CTDC codebook column present in the file, flags by codebook family",
            "dropped_families": list(self.dropped),
            "withheld_families": self.withheld,
        }


def _key(row: Mapping[str, object], members: tuple[str, ...]) -> str:
    values = [str(normalise(row.get(c))) for c in members]
    return values[0] if len(values) == 1 else _SEP.join(values)


def anonymise_ctdc(
    rows: Sequence[Mapping[str, object]], k: int, suppression_budget: float = 0.05, drop: Sequence[str] = ()
) -> CTDCAnonymisation:
    """k-anonymise CTDC rows over every codebook quasi-identifier present (less the ``drop``ped families,
    whose columns leave the file)."""
    if not rows:
        raise ValueError("the file has no rows")
    columns = list(rows[0])
    families = qi_set(columns, drop)
    dropped_columns = {c for f in drop for c in QI_FAMILIES.get(f, ())}
    if not families:
        raise ValueError("no CTDC codebook column in the file")
    table: dict[str, list[object]] = {f: [_key(r, m) for r in rows] for f, m in families.items()}
    member_columns = {c for m in families.values() for c in m}
    carry = [c for c in columns if c not in member_columns and c not in dropped_columns]
    for c in carry:
        table[c] = [r.get(c) for r in rows]
    hierarchies = {f: _hierarchy(f, m) for f, m in families.items()}
    result = k_anonymise(table, hierarchies, k=k, suppression_budget=suppression_budget, keep_columns=carry)
    out_columns: dict[str, list[object]] = {}
    for family, members in families.items():
        values = [str(v) for v in result.columns[family]]
        level = result.levels[family]
        for i, column in enumerate(members):
            if len(members) == 1 or level > 0:
                out_columns[column] = list(values)
            else:
                out_columns[column] = [v.split(_SEP)[i] if v not in (SUPPRESSED, MISSING) else v for v in values]
    for c in carry:
        out_columns[c] = result.columns[c]
    order = [c for c in columns if c in out_columns]
    n = len(result.columns[next(iter(families))])
    out_rows = [{c: out_columns[c][i] for c in order} for i in range(n)]
    return CTDCAnonymisation(out_rows, result, families, tuple(drop))


def family_table(rows: Sequence[Mapping[str, object]], families: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """One column per family (its flags' tuple), the table risk is measured on."""
    return {f: [_key(r, m) for r in rows] for f, m in families.items()}


def trade_offs(rows: Sequence[Mapping[str, object]], k: int, drop: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Choices that cost less than withholding, measured on the file as it is (no search, so it is quick): for
    each family, how many records would still be in classes under k if it were dropped from the file, or
    coarsened one step (age band to Minor/Adult, country to M49 sub-region, year to 5-year period)."""
    from htcds.deid.risk import risk_report

    if not rows:
        return []
    families = qi_set(list(rows[0]), drop)
    table = family_table(rows, families)
    names = list(families)
    base = risk_report(table, names, k=k)
    options: list[dict[str, Any]] = [
        {"change": "drop", "family": c.quasi_identifier, "records_at_risk": c.records_at_risk_without}
        for c in base.contributions
    ]
    for family, members in families.items():
        hierarchy = _hierarchy(family, members)
        if hierarchy.height < 3:
            continue
        coarse = dict(table)
        coarse[family] = [hierarchy.generalise(v, 1) for v in table[family]]
        after = risk_report(coarse, names, k=k)
        options.append({"change": f"coarsen to {hierarchy.level_names[1]}", "family": family,
                        "records_at_risk": after.records_at_risk})  # fmt: skip
    options.sort(key=lambda o: o["records_at_risk"])
    return [{"records_at_risk_now": base.records_at_risk, **o} for o in options]
