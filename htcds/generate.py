"""Synthetic HTCDS 2.0 case bundles for demos, tests and benchmarks.

The distributions follow published CTDC frequency counts (`data/ctdc_frequencies.json`, figures not records):
year of registration, the joint gender x age band x forced-labour x sexual-exploitation table and the joint
citizenship x country-of-exploitation table. Where CTDC publishes nothing (methods of control, case status,
referrals, support plans...) the shares below are illustrative assumptions, marked as such, chosen only so
the data looks like casework; never read them as statistics.

Names are built from invented syllables and e-mail addresses use the RFC 2606 example domains, so no bundle
can name or reach a real person. Phone numbers are randomised from libphonenumber's example numbers and
checked once per country, so they are valid numbers for the citizenship country but not anybody's.

Speed matters (benchmarks generate hundreds of thousands of bundles): weighted draws are a bisect over
precomputed cumulative weights, dates are ordinals mapped to pre-rendered ISO strings, and the hot loop keeps
its lookups in locals.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Generic, TypeVar

import phonenumbers
import pycountry

from htcds.catalogue import Kind, load

T = TypeVar("T")
MISSING = "(missing)"
HTCDS_VERSION = "2.0"
BLOCK = 250  # bundles drawn from one seed of their own (generate_bundles)

# CTDC's gender values mapped onto prs_Gender. The 2020 tables hold only Female and Male; the other entries
# keep the mapping complete should a later release add them.
GENDER_MAP: dict[str, tuple[str, ...]] = {
    "Female": ("Feminine",),
    "Male": ("Masculine",),
    "Transgender": ("TransgenderFeminine", "TransgenderMasculine"),
    MISSING: ("NonSpecifiedUnknown",),
}

# CTDC's ageBroad bands as inclusive ages at registration; "48+" is open-ended, capped at an age still common
# among registered victims.
AGE_BANDS: dict[str, tuple[int, int]] = {
    "0--8": (0, 8),
    "9--17": (9, 17),
    "18--20": (18, 20),
    "21--23": (21, 23),
    "24--26": (24, 26),
    "27--29": (27, 29),
    "30--38": (30, 38),
    "39--47": (39, 47),
    "48+": (48, 70),
}

# Main language (ISO 639-3) per citizenship found in the tables, so a person's language matches their country.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "AF": ("pus", "fas"), "AL": ("sqi",), "BD": ("ben",), "BF": ("mos", "fra"), "BG": ("bul",), "BO": ("spa",),
    "BY": ("bel", "rus"), "CD": ("lin", "fra"), "CI": ("fra",), "CN": ("zho",), "CO": ("spa",), "ER": ("tir",),
    "GH": ("aka", "eng"), "GN": ("fra", "ful"), "GW": ("por",), "HT": ("hat", "fra"), "ID": ("ind", "jav"),
    "KE": ("swa", "eng"), "KG": ("kir", "rus"), "KH": ("khm",), "KR": ("kor",), "KZ": ("kaz", "rus"),
    "LA": ("lao",), "LK": ("sin", "tam"), "MD": ("ron", "rus"), "MG": ("mlg",), "ML": ("bam", "fra"),
    "MM": ("mya",), "MX": ("spa",), "NE": ("hau", "fra"), "NG": ("eng", "hau", "yor"), "NP": ("nep",),
    "PH": ("tgl", "ceb"), "RO": ("ron",), "SL": ("eng",), "SN": ("wol", "fra"), "TH": ("tha",), "TJ": ("tgk",),
    "TM": ("tuk",), "UA": ("ukr", "rus"), "UG": ("lug", "eng"), "US": ("eng", "spa"), "UZ": ("uzb",),
    "VN": ("vie",),
}  # fmt: skip

# Invented syllables: combinations read as plausible names in many languages without being a list of real ones.
_ONSETS = ("", "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "th", "y")
_VOWELS = ("a", "e", "i", "o", "u", "a", "i", "o", "ai", "ia", "ou")
_CODAS = ("", "", "", "n", "r", "l", "s", "m", "k")

# --- illustrative shares (assumptions, not statistics) ----------------------------------------------------
_METHODS_OF_CONTROL = (
    ("PsychologicalAbuse", 0.45), ("FalsePromises", 0.35), ("TakesEarnings", 0.32), ("PhysicalAbuse", 0.28),
    ("PhysicalThreats", 0.25), ("WithholdsDocuments", 0.24), ("RestrictsFinancialAccess", 0.18),
    ("DebtBondage", 0.18), ("ExcessiveWorkingHours", 0.16), ("SexualAbuse", 0.14), ("WithholdsNecessities", 0.10),
    ("ThreatensChildrenFamily", 0.09), ("ThreatsLawEnforcement", 0.08), ("PsychoactiveSubstance", 0.06),
    ("RestrictsMedicalCare", 0.05), ("Other", 0.03),
)  # fmt: skip
_RECRUITMENT = (
    ("ThroughFriendsOrSocialEvents", 34), ("ThroughFamilyOrFamilyEvents", 22), ("ThroughOnlineSocialNetworks", 12),
    ("AtWork", 8), ("ThroughAnOnlineAdvertisement", 7), ("AtAPlaceOfBusiness", 6), ("ThroughANewspaperAdvert", 4),
    ("AtAnEducationalInstitution", 3), ("ThroughATelevisionAdvert", 1), ("Other", 3),
)  # fmt: skip
_APPS = (("Facebook", 30), ("WhatsApp", 18), ("FacebookMessenger", 14), ("Instagram", 8), ("Telegram", 7),
         ("Viber", 6), ("WeChat", 4), ("Line", 3), ("TikTok", 3), ("Other", 7))  # fmt: skip
_RELATIONSHIP = (("Acquainted", 50), ("Unaquainted", 30), ("Familial", 20))
_STATUS = (("ActualVictimOfTrafficking", 70), ("PossibleVictimOfTrafficking", 28), ("NotAVictimOfTrafficking", 2))
_DECIDER = (("NGO", 40), ("Police", 30), ("NonPoliceGovernmentalOrganization", 15), ("CourtOrProsecution", 10),
            ("Other", 5))  # fmt: skip
# Forced-labour industries by ISIC section, with the divisions and groups Phare's tiers 2 and 3 offer.
_INDUSTRY = (
    ("T_ActivitiesOfHouseholdsAsEmployers", 24), ("F_Construction", 16), ("A_AgricultureForestryAndFishing", 16),
    ("C_Manufacturing", 13), ("I_AccommodationAndFoodServiceActivities", 8),
    ("G_WholesaleAndRetailTradeRepairOfMotorVehicles", 6), ("S_OtherServiceActivities", 5),
    ("H_TransportationAndStorage", 3), ("N_AdministrativeAndSupportServiceActivities", 3),
    ("B_MiningAndQuarrying", 3), ("R_ArtsEntertainmentAndRecreation", 2), ("Q_HumanHealthAndSocialWorkActivities", 1),
)  # fmt: skip
_SEX_TYPES = (("Prostitution", 0.85), ("Pornography", 0.10), ("PrivateSexualServices", 0.08),
              ("RemoteInteractiveServices", 0.05))  # fmt: skip
# Exploitation types CTDC's two flags do not cover, for victims with neither flag set.
_OTHER_TYPES = (("ForcedMarriage", 30), ("ForcedBegging", 20), ("Servitude", 20), ("Other", 20),
                ("ForcedMilitaryByNonStateActors", 4), ("OrganRemoval", 3), ("Surrogacy", 2), ("ForcedAdoption", 1))  # fmt: skip
_PERPETRATOR_ROLES = (("RecruiterOrIntermediary", 35), ("Exploiter", 30), ("Transporter", 10), ("Abuser", 8),
                      ("BrokerTravelAgent", 6), ("ControlledIndividual", 4), ("Smuggler", 3), ("Kidnapper", 2),
                      ("Other", 2))  # fmt: skip
_MARITAL = (("Single", 55), ("Married", 25), ("Divorced", 7), ("Separated", 6), ("Widowed", 4),
            ("RegisteredPartnership", 3))  # fmt: skip
_EDUCATION = (("PrimaryEducation", 30), ("LowerSecondaryEducation", 28), ("UpperSecondaryEducation", 22),
              ("EarlyChildhoodEducation", 6), ("PostSecondaryNonTertiaryEducation", 6),
              ("BachelorsOrEquivalentLevel", 6), ("MastersOrEquivalentLevel", 2))  # fmt: skip
_MIGRATION = (("IrregularMigrant", 40), ("LabourMigrant", 35), ("VulnerableMigrant", 10), ("AsylumSeeker", 6),
              ("VisitorTouristMigrant", 5), ("Refugee", 2), ("StatelessPerson", 2))  # fmt: skip
_SUPPORT = (("Health", 22), ("SocialCare", 20), ("Legal", 16), ("Livelihood", 12), ("Financial", 8),
            ("Education", 7), ("SexualExploitationRehabilitation", 7), ("LabourExploitationRehabilitation", 5),
            ("RightsBasedTraining", 3))  # fmt: skip
_REFERRAL_REASON = (("AdditionalServicesRequired", 65), ("MigrationOrChangeOfLocation", 25), ("Other", 10))
_INFORMED = (("Verbal", 45), ("WithInterpreter", 30), ("Written", 25))
_ANSWER = (("No", 40), ("Yes", 35), ("Unknown", 20), ("NotApplicable", 5))
_ORGANISATIONS = ("Police anti-trafficking unit", "Labour inspectorate", "Border police", "Shelter for women",
                  "Children's shelter", "Migrant resource centre", "Legal aid clinic", "Embassy consular section",
                  "District hospital", "Social welfare office", "Hotline", "Partner NGO")  # fmt: skip
_CLOSURE = ("Reintegration completed.", "Returned home and no further support wanted.", "Lost contact.",
            "Referred to a partner in the country of origin.", "Support goals met.", "Moved to another region.")  # fmt: skip
_COMMENTS = ("First interview held.", "Interview held with an interpreter.", "Shelter placement confirmed.",
             "Medical check-up done.", "Called the person; no answer.", "Documents being replaced.",
             "Legal counsel assigned.", "Family contacted with consent.", "Follow-up visit done.")  # fmt: skip
_DESCRIPTIONS = {
    "Recruitment": ("Offered a job by an acquaintance.", "Promised work abroad.", "Recruited through a broker."),
    "Transit": ("Travelled by bus with the recruiter.", "Crossed the border on foot.", "Flew via a third country."),
    "Exploitation": ("Worked without pay.", "Held in an apartment.", "Documents taken on arrival."),
}


class _Table(Generic[T]):
    """A weighted draw: one random float, one bisect over cumulative weights (cheaper than Random.choices)."""

    __slots__ = ("cum", "hi", "total", "values")

    def __init__(self, weighted: Iterable[tuple[T, float]]) -> None:
        values: list[T] = []
        cum: list[float] = []
        running = 0.0
        for value, weight in weighted:
            if weight > 0:
                running += weight
                values.append(value)
                cum.append(running)
        self.values = values
        self.cum = cum
        self.total = running
        # Clamping the bisect at the last index guards against r * total rounding up to total.
        self.hi = len(values) - 1

    def pick(self, r: float) -> T:
        return self.values[bisect(self.cum, r * self.total, 0, self.hi)]


@cache
def frequencies() -> dict[str, Any]:
    """The embedded CTDC counts, so the package works without the shared data folder."""
    text = resources.files("htcds").joinpath("data/ctdc_frequencies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _phone_plan(region: str) -> tuple[str, tuple[str, ...], int]:
    """Country code, valid national prefixes and random tail length for mobile numbers of a region.

    libphonenumber gives one example number per region; the last few digits are randomised and the digit before
    them varied, keeping only variants whose random samples all validate, so generated numbers are valid for
    the region without being the example everyone uses.
    """
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "", (), 0
    cc = str(example.country_code)
    nsn = phonenumbers.national_significant_number(example)
    tail = 4 if len(nsn) >= 8 else 3
    head, pivot = nsn[: -tail - 1], nsn[-tail - 1]
    check = random.Random(f"phone-{region}")
    good: list[str] = []
    for digit in dict.fromkeys(pivot + "0123456789"):
        prefix = head + digit
        samples = [f"+{cc}{prefix}{check.randrange(10**tail):0{tail}d}" for _ in range(8)]
        if all(phonenumbers.is_valid_number_for_region(phonenumbers.parse(s), region) for s in samples):
            good.append(prefix)
    if not good:
        # Nothing randomised validates: fall back to the example itself rather than emit an invalid number.
        return cc, (nsn,), 0
    return cc, tuple(good), tail


def _names(rng: random.Random, count: int, syllables: tuple[int, int]) -> list[str]:
    out = []
    for _ in range(count):
        parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(*syllables))]
        out.append("".join(parts).capitalize())
    return out


def _alpha3(alpha2: str) -> str:
    c = pycountry.countries.get(alpha_2=alpha2)
    return str(c.alpha_3) if c is not None else alpha2 + "X"


_BASE = date(1925, 1, 1).toordinal()


@cache
def _iso_days(until: int) -> tuple[str, ...]:
    """ISO strings for every day from 1925 to `until` (an ordinal), indexed by ordinal - _BASE."""
    return tuple(date.fromordinal(o).isoformat() for o in range(_BASE, until + 1))


def _age(born: str, on: str) -> int:
    """Whole years between two ISO dates, compared as text."""
    return int(on[:4]) - int(born[:4]) - (on[5:] < born[5:])


def generate_bundles(n: int, seed: int = 0, today: date | None = None,
                     blocks: Callable[[int], bool] | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Yield `n` valid, realistic HTCDS 2.0 case bundles; the same seed gives the same bundles. `today`: the day the
    data is as of (default: today); no date that cannot be in the future (a closure, a comment, a consent...) is
    after it. The bundles come in blocks of BLOCK, each drawn from its own seed: `blocks` (block number -> whether
    to yield it) leaves blocks out without drawing them, so that processes can share the work."""
    rng = random.Random(seed)
    rand = rng.random
    bits = rng.getrandbits
    freq = frequencies()
    as_of = (today or date.today()).toordinal()
    days = _iso_days(max(as_of, date.today().toordinal()) + 800)  # planned ends may lie ahead of `today`
    day = days.__getitem__

    years = _Table((int(y), c) for y, c in freq["marginals"]["yearOfRegistration"].items())
    year_start = {y: date(y, 1, 1).toordinal() for y in years.values}
    gae = _Table((tuple(r[:4]), r[4]) for r in freq["gender_age_exploitation"]["rows"])
    known_bands = _Table((b, c) for b, c in freq["marginals"]["ageBroad"].items() if b != MISSING)
    cx = _Table((tuple(r[:2]), r[2]) for r in freq["citizenship_x_country_of_exploitation"]["rows"])
    first_names, last_names = _names(rng, 4096, (2, 3)), _names(rng, 4096, (2, 4))
    recruitment, apps = _Table(_RECRUITMENT), _Table(_APPS)
    relationship, status_t, decider = _Table(_RELATIONSHIP), _Table(_STATUS), _Table(_DECIDER)
    industry, other_types, perp_roles = _Table(_INDUSTRY), _Table(_OTHER_TYPES), _Table(_PERPETRATOR_ROLES)
    marital, education, migration = _Table(_MARITAL), _Table(_EDUCATION), _Table(_MIGRATION)
    support, reason, informed, answer = _Table(_SUPPORT), _Table(_REFERRAL_REASON), _Table(_INFORMED), _Table(_ANSWER)
    cat = load()
    tier2 = {s: [c.name for c in cat["vic_ForcedLabourIndustryTier2"].choices if c.group == s] for s in industry.values}
    tier3 = {d: [c.name for c in cat["vic_ForcedLabourIndustryTier3"].choices if c.group == d]
             for d in cat["vic_ForcedLabourIndustryTier2"].choice_names}  # fmt: skip
    questions: dict[str, list[str]] = {}
    for q in cat.questions:
        questions.setdefault(q.level, []).append(q.code)
    levels = tuple(questions)
    phone_plans = {c: _phone_plan(c) for pair in cx.values for c in pair if c != MISSING}
    domains = ("example.org", "example.net", "example.com")

    skipping = False
    for i in range(n):
        if i % BLOCK == 0:
            skipping = blocks is not None and not blocks(i // BLOCK)
            if not skipping:
                rng.seed(f"{seed}:{i // BLOCK}")
        if skipping:
            continue
        year = years.pick(rand())
        opened = year_start[year] + int(rand() * 365)
        gender, band, forced, sexual = gae.pick(rand())
        cit, coe = cx.pick(rand())
        age_known = band != MISSING
        lo, hi = AGE_BANDS[band if age_known else known_bands.pick(rand())]
        age = lo + int(rand() * (hi - lo + 1))
        # Stay two days inside the year so leap days never push the age out of its CTDC band.
        born = opened - int(age * 365.2425) - 2 - int(rand() * 361)
        lag = 30 + int(rand() * rand() * 900)  # recruitment to registration: mostly months, sometimes years
        recruited = max(opened - lag, born + 1)
        exploited = recruited + int(rand() * (opened - recruited))
        minor = age < 18

        # --- case
        p_closed = min(0.95, 0.45 + 0.05 * (2018 - year))
        case: dict[str, Any] = {"id": f"case-{seed}-{i}", "cas_OpenedDate": day(opened - _BASE),
                                "cas_CaseOwner": f"cw{bits(5)}"}  # fmt: skip
        closed_at = as_of
        if rand() < p_closed:
            st = "ClosedReferred" if rand() < 0.25 else "Closed"
            closed_at = min(opened + 30 + int(rand() * 1000), as_of)
            case["cas_Status"] = st
            case["cas_ClosedDate"] = day(closed_at - _BASE)
            case["cas_ReasonForCaseClosure"] = _CLOSURE[bits(8) % len(_CLOSURE)]
        else:
            st = "Active" if rand() < 0.6 else "FollowUp"
            case["cas_Status"] = st
        # Open cases have been worked on for up to two years in this data; later activity would look stale.
        span = closed_at - opened if st[0] == "C" else min(730, as_of - opened)

        # --- victim person
        first, last = first_names[bits(12)], last_names[bits(12)]
        person: dict[str, Any] = {"id": "p1", "prs_FirstName": first, "prs_SecondName": last}
        genders = GENDER_MAP.get(gender, GENDER_MAP[MISSING])
        person["prs_Gender"] = genders[0] if len(genders) == 1 else genders[bits(1)]
        if age_known:
            person["prs_Birthdate"] = day(born - _BASE)
        if cit != MISSING:
            person["prs_Citizenship"] = [cit]
            langs = LANGUAGES.get(cit)
            if langs and rand() < 0.8:
                person["prs_PrimaryLanguage"] = langs[0] if len(langs) == 1 or rand() < 0.7 else langs[1]
        phone_country = cit if cit != MISSING else coe
        if phone_country != MISSING and rand() < 0.7:
            cc, prefixes, tail = phone_plans[phone_country]
            if prefixes:
                number = prefixes[int(rand() * len(prefixes))]
                if tail:
                    number += str(int(rand() * 10**tail)).zfill(tail)
                person["prs_MobilePhone"] = f"+{cc}{number}"
        if rand() < 0.2:
            person["prs_Email"] = f"{first.lower()}.{last.lower()}{bits(7)}@{domains[bits(8) % 3]}"
        if age >= 18:
            if rand() < 0.5:
                person["prs_MaritalStatus"] = marital.pick(rand())
            if rand() < 0.3:
                person["prs_NumberOfChildren"] = int(rand() * rand() * 5)
        if rand() < 0.35:
            person["prs_HighestLevelOfEducation"] = education.pick(rand())
        if cit != MISSING and coe != MISSING and cit != coe and rand() < 0.5:
            person["prs_MigrationStatus"] = [migration.pick(rand())]
        persons = [person]

        # --- victim context
        victim: dict[str, Any] = {"id": "pa1", "person": "p1", "role": "Victim" if rand() < 0.9 else "PotentialVictim",
                                  "vic_TraffickingStatus": status_t.pick(rand())}  # fmt: skip
        if rand() < 0.3:
            victim["vic_TraffickingStatusDecisionMakingOrg"] = decider.pick(rand())
        types: list[str] = []
        if forced == "1":
            types.append("ForcedLabour")
            if minor and rand() < 0.5:
                types.append("ChildLabour")
        if sexual == "1":
            types.append("SexualExploitation")
        if not types and rand() < 0.4:
            types.append(other_types.pick(rand()))
        if types:
            victim["vic_TypeOfExploitation"] = types
        if forced == "1" and rand() < 0.8:
            section = industry.pick(rand())
            victim["vic_ForcedLabourIndustry"] = section
            divisions = tier2[section]
            if divisions and rand() < 0.4:
                division = divisions[int(rand() * len(divisions))]
                victim["vic_ForcedLabourIndustryTier2"] = division
                groups = tier3[division]
                if groups and rand() < 0.5:
                    victim["vic_ForcedLabourIndustryTier3"] = groups[int(rand() * len(groups))]
        if sexual == "1" and rand() < 0.8:
            sex = [name for name, share in _SEX_TYPES if rand() < share]
            victim["vic_TypeOfSexExploitation"] = sex or ["Prostitution"]
        if rand() < 0.75:
            control = [name for name, share in _METHODS_OF_CONTROL if rand() < share]
            if control:
                victim["vic_MethodsOfControl"] = control
        if rand() < 0.6:
            method = recruitment.pick(rand())
            victim["vic_MethodOfRecruitment"] = [method]
            if method in ("ThroughOnlineSocialNetworks", "ThroughAnOnlineAdvertisement") and rand() < 0.7:
                victim["vic_RecruitmentWebsitesAndApps"] = [apps.pick(rand())]
        if age_known:
            victim["vic_AgeWhenTrafficked"] = _age(day(born - _BASE), day(recruited - _BASE))
        if rand() < 0.6:
            victim["vic_RelationshipToTrafficker"] = relationship.pick(rand())
        participants = [victim]

        # --- perpetrator (known in a minority of cases)
        if rand() < 0.35:
            persons.append({"id": "p2", "prs_FirstName": first_names[bits(12)], "prs_SecondName": last_names[bits(12)],
                            # Illustrative: most recorded traffickers are men, many are women.
                            "prs_Gender": "Masculine" if rand() < 0.65 else "Feminine"})  # fmt: skip
            roles = [perp_roles.pick(rand())]
            if rand() < 0.3:
                extra = perp_roles.pick(rand())
                if extra != roles[0]:
                    roles.append(extra)
            participants.append({"id": "pa2", "person": "p2", "role": "Perpetrator", "per_RoleInProcess": roles})

        bundle: dict[str, Any] = {"htcds_version": HTCDS_VERSION, "case": case, "persons": persons,
                                  "participants": participants}  # fmt: skip

        # --- referrals: incoming before opening, outgoing for cases closed by referral and some others
        referrals = []
        if rand() < 0.45:
            referrals.append({"id": "r1", "direction": "Incoming",
                              "cas_ReferringOrganisation": _ORGANISATIONS[bits(8) % len(_ORGANISATIONS)],
                              "cas_IncomingReferralDate": day(opened - int(rand() * 10) - _BASE),
                              "cas_ReasonForIncomingReferral": reason.pick(rand())})  # fmt: skip
        if st == "ClosedReferred" or rand() < 0.15:
            referrals.append({"id": f"r{len(referrals) + 1}", "direction": "Outgoing",
                              "cas_ReferredOrganisation": _ORGANISATIONS[bits(8) % len(_ORGANISATIONS)],
                              "cas_OutgoingReferralDate": day(opened + int(rand() * span) - _BASE),
                              "cas_ReasonForOutgoingReferral": reason.pick(rand())})  # fmt: skip
        if referrals:
            bundle["referrals"] = referrals

        # --- comments
        k = int(rand() * 5)
        if k:
            # In date order, as a case file reads.
            offsets = sorted(int(rand() * span) for _ in range(k))
            owner = case["cas_CaseOwner"]
            bundle["comments"] = [
                {"id": f"m{j}", "author": owner, "cco_CaseComment": _COMMENTS[bits(8) % len(_COMMENTS)],
                 "cco_CreatedDate": day(opened + off - _BASE)}
                for j, off in enumerate(offsets, 1)
            ]  # fmt: skip

        # --- trafficking events: recruitment at home, exploitation where CTDC says, sometimes a transit between
        events = []
        if rand() < 0.8:
            ev: dict[str, Any] = {
                "id": "e1",
                "person": "p1",
                "hte_Type": "Recruitment",
                "hte_Date": day(recruited - _BASE),
            }
            if cit != MISSING:
                ev["hte_Country"] = cit
            if rand() < 0.3:
                ev["hte_Description"] = _DESCRIPTIONS["Recruitment"][bits(8) % 3]
            events.append(ev)
        if cit != MISSING and coe != MISSING and cit != coe and rand() < 0.25:
            events.append({"id": "e2", "person": "p1", "hte_Type": "Transit",
                           "hte_Date": day(recruited + (exploited - recruited) // 2 - _BASE),
                           "hte_Description": _DESCRIPTIONS["Transit"][bits(8) % 3]})  # fmt: skip
        ev = {"id": "e3", "person": "p1", "hte_Type": "Exploitation", "hte_Date": day(exploited - _BASE)}
        if coe != MISSING:
            ev["hte_Country"] = coe
        if rand() < 0.3:
            ev["hte_Description"] = _DESCRIPTIONS["Exploitation"][bits(8) % 3]
        events.append(ev)
        bundle["events"] = events

        # --- support plans
        k = int(rand() * rand() * 3)
        if k:
            plans = []
            for j in range(1, k + 1):
                start = min(opened + int(rand() * 60), as_of)
                planned = start + 90 + int(rand() * 275)
                plan: dict[str, Any] = {"id": f"s{j}", "person": "p1", "spl_Type": support.pick(rand()),
                                        "spl_StartDate": day(start - _BASE), "spl_PlannedEndDate": day(planned - _BASE)}  # fmt: skip
                if st.startswith("Closed") and rand() < 0.6:
                    plan["spl_ActualEndDate"] = day(min(start + 30 + int(rand() * 400), as_of) - _BASE)
                elif st[0] != "C" and planned < as_of - 60:
                    # An open case's plan is renewed while the case stays open: due within weeks of `today` (a few
                    # late, for the worklist), never the years an old case has been open. Derived, not drawn, so the
                    # seeds' other values stay as they were.
                    length = planned - start
                    planned = as_of - 60 + planned % 240
                    start = min(max(planned - length, opened), as_of)
                    plan["spl_StartDate"], plan["spl_PlannedEndDate"] = day(start - _BASE), day(planned - _BASE)
                plans.append(plan)
            bundle["support_plans"] = plans

        # --- consent: nearly always for case management, research for a majority
        purposes = ["CaseManagement"] if rand() < 0.95 else []
        if rand() < 0.4:
            purposes.append("Referral")
        if rand() < 0.6:
            purposes.append("Research")
        if rand() < 0.15:
            purposes.append("DataSharing")
        consent: dict[str, Any] = {"id": "k1", "person": "p1", "con_Consent": bool(purposes),
                                   "con_Date": day(opened - _BASE),
                                   "con_HowInformed": "Guardian" if minor else informed.pick(rand())}  # fmt: skip
        if purposes:
            consent["con_Purpose"] = purposes
        if rand() < 0.03:
            consent["con_WithdrawnDate"] = day(opened + int(rand() * span) - _BASE)
        bundle["consents"] = [consent]

        # --- risk and vulnerability assessment
        if rand() < 0.4:
            level = levels[int(rand() * len(levels))]
            bundle["assessments"] = [
                {"id": "a1", "person": "p1", "asm_Level": level, "asm_Date": day(min(opened + int(rand() * 14), as_of) - _BASE),
                 "answers": [{"question": q, "answer": answer.pick(rand())} for q in questions[level]]}
            ]  # fmt: skip
        yield bundle


# --- invalid bundles ------------------------------------------------------------------------------------

MISTAKES = ("label", "misspelt-field", "bad-date", "alpha3-country", "national-phone")


def _copy(bundle: dict[str, Any]) -> dict[str, Any]:
    """Copy down to the records: mistakes replace values, they never mutate shared lists in place."""
    out: dict[str, Any] = {}
    for key, value in bundle.items():
        if isinstance(value, list):
            out[key] = [dict(r) if isinstance(r, dict) else r for r in value]
        elif isinstance(value, dict):
            out[key] = dict(value)
        else:
            out[key] = value
    return out


def _records(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = [bundle["case"]] if isinstance(bundle.get("case"), dict) else []
    for value in bundle.values():
        if isinstance(value, list):
            recs.extend(r for r in value if isinstance(r, dict))
    return recs


def _typo(name: str, rng: random.Random, valid: set[str]) -> str:
    """Drop, double or swap a letter after the prefix, as a hurried typist would."""
    for _ in range(20):
        body_start = name.index("_") + 2 if "_" in name else 1
        i = rng.randrange(body_start, len(name) - 1)
        how = rng.randrange(3)
        if how == 0:
            typo = name[:i] + name[i + 1 :]
        elif how == 1:
            typo = name[:i] + name[i] + name[i:]
        else:
            typo = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if typo not in valid:
            return typo
    return name + "x"


def generate_invalid(bundle: dict[str, Any], rng: random.Random, kind: str | None = None) -> dict[str, Any]:
    """A copy of `bundle` with one realistic mistake, of `kind` (see MISTAKES) or a random applicable one.

    Both Phare's validator and a JSON Schema validator reject the result; the original is left untouched.
    """
    out = _copy(bundle)
    cat = load()
    recs = _records(out)
    options: dict[str, list[tuple[dict[str, Any], str]]] = {m: [] for m in MISTAKES}
    for rec in recs:
        for key, value in rec.items():
            f = cat.by_name.get(key)
            if f is None or value is None:
                continue
            if f.choices:
                options["label"].append((rec, key))
            if f.kind is Kind.DATE and isinstance(value, str):
                options["bad-date"].append((rec, key))
            if f.codelist == "country":
                options["alpha3-country"].append((rec, key))
            if f.text_format == "e164":
                options["national-phone"].append((rec, key))
            options["misspelt-field"].append((rec, key))
    usable: Sequence[str] = [m for m in MISTAKES if options[m]] if kind is None else [kind]
    if not usable:
        raise ValueError("the bundle has no field a mistake could be made in")
    mistake = rng.choice(usable)
    if not options[mistake]:
        raise ValueError(f"no field in this bundle for a {mistake!r} mistake")
    rec, key = rng.choice(options[mistake])
    value = rec[key]
    f = cat[key]
    if mistake == "label":
        # Labels are what people see in forms and spreadsheets; a trailing space is how they often arrive.
        def label(name: str) -> str:
            return f.label_of(name) + " "

        if isinstance(value, list):
            j = rng.randrange(len(value))
            rec[key] = [label(v) if n == j else v for n, v in enumerate(value)]
        else:
            rec[key] = label(value)
    elif mistake == "misspelt-field":
        valid = set(cat.by_name) | {"id", "person", "role", "direction", "author", "answers"}
        typo = _typo(key, rng, valid)
        # Rebuild to keep the key order a spreadsheet column order would give.
        items = [(typo if k == key else k, v) for k, v in rec.items()]
        rec.clear()
        rec.update(items)
    elif mistake == "bad-date":
        y, m, d = value.split("-")
        rec[key] = rng.choice((f"{d}/{m}/{y}", f"{y}-{m}-{int(d) + 31}", f"{y}-13-{d}", f"{d}.{m}.{y}"))
    elif mistake == "alpha3-country":
        rec[key] = [_alpha3(v) for v in value] if isinstance(value, list) else _alpha3(value)
    else:
        number = phonenumbers.parse(value)
        rec[key] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return out
