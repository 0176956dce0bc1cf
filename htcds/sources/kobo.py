"""KoBoToolbox and ODK Central exports of forms built on IOM's official HTCDS XLSForm.

Their CSV/XLSX exports prefix group paths (`group_x/prs_First_Name` in KoBo, `group_x-prs_First_Name` in
ODK Central), write select_multiple answers as space-separated choice names and, optionally, one 0/1 column
per choice (`vic_Methods_of_Control/DebtBondage`), and add their own columns (`_uuid`, `meta/instanceID`,
`_id`, `_submission_time`, `KEY`, ...). Their JSON comes flat with `/` paths (KoBo /data) or nested by group
(ODK Central OData). The XLSForm's names differ from the standard's (`prs_First_Name`), so they are mapped
through `_xlsform_names`, generated from the official form by `build_name_map` (run this module as a script).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from htcds.catalogue import load
from htcds.sources import _xlsform_names as xf
from htcds.sources.base import Plan, Row, Source, TabularSource, convert_row, entity_map
from htcds.sources.layout import EXTRA_COLUMNS
from htcds.sources.problems import WARNING, source_problem
from htcds.sources.tabular import cell_text, column_letter
from htcds.sources.values import fold, make_converter
from htcds.templates import FIELD_NAME_FIXES

# Separators between group, field and choice in export headers: KoBo "/", ODK Central "-", others ".", ">" or ":".
_PATH_SPLIT = re.compile(r"[/\-.>:]")
# Id columns, most stable first: KoBo's rootUuid and ODK's __id survive edits; instanceID changes with them.
ID_KEYS = ("meta/rootUuid", "rootUuid", "__id", "KEY", "_uuid", "meta/instanceID", "instanceID", "_id")
_META = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "audit",
    "submissiondate", "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status",
    "reviewstate", "edits", "formversion", "key", "instanceid", "instancename", "rootuuid", "deprecatedid",
    "version", "uuid",
})  # fmt: skip


def build_name_map(xlsform: Path) -> dict[str, Any]:
    """From the official XLSForm: its question names → standard names, labels → names, and choice names."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(xlsform))
    survey = wb.get_sheet_by_name("survey").to_python()
    choices = wb.get_sheet_by_name("choices").to_python()
    head = [str(c).strip() for c in survey[0]]
    cat = load()
    by_fold = {fold(f.name): f.name for f in cat.fields}
    by_fold.update({fold(k): v for k, v in FIELD_NAME_FIXES.items()})
    lists: dict[str, list[tuple[str, str]]] = {}
    chead = [str(c).strip() for c in choices[0]]
    for r in choices[1:]:
        rec = dict(zip(chead, r, strict=False))
        if rec.get("list_name"):
            lists.setdefault(str(rec["list_name"]), []).append((str(rec["name"]), str(rec.get("label") or "")))
    fields: dict[str, str] = {}
    labels: dict[str, str] = {}
    choice_names: dict[str, dict[str, str]] = {}
    shared: dict[str, list[str]] = {}
    for r in survey[1:]:
        rec = dict(zip(head, r, strict=False))
        qname = str(rec.get("name") or "").strip()
        standard = by_fold.get(fold(qname))
        if not standard:
            continue
        fields[qname] = standard
        label = str(rec.get("label") or "").replace("\xa0", " ").strip()
        # The official form gives prs_Title the label "Second Name"; the first question with a label keeps it, and
        # the questions sharing it are listed in the form's order (a label export's columns come in that order).
        if label:
            labels.setdefault(label, qname)
            shared.setdefault(label, []).append(qname)
        qtype = str(rec.get("type") or "").split()
        if len(qtype) == 2 and qtype[0] in ("select_one", "select_multiple"):
            f = cat[standard]
            index = {fold(c.name): c.name for c in f.choices}
            index.update({fold(c.label): c.name for c in f.choices if fold(c.label) not in index})
            mapped = {}
            for cname, clabel in lists.get(qtype[1], []):
                std = index.get(fold(cname)) or index.get(fold(clabel))
                if std is None and f.codelist is None and f.kind.value == "boolean":
                    std = cname.lower()
                if f.codelist is None and std is not None and std != cname:
                    mapped[cname] = std
            if mapped:
                choice_names[standard] = mapped
    repeated = {label: names for label, names in shared.items() if len(names) > 1}
    return {"fields": fields, "labels": labels, "choices": choice_names, "repeated_labels": repeated}


def write_name_map(xlsform: Path, out: Path) -> None:
    data = build_name_map(xlsform)
    body = "\n".join(
        f"{k.upper()}: dict[str, Any] = {json.dumps(v, indent=4, ensure_ascii=False)}" for k, v in data.items()
    )
    out.write_text(
        '"""Generated by `python -m htcds.sources.kobo htcds_xlsform.xlsx` from IOM\'s official XLSForm; do not edit.\n\n'
        "FIELDS: the form's question names → HTCDS names; LABELS: question labels → question names (for\n"
        "exports with label headers); CHOICES: per HTCDS field, the form's choice names that differ from the standard;\n"
        'REPEATED_LABELS: labels several questions share, with those questions in the form\'s order."""\n\n'
        "from typing import Any\n\n" + body.replace(": true", ": True").replace(": false", ": False") + "\n",
        encoding="utf-8",
    )


@cache
def _resolvers() -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Lookups by folded name: the XLSForm's names, the standard's own names, and question labels."""
    cat = load()
    names = {fold(f.name): f.name for f in cat.fields}
    names.update({fold(k): v for k, v in xf.FIELDS.items()})
    names.update({fold(k): v for k, v in FIELD_NAME_FIXES.items()})
    labels = {fold(lab): xf.FIELDS[q] for lab, q in xf.LABELS.items()}
    for f in cat.fields:
        labels.setdefault(fold(f.label), f.name)
    choices: dict[str, dict[str, str]] = {}
    for f in cat.fields:
        if f.choices:
            idx = {fold(c.name): c.name for c in f.choices}
            idx.update({fold(k): v for k, v in xf.CHOICES.get(f.name, {}).items()})
            choices[f.name] = idx
    return names, labels, choices


def resolve_header(header: str) -> tuple[str, str | None] | None:
    """(HTCDS field, choice or None) for an export header, or None when it names no field."""
    names, labels, choices = _resolvers()
    parts = [p for p in _PATH_SPLIT.split(header.replace("\xa0", " ").strip()) if p]
    if not parts:
        return None
    last = names.get(fold(parts[-1]))
    if last:
        return last, None
    if len(parts) >= 2:
        parent = names.get(fold(parts[-2]))
        if parent and parent in choices:
            choice = choices[parent].get(fold(parts[-1]))
            return (parent, choice) if choice else (parent, "")
    label = header_label(header)
    return (labels[label], None) if label else None


def header_label(header: str) -> str | None:
    """The question label (folded) a label header ends with: group labels come first, joined by "/", and a label
    may hold "/" itself ("Mailing Zip/Postal Code"), so the longest ending that is a label wins ("Postal Code"
    alone is a trafficking event's)."""
    labels = _resolvers()[1]
    parts = header.replace("\xa0", " ").strip().split("/")
    for i in range(len(parts)):
        label = fold("/".join(parts[i:]))
        if label in labels:
            return label
    return None


@cache
def _repeated() -> dict[str, list[str]]:
    """Folded label -> the HTCDS fields of the questions sharing it, in the form's order."""
    return {fold(label): [xf.FIELDS[q] for q in questions] for label, questions in xf.REPEATED_LABELS.items()}


def is_meta(header: str) -> bool:
    parts = [p for p in re.split(r"[/\-]", header) if p]
    return bool(header.startswith("_") or (parts and (parts[0] in ("meta", "formhub", "__system")
                                                       or fold(parts[-1]) in _META)))  # fmt: skip


def looks_like_form_export(headers: list[str]) -> bool:
    """True for KoBo/ODK exports: their own columns, the XLSForm's names, or group-prefixed field names."""
    for h in headers:
        if h in ID_KEYS or h in ("_submission_time", "SubmissionDate") or (h in xf.FIELDS and h not in load()):
            return True
        if ("/" in h or "-" in h) and resolve_header(h) is not None and h not in load():
            return True
    return False


def _form_plan(headers: list[str], problems: list[Any], day_first: bool) -> Plan:
    cat = load()
    plan = Plan(1, headers=headers)
    ids: dict[str, int] = {}
    repeated = _repeated()
    seen_labels: dict[str, int] = {}
    for i, h in enumerate(headers):
        if not h:
            continue
        if h in ID_KEYS or h.split("-")[-1] in ("instanceID",) or h.replace("-", "/") in ID_KEYS:
            ids.setdefault(h.replace("-", "/"), i)
            continue
        hit = resolve_header(h)
        if hit is None:
            if not is_meta(h) and h not in EXTRA_COLUMNS:
                problems.append(source_problem("unmapped-column", column=f"{column_letter(i)} ({h})", value=h, row=1,
                                               fix="map it in a mapping file if it should be kept",
                                               severity=WARNING))  # fmt: skip
            continue
        name, choice = hit
        label = header_label(h) if choice is None else None
        if label in repeated:
            # The n-th column of a label several questions share is the n-th of those questions (IOM's form labels
            # prs_Title "Second Name", as it labels prs_Second_Name).
            n = seen_labels[label] = seen_labels.get(label, -1) + 1
            name = repeated[label][min(n, len(repeated[label]) - 1)]
        if choice is None:
            # KoBo answers are choice names separated by spaces; label exports join labels with ";" or ",".
            plan.plain.append((i, name, make_converter(cat[name], (" ", ";", ","), day_first)))
        elif choice:
            plan.flags.append((i, name, choice))
        else:
            problems.append(source_problem("unknown-choice-column", row=1, column=f"{column_letter(i)} ({h})",
                                           field=name, value=h, severity=WARNING))  # fmt: skip
    # A one-column-per-choice export repeats the answer in the joined column; the flags are then redundant
    # but harmless (values are merged without duplicates).
    plan.id_columns = [ids[k] for k in ID_KEYS if k in ids]
    return plan


class FormExportSource(TabularSource):
    """A KoBo or ODK Central CSV/XLSX export (one submission per row, headers in row 1)."""

    kind = "form-export"

    def __init__(self, path: Path, name: str = "kobo", sheet: str | None = None, day_first: bool = True) -> None:
        super().__init__(path, name, sheet)
        self.day_first = day_first

    def build_plan(self, head: list[list[Any]], sample: list[list[Any]]) -> Plan:
        headers = [cell_text(c) for c in head[0]] if head else []
        return _form_plan(headers, self.problems, self.day_first)


def _flatten(record: dict[str, Any], prefix: str, out: dict[str, Any], repeats: list[str]) -> None:
    for key, value in record.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(value, path, out, repeats)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            repeats.append(path)
        else:
            out[path] = value


def json_records(data: Any) -> list[dict[str, Any]] | None:
    """Submissions from KoBo's /data JSON (`results`), ODK Central's OData (`value`) or a bare list."""
    if isinstance(data, dict):
        for key in ("results", "value", "data", "submissions"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    return None


class FormJsonSource(Source):
    """KoBo /data JSON or ODK Central OData JSON, read as rows of `path → value`."""

    kind = "form-json"

    def __init__(self, path: Path | None, name: str = "kobo", data: Any = None, day_first: bool = True) -> None:
        super().__init__(path, name)
        self.data = data
        self.day_first = day_first

    def _rows(self) -> Iterator[Row]:
        data = self.data
        if data is None:
            assert self.path is not None
            from htcds.sources.limits import load_json

            data = load_json(self.path)
        records = json_records(data) or []
        headers: list[str] = []
        position: dict[str, int] = {}
        flat_rows: list[dict[str, Any]] = []
        for n, rec in enumerate(records, start=1):
            flat: dict[str, Any] = {}
            repeats: list[str] = []
            _flatten(rec, "", flat, repeats)
            for r in repeats:
                self.problems.append(source_problem("repeat-group-ignored", row=n, column=r, severity=WARNING))
            for k in flat:
                if k not in position:
                    position[k] = len(headers)
                    headers.append(k)
            flat_rows.append(flat)
        plan = _form_plan(headers, self.problems, self.day_first)
        for i, name, _ in plan.plain:
            self.columns.setdefault(name, headers[i])
        entities = entity_map()
        for n, flat in enumerate(flat_rows, start=1):
            raw: list[Any] = [None] * len(headers)
            for k, v in flat.items():
                raw[position[k]] = _json_cell(v)
            out = convert_row(plan, raw, n, self.problems, entities)
            if out is not None:
                yield n, out[0], out[1]


def _json_cell(value: Any) -> Any:
    if isinstance(value, list):  # ODK Central gives select_multiple as a space-separated string, some tools as a list
        return " ".join(str(v) for v in value)
    return value


if __name__ == "__main__":  # pragma: no cover - development tool
    write_name_map(Path(sys.argv[1]), Path(__file__).with_name("_xlsform_names.py"))
