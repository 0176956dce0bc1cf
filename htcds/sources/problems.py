"""Stable codes for problems found while reading a source, before validation of the data itself.

htcds.validation owns the codes for bad values; these cover what only a reader can see (a column nobody
maps, a file that cannot be opened, a row without its id). Same rule as there: never rename a code, only add.
"""

from __future__ import annotations

from typing import Any

from htcds.validation import ERROR, WARNING, Problem

SOURCE_CODES: dict[str, str] = {
    "unreadable-file": "The file cannot be read in any supported format.",
    "unrecognised-layout": "The columns match neither an HTCDS template nor a KoBo/ODK export; a mapping is needed.",
    "unmapped-column": "The column is not mapped to any HTCDS field and is left out.",
    "header-mismatch": "The field-name row and the label row disagree about this column.",
    "missing-id": "The row has no value in the source's id column; a fingerprint of its content is used instead.",
    "duplicate-key": "Another row of this source has the same id; the later row wins.",
    "many-values-for-single-choice": "The field takes one value but the cell holds several; only the first is kept.",
    "unknown-choice-column": "A one-column-per-choice header names a choice the field does not have.",
    "invalid-mapping": "The mapping file is not valid.",
    "repeat-group-ignored": "Repeated groups of a form export are not imported.",
    "not-a-bundle": "The JSON item is not an HTCDS case bundle.",
    "month-first-dates": "The column's dates are written month first (MM/DD/YYYY) and are read that way.",
    "empty-file": "The file holds nothing to import.",
    "duplicate-in-file": "The row may be the same person as an earlier row of the file.",
    "unknown-owner": "The case owner named is not a user of the organisation; the case goes to the person importing.",
    "unknown-organisation": "The organisation named is not in the organisation's directory: it is matched, added or left "
    "empty as the check page says.",
    "closed-case": "The row changes a case that is closed and stays closed; reopen it first.",
    "invalid-update": "A case action refused the change the row makes; the row is not imported.",
    "title-rows": "Rows above the header row are left out.",
    "duplicate-column": "Two columns hold the same field; one would overwrite the other, so the file is refused.",
    "cells-beyond-header": "The row has values in columns without a header; they would be lost, so the row is refused.",
    "file-too-large": "The file holds more than Phare reads at once (size, rows, cells, a cell's length or nesting).",
}


def source_problem(code: str, message: str | None = None, *, row: int | None = None, column: str = "",
                   field: str | None = None, value: Any = None, fix: str | None = None,
                   severity: str = ERROR) -> Problem:  # fmt: skip
    """A Problem about the source; `column` goes in `path` so every problem says where to look."""
    return Problem(code, message or SOURCE_CODES[code], "source", field, value, row, column, fix, severity)


__all__ = ["ERROR", "SOURCE_CODES", "WARNING", "Problem", "source_problem"]
