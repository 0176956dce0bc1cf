"""Any other spreadsheet (CSV, XLSX, ODS), read through a YAML mapping file, and mapping suggestions.

A mapping file says, per column, which HTCDS field it fills, how source values translate, how dates are
written and how multi-values are split; plus constants and the column holding the source's own id:

    source: shelter-register-2019     # names the source, so re-imports of it are recognised
    sheet: Cases                      # optional; default the first sheet
    header_row: 1                     # optional, 1-based
    id_column: Case No
    date_format: day-first            # or month-first, or a strptime pattern such as "%d.%m.%Y"; when absent,
                                      # day first unless a date column's values show month first (12/31/1990)
    split: ","                        # default separator for multi-value columns
    role: Victim                      # or PotentialVictim
    columns:
      Given name: prs_FirstName
      Nationality: {field: prs_Citizenship, split: "/", values: {Nigerian: NG, Ghanaian: GH}}
      Registered: {field: cas_OpenedDate, date_format: month-first}
      Notes: ignore
    constants:
      cas_Status: Active
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import datetime
from pathlib import Path
from typing import Any

from htcds import codelists
from htcds.catalogue import PARTICIPANT_ROLES, Field, Kind, load
from htcds.coerce import coerce_value, date_order, parse_date
from htcds.sources.base import Plan, TabularSource
from htcds.sources.layout import EXTRA_COLUMNS
from htcds.sources.problems import WARNING, Problem, source_problem
from htcds.sources.tabular import UnreadableFileError, cell_text, column_letter
from htcds.sources.values import GENDER_WORDS, choice_index, fold, make_converter


class MappingError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class ColumnRule:
    field: str
    values: dict[str, Any] = _field(default_factory=dict)
    split: str | None = None
    date_format: str | None = None


@dataclass
class Mapping:
    source: str = "mapped"
    sheet: str | None = None
    header_row: int = 1
    id_column: str | None = None
    date_format: str | None = None  # None: day first, unless a date column's values show month first
    split: str = ";"
    role: str = "Victim"
    columns: dict[str, ColumnRule | None] = _field(default_factory=dict)  # None: ignore the column
    constants: dict[str, Any] = _field(default_factory=dict)


def _bad(message: str, column: str = "", value: Any = None) -> Problem:
    return source_problem("invalid-mapping", message, column=column, value=value)


def parse_mapping(data: Any) -> Mapping:
    """A Mapping from parsed YAML; raises MappingError listing every problem, not only the first."""
    cat = load()
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise MappingError([_bad("A mapping file must be a YAML mapping with a `columns` section.")])
    m = Mapping(
        source=str(data.get("source") or "mapped"), sheet=data.get("sheet"),
        header_row=int(data.get("header_row") or 1), id_column=data.get("id_column"),
        date_format=str(data["date_format"]) if data.get("date_format") else None, split=str(data.get("split") or ";"),
        role=str(data.get("role") or "Victim"),
    )  # fmt: skip
    if m.date_format is not None and not _valid_date_format(m.date_format):
        problems.append(_bad(f"date_format {m.date_format!r} is not day-first, month-first nor a date pattern such as "
                             "%d.%m.%Y.", "date_format", m.date_format))  # fmt: skip
    if m.role not in PARTICIPANT_ROLES:
        problems.append(_bad(f"role must be one of {', '.join(PARTICIPANT_ROLES)}.", "role", m.role))
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        problems.append(_bad("`columns` must map column headers to fields.", "columns"))
        columns = {}
    for header, rule in columns.items():
        col = str(header)
        if rule is None or rule == "ignore":
            m.columns[col] = None
            continue
        if isinstance(rule, str):
            rule = {"field": rule}
        if not isinstance(rule, dict) or not isinstance(rule.get("field"), str):
            problems.append(_bad(f"Column {col!r} needs a field name.", col, rule))
            continue
        name = rule["field"]
        if name not in cat:
            close = difflib.get_close_matches(name, [f.name for f in cat.fields], n=1)
            problems.append(source_problem("invalid-mapping", f"{name} is not an HTCDS field.", column=col, value=name,
                                           fix=close[0] if close else None))  # fmt: skip
            continue
        values = rule.get("values") or {}
        if not isinstance(values, dict):
            problems.append(_bad(f"`values` of column {col!r} must map source values to HTCDS values.", col))
            values = {}
        fmt = rule.get("date_format")
        if fmt is not None and not _valid_date_format(str(fmt)):
            problems.append(_bad(f"date_format {fmt!r} of column {col!r} is not day-first, month-first nor a date "
                                 "pattern such as %d.%m.%Y.", col, fmt))  # fmt: skip
        m.columns[col] = ColumnRule(name, _value_keys(values), rule.get("split"), fmt)
    constants = data.get("constants") or {}
    for name, value in constants.items() if isinstance(constants, dict) else ():
        if name not in cat:
            problems.append(_bad(f"Constant {name} is not an HTCDS field.", "constants", name))
        else:
            m.constants[name] = coerce_value(cat[name], value)
    if problems:
        raise MappingError(problems)
    return m


def _valid_date_format(spec: str) -> bool:
    """day-first, month-first (or dmy, mdy), or a strptime pattern naming a day, a month and a year that reads back
    the date it writes."""
    if spec in ("day-first", "dmy", "month-first", "mdy"):
        return True
    if not all(any(d in spec for d in group) for group in (("%d", "%j"), ("%m", "%b", "%B", "%j"), ("%Y", "%y"))):
        return False
    sample = datetime(2001, 2, 3)
    try:
        return datetime.strptime(sample.strftime(spec), spec).date() == sample.date()
    except ValueError:
        return False


# YAML 1.1 reads unquoted Yes/No/On/Off/True/False keys as booleans: `values: {Yes: true}` means the text "Yes".
_BOOLEAN_WORDS = {True: ("Yes", "yes", "YES", "Y", "y", "True", "true", "TRUE", "On", "on"),
                  False: ("No", "no", "NO", "N", "n", "False", "false", "FALSE", "Off", "off")}  # fmt: skip


def _value_keys(values: dict[Any, Any]) -> dict[str, Any]:
    """A column's `values:` keyed by the text a cell holds; a boolean key stands for every word YAML reads as it,
    a number for its digits (1, 1.0 → "1")."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(k, bool):
            for word in _BOOLEAN_WORDS[k]:
                out.setdefault(word, v)
        elif isinstance(k, float) and k.is_integer():
            out[str(int(k))] = v
        else:
            out[str(k).strip()] = v
    return out


def load_mapping(path: Path) -> Mapping:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError([_bad(f"{path.name} cannot be read as YAML: {exc}")]) from exc
    return parse_mapping(data)


def _date_options(spec: str) -> tuple[bool, str | None]:
    if spec in ("day-first", "dmy"):
        return True, None
    if spec in ("month-first", "mdy"):
        return False, None
    return True, spec


class MappedSource(TabularSource):
    kind = "mapped"
    one_column_per_field = False

    def __init__(self, path: Path, mapping: Mapping) -> None:
        super().__init__(path, mapping.source, mapping.sheet)
        self.mapping = mapping

    def _start(self) -> tuple[Plan, Iterator[list[Any]], int]:
        # Rows above the header row (titles, notes) are skipped by pretending they are header rows.
        skip = self.mapping.header_row - 1
        if skip:
            self.sample_size += skip
        return super()._start()

    def build_plan(self, head: list[list[Any]], sample: list[list[Any]]) -> Plan:
        m = self.mapping
        cat = load()
        skip = m.header_row - 1
        rows = head + sample
        headers = [cell_text(c) for c in rows[skip]] if len(rows) > skip else []
        plan = Plan(m.header_row, headers=headers, constants=dict(m.constants), role=m.role)
        by_fold = {fold(h): i for i, h in enumerate(headers) if h}
        for col, rule in m.columns.items():
            i = by_fold.get(fold(col))
            if i is None:
                self.problems.append(source_problem("invalid-mapping", f"The mapping names column {col!r}, which the file "
                                                    "does not have.", column=col, severity=WARNING))  # fmt: skip
                continue
            if rule is None:
                continue
            f = cat[rule.field]
            spec = rule.date_format or m.date_format
            day_first, pattern = _date_options(spec or "day-first")
            if spec is None and f.kind is Kind.DATE:
                order = date_order(r[i] for r in rows[skip + 1 :] if i < len(r))
                if order is not None and order[0] == "month-first":  # the mapping does not say; the column shows it
                    proof = order[1]
                    day_first = False
                    self.problems.append(source_problem(
                        "month-first-dates", f"Column {col!r} holds dates such as {proof!r}, which only read month "
                        "first: its dates are read as month/day/year.", row=m.header_row, column=col, field=f.name,
                        value=proof, severity=WARNING, fix="set date_format in the mapping if this is wrong"))  # fmt: skip
            seps = [rule.split or m.split]
            plan.plain.append((i, rule.field, make_converter(f, seps, day_first, pattern, rule.values)))
        if m.id_column is not None:
            i = by_fold.get(fold(m.id_column))
            if i is None:  # without its ids, every row would be a new case on each re-import
                raise UnreadableFileError(f"The mapping's id column {m.id_column!r} is not in the file (its headers are "
                                          f"on row {m.header_row}): correct id_column or the header.", "invalid-mapping")  # fmt: skip
            else:
                plan.id_columns.append(i)
                plan.id_required = True
        if not plan.plain:
            raise UnreadableFileError(f"None of the mapping's columns is a header of the file on row {m.header_row}: "
                                      "nothing would be imported. Check the header row and the mapping's column names.",
                                      "unrecognised-layout")  # fmt: skip
        mapped = {fold(c) for c in m.columns} | ({fold(m.id_column)} if m.id_column else set())
        for i, h in enumerate(headers):
            if h and fold(h) not in mapped and h not in EXTRA_COLUMNS:
                self.problems.append(source_problem("unmapped-column", row=m.header_row, value=h,
                                                    column=f"{column_letter(i)} ({h})", severity=WARNING,
                                                    fix="add it to the mapping's columns (or map it to ignore)"))  # fmt: skip
        return plan


# --- suggestions ------------------------------------------------------------------------------------------

# Headers people write for HTCDS fields, folded. Only where neither the field name nor its label is close.
SYNONYMS: dict[str, str] = {
    "name": "prs_FirstName", "givenname": "prs_FirstName", "forename": "prs_FirstName", "firstnames": "prs_FirstName",
    "surname": "prs_SecondName", "lastname": "prs_SecondName", "familyname": "prs_SecondName",
    "dob": "prs_Birthdate", "dateofbirth": "prs_Birthdate", "birthday": "prs_Birthdate", "born": "prs_Birthdate",
    "sex": "prs_Gender", "gender": "prs_Gender", "nationality": "prs_Citizenship", "citizenship": "prs_Citizenship",
    "country": "prs_MailingCountry", "city": "prs_MailingCity", "town": "prs_MailingCity", "address": "prs_MailingStreet",
    "street": "prs_MailingStreet", "postcode": "prs_MailingPostalCode", "zip": "prs_MailingPostalCode",
    "phone": "prs_MobilePhone", "mobile": "prs_MobilePhone", "cell": "prs_MobilePhone", "telephone": "prs_HomePhone",
    "tel": "prs_MobilePhone", "email": "prs_Email", "mail": "prs_Email", "language": "prs_PrimaryLanguage",
    "status": "cas_Status", "casestatus": "cas_Status", "opened": "cas_OpenedDate", "dateopened": "cas_OpenedDate",
    "registered": "cas_OpenedDate", "registrationdate": "cas_OpenedDate", "closed": "cas_ClosedDate",
    "exploitation": "vic_TypeOfExploitation", "exploitationtype": "vic_TypeOfExploitation",
    "control": "vic_MethodsOfControl", "recruitment": "vic_MethodOfRecruitment", "age": "vic_AgeWhenTrafficked",
    "consent": "con_Consent", "caseworker": "cas_CaseOwner", "owner": "cas_CaseOwner",
    "countryoforigin": "prs_Citizenship", "origin": "prs_Citizenship", "countryofcitizenship": "prs_Citizenship",
    "phonenumber": "prs_MobilePhone", "mobilenumber": "prs_MobilePhone", "cellphone": "prs_MobilePhone",
    "contactnumber": "prs_MobilePhone", "telephonenumber": "prs_HomePhone", "emailaddress": "prs_Email",
}  # fmt: skip
# When only the values say what a column holds, a field about the person or their case is the likelier one: an
# organisation's fields (its phone, its shipping country) describe a partner, not the people in the sheet.
_ENTITY_RANK = {"person": 0, "victim": 1, "case": 2, "referral": 3, "consent": 4, "event": 5}
ID_WORDS = ("id", "caseid", "caseno", "casenumber", "ref", "reference", "recordid", "uuid", "fileno", "number")

_PLURAL = {"country": "countries", "gender": "genders"}
_PHONE = re.compile(r"^\+?[\d\s().\-]{7,20}$")


@dataclass
class Suggestion:
    """A proposed match for one column. `field` is None when nothing fits; `values` proposes value translations."""

    column: str
    field: str | None
    confidence: float
    reason: str
    is_id: bool = False
    values: dict[str, str] = _field(default_factory=dict)
    date_format: str | None = None


def _value_kind(samples: list[str]) -> tuple[str | None, float]:
    """What the sample values look like: country, date, phone, email, gender; with the share that fit."""
    if not samples:
        return None, 0.0
    gender_idx = choice_index(load()["prs_Gender"])
    tests: dict[str, Callable[[str], bool]] = {
        "email": lambda v: bool(codelists.EMAIL_RE.match(v)),
        "date": lambda v: parse_date(v) is not None and not v.isdigit(),
        "phone": lambda v: bool(_PHONE.match(v)) and sum(c.isdigit() for c in v) >= 7,
        "gender": lambda v: fold(v) in GENDER_WORDS or fold(v) in gender_idx,
        "country": lambda v: len(v) > 1 and codelists.normalise_country(v) is not None,
    }
    best, share = None, 0.0
    for kind, test in tests.items():
        s = sum(1 for v in samples if test(v)) / len(samples)
        if s > share:
            best, share = kind, s
    return (best, share) if share >= 0.6 else (None, share)


def _fields_of_kind(kind: str) -> list[str]:
    cat = load()
    if kind == "email":
        return [f.name for f in cat.fields if f.text_format == "email"]
    if kind == "phone":
        return [f.name for f in cat.fields if f.text_format == "e164"]
    if kind == "date":
        return [f.name for f in cat.fields if f.kind is Kind.DATE]
    if kind == "gender":
        return ["prs_Gender"]
    return [f.name for f in cat.fields if f.codelist == "country"]


def _kind_of(f: Field) -> str | None:
    if f.text_format == "email":
        return "email"
    if f.text_format == "e164":
        return "phone"
    if f.kind is Kind.DATE:
        return "date"
    if f.name == "prs_Gender":
        return "gender"
    if f.codelist == "country":
        return "country"
    return None


def suggest_mapping(headers: Sequence[str], sample_rows: Sequence[Sequence[Any]]) -> list[Suggestion]:
    """Propose, per column, the HTCDS field it most likely holds, from its header and its sample values.

    Headers are matched against field names, labels, the XLSForm's names and common synonyms (exactly,
    then fuzzily); sample values are recognised as countries, dates, phones, e-mails or genders. When both
    agree the confidence is high; a header match whose values contradict it is marked down.
    """
    from htcds.sources.kobo import _resolvers

    cat = load()
    names, labels, _ = _resolvers()
    # Later entries win: a person's or case's label over another entity's ("Phone" is also an organisation's
    # label), synonyms over labels, exact field names over everything.
    first = ("person", "victim", "case", "referral", "consent")
    pool: dict[str, str] = dict(labels)
    pool.update({fold(f.label): f.name for f in reversed(cat.fields) if f.entity in first})
    pool.update(SYNONYMS)
    pool.update(names)
    out: list[Suggestion] = []
    taken: set[str] = set()
    for i, header in enumerate(headers):
        h = fold(str(header))
        samples = [cell_text(r[i]) for r in sample_rows if i < len(r) and cell_text(r[i])]
        vkind, vshare = _value_kind(samples)
        if h in ID_WORDS or (h.endswith("id") and len(h) <= 8 and h not in pool):
            out.append(Suggestion(str(header), None, 0.9, "header names an id", is_id=True))
            continue
        candidate, conf, reason = None, 0.0, ""
        if h in pool:
            candidate, conf, reason = pool[h], 0.95, "header matches the field"
        elif h:
            close = difflib.get_close_matches(h, list(pool), n=1, cutoff=0.7)
            if close:
                ratio = difflib.SequenceMatcher(None, h, close[0]).ratio()
                candidate, conf, reason = pool[close[0]], round(0.5 + 0.4 * ratio, 2), f"header resembles {close[0]!r}"
        if candidate and vkind:
            fk = _kind_of(cat[candidate])
            if fk == vkind:
                conf = min(1.0, conf + 0.05)
                reason += f"; values look like {_PLURAL.get(vkind, vkind + 's')}"
            elif conf < 0.95:
                candidate = None  # a fuzzy header match the values contradict: trust the values
            elif fk is not None:
                conf = round(conf * 0.6, 2)
                reason += f"; but values look like {_PLURAL.get(vkind, vkind + 's')}"
        if not candidate and vkind:
            options = [f for f in _fields_of_kind(vkind) if f not in taken] or _fields_of_kind(vkind)
            ranked = sorted(options, key=lambda f: (_ENTITY_RANK.get(cat[f].entity, 9),
                                                    -difflib.SequenceMatcher(None, h, fold(cat[f].label)).ratio()))  # fmt: skip
            candidate, conf, reason = ranked[0], round(0.4 + 0.4 * vshare, 2), f"values look like {_PLURAL.get(vkind, vkind + 's')}"
        sug = Suggestion(str(header), candidate, conf if candidate else 0.0, reason or "no match")
        if candidate:
            taken.add(candidate)
            f = cat[candidate]
            if f.kind is Kind.DATE:
                order = date_order(samples)
                sug.date_format = order[0] if order else None
            if f.choices and samples:
                idx = choice_index(f)
                for v in dict.fromkeys(samples):
                    if fold(v) not in idx:
                        close = difflib.get_close_matches(fold(v), list(idx), n=1, cutoff=0.6)
                        if close:
                            sug.values[v] = idx[close[0]]
        out.append(sug)
    return out


def suggestions_to_yaml(suggestions: list[Suggestion], source: str = "my-source") -> str:
    """A draft mapping file from suggestions, for the person importing to check and complete."""
    import yaml

    columns: dict[str, Any] = {}
    id_column = None
    for s in suggestions:
        if s.is_id and id_column is None:
            id_column = s.column
        elif s.field is None:
            columns[s.column] = "ignore"
        elif s.values or s.date_format:
            rule: dict[str, Any] = {"field": s.field}
            if s.values:
                rule["values"] = s.values
            if s.date_format:
                rule["date_format"] = s.date_format
            columns[s.column] = rule
        else:
            columns[s.column] = s.field
    doc: dict[str, Any] = {"source": source}
    if id_column:
        doc["id_column"] = id_column
    doc["columns"] = columns
    return str(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
