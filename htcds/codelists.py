"""Coded lists that HTCDS borrows from other standards.

ISO lists come from pycountry and phonenumbers rather than being typed in here, so they follow the ISO
maintenance agencies' updates. The HTCDS-specific subdivisions (ISIC tiers 2 and 3, Guidance 7 migration
classes) are facts from the standard's own documents and are typed in once.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry


def _fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key, so "Côte d'Ivoire" matches "cote divoire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", stripped.lower())


# --- ISO 3166-1 countries -------------------------------------------------------------------------------

COUNTRY_ALPHA2: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)

# Names people commonly write that are neither ISO short names nor official names.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "greatbritain": "GB",
    "usa": "US",
    "unitedstates": "US",
    "america": "US",
    "russia": "RU",
    "southkorea": "KR",
    "northkorea": "KP",
    "laos": "LA",
    "syria": "SY",
    "iran": "IR",
    "vietnam": "VN",
    "burma": "MM",
    "ivorycoast": "CI",
    "drc": "CD",
    "drcongo": "CD",
    "democraticrepublicofcongo": "CD",
    "congobrazzaville": "CG",
    "capeverde": "CV",
    "swaziland": "SZ",
    "macedonia": "MK",
    "moldova": "MD",
    "tanzania": "TZ",
    "bolivia": "BO",
    "venezuela": "VE",
    "czechrepublic": "CZ",
    "turkey": "TR",
    "kosovo": "XK",
    "vatican": "VA",
    "vaticancity": "VA",
}


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                index.setdefault(_fold(value), c.alpha_2)
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                index.setdefault(_loose(value), c.alpha_2)
    index.update(_COUNTRY_ALIASES)
    return index


def _loose(text: str) -> str:
    """A country name without what lists word differently: a bracketed part ("Holy See (Vatican City State)") and
    "the" ("Congo, The Democratic Republic of the" as the HTCDS templates' "Congo, Democratic Republic of the")."""
    return "~" + _fold(re.sub(r"\([^)]*\)|\bthe\b", " ", text, flags=re.IGNORECASE))


def normalise_country(value: str) -> str | None:
    """Return the ISO 3166-1 alpha-2 code for an alpha-2, alpha-3 or common name, or None."""
    text = value.strip()
    if text.upper() in COUNTRY_ALPHA2:
        return text.upper()
    index = _country_index()
    return index.get(_fold(text)) or index.get(_loose(text))


def country_name(alpha2: str, language: str | None = None) -> str:
    """The country's name: in `language` (ISO 639-1, "en" included) from CLDR through Babel; without a language,
    ISO 3166's English short name (what files and exports carry)."""
    if language:
        name = cldr_locale(language).territories.get(alpha2)
        if name:
            return str(name)
    c = pycountry.countries.get(alpha_2=alpha2)
    if c is None:
        return alpha2
    name = str(getattr(c, "common_name", None) or c.name)
    if language and language != "en":
        return _iso_translation("iso3166-1", language).gettext(name)
    return name


def language_name(code: str, language: str | None = None) -> str:
    """An ISO 639 language's name: in `language` from CLDR through Babel (capitalised, as it stands alone in a list
    or a field), else ISO 639's English name."""
    lang = pycountry.languages.get(alpha_3=code) or pycountry.languages.get(alpha_2=code)
    if lang is None:
        return code
    if language:
        # CLDR keys a language by its shortest code: the two-letter one where it exists.
        name = cldr_locale(language).languages.get(getattr(lang, "alpha_2", None) or lang.alpha_3)
        if name:
            return str(name[:1].upper() + name[1:])
    name = str(lang.name)
    if language and language != "en":
        return _iso_translation("iso639-3", language).gettext(name)
    return name


# Phare's Portuguese is European Portuguese; CLDR's plain "pt" is Brazil's.
_CLDR_LOCALES = {"pt": "pt_PT"}


@lru_cache(maxsize=16)
def cldr_locale(language: str) -> Any:
    """Babel's locale (CLDR data) for one of Phare's interface languages; English for an unknown one."""
    from babel import Locale, UnknownLocaleError

    code = language.replace("-", "_")
    try:
        return Locale.parse(_CLDR_LOCALES.get(code, code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@lru_cache(maxsize=32)
def _iso_translation(domain: str, language: str) -> gettext.NullTranslations:
    # pycountry ships the Debian iso-codes translations; a language it lacks falls back to English.
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language], fallback=True)


# --- ISO 639 languages ------------------------------------------------------------------------------------
# HTCDS asks for ISO 639-2 codes with two-letter codes optional. Phare stores the three-letter code
# (ISO 639-2/T, which equals ISO 639-3 for individual languages) and accepts 639-1, 639-2/B and names.


@lru_cache(maxsize=1)
def _language_index() -> tuple[frozenset[str], dict[str, str]]:
    codes: set[str] = set()
    index: dict[str, str] = {}
    for lang in pycountry.languages:
        code = lang.alpha_3
        codes.add(code)
        for attr in ("alpha_3", "alpha_2", "bibliographic", "name"):
            value = getattr(lang, attr, None)
            if value:
                index.setdefault(_fold(value), code)
    return frozenset(codes), index


def language_codes() -> frozenset[str]:
    return _language_index()[0]


def normalise_language(value: str) -> str | None:
    text = value.strip()
    codes, index = _language_index()
    if text.lower() in codes:
        return text.lower()
    return index.get(_fold(text))


# --- E.164 telephone numbers ------------------------------------------------------------------------------

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")


# The country whose local numbers (0803 123 4567) are read while it is set: an organisation's (phone_region).
PHONE_REGION: ContextVar[str | None] = ContextVar("PHONE_REGION", default=None)


@contextmanager
def phone_region(region: str | None) -> Iterator[None]:
    """Read local phone numbers as numbers of `region` (ISO 3166-1 alpha-2) inside the block."""
    token = PHONE_REGION.set(region or None)
    try:
        yield
    finally:
        PHONE_REGION.reset(token)


def normalise_phone(value: str, default_region: str | None = None) -> str | None:
    """Return the E.164 form of a phone number, or None when it cannot be a valid number. A local number needs a
    region: `default_region`, else the one `phone_region` set."""
    return _normalise_phone(value, default_region or PHONE_REGION.get())


@lru_cache(maxsize=65536)  # a bulk load normalises each number twice (duplicate check, then index)
def _normalise_phone(value: str, region: str | None) -> str | None:
    text = value.strip()
    if text.startswith("00") and text[2:3].isdigit():
        # 00 is the international prefix of most countries (not of all: Nigeria dials 009): 0044 20 ... is +44 20 ...
        # whatever the region when that reading is a real number.
        try:
            abroad = phonenumbers.parse("+" + text[2:], None)
        except phonenumbers.NumberParseException:
            abroad = None
        if abroad is not None and phonenumbers.is_valid_number(abroad):
            return phonenumbers.format_number(abroad, phonenumbers.PhoneNumberFormat.E164)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- ISCED 2011 --------------------------------------------------------------------------------------------
# prs_HighestLevelOfEducation's value names are the ISCED 2011 levels 0 to 8, in order.
ISCED_2011_LEVEL = {
    "EarlyChildhoodEducation": 0,
    "PrimaryEducation": 1,
    "LowerSecondaryEducation": 2,
    "UpperSecondaryEducation": 3,
    "PostSecondaryNonTertiaryEducation": 4,
    "ShortCycleTertiaryEducation": 5,
    "BachelorsOrEquivalentLevel": 6,
    "MastersOrEquivalentLevel": 7,
    "DoctoralOrEquivalentLevel": 8,
}


# --- ISIC Rev.4 subdivisions from HTCDS "Field Definitions" ---------------------------------------------------


@dataclass(frozen=True)
class Code:
    name: str
    label: str
    parent: str | None = None


def _isic(parent: str, section: str, rows: list[tuple[str, str]]) -> list[Code]:
    out = []
    for code, label in rows:
        words = re.sub(r"[^A-Za-z0-9 ]", " ", label).split()
        camel = "".join(w[:1].upper() + w[1:] for w in words)
        out.append(Code(f"{section}{code}_{camel}", label, parent))
    return out


# Tier 2: ISIC divisions for the sections the standard subdivides. Accommodation and food service
# (section I) is split by HTCDS by primary purpose rather than by ISIC division 56's groups.
ISIC_TIER2: tuple[Code, ...] = tuple(
    _isic(
        "A_AgricultureForestryAndFishing",
        "A",
        [
            ("01", "Crop and animal production, hunting and related service activities"),
            ("02", "Forestry and logging"),
            ("03", "Fishing and aquaculture"),
        ],
    )
    + _isic(
        "C_Manufacturing",
        "C",
        [
            ("10", "Manufacture of food products"),
            ("11", "Manufacture of beverages"),
            ("12", "Manufacture of tobacco products"),
            ("13", "Manufacture of textiles"),
            ("14", "Manufacture of wearing apparel"),
            ("15", "Manufacture of leather and related products"),
            ("16", "Manufacture of wood and of products of wood and cork, except furniture"),
            ("17", "Manufacture of paper and paper products"),
            ("18", "Printing and reproduction of recorded media"),
            ("19", "Manufacture of coke and refined petroleum products"),
            ("20", "Manufacture of chemicals and chemical products"),
            ("21", "Manufacture of basic pharmaceutical products and pharmaceutical preparations"),
            ("22", "Manufacture of rubber and plastics products"),
            ("23", "Manufacture of other non-metallic mineral products"),
            ("24", "Manufacture of basic metals"),
            ("25", "Manufacture of fabricated metal products, except machinery and equipment"),
            ("26", "Manufacture of computer, electronic and optical products"),
            ("27", "Manufacture of electrical equipment"),
            ("28", "Manufacture of machinery and equipment n.e.c."),
            ("29", "Manufacture of motor vehicles, trailers and semi-trailers"),
            ("30", "Manufacture of other transport equipment"),
            ("31", "Manufacture of furniture"),
            ("32", "Other manufacturing"),
            ("33", "Repair and installation of machinery and equipment"),
        ],
    )
    + _isic(
        "H_TransportationAndStorage",
        "H",
        [
            ("49", "Land transport and transport via pipelines"),
            ("50", "Water transport"),
            ("51", "Air transport"),
            ("52", "Warehousing and support activities for transportation"),
            ("53", "Postal and courier activities"),
        ],
    )
    + _isic(
        "I_AccommodationAndFoodServiceActivities",
        "I",
        [("55", "Primarily accommodation"), ("56", "Primarily food"), ("563", "Primarily beverages")],
    )
    + _isic(
        "N_AdministrativeAndSupportServiceActivities",
        "N",
        [
            ("77", "Rental and leasing activities"),
            ("78", "Employment activities"),
            ("79", "Travel agency, tour operator, reservation service and related activities"),
            ("81", "Services to buildings and gardening and landscape activities, including cleaning"),
            ("82", "Office administrative, office support and other business support activities"),
        ],
    )
)

_A01 = "A01_CropAndAnimalProductionHuntingAndRelatedServiceActivities"
_A03 = "A03_FishingAndAquaculture"
# Tier 3: ISIC groups within agriculture; "all other classes" gathers 012 and 017, as the standard does.
ISIC_TIER3: tuple[Code, ...] = tuple(
    _isic(
        _A01,
        "A",
        [
            ("011", "Growing of non-perennial crops"),
            ("013", "Plant propagation"),
            ("014", "Animal production"),
            ("015", "Mixed farming"),
            ("016", "Support activities to agriculture and post-harvest crop activities"),
            ("01X", "All other classes under crop and animal production, hunting and related service activities"),
        ],
    )
    + _isic(_A03, "A", [("03M", "Marine fishing or aquaculture"), ("03F", "Freshwater fishing or aquaculture")])
)


# --- Guidance 7: migration and international protection classes ------------------------------------------------

MIGRATION_STATUS: tuple[Code, ...] = tuple(
    [
        Code("FamilyMigrant", "Family migrant", "MigrantType"),
        Code("VisitorTouristMigrant", "Visitor / tourist migrant", "MigrantType"),
        Code("LabourMigrant", "Labour migrant", "MigrantType"),
        Code("StudentMigrant", "Student migrant", "MigrantType"),
        Code("IrregularMigrant", "Irregular migrant", "MigrantType"),
        Code("AsylumSeeker", "Asylum seeker", "InternationalProtection"),
        Code("Refugee", "Refugee", "InternationalProtection"),
        Code("RecipientOfComplementaryProtection", "Recipient of complementary protection", "InternationalProtection"),
        Code("StatelessPerson", "Stateless person", "InternationalProtection"),
        Code("EnvironmentalMigrant", "Environmental migrant", "Other"),
        Code("VulnerableMigrant", "Vulnerable migrant", "Other"),
        Code("StrandedMigrant", "Stranded migrant", "Other"),
        Code("ForcedMigrant", "Forced migrant", "Other"),
        Code("Deportee", "Deportee", "Other"),
        Code("ExCombatant", "Ex-combatant", "Other"),
        Code("InternallyDisplacedPerson", "Internally displaced person", "Other"),
        Code("SeparatedOrUnaccompaniedChild", "Separated or unaccompanied child", "Other"),
        Code("Returnee", "Returnee", "Other"),
    ]
)
