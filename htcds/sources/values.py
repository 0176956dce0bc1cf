"""Cell values → HTCDS stored form, compiled once per column and memoised per distinct value.

A 100,000-row sheet has a few dozen distinct values in a choice or country column, so each column keeps a
small cache from raw cell to result: the costly folding, label lookup and date parsing runs once per distinct
value, not once per cell. Text columns skip the cache (their values rarely repeat).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from htcds import codelists
from htcds.catalogue import INCOMING_REFERRAL_FIELDS, OUTGOING_REFERRAL_FIELDS, Field, Kind
from htcds.coerce import coerce_value

# (code, message, value) for a problem the caller turns into a Problem with its row and column.
Note = tuple[str, str, Any]
Converter = Callable[[Any], tuple[Any, Note | None]]

_CACHE_LIMIT = 50_000
_CACHED_KINDS = frozenset({Kind.CHOICE, Kind.MULTI_CHOICE, Kind.DATE, Kind.BOOLEAN, Kind.LOOKUP})

# Words people use for gender that are neither the standard's value names nor its labels.
GENDER_WORDS = {
    "f": "Feminine", "female": "Feminine", "woman": "Feminine", "girl": "Feminine", "femme": "Feminine",
    "femenino": "Feminine", "femmina": "Feminine", "m": "Masculine", "male": "Masculine", "man": "Masculine",
    "boy": "Masculine", "homme": "Masculine", "masculino": "Masculine", "maschio": "Masculine",
    "transwoman": "TransgenderFeminine", "transman": "TransgenderMasculine", "nonbinary": "NonConforming",
    "unknown": "NonSpecifiedUnknown", "notspecified": "NonSpecifiedUnknown",
}  # fmt: skip


def fold(text: str) -> str:
    """Key for matching labels: no case, spacing, punctuation or non-breaking spaces (XLSForm labels have them)."""
    return re.sub(r"[^a-z0-9]", "", text.replace("\xa0", " ").lower())


def choice_index(field: Field) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in field.choices:
        index[fold(c.name)] = c.name
        index.setdefault(fold(c.label), c.name)
    if field.name == "prs_Gender":
        for word, name in GENDER_WORDS.items():
            index.setdefault(word, name)
    return index


def _known(field: Field, index: dict[str, str], text: str) -> str | None:
    if field.codelist == "country":
        return codelists.normalise_country(text)
    if field.codelist == "language":
        return codelists.normalise_language(text)
    return index.get(fold(text))


def split_values(field: Field, text: str, separators: Sequence[str], index: dict[str, str]) -> list[str]:
    """Split a multi-value cell, keeping labels that contain the separator whole.

    Four ISIC labels contain ";" ("Water supply; sewerage, ..."), the templates' own separator, so adjacent
    pieces are joined back when only the joined text is a known value. The first separator whose pieces
    are all known wins; otherwise the first separator is used and validation reports the unknown pieces.
    """
    text = text.replace("\xa0", " ").strip()
    if _known(field, index, text) is not None:
        return [text]
    best: list[str] | None = None
    for sep in separators:
        pieces = text.split() if sep == " " else [p.strip() for p in text.split(sep)]
        pieces = [p for p in pieces if p]
        merged: list[str] = []
        i = 0
        while i < len(pieces):
            taken = 1
            if _known(field, index, pieces[i]) is None:
                for j in range(len(pieces), i + 1, -1):
                    if _known(field, index, f"{sep} ".join(pieces[i:j]).replace("  ", " ")) is not None:
                        taken = j - i
                        break
            merged.append(f"{sep} ".join(pieces[i : i + taken]) if taken > 1 else pieces[i])
            i += taken
        if best is None:
            best = merged
        if all(_known(field, index, p) is not None for p in merged):
            return merged
    return best or [text]


def make_converter(field: Field, separators: Sequence[str] = (";",), day_first: bool = True,
                   date_format: str | None = None, values: dict[str, Any] | None = None) -> Converter:  # fmt: skip
    """A function from a raw cell to (stored value or None, note or None) for one column.

    `values` translates source values (a mapping file's `values:`), for the whole cell and for each item
    of a multi-value cell.
    """
    kind = field.kind
    index = choice_index(field) if kind in (Kind.CHOICE, Kind.MULTI_CHOICE) else {}
    vmap = values or {}

    def convert(raw: Any) -> tuple[Any, Note | None]:
        if isinstance(raw, str):
            raw = raw.replace("\xa0", " ").strip()
            if not raw:
                return None, None
        if vmap and isinstance(raw, str | int | float):
            # A spreadsheet hands back a code typed as 2 as the number 2.0; the mapping's keys are text.
            key = raw if isinstance(raw, str) else str(int(raw)) if float(raw).is_integer() else str(raw)
            if isinstance(raw, bool):
                key = "True" if raw else "False"
            if key in vmap:
                raw = vmap[key]
        if kind is Kind.MULTI_CHOICE:
            items = raw if isinstance(raw, list) else split_values(field, str(raw), separators, index)
            if vmap:
                items = [vmap.get(v, v) if isinstance(v, str) else v for v in items]
            return coerce_value(field, [_one(field, index, v) for v in items]), None
        if kind is Kind.CHOICE:
            if isinstance(raw, str) and _known(field, index, raw) is None:
                items = split_values(field, raw, separators, index)
                if len(items) > 1:
                    first = _one(field, index, items[0])
                    return first, ("many-values-for-single-choice",
                                   f"{field.name} takes one value; kept {first!r}, left out {items[1:]!r}.", raw)  # fmt: skip
            return _one(field, index, raw), None
        if kind is Kind.DATE and date_format and isinstance(raw, str):
            try:
                return datetime.strptime(raw, date_format).date().isoformat(), None
            except ValueError:
                pass
        if isinstance(raw, date) and kind is not Kind.DATE:
            raw = raw.isoformat()
        return coerce_value(field, raw, separators[0], day_first), None

    if kind in (Kind.TEXT, Kind.LONG_TEXT) and field.text_format is None:
        return _plain_text
    if field.text_format == "e164":
        return _phone
    if field.text_format == "email" and not vmap:
        return _email
    if kind not in _CACHED_KINDS and field.codelist is None:
        return convert
    cache: dict[Any, tuple[Any, Note | None]] = {}

    def cached(raw: Any) -> tuple[Any, Note | None]:
        key = raw if raw.__class__ is str else memo_key(raw)
        try:
            return cache[key]
        except KeyError:
            pass
        except TypeError:  # unhashable (a list from JSON)
            return convert(raw)
        result = convert(raw)
        if len(cache) < _CACHE_LIMIT:
            cache[key] = result
        return result

    return cached


def memo_key(raw: Any) -> Any:
    """A cell as a key for remembering what it converts to: spreadsheet cells that are equal in Python but not to a
    reader (TRUE and 1, 1 and 1.0) are told apart by their type."""
    return (raw.__class__, raw)


def _plain_text(raw: Any) -> tuple[Any, Note | None]:
    """Text fields: the hot path of every import, so no generic coercion, only what text needs."""
    if isinstance(raw, str):
        raw = raw.replace("\xa0", " ").strip() if "\xa0" in raw else raw.strip()
        return (raw or None), None
    if isinstance(raw, float) and raw.is_integer():
        if abs(raw) >= 1e15:  # past a spreadsheet's 15 digits: left a number, for validation to refuse
            return raw, None
        return str(int(raw)), None  # spreadsheets hand back 12345.0 for an id typed as 12345
    if isinstance(raw, date):
        return raw.isoformat(), None
    return str(raw), None


_PHONE_PUNCT = str.maketrans("", "", " -().\xa0")

def _phone(raw: Any) -> tuple[Any, Note | None]:
    text, _ = _plain_text(raw)
    return (None if text is None else phone_text(text)), None


def phone_text(text: str, region: str | None = None) -> str:
    """A phone number in E.164 (+442079460958), or the text as typed when it cannot be one (validation then says
    so). Local numbers are read in `region`, by default the one set by `codelists.phone_region`. Numbers already written
    internationally with no trunk zero (+44 7700 900123) only lose their punctuation; others (+44 (0)20 7946 0958,
    020 7946 0958, 0044 ...) go through libphonenumber, which is 50 times slower."""
    compact = text.translate(_PHONE_PUNCT)
    if _FAST_PHONE.match(compact) and "(" not in text:
        return compact
    return codelists.normalise_phone(text, region) or text


# International, 7 to 16 characters, and no 0 among the first four digits, where a trunk zero kept after a
# country code of one to three digits would be (those go through libphonenumber, which drops it).
_FAST_PHONE = re.compile(r"\+(?![0-9]{0,3}0)[1-9][0-9]{5,14}\Z")


def _email(raw: Any) -> tuple[Any, Note | None]:
    text, _ = _plain_text(raw)
    # As coerce_value does it: everything but a spreadsheet's TRUE/FALSE is lowered.
    return (text.lower() if text is not None and raw.__class__ is not bool else text), None


# Whole-column forms of the converters above, for readers that hold a column of cells (htcds.sources.columns):
# the same values, one call per column. Each gives None when a cell is not plain text (a number or date from a
# spreadsheet, a non-breaking space): the caller then converts cell by cell.


def text_column(cells: Sequence[Any]) -> list[str | None] | None:
    try:
        if "\xa0" in "".join(cells):
            return None
    except TypeError:
        return None
    return [v or None for v in map(str.strip, cells)]


_INTERNATIONAL_LINES = re.compile(r"^\+(?![0-9]{0,3}0)[1-9]\d{5,14}$", re.M)  # phone_text's test, for a column joined by newlines


def phone_column(cells: Sequence[Any]) -> list[str | None] | None:
    texts = text_column(cells)
    if texts is None:
        return None
    present = [t for t in texts if t is not None]
    joined = "\n".join(present)
    if "(" in joined:  # a bracketed trunk zero, +44 (0)20 ...: each through phone_text
        return [None if t is None else phone_text(t) for t in texts]
    joined = joined.translate(_PHONE_PUNCT)
    # Commonest: every number already international, and no cell with a newline of its own.
    if joined.count("\n") == len(present) - 1 and len(_INTERNATIONAL_LINES.findall(joined)) == len(present):
        compact = iter(joined.split("\n"))
        return [None if t is None else next(compact) for t in texts]
    return [None if t is None else phone_text(t) for t in texts]


def email_column(cells: Sequence[Any]) -> list[str | None] | None:
    texts = text_column(cells)
    return None if texts is None else [None if t is None else t.lower() for t in texts]


COLUMN_FORMS: dict[Converter, Callable[[Sequence[Any]], list[str | None] | None]] = {
    _plain_text: text_column, _phone: phone_column, _email: email_column}  # fmt: skip


def _one(field: Field, index: dict[str, str], value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if field.codelist:
        return _known(field, index, text) or text
    return index.get(fold(text), text)


TRUTHY = frozenset({"1", "1.0", "true", "yes", "x", "y", "oui", "si", "sim"})


def truthy(raw: Any) -> bool:
    """One-column-per-choice exports write 1/0, True/False or the choice name itself."""
    if raw is None or raw is False:
        return False
    if raw is True:
        return True
    if isinstance(raw, int | float):
        return raw != 0
    return str(raw).strip().lower() in TRUTHY


def fingerprint(values: dict[str, Any]) -> str:
    """A key for rows without an id: the same content gives the same key, whatever its row number."""
    canonical = repr(sorted(values.items()))  # values are str, bool, numbers and lists of str: repr is stable
    return "fp-" + hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


_LISTS = {"person": "persons", "consent": "consents", "event": "events", "support_plan": "support_plans",
          "comment": "comments", "organisation": "organisations", "assessment": "assessments"}  # fmt: skip
_PERSON_LINKED = frozenset({"consent", "event", "support_plan", "assessment"})


def assemble(values: dict[str, Any], entity_of: dict[str, str], case_id: str, role: str = "Victim") -> dict[str, Any]:
    """One flat row (field → value) as a case bundle with a single person, who is the case's victim.

    Each field goes to the record of its entity; the template and form layouts only carry case, person,
    victim context, consent and referral fields, mapped sheets may carry any entity's fields.
    """
    case: dict[str, Any] = {"id": case_id}
    records: dict[str, dict[str, Any]] = {}
    participant: dict[str, Any] = {"person": "p1", "role": role}
    incoming: dict[str, Any] = {"direction": "Incoming"}
    outgoing: dict[str, Any] = {"direction": "Outgoing"}
    for name, value in values.items():
        if name in INCOMING_REFERRAL_FIELDS:
            incoming[name] = value
        elif name in OUTGOING_REFERRAL_FIELDS:
            outgoing[name] = value
        else:
            entity = entity_of.get(name, "case")
            if entity == "case":
                case[name] = value
            elif entity in ("victim", "perpetrator"):
                participant[name] = value
            else:
                rec = records.get(entity)
                if rec is None:
                    rec = records[entity] = {"id": entity[0] + "1"} if entity in ("person", "organisation") else {}
                    if entity in _PERSON_LINKED:
                        rec["person"] = "p1"
                rec[name] = value
    person = records.pop("person", {"id": "p1"})
    person["id"] = "p1"
    bundle: dict[str, Any] = {"htcds_version": "2.0", "case": case, "persons": [person], "participants": [participant]}
    referrals = [r for r in (incoming, outgoing) if len(r) > 1]
    if referrals:
        bundle["referrals"] = referrals
    for entity, rec in records.items():
        bundle[_LISTS[entity]] = [rec]
    return bundle
