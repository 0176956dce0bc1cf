"""The parts of a case bundle a referral can carry, field group by field group, and the one function that
builds the bundle from the chosen parts.

A part names the HTCDS fields it carries, per record kind. `bundle_of` reads only those fields (nothing else
of the case is even loaded into the bundle), and only of the case's primary victim: never another participant,
never a perpetrator, never comments. By default a referral carries `DEFAULT_PARTS`; the others travel only when
the sender ticks them, after seeing what they hold (`preview`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _

from phare.cases.models import (
    Assessment,
    Case,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)

HTCDS_VERSION = "2.0"


@dataclass(frozen=True)
class Part:
    name: str
    label: Any
    help: Any
    # record kind ("person", "participant", "referral", "consent", "events", "support_plans", "assessments")
    # -> the fields it carries
    fields: dict[str, tuple[str, ...]]


PARTS: tuple[Part, ...] = (
    Part("referral", _("Referral"), _("Why and when you refer, and the person's "
                                      "consent to this referral."), {
        "referral": ("cas_ReasonForOutgoingReferral", "cas_OutgoingReferralDate", "cas_OutgoingReferralDetails"),
        "consent": ("con_Consent", "con_Purpose", "con_Date", "con_HowInformed"),
    }),
    Part("contact", _("Contact details"), _("Name, phones, e-mail and languages: what the receiver needs to reach "
                                            "the person."), {
        "person": ("prs_Salutation", "prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_MobilePhone",
                   "prs_HomePhone", "prs_Email", "prs_PrimaryLanguage", "prs_SecondaryLanguage"),
    }),
    Part("needs", _("Needs"), _("Vulnerabilities and the kinds of support planned."), {
        "participant": ("vic_Vulnerabilities", "vic_DetailsOfVulnerabilities"),
        "support_plans": ("spl_Type", "spl_Objectives"),
    }),
    Part("identity", _("Identity"), _("Birth date, gender, citizenship, identity number, family and migration "
                                      "status."), {
        "person": ("prs_Title", "prs_Birthdate", "prs_Gender", "prs_Deceased", "prs_MaritalStatus",
                   "prs_NumberOfChildren", "prs_HighestLevelOfEducation", "prs_Citizenship", "prs_IdentityNumber",
                   "prs_MigrationStatus"),
    }),
    Part("address", _("Address"), _("The person's mailing address."), {
        "person": ("prs_MailingStreet", "prs_MailingCity", "prs_MailingState", "prs_MailingPostalCode",
                   "prs_MailingCountry", "prs_MailingLatitude", "prs_MailingLongitude"),
    }),
    Part("exploitation", _("Trafficking experience"), _("Trafficking status, types of exploitation, recruitment "
                                                        "and control."), {
        "participant": ("vic_TraffickingStatus", "vic_TraffickingStatusDecisionMakingOrg",
                        "vic_RelationshipToTrafficker", "vic_AgeWhenTrafficked", "vic_RecruitmentWebsitesAndApps",
                        "vic_MethodOfRecruitment", "vic_MethodsOfControl", "vic_TypeOfExploitation",
                        "vic_ForcedLabourIndustry", "vic_ForcedLabourIndustryTier2", "vic_ForcedLabourIndustryTier3",
                        "vic_TypeOfSexExploitation", "vic_ExploitationWebsitesAndApps"),
    }),
    Part("events", _("Trafficking events"), _("Dates and places of recruitment, transit and exploitation, with "
                                              "their descriptions."), {
        "events": ("hte_Type", "hte_Date", "hte_Street", "hte_City", "hte_State", "hte_PostalCode", "hte_Country",
                   "hte_Latitude", "hte_Longitude", "hte_Description"),
    }),
    Part("plans", _("Support plans"), _("The whole support plans: objectives, action plans and dates."), {
        "support_plans": ("spl_Type", "spl_Objectives", "spl_ActionPlan", "spl_StartDate", "spl_PlannedEndDate",
                          "spl_ActualEndDate"),
    }),
    Part("assessments", _("Assessments"), _("Risk and vulnerability assessments: answers and notes."), {
        "assessments": ("asm_Level", "asm_Date", "answers", "asm_Notes"),
    }),
)  # fmt: skip

BY_NAME = {p.name: p for p in PARTS}
DEFAULT_PARTS = ("referral", "contact", "needs")
# Keys of bundle records that are structure (ids, links, the referral's direction), not field values.
STRUCTURAL = frozenset({"id", "person", "role", "direction"})
_LISTS: dict[str, Any] = {"events": TraffickingEvent, "support_plans": SupportPlan, "assessments": Assessment}


class UnknownPart(ValueError):  # noqa: N818
    pass


def normalise(parts: Any) -> list[str]:
    """The chosen parts in canonical order; an unknown name is refused, not ignored."""
    chosen = [p.strip() for p in (parts.split(",") if isinstance(parts, str) else parts) if p and p.strip()]
    unknown = [p for p in chosen if p not in BY_NAME]
    if unknown:
        raise UnknownPart(", ".join(unknown))
    return [p.name for p in PARTS if p.name in chosen]


def allowed_fields(parts: Any) -> dict[str, set[str]]:
    """Record kind -> every field the chosen parts carry."""
    out: dict[str, set[str]] = {}
    for name in normalise(parts):
        for kind, names in BY_NAME[name].fields.items():
            out.setdefault(kind, set()).update(names)
    return out


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _pick(obj: Any, names: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(names):
        value = getattr(obj, name)
        if value is None or value == "" or value == []:
            continue
        out[name] = _json(value)
    return out


def primary_participant(case: Case) -> CaseParticipant | None:
    """The person a referral is about: the case's first victim (or first participant when it has no victim)."""
    parts = CaseParticipant.objects.filter(case=case).select_related("person").order_by("id")
    found = list(parts)
    victims = [p for p in found if p.role in ("Victim", "PotentialVictim")]
    return victims[0] if victims else (found[0] if found else None)


def bundle_of(case: Case, parts: Any, *, referral: Referral | None = None, consent: Consent | None = None) -> dict[str, Any]:
    """The HTCDS case bundle of the chosen parts of `case`: the primary victim's person and context fields,
    the outgoing referral, the referral consent, and the case's events, plans and assessments, each cut to the
    fields the parts carry. Records a part does not name are left out entirely."""
    allowed = allowed_fields(parts)
    bundle: dict[str, Any] = {"htcds_version": HTCDS_VERSION, "case": {"id": "case"}}
    who = primary_participant(case)
    person: Person | None = who.person if who is not None else None
    if person is not None:
        bundle["persons"] = [{"id": "p1", **_pick(person, allowed.get("person", set()))}]
        bundle["participants"] = [{"id": "v1", "person": "p1", "role": who.role,  # type: ignore[union-attr]
                                   **_pick(who, allowed.get("participant", set()))}]  # fmt: skip
    if referral is not None and "referral" in allowed:
        bundle["referrals"] = [{"id": "r1", "direction": "Outgoing", **_pick(referral, allowed["referral"])}]
    if consent is not None and "consent" in allowed:
        bundle["consents"] = [{"id": "k1", **({"person": "p1"} if person is not None else {}),
                               **_pick(consent, allowed["consent"])}]  # fmt: skip
    for key, model in _LISTS.items():
        names = allowed.get(key)
        if not names:
            continue
        rows = []
        for i, obj in enumerate(model.objects.filter(case=case).order_by("id"), start=1):
            rec = {"id": f"{key[0]}{i}", **_pick(obj, names)}
            if person is not None and getattr(obj, "person_id", None) == person.pk:
                rec["person"] = "p1"
            rows.append(rec)
        if rows:
            bundle[key] = rows
    return bundle


def fields_in(bundle: dict[str, Any]) -> dict[str, set[str]]:
    """Record kind -> the field names a bundle actually holds (for the check that nothing else travels)."""
    kinds = {"persons": "person", "participants": "participant", "referrals": "referral", "consents": "consent",
             "events": "events", "support_plans": "support_plans", "assessments": "assessments"}  # fmt: skip
    out: dict[str, set[str]] = {}
    for key, value in bundle.items():
        if key in ("htcds_version", "case"):
            continue
        kind = kinds.get(key, key)
        for rec in value:
            out.setdefault(kind, set()).update(k for k in rec if k not in STRUCTURAL)
    extra = {k for k in bundle.get("case", {}) if k != "id"}
    if extra:
        out["case"] = extra
    return out


def outside(bundle: dict[str, Any], parts: Any) -> dict[str, set[str]]:
    """Fields the bundle holds that the chosen parts do not carry: empty for every bundle Phare sends."""
    allowed = allowed_fields(parts)
    return {k: bad for k, names in fields_in(bundle).items() if (bad := names - allowed.get(k, set()))}


def preview(case: Case, reads_personal: bool = True) -> list[dict[str, Any]]:
    """Per part, the fields it would carry from this case, with their values (for the sender to see before
    sending); values are shown only to roles that read personal data."""
    out = []
    for part in PARTS:
        bundle = bundle_of(case, [part.name])
        rows: list[tuple[str, Any]] = []
        for key, recs in bundle.items():
            if key in ("htcds_version", "case"):
                continue
            for rec in recs:
                rows.extend((k, v if reads_personal else "…") for k, v in rec.items() if k not in STRUCTURAL)
        out.append({"part": part, "rows": rows, "default": part.name in DEFAULT_PARTS})
    return out
