"""HTCDS 2.0 -> CTDC crosswalk: the victim-level columns CTDC publishes, derived from a case record.

The crosswalk is data (``CROSSWALK``), so that a reviewer can read, for every CTDC column, how it is
derived, from which HTCDS fields, and what cannot be derived exactly; :func:`to_ctdc_row` applies it.
A record here is a flat dict keyed by HTCDS value names, with lists for multi-select fields and
``hte_Events`` holding trafficking-event dicts (``hte_Type``, ``hte_Country``).

Conventions, chosen to never assert what the case file does not say:

* flags are "1"/"0"; a flag whose source field is empty is "(missing)", not "0";
* a column HTCDS cannot feed at all (for example isAbduction) is always "(missing)";
* "approximate" in the table marks columns that are derived, but from a field that is coarser or cut
  differently than CTDC's definition; the caveat says how.

Only records whose consent purposes include research and whose trafficking status is possible or
actual victim are exported; :func:`to_ctdc_rows` reports how many records each filter dropped.

One row per person. A person who is a victim in several cases would otherwise weigh several rows, and both
k-anonymity (a class of k rows could be fewer people) and differential privacy (whose unit is a person, and
whose noise is scaled to one row) would promise more than they keep. Given ``person_field``, the first record
of each person that passes both filters is kept, in the order given: phare.sharing gives them by case opening
date, so the row is the person's first registration as a victim, as CTDC counts registrations.
Consent purposes are not an HTCDS 2.0 field: Phare stores them under ``con_Purposes`` (a list), and the
key can be overridden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from htcds.deid._table import MISSING
from htcds.deid.hierarchies import age_band, majority_status

CONSENT_PURPOSES_FIELD = "con_Purposes"
RESEARCH = "Research"
VICTIM_STATUSES = frozenset({"PossibleVictimOfTrafficking", "ActualVictimOfTrafficking"})
EVENTS_FIELD = "hte_Events"


@dataclass(frozen=True)
class CrosswalkEntry:
    """One CTDC column: how it is derived and what is lost."""

    column: str
    derivation: str
    htcds_fields: tuple[str, ...]
    exact: bool
    caveat: str = ""


GENDER = {
    "Feminine": "Female",
    "Masculine": "Male",
    "TransgenderFeminine": "Transgender",
    "TransgenderMasculine": "Transgender",
    "NonConforming": "Unknown",
    "NonSpecifiedUnknown": "Unknown",
}

# CTDC means-of-control flag -> the HTCDS vic_MethodsOfControl values that set it.
MEANS_OF_CONTROL: dict[str, tuple[str, ...]] = {
    "DebtBondage": ("DebtBondage",),
    "TakesEarnings": ("TakesEarnings",),
    "RestrictsFinancialAccess": ("RestrictsFinancialAccess",),
    "Threats": ("PhysicalThreats", "ThreatensChildrenFamily"),
    "PsychologicalAbuse": ("PsychologicalAbuse",),
    "PhysicalAbuse": ("PhysicalAbuse",),
    "SexualAbuse": ("SexualAbuse",),
    "FalsePromises": ("FalsePromises",),
    "PsychoactiveSubstances": ("PsychoactiveSubstance",),
    "RestrictsMovement": (),
    "RestrictsMedicalCare": ("RestrictsMedicalCare",),
    "ExcessiveWorkingHours": ("ExcessiveWorkingHours",),
    "UsesChildren": ("ThreatensChildrenFamily",),
    "ThreatOfLawEnforcement": ("ThreatsLawEnforcement",),
    "WithholdsNecessities": ("WithholdsNecessities",),
    "WithholdsDocuments": ("WithholdsDocuments",),
    "Other": ("Other",),
}

FORCED_LABOUR_TYPES = frozenset({"ForcedLabour", "ForcedBegging"})
SEXUAL_TYPES = frozenset({"SexualExploitation"})
OTHER_TYPES = frozenset(
    {
        "ChildLabour",
        "ForcedMarriage",
        "Servitude",
        "ForcedMilitaryByNonStateActors",
        "OrganRemoval",
        "ForcedAdoption",
        "Surrogacy",
        "Other",
    }
)

# CTDC type-of-labour flag -> ISIC Rev.4 sections (vic_ForcedLabourIndustry values).
TYPE_OF_LABOUR: dict[str, tuple[str, ...]] = {
    "Agriculture": ("A_AgricultureForestryAndFishing",),
    "Aquafarming": (),
    "Begging": (),
    "Construction": ("F_Construction",),
    "DomesticWork": ("T_ActivitiesOfHouseholdsAsEmployers",),
    "Hospitality": ("I_AccommodationAndFoodServiceActivities",),
    "IllicitActivities": (),
    "Manufacturing": ("C_Manufacturing",),
    "MiningOrDrilling": ("B_MiningAndQuarrying",),
    "Peddling": (),
    "Transportation": ("H_TransportationAndStorage",),
}
_MAPPED_SECTIONS = frozenset(s for sections in TYPE_OF_LABOUR.values() for s in sections)

TYPE_OF_SEX = ("Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices")

RECRUITER_RELATION = {"Familial": "Family", "Acquainted": "Other", "Unaquainted": "Other"}
RECRUITER_FLAGS = ("IntimatePartner", "Friend", "Family", "Other", "Unknown")


def _crosswalk() -> tuple[CrosswalkEntry, ...]:
    e = CrosswalkEntry
    rows: list[CrosswalkEntry] = [
        e("yearOfRegistration", "year of the case opening date", ("cas_OpenedDate",), True),
        e(
            "Datasource",
            'always "Case Management"',
            (),
            True,
            "Phare is a case management system; hotline records are not derivable",
        ),
        e(
            "gender",
            "Feminine->Female, Masculine->Male, Transgender*->Transgender, NonSpecifiedUnknown->Unknown",
            ("prs_Gender",),
            False,
            "NonConforming has no CTDC category and is sent as Unknown",
        ),
        e("ageBroad", "CTDC band of the age on the case opening date", ("prs_Birthdate", "cas_OpenedDate"), True),
        e("majorityStatus", "Minor if under 18 on the case opening date", ("prs_Birthdate", "cas_OpenedDate"), True),
        e(
            "majorityStatusAtExploit",
            "Minor if vic_AgeWhenTrafficked < 18, else Adult",
            ("vic_AgeWhenTrafficked",),
            False,
            "age at first trafficking stands in for age during exploitation; someone trafficked as a "
            "minor may have been exploited as an adult too",
        ),
        e("majorityEntry", "Minor if vic_AgeWhenTrafficked < 18, else Adult", ("vic_AgeWhenTrafficked",), True),
        e(
            "citizenship",
            "first ISO alpha-2 code of prs_Citizenship",
            ("prs_Citizenship",),
            False,
            "CTDC has one citizenship; for people with several, only the first recorded is sent",
        ),
    ]
    for flag, sources in MEANS_OF_CONTROL.items():
        if not sources:
            rows.append(
                e(
                    f"meansOfControl{flag}",
                    "not derivable: always (missing)",
                    ("vic_MethodsOfControl",),
                    False,
                    "HTCDS has no value for restricting movement",
                )
            )
            continue
        caveat = ""
        if flag == "Threats":
            caveat = "includes threats against children or family, which CTDC may count under UsesChildren only"
        if flag == "UsesChildren":
            caveat = "HTCDS ThreatensChildrenFamily is the closest value; CTDC's flag is about using children"
        rows.append(
            e(
                f"meansOfControl{flag}",
                f"1 if vic_MethodsOfControl has {' or '.join(sources)}",
                ("vic_MethodsOfControl",),
                not caveat,
                caveat,
            )
        )
    rows += [
        e("meansOfControlNotSpecified", "1 if vic_MethodsOfControl is empty", ("vic_MethodsOfControl",), True),
        e(
            "isForcedLabour",
            "1 if vic_TypeOfExploitation has ForcedLabour or ForcedBegging",
            ("vic_TypeOfExploitation",),
            False,
            "Servitude and ChildLabour go to isOtherExploit, where CTDC may count some as forced labour",
        ),
        e("isSexualExploit", "1 if vic_TypeOfExploitation has SexualExploitation", ("vic_TypeOfExploitation",), True),
        e(
            "isOtherExploit",
            "1 if vic_TypeOfExploitation has any other type",
            ("vic_TypeOfExploitation",),
            False,
            "see isForcedLabour",
        ),
    ]
    for flag, sections in TYPE_OF_LABOUR.items():
        if flag == "Begging":
            rows.append(
                e(
                    "typeOfLabourBegging",
                    "1 if vic_TypeOfExploitation has ForcedBegging",
                    ("vic_TypeOfExploitation",),
                    True,
                )
            )
        elif not sections:
            rows.append(
                e(
                    f"typeOfLabour{flag}",
                    "not derivable: always (missing)",
                    ("vic_ForcedLabourIndustry",),
                    False,
                    "no ISIC section isolates it (aquaculture is inside A, peddling inside G, illicit "
                    "activities have none)",
                )
            )
        else:
            rows.append(
                e(
                    f"typeOfLabour{flag}",
                    f"1 if vic_ForcedLabourIndustry is {sections[0]}",
                    ("vic_ForcedLabourIndustry",),
                    flag != "Agriculture",
                    "section A also covers fishing and aquaculture" if flag == "Agriculture" else "",
                )
            )
    rows += [
        e(
            "typeOfLabourOther",
            "1 if vic_ForcedLabourIndustry is any other ISIC section",
            ("vic_ForcedLabourIndustry",),
            False,
            "also catches peddling (G) and anything else without its own CTDC flag",
        ),
        e(
            "typeOfLabourNotSpecified",
            "1 if forced labour but no industry recorded",
            ("vic_TypeOfExploitation", "vic_ForcedLabourIndustry"),
            True,
        ),
    ]
    rows += [
        e(f"typeOfSex{t}", f"1 if vic_TypeOfSexExploitation has {t}", ("vic_TypeOfSexExploitation",), True)
        for t in TYPE_OF_SEX
    ]
    rows += [
        e("isAbduction", "not derivable: always (missing)", (), False, "HTCDS 2.0 does not record abduction"),
        e(
            "recruiterRelationIntimatePartner",
            "not derivable: always (missing)",
            ("vic_RelationshipToTrafficker",),
            False,
            "an intimate partner is recorded as Familial or Acquainted",
        ),
        e(
            "recruiterRelationFriend",
            "not derivable: always (missing)",
            ("vic_RelationshipToTrafficker",),
            False,
            "a friend is recorded as Acquainted, together with other acquaintances",
        ),
        e(
            "recruiterRelationFamily",
            "1 if vic_RelationshipToTrafficker is Familial",
            ("vic_RelationshipToTrafficker",),
            False,
            "Familial may include intimate partners",
        ),
        e(
            "recruiterRelationOther",
            "1 if vic_RelationshipToTrafficker is Acquainted or Unaquainted",
            ("vic_RelationshipToTrafficker",),
            False,
            "includes friends and intimate partners recorded as acquaintances",
        ),
        e(
            "recruiterRelationUnknown",
            "1 if vic_RelationshipToTrafficker is empty",
            ("vic_RelationshipToTrafficker",),
            True,
        ),
        e(
            "CountryOfExploitation",
            "hte_Country of the first event with hte_Type Exploitation",
            ("hte_Type", "hte_Country"),
            False,
            "CTDC has one country; for several exploitation events only the first is sent",
        ),
    ]
    return tuple(rows)


CROSSWALK: tuple[CrosswalkEntry, ...] = _crosswalk()
CTDC_COLUMNS: tuple[str, ...] = tuple(entry.column for entry in CROSSWALK)

SYNTHETIC_COLUMNS: tuple[str, ...] = (
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "yearOfRegistration",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "meansOfControlDebtBondage",
    "meansOfControlTakesEarnings",
    "meansOfControlThreats",
    "meansOfControlPhysicalAbuse",
    "meansOfControlSexualAbuse",
    "meansOfControlRestrictsMovement",
)
"""Coarser columns of CTDC's newer synthetic release (a subset of the crosswalk)."""

SYNTHETIC_CROSSWALK: tuple[CrosswalkEntry, ...] = tuple(e for e in CROSSWALK if e.column in SYNTHETIC_COLUMNS)


# --- derivation -----------------------------------------------------------------------------------------


def _as_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return date.fromisoformat(value.strip()[:10])
    return None


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _flag(present: bool) -> str:
    return "1" if present else "0"


def to_ctdc_row(record: Mapping[str, object]) -> dict[str, str]:
    """The CTDC victim-level row for one HTCDS record (filters are not applied here)."""
    row: dict[str, str] = {}
    opened = _date(record.get("cas_OpenedDate"))
    birth = _date(record.get("prs_Birthdate"))
    row["yearOfRegistration"] = str(opened.year) if opened else MISSING
    row["Datasource"] = "Case Management"
    row["gender"] = GENDER.get(str(record.get("prs_Gender") or ""), "Unknown")

    if opened and birth and birth <= opened:
        band = age_band(_age_on(birth, opened))
        row["ageBroad"] = band
        row["majorityStatus"] = majority_status(band)
    else:
        row["ageBroad"] = row["majorityStatus"] = MISSING
    trafficked_age = record.get("vic_AgeWhenTrafficked")
    if isinstance(trafficked_age, int | float) and not isinstance(trafficked_age, bool) and trafficked_age >= 0:
        entry = "Minor" if trafficked_age < 18 else "Adult"
    else:
        entry = MISSING
    row["majorityStatusAtExploit"] = entry
    row["majorityEntry"] = entry

    citizenship = _as_list(record.get("prs_Citizenship"))
    row["citizenship"] = citizenship[0].upper() if citizenship else MISSING

    methods = {m.strip() for m in _as_list(record.get("vic_MethodsOfControl"))}
    for flag, sources in MEANS_OF_CONTROL.items():
        if not sources or not methods:
            row[f"meansOfControl{flag}"] = MISSING
        else:
            row[f"meansOfControl{flag}"] = _flag(bool(methods & set(sources)))
    row["meansOfControlNotSpecified"] = _flag(not methods)

    types = set(_as_list(record.get("vic_TypeOfExploitation")))
    if types:
        forced = bool(types & FORCED_LABOUR_TYPES)
        row["isForcedLabour"] = _flag(forced)
        row["isSexualExploit"] = _flag(bool(types & SEXUAL_TYPES))
        row["isOtherExploit"] = _flag(bool(types & OTHER_TYPES))
    else:
        forced = False
        row["isForcedLabour"] = row["isSexualExploit"] = row["isOtherExploit"] = MISSING

    industries = set(_as_list(record.get("vic_ForcedLabourIndustry")))
    for flag, sections in TYPE_OF_LABOUR.items():
        column = f"typeOfLabour{flag}"
        if flag == "Begging":
            row[column] = _flag("ForcedBegging" in types) if forced else MISSING
        elif not sections or not forced:
            row[column] = MISSING
        elif not industries:
            row[column] = "0"
        else:
            row[column] = _flag(bool(industries & set(sections)))
    row["typeOfLabourOther"] = _flag(bool(industries - _MAPPED_SECTIONS)) if forced and industries else MISSING
    row["typeOfLabourNotSpecified"] = _flag(not industries) if forced else MISSING

    sex_types = set(_as_list(record.get("vic_TypeOfSexExploitation")))
    sexual = "SexualExploitation" in types
    for t in TYPE_OF_SEX:
        row[f"typeOfSex{t}"] = _flag(t in sex_types) if sexual and sex_types else MISSING

    row["isAbduction"] = MISSING
    relation = str(record.get("vic_RelationshipToTrafficker") or "").strip()
    derived = RECRUITER_RELATION.get(relation)
    for flag in RECRUITER_FLAGS:
        column = f"recruiterRelation{flag}"
        if flag in ("IntimatePartner", "Friend"):
            row[column] = MISSING
        elif flag == "Unknown":
            row[column] = _flag(derived is None)
        else:
            row[column] = _flag(derived == flag)

    country = MISSING
    events = record.get(EVENTS_FIELD)
    if isinstance(events, Sequence) and not isinstance(events, str):
        for event in events:
            if isinstance(event, Mapping) and event.get("hte_Type") == "Exploitation" and event.get("hte_Country"):
                country = str(event["hte_Country"]).strip().upper()
                break
    row["CountryOfExploitation"] = country
    return {column: row[column] for column in CTDC_COLUMNS}


def to_ctdc_synthetic_row(record: Mapping[str, object]) -> dict[str, str]:
    """Only the columns of CTDC's synthetic release."""
    full = to_ctdc_row(record)
    return {column: full[column] for column in SYNTHETIC_COLUMNS}


@dataclass
class CTDCExport:
    """Rows that passed the filters and the count each filter removed."""

    rows: list[dict[str, str]] = field(default_factory=list)
    records_in: int = 0
    excluded_no_research_consent: int = 0
    excluded_not_a_victim: int = 0
    excluded_repeat_participation: int = 0

    @property
    def records_out(self) -> int:
        return len(self.rows)

    def counts(self) -> dict[str, int]:
        out = asdict(self)
        del out["rows"]
        out["records_out"] = self.records_out
        return out


def to_ctdc_rows(
    records: Iterable[Mapping[str, object]],
    synthetic_columns_only: bool = False,
    consent_field: str = CONSENT_PURPOSES_FIELD,
    person_field: str | None = None,
) -> CTDCExport:
    """Filter and convert records; consent is checked first, so a record without research consent is
    counted there whatever its trafficking status. With ``person_field``, a person's later qualifying
    records are dropped (counted as repeat participations)."""
    export = CTDCExport()
    convert = to_ctdc_synthetic_row if synthetic_columns_only else to_ctdc_row
    released: set[object] = set()
    for record in records:
        export.records_in += 1
        if RESEARCH not in _as_list(record.get(consent_field)):
            export.excluded_no_research_consent += 1
            continue
        if str(record.get("vic_TraffickingStatus") or "") not in VICTIM_STATUSES:
            export.excluded_not_a_victim += 1
            continue
        if person_field is not None:
            person = record.get(person_field)
            if person is not None and person in released:
                export.excluded_repeat_participation += 1
                continue
            released.add(person)
        export.rows.append(convert(record))
    return export


def crosswalk_table(entries: Sequence[CrosswalkEntry] = CROSSWALK) -> list[dict[str, object]]:
    """The crosswalk as plain dicts, for documentation pages and JSON."""
    return [{**asdict(entry), "htcds_fields": list(entry.htcds_fields), "exact": entry.exact} for entry in entries]
