"""The HTCDS 2.0 field catalogue.

Standard fields come from `data/htcds-2.0-fields.json`, extracted from IOM's "HTCDS Field Standards 2.0"
spreadsheet by `tools/build_catalogue.py`. Phare adds a few fields the standard leaves to implementers (dates
of opening and closing, consent purposes, ISIC tiers 2 and 3, Guidance 7 migration classes); those carry
`standard=False` so exports to other HTCDS systems can leave them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from htcds import codelists


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    DATE = "date"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    LOOKUP = "lookup"


# How the spreadsheet's "Field Type" column maps onto what Phare stores.
_TYPE_KIND = {
    "Text": Kind.TEXT,
    "Long Text": Kind.LONG_TEXT,
    "Date": Kind.DATE,
    "Number": Kind.NUMBER,
    "Checkbox": Kind.BOOLEAN,
    "Picklist": Kind.CHOICE,
    "Multiselect Picklist": Kind.MULTI_CHOICE,
    "Picklist or Text": Kind.TEXT,
    "Geolocation": Kind.NUMBER,
}


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    label: str
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    entity: str
    section: str
    label: str
    kind: Kind
    htcds_type: str
    core: bool
    status: str
    standard: bool = True
    choices: tuple[Choice, ...] = ()
    codelist: str | None = None
    lookup: str | None = None
    parent: str | None = None
    personal: bool = False
    description: str = ""
    notes: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    text_format: str | None = None

    @property
    def multiple(self) -> bool:
        return self.kind is Kind.MULTI_CHOICE

    @property
    def choice_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.choices)

    def label_of(self, name: str) -> str:
        for c in self.choices:
            if c.name == name:
                return c.label
        return name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entity": self.entity,
            "section": self.section,
            "label": self.label,
            "kind": str(self.kind),
            "htcds_type": self.htcds_type,
            "core": self.core,
            "status": self.status,
            "standard": self.standard,
            "multiple": self.multiple,
            "codelist": self.codelist,
            "lookup": self.lookup,
            "parent": self.parent,
            "personal": self.personal,
            "choices": [
                {"name": c.name, "label": c.label, **({"group": c.group} if c.group else {})} for c in self.choices
            ],
            "description": self.description,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Question:
    """One question of a risk and vulnerability assessment (HTCDS 2.0 leaves the questions configurable)."""

    code: str
    level: str
    text: str
    answers: tuple[str, ...] = ("Yes", "No", "Unknown", "NotApplicable")


@dataclass(frozen=True)
class Catalogue:
    version: str
    fields: tuple[Field, ...]
    questions: tuple[Question, ...]
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def entity(self, entity: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.entity == entity)

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name


# Fields whose content identifies a person or may name one: Phare encrypts these at rest.
_PERSONAL = {
    "prs_Salutation", "prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate", "prs_IdentityNumber",
    "prs_Title", "prs_Email", "prs_HomePhone", "prs_MobilePhone", "prs_MailingCity", "prs_MailingState",
    "prs_MailingStreet", "prs_MailingPostalCode", "prs_MailingLongitude", "prs_MailingLatitude",
    "hte_Longitude", "hte_Latitude", "hte_Street", "hte_PostalCode",
}  # fmt: skip

_COUNTRY_FIELDS = {"org_ShippingCountry", "prs_MailingCountry", "prs_Citizenship", "hte_Country"}
_LANGUAGE_FIELDS = {"prs_PrimaryLanguage", "prs_SecondaryLanguage"}
_LOOKUPS = {
    "Lookup [to organisation]": "organisation",
    "Lookup [to user]": "user",
    "Lookup [to person]": "person",
}

ASSESSMENT_LEVELS = ("Individual", "Household", "Community")
PARTICIPANT_ROLES = ("Victim", "PotentialVictim", "Perpetrator", "Other")
VICTIM_ROLES = frozenset({"Victim", "PotentialVictim"})
REFERRAL_DIRECTIONS = ("Incoming", "Outgoing")
INCOMING_REFERRAL_FIELDS = frozenset(
    {
        "cas_ReferringOrganisation",
        "cas_IncomingReferralDate",
        "cas_ReferringPrimaryCaseWorker",
        "cas_ReasonForIncomingReferral",
        "cas_IncomingReferralDetails",
    }
)
OUTGOING_REFERRAL_FIELDS = frozenset(
    {
        "cas_ReferredOrganisation",
        "cas_ReferredPrimaryCaseWorker",
        "cas_ReasonForOutgoingReferral",
        "cas_OutgoingReferralDate",
        "cas_OutgoingReferralDetails",
    }
)


def _standard_field(raw: dict[str, Any]) -> Field:
    name: str = raw["name"]
    htcds_type: str = raw["type"]
    # The spreadsheet keeps stray spaces in some value names ("DebtBondage ") and labels ("Feminine ");
    # the stored form never has them.
    names = [v.strip() for v in raw["values"]]
    labels = [v.strip() for v in raw["labels"]]
    kind = _TYPE_KIND.get(htcds_type, Kind.LOOKUP if htcds_type.startswith("Lookup") else Kind.TEXT)
    codelist = None
    choices: tuple[Choice, ...] = ()
    if name in _COUNTRY_FIELDS:
        codelist = "country"
    elif name in _LANGUAGE_FIELDS:
        codelist = "language"
    elif kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        choices = tuple(Choice(n, lab) for n, lab in zip(names, labels, strict=True))
    if codelist:
        # Coded lists are choices whatever the spreadsheet's type says ("Text" for a country).
        kind = Kind.MULTI_CHOICE if htcds_type == "Multiselect Picklist" else Kind.CHOICE
    lookup = _LOOKUPS.get(htcds_type)
    if name == "per_Organisation":
        # The spreadsheet lists this field without a type; the Salesforce package makes it a lookup.
        kind, lookup = Kind.LOOKUP, "organisation"
    minimum = maximum = None
    if name.endswith("Latitude"):
        kind, minimum, maximum = Kind.LATITUDE, -90.0, 90.0
    elif name.endswith("Longitude"):
        kind, minimum, maximum = Kind.LONGITUDE, -180.0, 180.0
    elif name in ("prs_NumberOfChildren", "vic_AgeWhenTrafficked"):
        kind, minimum, maximum = Kind.INTEGER, 0, 130 if name == "vic_AgeWhenTrafficked" else 40
    return Field(
        name=name,
        entity=raw["entity"],
        section=raw["section"],
        label=raw["label"].strip() or name,
        kind=kind,
        htcds_type=htcds_type,
        core=bool(raw["core"]),
        status=raw["status"],
        choices=choices,
        codelist=codelist,
        lookup=lookup,
        personal=name in _PERSONAL or kind is Kind.LONG_TEXT,
        description=raw["description"],
        notes=raw["notes"],
        minimum=minimum,
        maximum=maximum,
        max_length=None if kind is Kind.LONG_TEXT else 255,
        text_format="e164" if name.endswith("Phone") else "email" if name.endswith("Email") else None,
    )


def _codes(items: tuple[codelists.Code, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(c.name, c.label, c.parent) for c in items)


def _phare_fields() -> list[Field]:
    def ext(name: str, entity: str, section: str, label: str, kind: Kind, **kw: Any) -> Field:
        return Field(
            name, entity, section, label, kind, "Phare extension", core=False, status="PHARE", standard=False, **kw
        )

    yes = "Phare extension"
    return [
        ext("prs_MigrationStatus", "person", "Person", "Migration and protection status", Kind.MULTI_CHOICE,
            choices=_codes(codelists.MIGRATION_STATUS), description="Classes from HTCDS Guidance 7.", notes=yes),
        ext("vic_ForcedLabourIndustryTier2", "victim", "Person - Victim Context", "Forced labour industry (tier 2)",
            Kind.CHOICE, choices=_codes(codelists.ISIC_TIER2), parent="vic_ForcedLabourIndustry",
            description="ISIC Rev.4 division, as subdivided in HTCDS Field Definitions."),
        ext("vic_ForcedLabourIndustryTier3", "victim", "Person - Victim Context", "Forced labour industry (tier 3)",
            Kind.CHOICE, choices=_codes(codelists.ISIC_TIER3), parent="vic_ForcedLabourIndustryTier2",
            description="ISIC Rev.4 groups within agriculture, as subdivided in HTCDS Field Definitions."),
        ext("cas_OpenedDate", "case", "Case", "Date opened", Kind.DATE,
            description="Date the case was registered (CTDC's year of registration derives from it)."),
        ext("cas_ClosedDate", "case", "Case", "Date closed", Kind.DATE),
        ext("cco_CreatedDate", "comment", "Case Comment", "Date", Kind.DATE),
        ext("spl_StartDate", "support_plan", "Support Plan", "Start Date", Kind.DATE),
        ext("con_Purpose", "consent", "Consent", "Purposes consented to", Kind.MULTI_CHOICE, choices=(
            Choice("CaseManagement", "Case management"),
            Choice("Referral", "Referral to other organisations"),
            Choice("Research", "De-identified research and statistics"),
            Choice("DataSharing", "Sharing with authorities"),
        )),
        ext("con_Date", "consent", "Consent", "Date of consent", Kind.DATE),
        ext("con_HowInformed", "consent", "Consent", "How the person was informed", Kind.CHOICE, choices=(
            Choice("Verbal", "Verbally"),
            Choice("Written", "In writing"),
            Choice("WithInterpreter", "Through an interpreter"),
            Choice("Guardian", "Through a parent or guardian"),
        )),
        ext("con_WithdrawnDate", "consent", "Consent", "Date consent was withdrawn", Kind.DATE),
        ext("con_ExpiryDate", "consent", "Consent", "Date consent expires", Kind.DATE,
            description="The last day a time-limited consent holds, unless it is given again."),
        ext("asm_Level", "assessment", "Assessment and Planning", "Assessment level", Kind.CHOICE,
            choices=tuple(Choice(v, v) for v in ASSESSMENT_LEVELS)),
        ext("asm_Date", "assessment", "Assessment and Planning", "Assessment date", Kind.DATE),
        ext("asm_Notes", "assessment", "Assessment and Planning", "Notes", Kind.LONG_TEXT, personal=True),
    ]  # fmt: skip


# Stable codes for the standard's example questions, in the spreadsheet's order.
_QUESTION_CODES = (
    "ind_nationality_race_ethnicity",
    "ind_sexual_orientation",
    "ind_age",
    "hh_source_of_income",
    "hh_violence_or_abuse",
    "hh_discrimination",
    "com_law_enforcement",
    "com_local_governance",
    "com_education_services",
)


@cache
def load() -> Catalogue:
    raw = json.loads(resources.files("htcds").joinpath("data/htcds-2.0-fields.json").read_text("utf-8"))
    fields = [_standard_field(r) for r in raw["fields"]]
    fields.extend(_phare_fields())
    questions = tuple(
        Question(code, q["level"].capitalize(), q["text"])
        for code, q in zip(_QUESTION_CODES, raw["example_questions"], strict=True)
    )
    return Catalogue(raw["version"], tuple(fields), questions)


# Entities in the order a case bundle nests them, with the key each list has in a bundle.
BUNDLE_LISTS = {
    "persons": "person",
    "organisations": "organisation",
    "participants": "participant",
    "referrals": "referral",
    "comments": "comment",
    "events": "event",
    "support_plans": "support_plan",
    "consents": "consent",
    "assessments": "assessment",
}

# Phare's own records that travel in a case bundle under an extension key (HTCDS 2.0 has no such entity): the
# case's tasks. Each task: its fields and whether each is a date (YYYY-MM-DD) or text, and the required ones.
TASKS_KEY = "x_phare_tasks"
TASK_FIELDS = {"id": "text", "title": "text", "notes": "text", "assignee": "text", "due": "date", "done": "date"}
TASK_REQUIRED = ("title", "due")
TASK_TITLE_MAX = 200  # phare.work.actions.tasks.TITLE_MAX
