"""Read spreadsheets in the layout of IOM's HTCDS Excel templates: one case per row, field names in row 1.

The official templates have quirks (see the project's docs/import.md): a misspelt field name, a label row
whose address columns are in another order than the field-name row, and a column whose field name is blank
while its label says "Reason for Outgoing Referral". Columns are therefore identified by field name first
and by label only where the field name is missing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from htcds.catalogue import INCOMING_REFERRAL_FIELDS, OUTGOING_REFERRAL_FIELDS, Kind, load
from htcds.cells import unneutralised_row
from htcds.coerce import coerce_value

# Misspellings found in the official templates, mapped to the standard's names.
FIELD_NAME_FIXES = {"vic_TraffickinStatusDecisionMakingOrg": "vic_TraffickingStatusDecisionMakingOrg"}


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class Layout:
    """Which column holds which field; `unknown` lists headers that match nothing (reported, not dropped)."""

    columns: dict[int, str]
    header_rows: int
    unknown: list[tuple[int, str]] = field(default_factory=list)


def detect_layout(rows: list[list[Any]]) -> Layout:
    cat = load()
    labels = {_fold(f.label): f.name for f in cat.fields}
    names = {f.name.lower(): f.name for f in cat.fields}
    names.update({k.lower(): v for k, v in FIELD_NAME_FIXES.items()})
    head = [str(c).strip() for c in rows[0]] if rows else []
    second = [str(c).strip() for c in rows[1]] if len(rows) > 1 else []
    # Row 2 is a label row when most of its cells are labels of catalogue fields.
    label_hits = sum(1 for c in second if c and _fold(c) in labels)
    has_label_row = label_hits >= max(3, len([c for c in second if c]) // 2)
    columns: dict[int, str] = {}
    unknown: list[tuple[int, str]] = []
    for i, cell in enumerate(head):
        name = names.get(cell.lower()) or labels.get(_fold(cell)) if cell else None
        if name is None and not cell and has_label_row and i < len(second) and second[i]:
            name = labels.get(_fold(second[i]))
        if name is not None:
            columns[i] = name
        elif cell:
            unknown.append((i, cell))
    return Layout(columns, 2 if has_label_row else 1, unknown)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value if value.strip() else None
    return value


def read_rows(path: Path) -> list[list[Any]]:
    if path.suffix.lower() in (".csv", ".txt"):
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return [unneutralised_row(list(r)) for r in csv.reader(fh)]  # Phare's CSV exports read back as written
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    # The validation templates keep cases on "Case Sheet"; the plain one on its only sheet.
    sheet = "Case Sheet" if "Case Sheet" in wb.sheet_names else wb.sheet_names[0]
    return [unneutralised_row(r) for r in wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)]


def row_to_bundle(values: dict[str, Any], row_number: int) -> dict[str, Any]:
    """One template row as a case bundle: the case, the person, their victim context, consent, referrals."""
    case: dict[str, Any] = {"id": f"row-{row_number}"}
    person: dict[str, Any] = {"id": "p1"}
    victim: dict[str, Any] = {"person": "p1", "role": "Victim"}
    consent: dict[str, Any] = {"person": "p1"}
    incoming: dict[str, Any] = {"direction": "Incoming"}
    outgoing: dict[str, Any] = {"direction": "Outgoing"}
    for name, value in values.items():
        if name in INCOMING_REFERRAL_FIELDS:
            incoming[name] = value
        elif name in OUTGOING_REFERRAL_FIELDS:
            outgoing[name] = value
        elif name.startswith("prs_"):
            person[name] = value
        elif name.startswith(("vic_", "per_")):
            victim[name] = value
        elif name.startswith("con_"):
            consent[name] = value
        else:
            case[name] = value
    bundle: dict[str, Any] = {"htcds_version": "2.0", "case": case, "persons": [person], "participants": [victim]}
    if len(consent) > 1:
        bundle["consents"] = [consent]
    referrals = [r for r in (incoming, outgoing) if len(r) > 1]
    if referrals:
        bundle["referrals"] = referrals
    return bundle


def iter_bundles(path: Path, coerce: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (spreadsheet row number, bundle) for every non-empty row.

    Without `coerce`, values stay as typed except that multi-select cells are split on ";" (the templates'
    own convention) and spreadsheet dates become ISO text, so validation reports label-style values with
    the value name they most likely mean. With `coerce`, labels, Excel serial dates, country names and the
    like are converted to stored form first.
    """
    rows = read_rows(path)
    if not rows:
        return
    layout = detect_layout(rows)
    cat = load()
    for offset, raw in enumerate(rows[layout.header_rows :]):
        row_number = offset + layout.header_rows + 1
        values: dict[str, Any] = {}
        for i, name in layout.columns.items():
            if i >= len(raw):
                continue
            value = _cell(raw[i])
            if value is None:
                continue
            f = cat[name]
            if coerce:
                value = coerce_value(f, value)
            elif f.kind is Kind.MULTI_CHOICE and isinstance(value, str):
                value = [v.strip() for v in value.split(";") if v.strip()]
            if value is not None:
                values[name] = value
        if values:
            yield row_number, row_to_bundle(values, row_number)
