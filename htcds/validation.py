"""Validation of HTCDS records and case bundles.

Every problem is collected (never stop at the first), each with a stable code, the entity, row, field, the
bad value, a plain message and, when one can be guessed, the value that was most likely meant.

Speed matters: imports validate hundreds of thousands of rows, so each field gets a checker compiled once
from the catalogue, the common valid case returns after a type test and a set lookup, and Problem objects
are only built for bad values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from htcds import codelists
from htcds.catalogue import (
    BUNDLE_LISTS,
    INCOMING_REFERRAL_FIELDS,
    OUTGOING_REFERRAL_FIELDS,
    PARTICIPANT_ROLES,
    REFERRAL_DIRECTIONS,
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
    "invalid-date": "The value is not a date in the form YYYY-MM-DD.",
    "future-date": "The date is in the future.",
    "invalid-number": "The value is not a number.",
    "out-of-range": "The number is outside the field's range.",
    "invalid-phone": "The value is not an E.164 phone number.",
    "invalid-email": "The value is not an e-mail address.",
    "too-long": "The text is longer than the field allows.",
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


def _today() -> str:
    return date.today().isoformat()


_PAST_ONLY = {"prs_Birthdate", "cas_OpenedDate", "cas_IncomingReferralDate", "hte_Date", "con_Date", "cco_CreatedDate"}


def _date_checker(field: Field) -> Checker:
    past_only = field.name in _PAST_ONLY
    today = _today()

    def check(v: Any) -> Failure | None:
        if type(v) is not str:
            return "invalid-date", "Write the date as text in the form YYYY-MM-DD.", _date_hint(v)
        if len(v) != 10 or v[4] != "-" or v[7] != "-":
            return "invalid-date", f"{v!r} is not a date in the form YYYY-MM-DD.", _date_hint(v)
        try:
            date.fromisoformat(v)
        except ValueError:
            return "invalid-date", f"{v!r} is not a real calendar date.", None
        if past_only and v > today:
            return "future-date", f"{v} is in the future; {field.label} cannot be.", None
        return None

    return check


def _date_hint(v: Any) -> str | None:
    from htcds.coerce import parse_date

    parsed = parse_date(v)
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


def _text_checker(field: Field) -> Checker:
    limit = field.max_length
    fmt = field.text_format

    def check(v: Any) -> Failure | None:
        if v.__class__ is not str:
            return "invalid-type", f"Expected text for {field.label}.", None
        if limit is not None and len(v) > limit:
            return "too-long", f"At most {limit} characters ({len(v)} given).", None
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
            return None
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


@cache
def _compiled() -> _Compiled:
    cat = load()
    checkers: dict[str, dict[str, Checker]] = {}
    for entity in STRUCTURAL:
        sources = _ENTITY_FIELDS.get(entity, (entity,))
        checkers[entity] = {f.name: compile_field(f) for f in cat.fields if f.entity in sources}
    owner = {f.name: ("participant" if f.entity in ("victim", "perpetrator") else f.entity) for f in cat.fields}
    return _Compiled(
        checkers=checkers,
        deprecated=frozenset(f.name for f in cat.fields if f.status == "DEPRECATED"),
        owner=owner,
        questions={q.code: frozenset(q.answers) for q in cat.questions},
        tier2_parent={c.name: c.group or "" for c in cat["vic_ForcedLabourIndustryTier2"].choices},
        tier3_parent={c.name: c.group or "" for c in cat["vic_ForcedLabourIndustryTier3"].choices},
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


def _date_pairs(rec: dict[str, Any], entity: str, path: str, col: _Collector, first: str, second: str) -> None:
    a, b = rec.get(first), rec.get(second)
    if a.__class__ is str and b.__class__ is str and b < a:
        col.add("date-order", f"{second} ({b}) is before {first} ({a}).", entity, f"{path}.{second}", second, b)


_TOP_KEYS = frozenset({"htcds_version", "case", *BUNDLE_LISTS})
_PERSON_REFS = ("events", "support_plans", "consents", "assessments")


def validate_bundle(bundle: Any, row: int | None = None, out: list[Problem] | None = None) -> list[Problem]:
    """Validate one case bundle; returns (or extends `out` with) every problem found."""
    problems: list[Problem] = [] if out is None else out
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
            elif entity == "support_plan":
                _date_pairs(rec, entity, path, col, "spl_StartDate", "spl_ActualEndDate")
                _date_pairs(rec, entity, path, col, "spl_StartDate", "spl_PlannedEndDate")
            elif entity == "consent":
                _date_pairs(rec, entity, path, col, "con_Date", "con_WithdrawnDate")
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
