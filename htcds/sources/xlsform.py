"""Generators: an XLSForm of HTCDS (for KoBoToolbox, ODK, Survey123) and a blank template with validation.

Both use the standard's own field and value names, unlike IOM's XLSForm (`prs_First_Name`), so their
exports import without any name translation. Languages (≈8,000 ISO 639 codes) are asked as text with a
constraint rather than as a choice list no phone could scroll.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from htcds import codelists
from htcds.catalogue import Field, Kind, load
from htcds.sources.layout import ROW_ENTITIES, sheet_fields

_GROUP_LABELS = {"case": "Case", "person": "Person", "victim": "Victim context", "consent": "Consent",
                 "referral": "Referrals"}  # fmt: skip
_EMAIL = r"regex(., '^[^@\s]+@[^@\s]+\.[^@\s]+$')"
# What the import takes without knowing the country: an international number (+ and a country code), written with
# spaces, dots, dashes or brackets as people write it (+44 (0)20 7946 0958); a local number would be refused.
_PHONE = r"regex(., '^\+[1-9][0-9 ().-]{6,24}$')"
# A closed case needs a reason for closure (htcds.validation: closure-reason-required).
_CLOSED = "${cas_Status} = 'Closed' or ${cas_Status} = 'ClosedReferred'"


def form_fields(extended: bool = False) -> list[Field]:
    """HTCDS Core fields of a case row (or, extended, every non-deprecated field a case row can hold)."""
    return [f for f in load().fields if f.entity in ROW_ENTITIES and f.status != "DEPRECATED" and (extended or f.core)]


def _choices(f: Field) -> list[tuple[str, str, str]]:
    if f.codelist == "country":
        return [(c, codelists.country_name(c), "") for c in sorted(codelists.COUNTRY_ALPHA2)]
    return [(c.name, c.label, c.group or "") for c in f.choices]


def xlsform_sheets(extended: bool = False, title: str = "HTCDS 2.0 case", form_id: str = "htcds_case",
                   version: str = "1") -> dict[str, list[list[Any]]]:  # fmt: skip
    """The XLSForm as sheets of rows (survey, choices, settings): testable without writing a file."""
    survey: list[list[Any]] = [["type", "name", "label", "hint", "required", "constraint", "appearance",
                                "choice_filter"]]  # fmt: skip
    choices: list[list[Any]] = [["list_name", "name", "label", "parent"]]
    lists_done: set[str] = set()
    fields = form_fields(extended)
    names = {f.name for f in fields}
    survey += [["start", "start", "", "", "", "", "", ""], ["end", "end", "", "", "", "", "", ""]]
    for entity in ROW_ENTITIES:
        group = [f for f in fields if f.entity == entity]
        if not group:
            continue
        survey.append(["begin_group", f"grp_{entity}", _GROUP_LABELS[entity], "", "", "", "field-list", ""])
        for f in group:
            row = ["", f.name, f.label, (f.description or "")[:250], "", "", "", ""]
            if f.kind in (Kind.CHOICE, Kind.MULTI_CHOICE) and f.codelist != "language":
                list_name = "countries" if f.codelist == "country" else f.name
                row[0] = f"{'select_multiple' if f.multiple else 'select_one'} {list_name}"
                if f.parent and f.parent in names:
                    row[7] = f"parent=${{{f.parent}}}"  # only show the subdivisions of the chosen parent
                if list_name not in lists_done:
                    lists_done.add(list_name)
                    choices += [[list_name, n, lab, parent] for n, lab, parent in _choices(f)]
            elif f.codelist == "language":
                row[0], row[3], row[5] = "text", "ISO 639 code, e.g. en, fr, tir", "regex(., '^[a-z]{2,3}$')"
            elif f.kind is Kind.DATE:
                row[0] = "date"
            elif f.kind is Kind.INTEGER:
                row[0] = "integer"
                if f.maximum is not None:
                    row[5] = f". >= {f.minimum:g} and . <= {f.maximum:g}"
            elif f.kind in (Kind.NUMBER, Kind.LATITUDE, Kind.LONGITUDE):
                row[0] = "decimal"
                if f.maximum is not None:
                    row[5] = f". >= {f.minimum:g} and . <= {f.maximum:g}"
            elif f.kind is Kind.BOOLEAN:
                row[0] = "select_one boolean"
                if "boolean" not in lists_done:
                    lists_done.add("boolean")
                    choices += [["boolean", "true", "Yes", ""], ["boolean", "false", "No", ""]]
            else:
                row[0] = "text"
                if f.kind is Kind.LONG_TEXT:
                    row[6] = "multiline"
                if f.text_format == "email":
                    row[5] = _EMAIL
                elif f.text_format == "e164":
                    row[5], row[3] = _PHONE, "International format, e.g. +234 803 123 4567"
            if f.name == "cas_ReasonForCaseClosure" and "cas_Status" in names:
                row[4] = _CLOSED
            survey.append(row)
        survey.append(["end_group", "", "", "", "", "", "", ""])
    settings = [["form_title", "form_id", "version"], [title, form_id, version]]
    return {"survey": survey, "choices": choices, "settings": settings}


def write_xlsform(path: Path, extended: bool = False, **settings: Any) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for name, rows in xlsform_sheets(extended, **settings).items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def write_blank_template(path: Path, extended: bool = False, rows: int = 1000) -> Path:
    """A blank template: row 1 field names, row 2 labels, validation lists of labels on sheet `validation`.

    Single-choice columns get a strict list. Multi-select columns get the same list as a suggestion only
    (Excel cannot pick several), with an input message saying to separate values with ";"; the `about`
    sheet lists those columns.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    fields = sheet_fields(extended)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Case Sheet"
    ws.append([f.name for f in fields])
    ws.append([f.label for f in fields])
    ws.freeze_panes = "A3"
    val = wb.create_sheet("validation")
    about = wb.create_sheet("about")
    about.append(["HTCDS 2.0 case template. Row 1: field names (do not change). Row 2: labels. One case per row."])
    about.append(["Dates: enter as dates or as YYYY-MM-DD. Multi-select columns: separate values with ;"])
    about.append(["Multi-select columns:"])
    vcol = 0
    last = rows + 2
    for i, f in enumerate(fields, start=1):
        letter = get_column_letter(i)
        if f.kind is Kind.DATE:
            dv = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True)
            dv.error, dv.prompt = "Enter a date.", "A date (or YYYY-MM-DD)"
            ws.add_data_validation(dv)
            dv.add(f"{letter}3:{letter}{last}")
            continue
        options = [lab for _, lab, _ in _choices(f)] if f.kind in (Kind.CHOICE, Kind.MULTI_CHOICE) else []
        if f.kind is Kind.BOOLEAN:
            options = ["Yes", "No"]
        if not options or f.codelist == "language":
            continue
        vcol += 1
        vletter = get_column_letter(vcol)
        val.cell(1, vcol, f.name)
        for j, option in enumerate(options, start=2):
            val.cell(j, vcol, option)
        dv = DataValidation(type="list", formula1=f"validation!${vletter}$2:${vletter}${len(options) + 1}",
                            allow_blank=True)  # fmt: skip
        if f.multiple:
            about.append([f"{f.name} ({f.label})"])
            dv.showErrorMessage = False  # several labels joined by ";" must be accepted
            dv.promptTitle, dv.prompt = "Several values allowed", "Pick one, or type several separated by ;"
            dv.showInputMessage = True
        ws.add_data_validation(dv)
        dv.add(f"{letter}3:{letter}{last}")
    wb.save(path)
    return path
