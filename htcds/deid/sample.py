"""CTDC-shaped demo and benchmark tables drawn from published frequencies.

Real case data must never leave the system to test or benchmark the de-identification code, and the
CTDC dataset itself may not be redistributed. What may be used are counts CTDC has published: the
bundled ``data/ctdc_2020_frequencies.json`` holds marginals and two joint tables from the April 2020
release. Draws follow those joints, so the columns most used as quasi-identifiers (gender x age x type
of exploitation, citizenship x country of exploitation) have realistic dependence and realistic rare
combinations, which is what makes a k-anonymity or synthesis benchmark meaningful.

Columns with no published frequencies here (Datasource, isOtherExploit, means of control, type of
labour and of sexual exploitation, abduction, recruiter relation, majority at entry and exploitation)
are drawn at illustrative rates chosen for plausibility. They are stated in ``ILLUSTRATIVE_RATES`` and
are not CTDC figures.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from htcds.deid._table import MISSING
from htcds.deid.hierarchies import MINOR_BANDS

MEANS_OF_CONTROL = (
    "DebtBondage",
    "TakesEarnings",
    "RestrictsFinancialAccess",
    "Threats",
    "PsychologicalAbuse",
    "PhysicalAbuse",
    "SexualAbuse",
    "FalsePromises",
    "PsychoactiveSubstances",
    "RestrictsMovement",
    "RestrictsMedicalCare",
    "ExcessiveWorkingHours",
    "UsesChildren",
    "ThreatOfLawEnforcement",
    "WithholdsNecessities",
    "WithholdsDocuments",
    "Other",
)
TYPES_OF_LABOUR = (
    "Agriculture",
    "Aquafarming",
    "Begging",
    "Construction",
    "DomesticWork",
    "Hospitality",
    "IllicitActivities",
    "Manufacturing",
    "MiningOrDrilling",
    "Peddling",
    "Transportation",
    "Other",
)
TYPES_OF_SEX = ("Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices")
RECRUITER_RELATIONS = ("IntimatePartner", "Friend", "Family", "Other", "Unknown")

ILLUSTRATIVE_RATES: dict[str, Any] = {
    "Datasource": {"Case Management": 0.85, "Hotline": 0.15},
    "isOtherExploit_when_neither_labour_nor_sex": 0.6,
    "isOtherExploit_otherwise": 0.03,
    "meansOfControlNotSpecified": 0.55,
    "meansOfControl": dict(
        zip(
            MEANS_OF_CONTROL,
            (0.10, 0.12, 0.05, 0.15, 0.20, 0.15, 0.10, 0.15, 0.04, 0.15, 0.03, 0.08, 0.01, 0.04, 0.05, 0.08, 0.05),
            strict=True,
        )
    ),
    "typeOfLabour": dict(
        zip(TYPES_OF_LABOUR, (0.15, 0.05, 0.06, 0.10, 0.22, 0.07, 0.02, 0.10, 0.03, 0.03, 0.04, 0.13), strict=True)
    ),
    "typeOfLabourNotSpecified_when_forced_labour": 0.3,
    "typeOfSex": dict(zip(TYPES_OF_SEX, (0.8, 0.1, 0.05, 0.05), strict=True)),
    "isAbduction": {"0": 0.57, "1": 0.03, MISSING: 0.40},
    "recruiterRelation": dict(zip(RECRUITER_RELATIONS, (0.1, 0.2, 0.2, 0.2, 0.3), strict=True)),
    "majority_at_entry_or_exploit_unknown": 0.3,
}


@lru_cache(maxsize=1)
def published_frequencies() -> dict[str, Any]:
    """The bundled CTDC 2020 frequency tables (counts, not records)."""
    text = resources.files("htcds.deid.data").joinpath("ctdc_2020_frequencies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _draw(rng: np.random.Generator, counts: list[float], n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    p = np.asarray(counts, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)


def _flags(rng: np.random.Generator, rate: float, n: int) -> np.ndarray[Any, np.dtype[np.object_]]:
    return np.where(rng.random(n) < rate, "1", "0").astype(object)


def ctdc_like_table(n: int, seed: int | None = None) -> dict[str, list[object]]:
    """``n`` CTDC-like victim rows as columns, reproducible with ``seed``.

    Flags are the strings "0"/"1", unknowns "(missing)", years ints, as in CTDC's CSV once "-99" is
    read as missing.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    rng = np.random.default_rng(seed)
    freq = published_frequencies()
    cols: dict[str, np.ndarray[Any, np.dtype[Any]]] = {}

    years = freq["marginals"]["yearOfRegistration"]
    idx = _draw(rng, [c for _, c in years], n)
    cols["yearOfRegistration"] = np.array([int(v) for v, _ in years], dtype=object)[idx]
    ds = ILLUSTRATIVE_RATES["Datasource"]
    cols["Datasource"] = np.array(list(ds), dtype=object)[_draw(rng, list(ds.values()), n)]

    gae = freq["gender_age_exploitation"]
    rows = gae["rows"]
    idx = _draw(rng, [r[-1] for r in rows], n)
    for j, name in enumerate(gae["columns"]):
        cols[name] = np.array([r[j] for r in rows], dtype=object)[idx]
    band = cols["ageBroad"]
    minor = np.isin(band, list(MINOR_BANDS))
    majority = np.where(band == MISSING, MISSING, np.where(minor, "Minor", "Adult")).astype(object)
    cols["majorityStatus"] = majority
    unknown = ILLUSTRATIVE_RATES["majority_at_entry_or_exploit_unknown"]
    for name in ("majorityStatusAtExploit", "majorityEntry"):
        cols[name] = np.where(rng.random(n) < unknown, MISSING, majority).astype(object)

    cx = freq["citizenship_country_of_exploitation"]
    rows = cx["rows"]
    idx = _draw(rng, [r[-1] for r in rows], n)
    for j, name in enumerate(cx["columns"]):
        cols[name] = np.array([r[j] for r in rows], dtype=object)[idx]

    labour = cols["isForcedLabour"] == "1"
    sex = cols["isSexualExploit"] == "1"
    known = (cols["isForcedLabour"] != MISSING) & (cols["isSexualExploit"] != MISSING)
    rate = np.where(
        known & ~labour & ~sex,
        ILLUSTRATIVE_RATES["isOtherExploit_when_neither_labour_nor_sex"],
        ILLUSTRATIVE_RATES["isOtherExploit_otherwise"],
    )
    cols["isOtherExploit"] = np.where(rng.random(n) < rate, "1", "0").astype(object)

    not_specified = rng.random(n) < ILLUSTRATIVE_RATES["meansOfControlNotSpecified"]
    for name, r in ILLUSTRATIVE_RATES["meansOfControl"].items():
        cols[f"meansOfControl{name}"] = np.where(not_specified, MISSING, _flags(rng, r, n)).astype(object)
    cols["meansOfControlNotSpecified"] = np.where(not_specified, "1", "0").astype(object)

    lab = ILLUSTRATIVE_RATES["typeOfLabour"]
    which = _draw(rng, list(lab.values()), n)
    unspecified = rng.random(n) < ILLUSTRATIVE_RATES["typeOfLabourNotSpecified_when_forced_labour"]
    for j, name in enumerate(lab):
        cols[f"typeOfLabour{name}"] = np.where(labour, np.where((which == j) & ~unspecified, "1", "0"), MISSING).astype(
            object
        )
    cols["typeOfLabourNotSpecified"] = np.where(labour, np.where(unspecified, "1", "0"), MISSING).astype(object)

    sx = ILLUSTRATIVE_RATES["typeOfSex"]
    which = _draw(rng, list(sx.values()), n)
    for j, name in enumerate(sx):
        cols[f"typeOfSex{name}"] = np.where(sex, np.where(which == j, "1", "0"), MISSING).astype(object)

    ab = ILLUSTRATIVE_RATES["isAbduction"]
    cols["isAbduction"] = np.array(list(ab), dtype=object)[_draw(rng, list(ab.values()), n)]
    rel = ILLUSTRATIVE_RATES["recruiterRelation"]
    which = _draw(rng, list(rel.values()), n)
    for j, name in enumerate(rel):
        cols[f"recruiterRelation{name}"] = np.where(which == j, "1", "0").astype(object)

    return {name: col.tolist() for name, col in cols.items()}
