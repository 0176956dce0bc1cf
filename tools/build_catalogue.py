"""Regenerate htcds/data/htcds-2.0-fields.json from the official HTCDS Field Standards spreadsheet.

Run once when IOM publishes a new revision:
    python tools/build_catalogue.py "../shared/htcds/HTCDS Field Standards 2.0.ods"
The JSON is committed so that the package works without the spreadsheet; tests/htcds/test_catalogue.py
re-reads the spreadsheet and fails if the two drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

# The spreadsheet names sections, not entities; these are the entities Phare stores them as.
SECTION_ENTITY = {
    "Organization": "organisation",
    "Person": "person",
    "Person - \nVictim Context": "victim",
    "Person - \nPerpetrator Context": "perpetrator",
    "Case": "case",
    "Referral Details": "referral",
    "Case Comment": "comment",
    "Historic Trafficking Events": "event",
    "Support Plan": "support_plan",
    "Consent": "consent",
    "Assessment and Planning - Individual Risk and Vulnerability": "assessment_individual",
    "Assessment and Planning - Household Risk and Vulnerability": "assessment_household",
    "Assessment and Planning - Community Risk and Vulnerability": "assessment_community",
}


def split_lines(cell: str) -> list[str]:
    # Value names keep their raw spelling here (e.g. "DebtBondage " with a trailing space):
    # the catalogue module decides how to normalise, and the drift test sees the original.
    return [v for v in cell.split("\n") if v.strip()]


def read_rows(path: Path) -> list[dict[str, Any]]:
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Field_Standards")
    rows = sheet.to_python()
    header = [str(h) for h in rows[0]]
    section = ""
    out: list[dict[str, Any]] = []
    for raw in rows[1:]:
        row = dict(zip(header, (str(c) for c in raw), strict=False))
        if row["Section"]:
            section = row["Section"]
            continue
        out.append({"section": section, "entity": SECTION_ENTITY[section], **row})
    return out


def main(path: str) -> None:
    fields: list[dict[str, Any]] = []
    questions: list[dict[str, str]] = []
    for row in read_rows(Path(path)):
        if row["entity"].startswith("assessment_"):
            text = row["Field Label"].replace("EXAMPLE QUESTION\n", "").strip()
            questions.append({"level": row["entity"].removeprefix("assessment_"), "text": text})
            continue
        name = row["Field Name including Prefix"]
        if not name:
            # per_Organisation has a prefix and a name but no type: the spreadsheet leaves it a placeholder.
            name = row["Field Name Prefix"] + row["Field Name"]
        values = split_lines(row["Value Names (if picklist)"])
        labels = split_lines(row["Value Labels (if picklist)"])
        fields.append(
            {
                "section": row["section"].replace(" - \n", " - "),
                "entity": row["entity"],
                "status": row["Status"],
                "core": row["Core"] == "Core",
                "name": name,
                "label": row["Field Label"],
                "type": row["Field Type"],
                "salesforce": row["Salesforce Standard or Custom"],
                "values": values,
                "labels": labels,
                "description": row["Description"],
                "notes": row["Notes"],
            }
        )
    out = Path(__file__).resolve().parent.parent / "htcds" / "data" / "htcds-2.0-fields.json"
    out.write_text(
        json.dumps({"version": "2.0", "fields": fields, "example_questions": questions}, indent=1, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {len(fields)} fields and {len(questions)} example questions to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/htcds/HTCDS Field Standards 2.0.ods")
