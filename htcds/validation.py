"""Validation of HTCDS records and case bundles.

Every problem is collected (never stop at the first), each with a stable code, the entity, row, field, the
bad value, a plain message and, when one can be guessed, the value that was most likely meant.

Speed matters: imports validate hundreds of thousands of rows, so each field gets a checker compiled once
from the catalogue, the common valid case returns after a type test and a set lookup, and Problem objects
are only built for bad values.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from htcds import codelists
from htcds.catalogue import (
    BUNDLE_LISTS,
    INCOMING_REFERRAL_FIELDS,
    OUTGOING_REFERRAL_FIELDS,
    PARTICIPANT_ROLES,
    REFERRAL_DIRECTIONS,
    TASK_FIELDS,
    TASK_REQUIRED,
    TASK_TITLE_MAX,
    TASKS_KEY,
    VICTIM_ROLES,
    Field,
    Kind,
    load,
)

# Stable problem codes. Tools and translations key on these; never rename one, only add.
CODES: dict[str, str] = {
    "not-an-object": "The record must be a JSON object.",
    "not-a-list": "This entry must be a list.",
    "unknown-field": "This field is not in HTCDS 2.0 (nor a Phare extension) for this entity.",
    "wrong-entity": "This field belongs to another entity.",
    "invalid-type": "The value has the wrong type.",
    "invalid-choice": "The value is not one of the field's value names.",
    "duplicate-value": "The same value is given twice in a multi-select field.",
    "invalid-country": "The value is not an ISO 3166-1 alpha-2 country code.",
    "invalid-language": "The value is not an ISO 639 language code.",
    "invalid-date": "The value is not a real date, or not one written as YYYY-MM-DD.",
    "future-date": "The date is in the future.",
    "invalid-number": "The value is not a number.",
    "out-of-range": "The number is outside the field's range.",
    "invalid-phone": "The value is not an E.164 phone number.",
    "invalid-email": "The value is not an e-mail address.",
    "too-long": "The text is longer than the field allows.",
    "invalid-character": "The text holds control characters (such as NUL) that no field may store.",
    "deprecated-field": "HTCDS 2.0 deprecates this field.",
    "missing-required": "A required value is missing.",
    "duplicate-id": "Two records of the same kind share an id.",
    "unknown-reference": "The record refers to an id that is not in the bundle.",
    "field-not-for-role": "The field does not apply to the participant's role.",
    "field-not-for-direction": "The referral field does not apply to the referral's direction.",
    "closure-reason-required": "A closed case needs a reason for closure.",
    "inconsistent-subdivision": "The subdivision does not belong to the chosen parent value.",
    "date-order": "The dates are in an impossible order.",
    "unknown-question": "The assessment answers a question that is not in the question set.",
    "invalid-answer": "The assessment answer is not one of the allowed answers.",
}

ERROR = "error"
WARNING = "warning"


@dataclass(slots=True)
class Problem:
    code: str
    message: str
    entity: str
    field: str | None = None
    value: Any = None
    row: int | None = None
    path: str = ""
    suggestion: str | None = None
    severity: str = ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "entity": self.entity,
            "row": self.row,
            "path": self.path,
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "suggestion": self.suggestion,
        }

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        hint = f" Did you mean {self.suggestion!r}?" if self.suggestion else ""
        return f"{where}{self.path or self.entity}: [{self.code}] {self.message}{hint}"


# A checker returns None for a good value, else (code, message, suggestion).
Failure = tuple[str, str, str | None]
Checker = Callable[[Any], Failure | list[Failure] | None]


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def suggest_choice(field: Field, value: str) -> str | None:
    """The value name a person most likely meant: a label, a case or spacing variant, or a near miss."""
    index: dict[str, str] = {}
    for c in field.choices:
        index[_fold(c.name)] = c.name
        index.setdefault(_fold(c.label), c.name)
    folded = _fold(value)
    if folded in index:
        return index[folded]
    close = difflib.get_close_matches(folded, list(index), n=1, cutoff=0.75)
    return index[close[0]] if close else None


# The validator knows no time zone, so "in the future" means later than the latest calendar day anywhere (UTC+14): a
# record dated today where it was written passes wherever and whenever it is checked.
_LATEST_ZONE = timezone(timedelta(hours=14))


def _today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(_LATEST_ZONE).date().isoformat()


_PAST_ONLY = {"prs_Birthdate", "cas_OpenedDate", "cas_IncomingReferralDate", "hte_Date", "con_Date", "cco_CreatedDate"}


def _date_checker(field: Field) -> Checker:
    past_only = field.name in _PAST_ONLY
    # Checkers live as long as the process, across midnights: the day is read again when a date passes the last one
    # read. It only moves forward, so a date not after it is never in the future.
    today = [_today()]

    def check(v: Any) -> Failure | None:
        if type(v) is not str or len(v) == 4:
            from htcds.coerce import is_year

            if is_year(v):
                return "invalid-date", f"{v} is a year alone, not a date: write the whole date (YYYY-MM-DD).", None
        if type(v) is not str:
            return "invalid-date", "Write the date as text in the form YYYY-MM-DD.", _date_hint(v)
        if len(v) != 10 or v[4] != "-" or v[7] != "-":
            hint = _date_hint(v)
            return "invalid-date", (hint is None and _impossible(v)) or f"{v!r} is not a date in the form YYYY-MM-DD.", hint
        try:
            date.fromisoformat(v)
        except ValueError:
            return "invalid-date", _impossible(v) or f"{v!r} is not a real calendar date.", None
        if past_only and v > today[0]:
            today[0] = _today()
            if v > today[0]:
                return "future-date", f"{v} is in the future; {field.label} cannot be.", None
        return None

    return check


_SHAPED = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*|\s*(\d{1,2})([/.-])(\d{1,2})\5(\d{4}|\d{2})\s*")


def _impossible(v: str) -> str | None:
    """Why text shaped like a date names no day (31/31/2020, 30/02/2021, 2021-13-01), or None: saying only that
    it is not YYYY-MM-DD would mislead, since sheets may write dates day or month first."""
    m = _SHAPED.fullmatch(v)
    if m is None:
        return None
    if m.group(1):
        year, readings = int(m.group(1)), [(int(m.group(2)), int(m.group(3)))]
    else:
        a, b, year = int(m.group(4)), int(m.group(6)), int(m.group(7))
        year += 2000 if year < 100 else 0
        readings = [(b, a), (a, b)]  # (month, day): read day first, as sheets are by default, then month first
    months = [(month, day) for month, day in readings if 1 <= month <= 12]
    if not months:
        first, *other = dict.fromkeys(str(month) for month, _ in readings)
        if other:
            return f"{v!r} is not a real date: neither {first} nor {other[0]} can be the month."
        return f"{v!r} is not a real date: {first} cannot be the month."
    for month, day in months:
        if 1 <= day <= calendar.monthrange(year, month)[1]:
            return None  # a real date in one reading: the caller's message and fix apply
    month, day = months[0]
    return f"{v!r} is not a real date: {calendar.month_name[month]} {year} has no day {day}."


def _date_hint(v: Any) -> str | None:
    from htcds.coerce import parse_date

    # A sheet's text dates are read day first unless its column shows otherwise: a date that only reads month
    # first (12/31/2020) gets that reading as the fix.
    parsed = parse_date(v) or parse_date(v, day_first=False)
    return parsed.isoformat() if parsed else None


def _choice_checker(field: Field, allowed: frozenset[str], code: str, hint: Callable[[str], str | None]) -> Checker:
    what = {"invalid-country": "an ISO 3166-1 alpha-2 country code", "invalid-language": "an ISO 639 language code"}
    expected = what.get(code, f"one of the value names of {field.label}")

    def check_one(v: Any) -> Failure | None:
        if v.__class__ is str and v in allowed:
            return None
        if not isinstance(v, str):
            return "invalid-type", f"Expected text, {expected}.", None
        return code, f"{v!r} is not {expected}.", hint(v)

    if field.kind is not Kind.MULTI_CHOICE:
        return check_one

    def check_many(v: Any) -> Failure | list[Failure] | None:
        if v.__class__ is not list:
            if isinstance(v, str):
                return "invalid-type", "A multi-select value must be a list of value names.", None
            return "invalid-type", "A multi-select value must be a list.", None
        failures: list[Failure] | None = None
        for item in v:
            if item.__class__ is str and item in allowed:
                continue
            failure = check_one(item)
            if failure:
                failures = failures or []
                failures.append(failure)
        if failures:
            # One problem per bad item, so that each gets its own suggestion.
            return failures[0] if len(failures) == 1 else failures
        if len(set(v)) != len(v):
            return "duplicate-value", "A value is given more than once.", None
        return None

    return check_many


# C0 control characters other than tab, line feed and carriage return: never meaningful in a case file,
# and PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _control_failure(v: str) -> Failure:
    return "invalid-character", "Remove the control characters from this text.", _CONTROL.sub("", v) or None


# A spreadsheet keeps 15 significant digits of a number: an id typed as a number beyond them has lost its end.
_EXACT_DIGITS = 1e15


def _text_checker(field: Field) -> Checker:
    limit = field.max_length
    fmt = field.text_format

    def check(v: Any) -> Failure | None:
        if v.__class__ is not str:
            if v.__class__ is float and abs(v) >= _EXACT_DIGITS:  # what a spreadsheet could not keep exactly
                return ("invalid-type", f"The spreadsheet holds {field.label} as a number of more than 15 digits, "
                        f"which a spreadsheet does not keep exactly (it reads {v:.15g}).",
                        "format the column as Text and type the number again")  # fmt: skip
            return "invalid-type", f"Expected text for {field.label}.", None
        if limit is not None and len(v) > limit:
            return "too-long", f"At most {limit} characters ({len(v)} given).", None
        if _CONTROL.search(v):
            return _control_failure(v)
        if fmt == "e164" and v and not codelists.E164_RE.match(v):
            return "invalid-phone", f"{v!r} is not an E.164 number such as +2348012345678.", codelists.normalise_phone(v)
        if fmt == "email" and v and not codelists.EMAIL_RE.match(v):
            return "invalid-email", f"{v!r} is not an e-mail address.", None
        return None

    return check


def _number_checker(field: Field) -> Checker:
    lo, hi = field.minimum, field.maximum
    integer = field.kind is Kind.INTEGER

    def check(v: Any) -> Failure | None:
        t = v.__class__
        if t is bool or (t is not int and (integer or t is not float)):
            want = "a whole number" if integer else "a number"
            hint = None
            if isinstance(v, str):
                try:
                    hint = str(int(v) if integer else float(v))
                except ValueError:
                    hint = None
            return "invalid-number", f"{v!r} is not {want}.", hint
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return "out-of-range", f"{v} is outside {lo:g} to {hi:g}.", None
        return None

    return check


def _bool_checker(field: Field) -> Checker:
    def check(v: Any) -> Failure | None:
        if v.__class__ is bool:
            return None
        hint = None
        if isinstance(v, str) and _fold(v) in {"yes", "true", "1", "no", "false", "0"}:
            hint = "true" if _fold(v) in {"yes", "true", "1"} else "false"
        return "invalid-type", f"{v!r} is not true or false.", hint

    return check


def _lookup_checker(field: Field) -> Checker:
    def check(v: Any) -> Failure | None:
        if v.__class__ is str and 0 < len(v) <= 255:
            return _control_failure(v) if _CONTROL.search(v) else None
        return "invalid-type", f"{field.label} must name or identify a {field.lookup}.", None

    return check


def compile_field(field: Field) -> Checker:
    if field.codelist == "country":
        return _choice_checker(field, codelists.COUNTRY_ALPHA2, "invalid-country", codelists.normalise_country)
    if field.codelist == "language":
        return _choice_checker(field, codelists.language_codes(), "invalid-language", codelists.normalise_language)
    if field.kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        return _choice_checker(field, frozenset(field.choice_names), "invalid-choice", lambda v: suggest_choice(field, v))
    if field.kind is Kind.DATE:
        return _date_checker(field)
    if field.kind in (Kind.NUMBER, Kind.INTEGER, Kind.LATITUDE, Kind.LONGITUDE):
        return _number_checker(field)
    if field.kind is Kind.BOOLEAN:
        return _bool_checker(field)
    if field.kind is Kind.LOOKUP:
        return _lookup_checker(field)
    return _text_checker(field)


# Keys that structure a bundle rather than carry HTCDS data.
STRUCTURAL: dict[str, frozenset[str]] = {
    "case": frozenset({"id"}),
    "person": frozenset({"id"}),
    "organisation": frozenset({"id"}),
    "participant": frozenset({"id", "person", "role"}),
    "referral": frozenset({"id", "direction"}),
    "comment": frozenset({"id", "author"}),
    "event": frozenset({"id", "person"}),
    "support_plan": frozenset({"id", "person"}),
    "consent": frozenset({"id", "person"}),
    "assessment": frozenset({"id", "person", "answers"}),
}
_ENTITY_FIELDS = {"participant": ("victim", "perpetrator")}


@dataclass(frozen=True)
class _Compiled:
    checkers: dict[str, dict[str, Checker]]
    deprecated: frozenset[str]
    owner: dict[str, str]
    questions: dict[str, frozenset[str]]
    tier2_parent: dict[str, str]
    tier3_parent: dict[str, str]
    # Per entity, field -> (tag, data) for `_fast_ok`; see the _F_* tags.
    fast: dict[str, dict[str, tuple[int, Any]]]
    # Per entity, field -> text values known to be good (None for structural keys, whose values are not
    # checked). Dates repeat a lot across records, so the sets of date fields fill with the dates the checker
    # accepted, per field since only some fields refuse future dates.
    known: dict[str, dict[str, frozenset[str] | set[str] | None]]
    per_keys: frozenset[str]
    vic_keys: frozenset[str]


# Tags for `_fast_ok`: how to recognise a good value without calling the field's checker.
_F_SKIP, _F_CHOICE, _F_MULTI, _F_DATE, _F_TEXT, _F_LOOKUP, _F_BOOL, _F_CALL, _F_FAIL = range(9)
_MEMO_LIMIT = 1 << 18

# Fields without a list of good values: only "" (which _check_record skips) is known to be good.
_NOTHING_KNOWN: frozenset[str] = frozenset({""})


def _fast_spec(field: Field, checker: Checker, deprecated: bool) -> tuple[int, Any]:
    """Mirror of `compile_field`: the tag must accept only values its checker accepts."""
    if deprecated:
        return _F_FAIL, None  # a deprecated field with a value always earns a warning
    multi = field.kind is Kind.MULTI_CHOICE
    if field.codelist == "country":
        return (_F_MULTI if multi else _F_CHOICE), codelists.COUNTRY_ALPHA2
    if field.codelist == "language":
        return (_F_MULTI if multi else _F_CHOICE), codelists.language_codes()
    if field.kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        return (_F_MULTI if multi else _F_CHOICE), frozenset(field.choice_names)
    if field.kind is Kind.DATE:
        return _F_DATE, checker
    if field.kind is Kind.BOOLEAN:
        return _F_BOOL, None
    if field.kind is Kind.LOOKUP:
        return _F_LOOKUP, None
    if field.kind in (Kind.NUMBER, Kind.INTEGER, Kind.LATITUDE, Kind.LONGITUDE) or field.text_format:
        return _F_CALL, checker
    return _F_TEXT, field.max_length


@cache
def _compiled() -> _Compiled:
    cat = load()
    checkers: dict[str, dict[str, Checker]] = {}
    for entity in STRUCTURAL:
        sources = _ENTITY_FIELDS.get(entity, (entity,))
        checkers[entity] = {f.name: compile_field(f) for f in cat.fields if f.entity in sources}
    owner = {f.name: ("participant" if f.entity in ("victim", "perpetrator") else f.entity) for f in cat.fields}
    deprecated = frozenset(f.name for f in cat.fields if f.status == "DEPRECATED")
    fast: dict[str, dict[str, tuple[int, Any]]] = {}
    known: dict[str, dict[str, frozenset[str] | set[str] | None]] = {}
    for entity, entity_checkers in checkers.items():
        spec = {name: _fast_spec(cat[name], chk, name in deprecated) for name, chk in entity_checkers.items()}
        spec.update((key, (_F_SKIP, None)) for key in STRUCTURAL[entity])
        fast[entity] = spec
        entity_known: dict[str, frozenset[str] | set[str] | None] = {}
        for name, (tag, data) in spec.items():
            if tag == _F_SKIP:
                entity_known[name] = None
            elif tag == _F_CHOICE:
                entity_known[name] = data
            elif tag == _F_DATE:
                entity_known[name] = set()
            else:
                entity_known[name] = _NOTHING_KNOWN
        known[entity] = entity_known
    return _Compiled(
        checkers=checkers,
        deprecated=deprecated,
        owner=owner,
        questions={q.code: frozenset(q.answers) for q in cat.questions},
        tier2_parent={c.name: c.group or "" for c in cat["vic_ForcedLabourIndustryTier2"].choices},
        tier3_parent={c.name: c.group or "" for c in cat["vic_ForcedLabourIndustryTier3"].choices},
        fast=fast,
        known=known,
        per_keys=frozenset(k for k in fast["participant"] if k.startswith("per_")),
        vic_keys=frozenset(k for k in fast["participant"] if k.startswith("vic_")),
    )


class _Collector:
    """Accumulates problems for one row; paths are built lazily because the valid path is the hot one."""

    __slots__ = ("out", "row")

    def __init__(self, out: list[Problem], row: int | None) -> None:
        self.out = out
        self.row = row

    def add(self, code: str, message: str, entity: str, path: str, field: str | None = None, value: Any = None,
            suggestion: str | None = None, severity: str = ERROR) -> None:  # fmt: skip
        self.out.append(Problem(code, message, entity, field, value, self.row, path, suggestion, severity))


def _check_record(rec: Any, entity: str, path: str, col: _Collector, comp: _Compiled) -> bool:
    if rec.__class__ is not dict:
        col.add("not-an-object", f"Expected an object for {entity}.", entity, path, value=rec)
        return False
    checks = comp.checkers[entity]
    structural = STRUCTURAL[entity]
    for key, value in rec.items():
        chk = checks.get(key)
        if chk is not None:
            if value is None or value == "":
                continue
            failure = chk(value)
            if failure is not None:
                for code, message, suggestion in failure if isinstance(failure, list) else (failure,):
                    col.add(code, message, entity, f"{path}.{key}", key, value, suggestion)
            if key in comp.deprecated:
                col.add("deprecated-field", f"{key} is deprecated in HTCDS 2.0.", entity, f"{path}.{key}", key,
                        value, None, WARNING)  # fmt: skip
        elif key not in structural:
            owner = comp.owner.get(key)
            if owner is not None and owner != entity:
                col.add("wrong-entity", f"{key} belongs to {owner}, not {entity}.", entity, f"{path}.{key}", key,
                        value, f"move it to {owner}")  # fmt: skip
            else:
                close = difflib.get_close_matches(key, list(checks), n=1, cutoff=0.8)
                col.add("unknown-field", f"{key} is not a field of {entity}.", entity, f"{path}.{key}", key, value,
                        close[0] if close else None)  # fmt: skip
    return True


def _check_case(case: dict[str, Any], col: _Collector) -> None:
    status = case.get("cas_Status")
    if status in ("Closed", "ClosedReferred") and not case.get("cas_ReasonForCaseClosure"):
        col.add("closure-reason-required", "A closed case needs cas_ReasonForCaseClosure.", "case",
                "case.cas_ReasonForCaseClosure", "cas_ReasonForCaseClosure")  # fmt: skip
    opened, closed = case.get("cas_OpenedDate"), case.get("cas_ClosedDate")
    if isinstance(opened, str) and isinstance(closed, str) and closed < opened:
        col.add("date-order", "The case is closed before it was opened.", "case", "case.cas_ClosedDate",
                "cas_ClosedDate", closed)  # fmt: skip


def _check_participant(p: dict[str, Any], path: str, persons: set[Any], col: _Collector, comp: _Compiled) -> None:
    role = p.get("role")
    if role not in PARTICIPANT_ROLES:
        hint = difflib.get_close_matches(str(role), PARTICIPANT_ROLES, n=1)
        col.add("invalid-choice" if role else "missing-required", f"role must be one of {', '.join(PARTICIPANT_ROLES)}.",
                "participant", f"{path}.role", "role", role, hint[0] if hint else None)  # fmt: skip
    else:
        wrong = "per_" if role in VICTIM_ROLES else "vic_" if role == "Perpetrator" else None
        for key in p:
            if (wrong and key.startswith(wrong)) or (role == "Other" and key[:4] in ("vic_", "per_")):
                col.add("field-not-for-role", f"{key} does not apply to a {role}.", "participant", f"{path}.{key}",
                        key, p[key])  # fmt: skip
    person = p.get("person")
    if person is None:
        col.add("missing-required", "A participant must name its person's id.", "participant", f"{path}.person", "person")
    elif person not in persons:
        col.add("unknown-reference", f"No person with id {person!r} in this bundle.", "participant", f"{path}.person",
                "person", person)  # fmt: skip
    tier1, tier2, tier3 = (p.get("vic_ForcedLabourIndustry"), p.get("vic_ForcedLabourIndustryTier2"),
                           p.get("vic_ForcedLabourIndustryTier3"))  # fmt: skip
    if tier2 and comp.tier2_parent.get(tier2, tier1) != tier1:
        col.add("inconsistent-subdivision", f"{tier2} is not a division of {tier1}.", "participant",
                f"{path}.vic_ForcedLabourIndustryTier2", "vic_ForcedLabourIndustryTier2", tier2,
                comp.tier2_parent.get(tier2))  # fmt: skip
    if tier3 and comp.tier3_parent.get(tier3, tier2) != tier2:
        col.add("inconsistent-subdivision", f"{tier3} is not a group of {tier2}.", "participant",
                f"{path}.vic_ForcedLabourIndustryTier3", "vic_ForcedLabourIndustryTier3", tier3,
                comp.tier3_parent.get(tier3))  # fmt: skip


def _check_referral(r: dict[str, Any], path: str, col: _Collector) -> None:
    direction = r.get("direction")
    if direction not in REFERRAL_DIRECTIONS:
        col.add("invalid-choice" if direction else "missing-required", "direction must be Incoming or Outgoing.",
                "referral", f"{path}.direction", "direction", direction)  # fmt: skip
        return
    other = OUTGOING_REFERRAL_FIELDS if direction == "Incoming" else INCOMING_REFERRAL_FIELDS
    for key in r:
        if key in other:
            col.add("field-not-for-direction", f"{key} does not apply to an {direction.lower()} referral.",
                    "referral", f"{path}.{key}", key, r[key])  # fmt: skip


def _check_answers(a: dict[str, Any], path: str, col: _Collector, comp: _Compiled) -> None:
    answers = a.get("answers")
    if answers is None:
        return
    if answers.__class__ is not list:
        col.add("not-a-list", "answers must be a list.", "assessment", f"{path}.answers", "answers", answers)
        return
    for j, ans in enumerate(answers):
        if ans.__class__ is not dict:
            col.add("not-an-object", "Each answer must be an object.", "assessment", f"{path}.answers[{j}]")
            continue
        allowed = comp.questions.get(ans.get("question", ""))
        if allowed is None:
            col.add("unknown-question", f"No question {ans.get('question')!r} in the question set.", "assessment",
                    f"{path}.answers[{j}].question", "question", ans.get("question"))  # fmt: skip
        elif ans.get("answer") not in allowed:
            col.add("invalid-answer", f"answer must be one of {', '.join(sorted(allowed))}.", "assessment",
                    f"{path}.answers[{j}].answer", "answer", ans.get("answer"))  # fmt: skip


# Dates of one record that must come in order: (earlier, later).
_DATE_ORDER = {
    "case": (("cas_OpenedDate", "cas_ClosedDate"),),
    "consent": (("con_Date", "con_WithdrawnDate"), ("con_Date", "con_ExpiryDate")),
    "support_plan": (("spl_StartDate", "spl_ActualEndDate"), ("spl_StartDate", "spl_PlannedEndDate")),
}


def _date_pairs(rec: dict[str, Any], entity: str, path: str, col: _Collector, first: str, second: str) -> None:
    a, b = rec.get(first), rec.get(second)
    if a.__class__ is str and b.__class__ is str and b < a:
        col.add("date-order", f"{second} ({b}) is before {first} ({a}).", entity, f"{path}.{second}", second, b)


_TOP_KEYS = frozenset({"htcds_version", "case", *BUNDLE_LISTS, TASKS_KEY})
_PERSON_REFS = ("events", "support_plans", "consents", "assessments")


def _check_tasks(items: Any, col: _Collector) -> None:
    """Phare's tasks in a bundle (`x_phare_tasks`): a list of objects, each with a title and a due date."""
    if items.__class__ is not list:
        col.add("not-a-list", f"{TASKS_KEY} must be a list.", "task", TASKS_KEY, value=items)
        return
    seen: set[str] = set()
    for i, rec in enumerate(items):
        path = f"{TASKS_KEY}[{i}]"
        if rec.__class__ is not dict:
            col.add("not-an-object", "Expected an object for task.", "task", path, value=rec)
            continue
        for key, value in rec.items():
            kind = TASK_FIELDS.get(key)
            if kind is None:
                col.add("unknown-field", f"{key} is not a field of a Phare task.", "task", f"{path}.{key}", key, value)
            elif value is None or value == "":
                continue
            elif value.__class__ is not str:
                col.add("invalid-type", f"{key} must be text.", "task", f"{path}.{key}", key, value)
            elif kind == "date" and _task_date(value) is None:
                col.add("invalid-date", f"{value!r} is not a date written as YYYY-MM-DD.", "task", f"{path}.{key}", key, value)
            elif key == "title" and len(value) > TASK_TITLE_MAX:
                col.add("too-long", f"A task's title holds at most {TASK_TITLE_MAX} characters.", "task", f"{path}.{key}",
                        key, value)  # fmt: skip
            elif _CONTROL.search(value):
                col.add("invalid-character", f"{key} holds control characters.", "task", f"{path}.{key}", key, value)
        for key in TASK_REQUIRED:
            if rec.get(key) in (None, ""):
                col.add("missing-required", f"A task needs its {key}.", "task", f"{path}.{key}", key)
        rid = rec.get("id")
        if rid.__class__ is str and rid:
            if rid in seen:
                col.add("duplicate-id", f"id {rid!r} is used twice in {TASKS_KEY}.", "task", f"{path}.id", "id", rid)
            seen.add(rid)


def _task_date(value: str) -> date | None:
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _fast_fields(rec: dict[str, Any], known: dict[str, frozenset[str] | set[str] | None], spec: dict[str, tuple[int, Any]]) -> bool:
    """True when no field of `rec` would earn a problem or warning from `_check_record`."""
    try:
        for key, value in rec.items():
            # Commonest case first: a value name or an already-seen date, one dict and one set lookup. An
            # unknown or wrong-entity key raises KeyError (cheaper than .get on the hot path).
            good = known[key]
            if good is None:
                continue  # structural key: _check_record does not look at its value
            cls = value.__class__
            if cls is str:
                if value in good:
                    continue
                # Same skip as _check_record's `value == ""`; a str subclass equal to "" is not `str` and
                # goes to a test below that refuses it, so the full path decides.
                if not value:
                    continue
            elif value is None:
                continue
            tag, data = spec[key]
            if cls is str:
                if tag == _F_DATE:
                    if data(value) is not None:
                        return False
                    if len(good) < _MEMO_LIMIT:
                        good.add(value)  # type: ignore[union-attr]
                    continue
                if tag == _F_TEXT:
                    if (data is None or len(value) <= data) and (value.isprintable() or not _CONTROL.search(value)):
                        continue
                    return False
                if tag == _F_LOOKUP:
                    if len(value) <= 255 and (value.isprintable() or not _CONTROL.search(value)):
                        continue
                    return False
            elif tag == _F_MULTI:
                if cls is not list:
                    return False
                for item in value:
                    if item.__class__ is not str or item not in data:
                        return False
                if len(set(value)) != len(value):
                    return False
                continue
            elif tag == _F_BOOL:
                if cls is bool:
                    continue
                return False
            if tag == _F_CALL and data(value) is None:
                continue
            return False
    except KeyError:
        return False
    return True


_CLOSED = ("Closed", "ClosedReferred")
_VICTIM_ROLE_NAMES = ("Victim", "PotentialVictim")


# How `_fast_ok` treats each list of a bundle after the persons: which extra test its records need.
_K_PLAIN, _K_PARTICIPANT, _K_REFERRAL, _K_ASSESSMENT, _K_SUPPORT, _K_CONSENT = range(6)
_LIST_KIND = {
    key: (
        entity,
        {"participant": _K_PARTICIPANT, "referral": _K_REFERRAL, "assessment": _K_ASSESSMENT,
         "support_plan": _K_SUPPORT, "consent": _K_CONSENT}.get(entity, _K_PLAIN),
        key in _PERSON_REFS,
    )
    for key, entity in BUNDLE_LISTS.items()
    if key != "persons"
}  # fmt: skip


def _fast_ok(bundle: Any, comp: _Compiled) -> bool:
    """True only when `_validate_full` would report nothing, judged with cheap type and set tests.

    Almost every bundle in an import is valid, and this path builds no paths, collector or Problem. Any doubt
    (a value of an unusual type, anything that could be a problem) returns False and the full validation
    decides, so the problems reported, their order and their wording never depend on this function. Only a
    yes or no comes out, so lists are visited in the bundle's own order, persons first (the others refer to
    them).

    A new rule across fields goes here, in `_validate_full`, and in `rule_suspects`.
    """
    if bundle.__class__ is not dict:
        return False
    for key in bundle:
        if key not in _TOP_KEYS:
            return False
    tasks = bundle.get(TASKS_KEY)
    if tasks is not None:
        found: list[Problem] = []
        _check_tasks(tasks, _Collector(found, None))
        if found:
            return False
    fast, known = comp.fast, comp.known
    case = bundle.get("case")
    if case.__class__ is not dict or not _fast_fields(case, known["case"], fast["case"]):
        return False
    if case.get("cas_Status") in _CLOSED and not case.get("cas_ReasonForCaseClosure"):
        return False
    opened, closed = case.get("cas_OpenedDate"), case.get("cas_ClosedDate")
    if isinstance(opened, str) and isinstance(closed, str) and closed < opened:
        return False
    persons: set[str] = set()
    items = bundle.get("persons")
    if items is not None:
        if items.__class__ is not list:
            return False
        spec, entity_known = fast["person"], known["person"]
        for rec in items:
            if rec.__class__ is not dict or not _fast_fields(rec, entity_known, spec):
                return False
            rid = rec.get("id")
            if rid is not None:
                if rid.__class__ is not str or rid in persons:
                    return False
                persons.add(rid)
    for key, items in bundle.items():
        how = _LIST_KIND.get(key)
        if how is None or items is None:
            continue  # case, version, persons: done above
        if items.__class__ is not list:
            return False
        entity, kind, refs = how
        spec, entity_known = fast[entity], known[entity]
        seen: set[str] | None = set() if len(items) > 1 else None  # one record cannot repeat an id
        for rec in items:
            if rec.__class__ is not dict or not _fast_fields(rec, entity_known, spec):
                return False
            if seen is not None:
                rid = rec.get("id")
                if rid is not None:
                    if rid.__class__ is not str or rid in seen:
                        return False
                    seen.add(rid)
            if refs:
                ref = rec.get("person")
                if ref is not None and (ref.__class__ is not str or ref not in persons):
                    return False
            if kind == _K_PLAIN:
                continue
            if kind == _K_PARTICIPANT:
                if not _fast_participant(rec, persons, comp):
                    return False
            elif kind == _K_CONSENT:
                given, withdrawn = rec.get("con_Date"), rec.get("con_WithdrawnDate")
                if given.__class__ is str and withdrawn.__class__ is str and withdrawn < given:
                    return False
                expires = rec.get("con_ExpiryDate")
                if given.__class__ is str and expires.__class__ is str and expires < given:
                    return False
            elif kind == _K_REFERRAL:
                direction = rec.get("direction")
                if direction.__class__ is not str:
                    return False
                if direction == "Incoming":
                    other = OUTGOING_REFERRAL_FIELDS
                elif direction == "Outgoing":
                    other = INCOMING_REFERRAL_FIELDS
                else:
                    return False
                if not other.isdisjoint(rec):
                    return False
            elif kind == _K_ASSESSMENT:
                if not _fast_answers(rec.get("answers"), comp):
                    return False
            else:  # support plan
                start = rec.get("spl_StartDate")
                if start.__class__ is str:
                    actual, planned = rec.get("spl_ActualEndDate"), rec.get("spl_PlannedEndDate")
                    if (actual.__class__ is str and actual < start) or (planned.__class__ is str and planned < start):
                        return False
    return True


def _fast_participant(p: dict[str, Any], persons: set[str], comp: _Compiled) -> bool:
    role = p.get("role")
    if role.__class__ is not str:
        return False
    if role in _VICTIM_ROLE_NAMES:
        if not comp.per_keys.isdisjoint(p):
            return False
    elif role == "Perpetrator":
        if not comp.vic_keys.isdisjoint(p):
            return False
    elif role == "Other":
        if not (comp.per_keys.isdisjoint(p) and comp.vic_keys.isdisjoint(p)):
            return False
    else:
        return False
    person = p.get("person")
    if person.__class__ is not str or person not in persons:
        return False
    tier2 = p.get("vic_ForcedLabourIndustryTier2")
    if tier2:
        tier1 = p.get("vic_ForcedLabourIndustry")
        if comp.tier2_parent.get(tier2, tier1) != tier1:
            return False
    tier3 = p.get("vic_ForcedLabourIndustryTier3")
    return not (tier3 and comp.tier3_parent.get(tier3, tier2) != tier2)


def _fast_answers(answers: Any, comp: _Compiled) -> bool:
    if answers is None:
        return True
    if answers.__class__ is not list:
        return False
    questions = comp.questions
    for ans in answers:
        if ans.__class__ is not dict:
            return False
        question = ans.get("question", "")
        if question.__class__ is not str:
            return False
        allowed = questions.get(question)
        answer = ans.get("answer")
        if allowed is None or answer.__class__ is not str or answer not in allowed:
            return False
    return True


def value_passes(entity: str, name: str, value: Any) -> bool:
    """True when `value` of field `name` in a record of `entity` (a bundle's record kind: participant, not victim)
    would earn nothing from validation; False also when in doubt. Readers that hold a column of values check
    each distinct value once with this, then `rules_pass` per bundle, instead of `validate_bundle` per row."""
    comp = _compiled()
    return _fast_fields({name: value}, comp.known[entity], comp.fast[entity])


# The text formats' patterns, line by line, to test a whole column joined by newlines in one search.
_FORMAT_LINES = {"e164": re.compile(codelists.E164_RE.pattern, re.M), "email": re.compile(codelists.EMAIL_RE.pattern, re.M)}


def texts_pass(entity: str, name: str, values: list[str]) -> bool:
    """`value_passes` for a whole column of non-empty strings at once, for text fields (free, e-mail, phone);
    False when in doubt (then the caller checks value by value)."""
    comp = _compiled()
    tag, data = comp.fast[entity].get(name, (_F_FAIL, None))
    fmt = None
    if tag == _F_LOOKUP:
        data = 255
    elif tag == _F_CALL:
        field = load()[name]
        fmt = field.text_format
        if field.kind not in (Kind.TEXT, Kind.LONG_TEXT) or fmt not in _FORMAT_LINES:
            return False
        data = field.max_length
    elif tag != _F_TEXT:
        return False
    if not values:
        return True
    if data is not None and max(map(len, values)) > data:
        return False
    if fmt is not None:
        joined = "\n".join(values)
        # No value may hold a newline of its own, or its lines would be counted as values.
        if joined.count("\n") != len(values) - 1 or _CONTROL.search(joined):
            return False
        return len(_FORMAT_LINES[fmt].findall(joined)) == len(values)
    joined = "".join(values)
    return joined.isprintable() or not _CONTROL.search(joined)




def rule_suspects(kind: str, columns: dict[str, list[Any]], n: int, role: str = "Victim") -> set[int] | None:
    """The rules across fields, a block of rows at a time, for readers that hold columns (htcds.sources.columns).

    `columns` holds, for `n` bundles of one record of `kind` each (participants of `role`), each field's values
    (None where empty); every value has passed `value_passes`. Gives the offsets of the rows whose record may
    break a rule (closure reason, date order, role, industry subdivision): only those need `validate_bundle`.
    None when the rows cannot be judged this way (an unknown role).
    """
    out: set[int] = set()
    for first, second in _DATE_ORDER.get(kind, ()):
        a, b = columns.get(first), columns.get(second)
        if a is not None and b is not None:
            out.update(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x.__class__ is str and y.__class__ is str and y < x)
    if kind == "case":
        status = columns.get("cas_Status")
        if status is not None:
            reason = columns.get("cas_ReasonForCaseClosure") or [None] * n
            out.update(i for i, (x, y) in enumerate(zip(status, reason, strict=True)) if x in _CLOSED and not y)
    elif kind == "participant":
        comp = _compiled()
        if role in _VICTIM_ROLE_NAMES:
            wrong = comp.per_keys
        elif role == "Perpetrator":
            wrong = comp.vic_keys
        elif role == "Other":
            wrong = comp.per_keys | comp.vic_keys
        else:
            return None
        for name, values in columns.items():
            if name in wrong:
                out.update(i for i, v in enumerate(values) if v is not None)
        none = [None] * n
        tier1 = columns.get("vic_ForcedLabourIndustry") or none
        tier2 = columns.get("vic_ForcedLabourIndustryTier2") or none
        tier3 = columns.get("vic_ForcedLabourIndustryTier3") or none
        parent2, parent3 = comp.tier2_parent, comp.tier3_parent
        if tier2 is not none:
            out.update(i for i, (t1, t2) in enumerate(zip(tier1, tier2, strict=True)) if t2 and parent2.get(t2, t1) != t1)
        if tier3 is not none:
            out.update(i for i, (t2, t3) in enumerate(zip(tier2, tier3, strict=True)) if t3 and parent3.get(t3, t2) != t2)
    return out


def validate_bundle(bundle: Any, row: int | None = None, out: list[Problem] | None = None) -> list[Problem]:
    """Validate one case bundle; returns (or extends `out` with) every problem found."""
    problems: list[Problem] = [] if out is None else out
    if _fast_ok(bundle, _compiled()):
        return problems
    return _validate_full(bundle, row, problems)


def _validate_full(bundle: Any, row: int | None, problems: list[Problem]) -> list[Problem]:
    """The complete validation, building a Problem for everything wrong; used when `_fast_ok` has doubts."""
    col = _Collector(problems, row)
    comp = _compiled()
    if bundle.__class__ is not dict:
        col.add("not-an-object", "A case bundle must be a JSON object.", "bundle", "", value=bundle)
        return problems
    for key in bundle:
        if key not in _TOP_KEYS:
            col.add("unknown-field", f"{key} is not part of a case bundle.", "bundle", key, key)
    case = bundle.get("case")
    if case is None:
        col.add("missing-required", "A case bundle needs a case.", "case", "case", "case")
    elif _check_record(case, "case", "case", col, comp):
        _check_case(case, col)
    ids: dict[str, set[Any]] = {}
    for key, entity in BUNDLE_LISTS.items():
        items = bundle.get(key)
        if items is None:
            continue
        if items.__class__ is not list:
            col.add("not-a-list", f"{key} must be a list.", entity, key, value=items)
            continue
        seen: set[Any] = set()
        ids[key] = seen
        for i, rec in enumerate(items):
            path = f"{key}[{i}]"
            if not _check_record(rec, entity, path, col, comp):
                continue
            rid = rec.get("id")
            if rid is not None:
                if rid in seen:
                    col.add("duplicate-id", f"id {rid!r} is used twice in {key}.", entity, f"{path}.id", "id", rid)
                seen.add(rid)
            if entity == "participant":
                _check_participant(rec, path, ids.get("persons", set()), col, comp)
            elif entity == "referral":
                _check_referral(rec, path, col)
            elif entity == "assessment":
                _check_answers(rec, path, col, comp)
            elif entity in ("support_plan", "consent"):  # the case's own pair has its own message (_check_case)
                for first, second in _DATE_ORDER[entity]:
                    _date_pairs(rec, entity, path, col, first, second)
    if TASKS_KEY in bundle:
        _check_tasks(bundle[TASKS_KEY], col)
    persons = ids.get("persons", set())
    for key in _PERSON_REFS:
        for i, rec in enumerate(bundle.get(key) or ()):
            if rec.__class__ is dict:
                ref = rec.get("person")
                if ref is not None and ref not in persons:
                    col.add("unknown-reference", f"No person with id {ref!r} in this bundle.", BUNDLE_LISTS[key],
                            f"{key}[{i}].person", "person", ref)  # fmt: skip
    return problems


def validate_record(entity: str, record: Any, row: int | None = None) -> list[Problem]:
    """Validate a single record of one entity (e.g. a person being edited in a form)."""
    problems: list[Problem] = []
    col = _Collector(problems, row)
    comp = _compiled()
    if _check_record(record, entity, entity, col, comp) and entity == "case":
        _check_case(record, col)
    return problems


def validate_batch(bundles: Iterable[Any], first_row: int = 0) -> list[Problem]:
    """Validate many bundles; each problem carries the bundle's row number."""
    problems: list[Problem] = []
    for i, bundle in enumerate(bundles, start=first_row):
        validate_bundle(bundle, i, problems)
    return problems


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]
